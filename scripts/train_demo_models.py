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
  models/iris_mlp.background.json  KernelSHAP's default background rows: a JSON array of
  models/breast_cancer_mlp.background.json   instances (each a list of raw feature values,
                                   floats), a seeded random sample without replacement of
                                   the training split (numpy default_rng(0)), 30 rows for
                                   iris and 50 for breast cancer, in training-split order.

Why: `candor serve` with no arguments serves the models in models/. They cover both
PyTorch exporters users bring (TorchScript and dynamo), a model with two outputs, and a
model whose weights are external data. In both models the standardisation
((x - mean) / std, training-split statistics) is the first op of the graph, with mean and
std as constant tensors, so clients send raw feature values.

The sidecar YAML has `description`, `feature_names`, `class_names` (scikit-learn's
`feature_names` / `target_names`), `training_statistics` (per feature, over the training
split: `mean`, `std` (population, ddof=0, the one baked into the model), `min`, `max`,
`quartiles` = 25th/50th/75th percentiles as lists, one list per feature, raw (they may repeat
a value), and the statistics of the `lime` package's QuartileDiscretizer on the same split:
`bin_counts`, `bin_means`, `bin_stds`), and `background`, the name of a JSON file beside the
model (see below). LIME's discretiser uses the statistics, KernelSHAP the background.

lime's quartile bins: a feature's bin edges are np.unique(quartiles) (so 2 to 4 bins when
quartiles repeat), a value's bin is np.searchsorted(edges, value) (side 'left': bin 0 is
value <= edges[0], bin k is edges[k-1] < value <= edges[k], the last bin value > edges[-1]).
Per feature, per bin: `bin_counts` = training rows in the bin, `bin_means` / `bin_stds` =
np.mean / np.std (ddof=0) of their values — lime's own numbers without the 1e-11 lime adds to
every std; an empty bin has count 0, mean 0 and std 0 (as in lime). LIME samples a bin with
probability bin_counts / rows, and a value inside it from a normal (bin mean, bin std)
truncated to [bin min, bin max], where bin 0 runs from `min` and the last bin up to `max`.
The script asserts these equal lime.discretize.QuartileDiscretizer's.

