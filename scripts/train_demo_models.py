#!/usr/bin/env python3
"""Train and export Candor's demo models into models/.

Generates (deterministically: fixed seeds, single thread):

  models/iris_mlp.onnx             4→16→ReLU→16→ReLU→3 MLP on scikit-learn's iris data.
                                   Exported with the TorchScript exporter (dynamo=False,
                                   opset 17). Input `features` [N,4] in raw centimetres;
                                   outputs `logits` [N,3] and `probabilities` [N,3].
  models/iris_mlp.yaml             sidecar metadata (see below).
  models/breast_cancer_mlp.onnx    30→32→Tanh→16→ReLU→2 MLP on scikit-learn's breast
  models/breast_cancer_mlp.onnx.data   cancer data. Exported with the dynamo exporter
                                   (dynamo=True, external_data=True), so its weights sit in
                                   an external data file beside the .onnx. Input `features`
                                   [N,30] raw; output `logits` [N,2].
  models/breast_cancer_mlp.yaml    sidecar metadata.

Why: `candor serve` with no arguments serves the models in models/. They cover both
PyTorch exporters users bring (TorchScript and dynamo), a model with two outputs, and a
model whose weights are external data. In both models the standardisation
((x - mean) / std, training-split statistics) is the first op of the graph, with mean and
std as constant tensors, so clients send raw feature values.

The sidecar YAML has `description`, `feature_names`, `class_names` (scikit-learn's
`feature_names` / `target_names`) and `training_statistics` (per feature, over the training
split: `mean`, `std` (population, ddof=0, the one baked into the model), `min`, `max`,
`quartiles` = 25th/50th/75th percentiles as lists, one list per feature); LIME's
discretiser uses these.

Run:  .venv-fixtures/bin/python scripts/train_demo_models.py
(from the repository root; see scripts/fixtures/requirements.txt for versions.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import yaml
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.model_selection import train_test_split
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SEED = 0

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


class Standardize(nn.Module):
    """(x - mean) / std with mean and std stored as constant buffers (become initializers)."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class IrisMLP(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.standardize = Standardize(mean, std)
        self.net = nn.Sequential(
            nn.Linear(4, 16), nn.ReLU(),
            nn.Linear(16, 16), nn.ReLU(),
            nn.Linear(16, 3),
        )

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardize(features))

    def forward(self, features: torch.Tensor):
        logits = self.logits(features)
        return logits, torch.softmax(logits, dim=1)


class BreastCancerMLP(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.standardize = Standardize(mean, std)
        self.net = nn.Sequential(
            nn.Linear(30, 32), nn.Tanh(),
            nn.Linear(32, 16), nn.ReLU(),
            nn.Linear(16, 2),
        )

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardize(features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.logits(features)


def train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float) -> None:
    """Full-batch Adam on cross-entropy; deterministic given the seed set before init."""
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model.logits(xt), yt)
        loss.backward()
        opt.step()
    model.eval()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        pred = model.logits(torch.tensor(x, dtype=torch.float32)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def training_statistics(x: np.ndarray) -> dict:
    q = np.percentile(x, [25, 50, 75], axis=0)  # shape [3, F]
    return {
        "mean": [float(v) for v in x.mean(axis=0)],
        "std": [float(v) for v in x.std(axis=0)],  # population std, ddof=0
        "min": [float(v) for v in x.min(axis=0)],
        "max": [float(v) for v in x.max(axis=0)],
        "quartiles": [[float(q[i, j]) for i in range(3)] for j in range(x.shape[1])],
    }


def write_sidecar(path: Path, description: str, feature_names, class_names, stats) -> None:
    doc = {
        "description": description,
        "feature_names": [str(n) for n in feature_names],
        "class_names": [str(n) for n in class_names],
        "training_statistics": stats,
    }
    header = (
        "# Generated by scripts/train_demo_models.py — do not edit by hand.\n"
        "# training_statistics are over the training split; std is the population std\n"
        "# (ddof=0), the one baked into the model; quartiles are [p25, p50, p75] per feature.\n"
    )
    with open(path, "w") as f:
        f.write(header)
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None, width=100)


def describe_onnx(path: Path) -> None:
    """Print op types, opsets, IO shapes (symbolic dims shown by name) and external data."""
    m = onnx.load(str(path), load_external_data=False)
    ops = sorted({n.op_type for n in m.graph.node})
    fn_ops = sorted({n.op_type for f in m.functions for n in f.node})

    def shape(vi):
        dims = vi.type.tensor_type.shape.dim
        return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in dims]

    print(f"== {path.relative_to(ROOT)}")
    print("   ir_version:", m.ir_version, " opsets:",
          {o.domain or "ai.onnx": o.version for o in m.opset_import})
    print("   producer:", m.producer_name, m.producer_version)
    print("   op types:", ops, ("functions' ops: %s" % fn_ops) if fn_ops else "")
    print("   node sequence:", [n.op_type for n in m.graph.node])
    print("   inputs:", [(i.name, shape(i)) for i in m.graph.input])
    print("   outputs:", [(o.name, shape(o)) for o in m.graph.output])
    external = [
        (t.name, {e.key: e.value for e in t.external_data})
        for t in m.graph.initializer
        if t.data_location == onnx.TensorProto.EXTERNAL
    ]
    print(f"   initializers: {len(m.graph.initializer)}, external: {len(external)}")
    for name, info in external:
        print(f"     {name}: {info}")


