#!/usr/bin/env python3
"""Train and export Candor's image demo model into models/.

Generates (deterministically: fixed seeds, single thread):

  models/shapes_mlp.onnx             3072→64→ReLU→32→ReLU→3 MLP classifying synthetic
                                     32×32 RGB images of one filled shape (circle, square,
                                     triangle). Exported with the TorchScript exporter
                                     (dynamo=False, opset 17). Input `image` [N,3,32,32]
                                     (NCHW, float values in [0, 1]); outputs `logits` [N,3]
                                     and `probabilities` [N,3] (softmax of the logits).
  models/shapes_mlp.yaml             sidecar metadata: `description`, `class_names`
                                     ([circle, square, triangle]) and `background`.
  models/shapes_mlp.background.json  the sidecar's background: the first 8 training images,
                                     an array of [3][32][32] nested lists rounded to 4
                                     decimals (KernelSHAP/LIME draw absent pixels from it).

Why: the other demo models are tabular; image explanations (slic superpixels, LIME image,
occlusion with 2-D windows, saliency maps) need an image model. It is a plain MLP because
Candor's ONNX runtime has no Conv yet: the graph holds only Flatten, Gemm, Relu and Softmax,
which the script asserts (against the runtime's supported operator list below).

The data set (`make_dataset`, also imported by scripts/fixtures/make_slic_fixtures.py and
make_lime_image_fixtures.py for their test images) is synthetic and seeded: each image is a
uniformly coloured background with one filled shape of another colour — RGB colours drawn
uniformly from [0, 1]^3, redrawn until the shape is lighter than the background by at least
0.3 in luma (0.299 R + 0.587 G + 0.114 B) — of size s ∈ [10, 22] px (bounding box) at a
random position that keeps it inside the image, plus Gaussian noise (σ = 0.03), clipped to
[0, 1], as float32. A pixel belongs to the shape when its centre (x + 0.5, y + 0.5) is
inside: a disc of diameter s, an axis-aligned square of side s, or an upright isosceles
triangle (apex at the top centre, base s, height s). 12000 training images and 600 test
images (balanced: class = index mod 3, then shuffled).

Why these choices: an MLP has no translation invariance, so it needs many examples of each
shape at each position (3000 images reached only ~70% test accuracy in trials); and with
shapes either lighter or darker than the background it must learn both polarities of every
edge (trials stayed at 50–60%, even with 12000 images). Lighter shapes on darker
backgrounds, in any colours, with 12000 images train to ~95%.

Training: mini-batch Adam (batch 64, weight decay 1e-4, learning rate 1e-3 on a cosine
schedule to 0 over 60 epochs) on cross-entropy with a seeded shuffle; the script asserts
≥ 90% test accuracy, that the ONNX graph uses only supported operators, and that
onnxruntime reproduces the torch module on the test images to 1e-4 (float32 rounding over
3072-term dot products reaches ~4e-5 in the logits).

Run:  .venv-fixtures/bin/python scripts/train_image_demo_model.py
(from the repository root; see scripts/fixtures/requirements.txt for versions.)
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import yaml
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SEED = 0
SIZE = 32
CLASS_NAMES = ["circle", "square", "triangle"]
N_TRAIN, N_TEST = 12000, 600
EPOCHS = 60
LUMA = np.array([0.299, 0.587, 0.114])
N_BACKGROUND = 8

# The operators Candor's ONNX runtime implements (Sources/CandorModel/Operators).
SUPPORTED_OPS = {
    "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Sigmoid", "Tanh",
    "Softmax", "LogSoftmax", "Identity", "Flatten", "Reshape", "Constant", "Cast",
}

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------------------- data

def render(shape: int, cx: float, cy: float, s: float) -> np.ndarray:
    """Boolean [32, 32] mask (rows = y) of a filled shape with bounding box side s centred
    at (cx, cy); a pixel is inside when its centre is."""
    y, x = np.mgrid[:SIZE, :SIZE].astype(np.float64) + 0.5
    if shape == 0:  # circle
        return (x - cx) ** 2 + (y - cy) ** 2 <= (s / 2) ** 2
    if shape == 1:  # square
        return (np.abs(x - cx) <= s / 2) & (np.abs(y - cy) <= s / 2)
    top = cy - s / 2  # triangle: apex (cx, top), base from cx - s/2 to cx + s/2 at top + s
    return (y >= top) & (y <= top + s) & (np.abs(x - cx) <= (y - top) / 2)


def make_dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images [n, 3, 32, 32] float32 in [0, 1] (NCHW) and their labels [n] (int64)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASS_NAMES)
    rng.shuffle(labels)
    images = np.empty((n, 3, SIZE, SIZE), dtype=np.float32)
    for i, label in enumerate(labels):
        s = rng.uniform(10, 22)
        cx, cy = rng.uniform(s / 2, SIZE - s / 2, size=2)
        while True:
            background, colour = rng.uniform(0, 1, size=(2, 3))
            if colour @ LUMA - background @ LUMA >= 0.3:
                break
        mask = render(int(label), cx, cy, s)
        img = np.where(mask[None], colour[:, None, None], background[:, None, None])
        img = img + rng.normal(0, 0.03, size=img.shape)
        images[i] = np.clip(img, 0, 1)
    return images, labels.astype(np.int64)


def datasets():
    """(x_train, y_train, x_test, y_test), the same arrays on every call."""
    x_tr, y_tr = make_dataset(N_TRAIN, SEED)
    x_te, y_te = make_dataset(N_TEST, SEED + 1)
    return x_tr, y_tr, x_te, y_te


# ---------------------------------------------------------------------------- model

class ShapesMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(3 * SIZE * SIZE, 64), nn.ReLU(),
            nn.Linear(64, 32), nn.ReLU(),
            nn.Linear(32, 3),
        )

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)

    def forward(self, image: torch.Tensor):
        logits = self.logits(image)
        return logits, torch.softmax(logits, dim=1)


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, learning_rate: float = 1e-3) -> None:
    xt, yt = torch.tensor(x), torch.tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    for epoch in range(epochs):
        for group in opt.param_groups:
            group["lr"] = learning_rate * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), 64):
            idx = order[start:start + 64]
            opt.zero_grad()
            loss_fn(model.logits(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        pred = model.logits(torch.tensor(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


# ---------------------------------------------------------------------------- export

def describe_and_check_ops(path: Path, supported: set = SUPPORTED_OPS) -> None:
    m = onnx.load(str(path))
    ops = [n.op_type for n in m.graph.node]
    unsupported = sorted(set(ops) - supported)
    assert not unsupported, f"{path.name} uses operators Candor lacks: {unsupported}"
    assert not m.functions, "local functions in the graph"

    def shape(vi):
        return [d.dim_param if d.HasField("dim_param") else d.dim_value
                for d in vi.type.tensor_type.shape.dim]

    print(f"== {path.relative_to(ROOT)}  ({path.stat().st_size} bytes)")
    print("   ir_version:", m.ir_version, " opsets:",
          {o.domain or "ai.onnx": o.version for o in m.opset_import})
    print("   node sequence:", ops)
    print("   inputs:", [(i.name, shape(i)) for i in m.graph.input])
    print("   outputs:", [(o.name, shape(o)) for o in m.graph.output])


def check_against_ort(model: nn.Module, path: Path, x: np.ndarray) -> None:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["logits", "probabilities"]
    got = sess.run(None, {"image": x.astype(np.float32)})
    with torch.no_grad():
        want = model(torch.tensor(x, dtype=torch.float32))
    for name, g, w in zip(["logits", "probabilities"], got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-4, rtol=1e-4, err_msg=name)
        print(f"   onnxruntime vs torch, {name}: max |diff| {np.abs(g - w.numpy()).max():.2g}")


def main() -> int:
    MODELS.mkdir(exist_ok=True)
    x_tr, y_tr, x_te, y_te = datasets()

    torch.manual_seed(SEED)
    model = ShapesMLP()
    train(model, x_tr, y_tr, epochs=EPOCHS)
    train_acc, acc = accuracy(model, x_tr, y_tr), accuracy(model, x_te, y_te)
    print(f"shapes: training accuracy {train_acc:.4f}, test accuracy {acc:.4f} "
          f"on {len(y_te)} images")
    assert acc >= 0.9, acc

    path = MODELS / "shapes_mlp.onnx"
    torch.onnx.export(
        model, (torch.tensor(x_tr[:5]),), str(path),
        dynamo=False, opset_version=17,
        input_names=["image"], output_names=["logits", "probabilities"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"},
                      "probabilities": {0: "batch"}},
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    describe_and_check_ops(path)
    check_against_ort(model, path, x_te)
    assert path.stat().st_size < 1_000_000

    background = np.round(x_tr[:N_BACKGROUND].astype(np.float64), 4)
    background_file = "shapes_mlp.background.json"
    with open(MODELS / background_file, "w") as f:
        json.dump(background.tolist(), f, separators=(",", ":"))
        f.write("\n")

    doc = {
        "description": (
            f"Synthetic shapes: 32x32 RGB images (input [N,3,32,32], NCHW, values in [0,1]) "
            f"of one filled circle, square or triangle of random size and position, in a "
            f"random colour lighter than the random background colour; a 3072-64-32-3 ReLU "
            f"MLP, {acc:.1%} accuracy on {len(y_te)} held-out images."),
        "class_names": CLASS_NAMES,
        "background": background_file,
    }
    header = (
        "# Generated by scripts/train_image_demo_model.py — do not edit by hand.\n"
        f"# background: the first {N_BACKGROUND} training images, [3][32][32] each, "
        "rounded to 4 decimals.\n"
    )
    with open(MODELS / "shapes_mlp.yaml", "w") as f:
        f.write(header)
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None, width=100)
    for name in ["shapes_mlp.yaml", background_file]:
        print(f"== models/{name}  ({(MODELS / name).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