Rerunning gives identical files. The dynamo exporter writes this script's path and line
numbers (stack traces in node metadata) into breast_cancer_mlp.onnx, so every export goes to
a temporary folder first and replaces the file in models/ only if the model differs from it
apart from that metadata: editing this script (or moving the checkout) leaves models/*.onnx
byte for byte as they are.

Run:  .venv-fixtures/bin/python scripts/train_demo_models.py
(from the repository root; see scripts/fixtures/requirements.txt for versions.)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
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


def load_split(dataset: str):
    """(sklearn Bunch, x_train, x_test, y_train, y_test) of "iris" or "breast_cancer".

    The 80/20 stratified split (random_state 0) the models are trained on; the fixture
    generators import this to reproduce the training split exactly."""
    data = {"iris": load_iris, "breast_cancer": load_breast_cancer}[dataset]()
    x = data.data.astype(np.float64)
    y = data.target
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    return data, x_tr, x_te, y_tr, y_te


def quartile_bins(x: np.ndarray) -> dict:
    """lime's QuartileDiscretizer statistics per feature: edges np.unique(p25, p50, p75),
    bin = np.searchsorted(edges, value) (side left), len(edges) + 1 bins; per bin the row
    count and np.mean / np.std (ddof=0) of the values, 0 and 0 for an empty bin (lime's
    convention), and without the 1e-11 lime adds to each std."""
    counts, means, stds = [], [], []
    for j in range(x.shape[1]):
        col = x[:, j]
        edges = np.unique(np.percentile(col, [25, 50, 75]))
        bins = np.searchsorted(edges, col)
        sel = [col[bins == b] for b in range(len(edges) + 1)]
        counts.append([int(len(v)) for v in sel])
        means.append([float(np.mean(v)) if len(v) else 0.0 for v in sel])
        stds.append([float(np.std(v)) if len(v) else 0.0 for v in sel])
    return {"bin_counts": counts, "bin_means": means, "bin_stds": stds}


def check_against_lime(x: np.ndarray, bins: dict) -> None:
    """Assert quartile_bins() is lime's QuartileDiscretizer on the same rows (stds less its
    1e-11), so the sidecar carries lime's numbers, not a look-alike."""
    from lime.discretize import QuartileDiscretizer

    names = [str(j) for j in range(x.shape[1])]
    d = QuartileDiscretizer(x, [], names, random_state=0)
    binned = d.discretize(x)
    for j in range(x.shape[1]):
        assert d.means[j] == bins["bin_means"][j], j  # the same np.mean calls, bit for bit
        np.testing.assert_allclose(np.array(d.stds[j]) - 1e-11, bins["bin_stds"][j],
                                   rtol=1e-12, atol=0)
        counts = np.bincount(binned[:, j].astype(int), minlength=len(d.means[j]))
        assert counts.tolist() == bins["bin_counts"][j], j


def training_statistics(x: np.ndarray) -> dict:
    q = np.percentile(x, [25, 50, 75], axis=0)  # shape [3, F]
    bins = quartile_bins(x)
    check_against_lime(x, bins)
    return {
        "mean": [float(v) for v in x.mean(axis=0)],
        "std": [float(v) for v in x.std(axis=0)],  # population std, ddof=0
        "min": [float(v) for v in x.min(axis=0)],
        "max": [float(v) for v in x.max(axis=0)],
        "quartiles": [[float(q[i, j]) for i in range(3)] for j in range(x.shape[1])],
        **bins,
    }


def write_background(path: Path, x_tr: np.ndarray, rows: int) -> None:
    """A seeded random sample of the training split without replacement, in split order,
    written as a JSON array of instances, one per line (Python's shortest float reprs)."""
    idx = np.sort(np.random.default_rng(SEED).choice(len(x_tr), size=rows, replace=False))
    lines = [json.dumps([float(v) for v in x_tr[i]]) for i in idx]
    with open(path, "w") as f:
        f.write("[\n  " + ",\n  ".join(lines) + "\n]\n")


def write_sidecar(path: Path, description: str, feature_names, class_names, stats,
                  background: str) -> None:
    doc = {
        "description": description,
        "feature_names": [str(n) for n in feature_names],
        "class_names": [str(n) for n in class_names],
        "training_statistics": stats,
        "background": background,
    }
    header = (
        "# Generated by scripts/train_demo_models.py — do not edit by hand.\n"
        "# training_statistics are over the training split; std is the population std\n"
        "# (ddof=0), the one baked into the model; quartiles are [p25, p50, p75] per feature.\n"
        "# bin_counts / bin_means / bin_stds: lime's QuartileDiscretizer bins per feature\n"
        "# (edges = unique quartiles, bin = searchsorted(edges, x), side left): training rows,\n"
        "# mean and std (ddof=0, without lime's +1e-11) of the values in each bin.\n"
        "# background: KernelSHAP's default background, a JSON file beside this one holding a\n"
        "# seeded random sample of training rows (a list of instances).\n"
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


STACK_TRACE = "pkg.torch.onnx.stack_trace"


def model_content(path: Path) -> bytes:
    """The model with its external data inlined and without the dynamo exporter's
    `pkg.torch.onnx.stack_trace` node metadata (this script's path and line numbers)."""
    m = onnx.load(str(path))
    for node in [*m.graph.node, *(n for fn in m.functions for n in fn.node)]:
        kept = [e for e in node.metadata_props if e.key != STACK_TRACE]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
    return m.SerializeToString(deterministic=True)


def install(exported: Path) -> Path:
    """Copy a freshly exported model (and its external data file(s), named <stem>.onnx*)
    from the temporary folder into models/, unless models/ already holds the same model:
    then the committed bytes stay, stack traces and all. Returns the path in models/."""
    dest = MODELS / exported.name
    if dest.exists() and model_content(dest) == model_content(exported):
        print(f"{dest.relative_to(ROOT)}: unchanged")
        return dest
    for stale in MODELS.glob(exported.name + "*"):
        stale.unlink()  # a stale external data file would otherwise linger
    for f in sorted(exported.parent.glob(exported.name + "*")):
        shutil.copyfile(f, MODELS / f.name)
    print(f"{dest.relative_to(ROOT)}: written")
    return dest


def build_iris(tmp: Path) -> None:
    data, x_tr, x_te, y_tr, y_te = load_split("iris")
    x = data.data.astype(np.float64)
    stats = training_statistics(x_tr)

    torch.manual_seed(SEED)
    model = IrisMLP(np.array(stats["mean"]), np.array(stats["std"]))
    train(model, x_tr, y_tr, epochs=400, lr=0.01)
    acc = accuracy(model, x_te, y_te)
    print(f"iris: held-out accuracy {acc:.4f} on {len(y_te)} rows")

    path = tmp / "iris_mlp.onnx"
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
    path = install(path)
    check_against_ort(model, path, x, ["logits", "probabilities"])

    write_background(MODELS / "iris_mlp.background.json", x_tr, rows=30)
    write_sidecar(
        MODELS / "iris_mlp.yaml",
        f"Iris flowers (scikit-learn load_iris): a 4-16-16-3 ReLU MLP over raw centimetres "
        f"(standardisation built in), {acc:.1%} accuracy on a held-out 20% split "
        f"({len(y_te)} flowers).",
        data.feature_names, data.target_names, stats, "iris_mlp.background.json",
    )
    describe_onnx(path)


def build_breast_cancer(tmp: Path) -> None:
    data, x_tr, x_te, y_tr, y_te = load_split("breast_cancer")
    x = data.data.astype(np.float64)
    stats = training_statistics(x_tr)

    torch.manual_seed(SEED)
    model = BreastCancerMLP(np.array(stats["mean"]), np.array(stats["std"]))
    train(model, x_tr, y_tr, epochs=300, lr=0.005)
    acc = accuracy(model, x_te, y_te)
    print(f"breast cancer: held-out accuracy {acc:.4f} on {len(y_te)} rows")

    # Exported into an empty temporary folder: the exporter appends to an existing external
    # data file otherwise.
    path = tmp / "breast_cancer_mlp.onnx"
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
        assert "/" not in loc and loc.startswith(path.name) and (tmp / loc).exists(), loc
    onnx.checker.check_model(str(path), full_check=True)
    check_against_ort(model, path, x, ["logits"])
    path = install(path)
    check_against_ort(model, path, x, ["logits"])

    write_background(MODELS / "breast_cancer_mlp.background.json", x_tr, rows=50)
    write_sidecar(
        MODELS / "breast_cancer_mlp.yaml",
        f"Breast cancer Wisconsin diagnostic (scikit-learn load_breast_cancer): a 30-32-16-2 "
        f"Tanh/ReLU MLP over the raw features (standardisation built in), {acc:.1%} accuracy "
        f"on a held-out 20% split ({len(y_te)} patients).",
        data.feature_names, data.target_names, stats, "breast_cancer_mlp.background.json",
    )
    describe_onnx(path)


def main() -> int:
    MODELS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "iris").mkdir()
        (Path(tmp) / "breast_cancer").mkdir()
        build_iris(Path(tmp) / "iris")
        build_breast_cancer(Path(tmp) / "breast_cancer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
