#!/usr/bin/env python3
"""Train and export Candor's credit-style demo model into models/.

Generates (deterministically: fixed seeds, single thread):

  models/credit_mlp.onnx             8→32→ReLU→16→ReLU→2 MLP on a SYNTHETIC credit data set
                                     (below). Exported with the TorchScript exporter
                                     (dynamo=False, opset 17), like iris_mlp. Input `features`
                                     [N,8] raw; output `logits` [N,2] (classes refused, approved).
                                     Standardisation ((x - mean) / std, training-split
                                     statistics) is the first op of the graph.
  models/credit_mlp.yaml             sidecar metadata: description, feature_names, class_names,
                                     training_statistics and background as the other demo
                                     models (scripts/train_demo_models.py), plus three keys for
                                     the counterfactual methods (issue 13):
                                       integer_features      features whose values are integers
                                       categorical_features  feature → its allowed codes
                                       immutable_features    features a counterfactual keeps
  models/credit_mlp.background.json  50 rows of the training split (numpy default_rng(0)
                                     sample without replacement, in split order), the rows
                                     KernelSHAP and the counterfactual MADs use.

Why: docs/walkthrough.md walks through "why was this applicant refused, and what would change it"
(counterfactual explanations: `wachter`, `dice`, `growing_spheres`). The scikit-learn data
sets have neither categorical, integer nor immutable features; this one has all three, and a
protected attribute the true rule does not use.

The data set (N = 4000 applicants, numpy default_rng(13), nothing downloaded): the features,
in model order (continuous and integer first, categorical last):

  age                 integer years, uniform 21..70                      (immutable)
  income              annual income in thousands, log-normal around 42 (one decimal),
                      clipped to 8..250
  debt to income      monthly debt payments / monthly income, Beta(2, 5) scaled by 0.9
                      (two decimals)
  years employed      integer, at most age - 18, drawn from a geometric-like spread
  open credit lines   integer, Poisson(4) + 1 clipped to 1..20
  late payments       late payments in the last 2 years, integer, Poisson(0.7) clipped to 0..9
  home ownership      categorical code: 0 rent, 1 mortgage, 2 own (older applicants own more)
  sex                 categorical code 0 / 1, independent of everything (immutable)

Ground truth: approved ~ Bernoulli(sigmoid(z)) with
  z = −1.2 + 2.7·ln(income / 42) − 10.5·(debt to income − 0.25) + 0.14·min(years employed, 15)
      + 0.18·min(open credit lines, 6) − 0.22·max(open credit lines − 10, 0)
      − 1.35·late payments + 0.6·[home ownership = 1] + 1.0·[home ownership = 2]
      + 0.015·(age − 40)
(sex does not appear). Classes: 0 refused, 1 approved. 80/20 stratified split (random_state
0); the model is trained on the training split with full-batch Adam, as the other demo MLPs.

Run:  .venv-fixtures/bin/python scripts/train_credit_demo_model.py
(from the repository root; see scripts/fixtures/requirements.txt for versions.)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
import yaml
from sklearn.model_selection import train_test_split
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_demo_models import (  # noqa: E402
    MODELS, ROOT, SEED, Standardize, accuracy, check_against_ort, describe_onnx, install,
    train, training_statistics, write_background,
)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

FEATURES = ["age", "income", "debt to income", "years employed", "open credit lines",
            "late payments", "home ownership", "sex"]
CLASSES = ["refused", "approved"]
INTEGER = ["age", "years employed", "open credit lines", "late payments"]
CATEGORICAL = {"home ownership": [0, 1, 2], "sex": [0, 1]}
IMMUTABLE = ["age", "sex"]
DATA_SEED = 13
ROWS = 4000


def make_credit_data(n: int = ROWS, seed: int = DATA_SEED):
    """(x [n, 8] float64, y [n] int) of the synthetic credit data set described above."""
    rng = np.random.default_rng(seed)
    age = rng.integers(21, 71, size=n)
    income = np.round(np.clip(42.0 * np.exp(rng.normal(0.0, 0.5, size=n)), 8.0, 250.0), 1)
    dti = np.round(0.9 * rng.beta(2.0, 5.0, size=n), 2)
    years = np.minimum(age - 18, np.floor(rng.exponential(7.0, size=n))).astype(int)
    lines = np.clip(rng.poisson(4.0, size=n) + 1, 1, 20)
    late = np.clip(rng.poisson(0.7, size=n), 0, 9)
    # home ownership: older applicants rent less and own more.
    u = (age - 21) / 49.0
    p_rent = 0.6 - 0.4 * u
    p_own = 0.1 + 0.35 * u
    r = rng.uniform(size=n)
    home = np.where(r < p_rent, 0, np.where(r < 1.0 - p_own, 1, 2))
    sex = rng.integers(0, 2, size=n)
    z = (-1.2 + 2.7 * np.log(income / 42.0) - 10.5 * (dti - 0.25) + 0.14 * np.minimum(years, 15)
         + 0.18 * np.minimum(lines, 6) - 0.22 * np.maximum(lines - 10, 0) - 1.35 * late
         + 0.6 * (home == 1) + 1.0 * (home == 2) + 0.015 * (age - 40))
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-z))).astype(int)
    x = np.column_stack([age, income, dti, years, lines, late, home, sex]).astype(np.float64)
    return x, y


def load_credit_split():
    """(x_train, x_test, y_train, y_test): the 80/20 stratified split (random_state 0) the
    model is trained on; make_counterfactual_fixtures.py imports it."""
    x, y = make_credit_data()
    return train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)


class CreditMLP(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.standardize = Standardize(mean, std)
        self.net = nn.Sequential(
            nn.Linear(8, 32), nn.ReLU(),
            nn.Linear(32, 16), nn.ReLU(),
            nn.Linear(16, 2),
        )

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardize(features))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.logits(features)


HEADER = """\
# Generated by scripts/train_credit_demo_model.py — do not edit by hand.
# A SYNTHETIC credit data set (seeded, see the script): no real applicants.
# training_statistics are over the training split; std is the population std
# (ddof=0), the one baked into the model; quartiles are [p25, p50, p75] per feature.
# bin_counts / bin_means / bin_stds: lime's QuartileDiscretizer bins per feature
# (edges = unique quartiles, bin = searchsorted(edges, x), side left): training rows,
# mean and std (ddof=0, without lime's +1e-11) of the values in each bin.
# background: KernelSHAP's default background (and the rows counterfactual MADs are taken
# over), a JSON file beside this one holding a seeded random sample of training rows.
# The counterfactual methods (wachter, dice, growing_spheres) read three more keys:
#   integer_features: features that only take integer values (a counterfactual rounds them);
#   categorical_features: feature → the codes it may take (the model reads the code as a
#     number; a counterfactual picks one of the listed codes, never a value in between);
#   immutable_features: features a counterfactual never changes (age, and the protected
#     attribute sex, which the ground-truth rule does not use).
"""


def main() -> int:
    x_tr, x_te, y_tr, y_te = load_credit_split()
    x = np.concatenate([x_tr, x_te])
    stats = training_statistics(x_tr)

    torch.manual_seed(SEED)
    model = CreditMLP(np.array(stats["mean"]), np.array(stats["std"]))
    train(model, x_tr, y_tr, epochs=500, lr=0.01)
    acc = accuracy(model, x_te, y_te)
    base = float(np.mean(y_te == np.bincount(y_tr).argmax()))
    print(f"credit: held-out accuracy {acc:.4f} on {len(y_te)} rows (majority class {base:.4f}),"
          f" approved share {y_tr.mean():.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "credit_mlp.onnx"
        example = torch.tensor(x_tr[:5], dtype=torch.float32)
        torch.onnx.export(
            model, (example,), str(path),
            dynamo=False, opset_version=17,
            input_names=["features"], output_names=["logits"],
            dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}},
        )
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
        check_against_ort(model, path, x, ["logits"])
        path = install(path)
    check_against_ort(model, path, x, ["logits"])

    write_background(MODELS / "credit_mlp.background.json", x_tr, rows=50)
    doc = {
        "description": (
            f"Credit decisions on a SYNTHETIC data set (seeded, generated by "
            f"scripts/train_credit_demo_model.py; no real applicants): an 8-32-16-2 ReLU MLP "
            f"over raw features (income in thousands a year, debt to income as a ratio; "
            f"standardisation built in), classes refused / approved, {acc:.1%} accuracy on a "
            f"held-out 20% split ({len(y_te)} applicants). home ownership: 0 rent, 1 mortgage, "
            f"2 own; sex: 0 / 1, not used by the rule that generated the labels."),
        "feature_names": FEATURES,
        "class_names": CLASSES,
        "integer_features": INTEGER,
        "categorical_features": CATEGORICAL,
        "immutable_features": IMMUTABLE,
        "training_statistics": stats,
        "background": "credit_mlp.background.json",
    }
    with open(MODELS / "credit_mlp.yaml", "w") as f:
        f.write(HEADER)
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None, width=100)
    describe_onnx(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