def check_against_ort(model: nn.Module, path: Path, x: np.ndarray, output_names) -> None:
    """Assert onnxruntime on the exported file reproduces the torch module to 1e-5."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == list(output_names), sess.get_outputs()
    got = sess.run(None, {"features": x.astype(np.float32)})
    with torch.no_grad():
        want = model(torch.tensor(x, dtype=torch.float32))
    if isinstance(want, torch.Tensor):
        want = (want,)
    for name, g, w in zip(output_names, got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-5, rtol=1e-5, err_msg=name)


def build_iris() -> None:
    data = load_iris()
    x = data.data.astype(np.float64)
    y = data.target
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    stats = training_statistics(x_tr)

    torch.manual_seed(SEED)
    model = IrisMLP(np.array(stats["mean"]), np.array(stats["std"]))
    train(model, x_tr, y_tr, epochs=400, lr=0.01)
    acc = accuracy(model, x_te, y_te)
    print(f"iris: held-out accuracy {acc:.4f} on {len(y_te)} rows")

    path = MODELS / "iris_mlp.onnx"
    example = torch.tensor(x_tr[:5], dtype=torch.float32)
    torch.onnx.export(
        model, (example,), str(path),
        dynamo=False, opset_version=17,
        input_names=["features"], output_names=["logits", "probabilities"],
        dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"},
                      "probabilities": {0: "batch"}},
    )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    check_against_ort(model, path, x, ["logits", "probabilities"])

    write_sidecar(
        MODELS / "iris_mlp.yaml",
        f"Iris flowers (scikit-learn load_iris): a 4-16-16-3 ReLU MLP over raw centimetres "
        f"(standardisation built in), {acc:.1%} accuracy on a held-out 20% split "
        f"({len(y_te)} flowers).",
        data.feature_names, data.target_names, stats,
    )
    describe_onnx(path)


def build_breast_cancer() -> None:
    data = load_breast_cancer()
    x = data.data.astype(np.float64)
    y = data.target
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    stats = training_statistics(x_tr)

    torch.manual_seed(SEED)
    model = BreastCancerMLP(np.array(stats["mean"]), np.array(stats["std"]))
    train(model, x_tr, y_tr, epochs=300, lr=0.005)
    acc = accuracy(model, x_te, y_te)
    print(f"breast cancer: held-out accuracy {acc:.4f} on {len(y_te)} rows")

    path = MODELS / "breast_cancer_mlp.onnx"
    for stale in MODELS.glob("breast_cancer_mlp.onnx*"):
        stale.unlink()  # the exporter appends to an existing external data file otherwise
    example = torch.tensor(x_tr[:5], dtype=torch.float32)
    batch = torch.export.Dim("batch")
    program = torch.onnx.export(
        model, (example,),
        dynamo=True, external_data=True,
        input_names=["features"], output_names=["logits"],
        dynamic_shapes={"features": {0: batch}},
    )
    program.save(str(path), external_data=True)

    # The .onnx must reference its weights by a relative path in the same folder, and at
    # least one initializer must really be external.
    proto = onnx.load(str(path), load_external_data=False)
    locations = {
        e.value
        for t in proto.graph.initializer
        if t.data_location == onnx.TensorProto.EXTERNAL
        for e in t.external_data if e.key == "location"
    }
    assert locations, "no external initializer"
    for loc in locations:
        assert "/" not in loc and (MODELS / loc).exists(), loc
    onnx.checker.check_model(str(path), full_check=True)
    check_against_ort(model, path, x, ["logits"])

    write_sidecar(
        MODELS / "breast_cancer_mlp.yaml",
        f"Breast cancer Wisconsin diagnostic (scikit-learn load_breast_cancer): a 30-32-16-2 "
        f"Tanh/ReLU MLP over the raw features (standardisation built in), {acc:.1%} accuracy "
        f"on a held-out 20% split ({len(y_te)} patients).",
        data.feature_names, data.target_names, stats,
    )
    describe_onnx(path)


def main() -> int:
    MODELS.mkdir(exist_ok=True)
    build_iris()
    build_breast_cancer()
    return 0


if __name__ == "__main__":
    sys.exit(main())
