#!/usr/bin/env python3
"""The tree-ensemble model of the bench's `tree_shap*` cases: an XGBoost binary classifier,
500 trees of max_depth 6, trained deterministically and saved as XGBoost JSON
(`Booster.save_model`) into a models folder that Candor serves.

bench/run.sh calls this on the temporary copy of models/ it serves (the repository's models/
is never written to); compare.py's modules and peers.py import it for the model's name and
the held-out instances.

Data: scikit-learn's `make_classification(n_samples=5000, n_features=30, n_informative=12,
n_redundant=6, flip_y=0.1, random_state=0)` (its rows come shuffled), the first 4,000 rows to
train on, the last 1,000 held out; the explained instances are the first held-out rows, as
float32 (what XGBoost compares, and what the bench sends Candor). Not breast cancer: on its
455 training rows the boosting fits the data within a few dozen rounds and the later trees
collapse to one or two leaves (mean 1.6 leaves a tree at eta 0.3, 2.8 at 0.1), which would
time an almost empty model. Here the 10% flipped labels keep every tree growing (about 26
leaves a tree on average).

Training: `xgboost.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.1,
"tree_method": "hist", "nthread": 1, "seed": 0}, 500 rounds)` on float32 features; with
one thread and a fixed seed a rerun writes the same file (about 1.7 MB, ~1 s).

    .venv-fixtures/bin/python bench/tree_model.py --models-dir DIR   # writes DIR/<NAME>.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

# The model's name in the models folder (the file is NAME.json) and in Candor's URLs.
NAME = "synthetic_xgb500"
N_TREES = 500
PARAMS = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "tree_method": "hist",
          "nthread": 1, "seed": 0}
DATASET = {"n_samples": 5000, "n_features": 30, "n_informative": 12, "n_redundant": 6, "flip_y": 0.1,
           "random_state": 0}
N_TRAIN = 4000


def dataset():
    """(x_train float32, y_train, x_held_out float32)."""
    from sklearn.datasets import make_classification

    x, y = make_classification(**DATASET)
    x = x.astype(np.float32)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:]


def instances(n: int) -> np.ndarray:
    """The first n held-out rows, float32 [n, 30]."""
    return dataset()[2][:n]


def background(n: int) -> np.ndarray:
    """The first n training rows, float32 [n, 30]: the interventional cases' background."""
    return dataset()[0][:n]


def train():
    import xgboost as xgb

    x_tr, y_tr, _ = dataset()
    return xgb.train(PARAMS, xgb.DMatrix(x_tr, label=y_tr, nthread=1), num_boost_round=N_TREES)


def path_in(models_dir) -> Path:
    return Path(models_dir) / f"{NAME}.json"


def write(models_dir) -> Path:
    """Trains the model and saves it as models_dir/NAME.json (written under a temporary name
    and renamed, so a server scanning the folder never sees half a file)."""
    booster = train()
    Path(models_dir).mkdir(parents=True, exist_ok=True)
    out = path_in(models_dir)
    tmp = out.with_name(f".{NAME}.tmp.json")
    booster.save_model(str(tmp))
    os.replace(tmp, out)
    return out


def describe(path) -> dict:
    """The saved model's shape: trees, leaves and depth, file size, base_score."""
    doc = json.loads(Path(path).read_text())
    learner = doc["learner"]
    trees = learner["gradient_booster"]["model"]["trees"]
    leaves, depths = [], []
    for t in trees:
        left, right = t["left_children"], t["right_children"]
        depth = [0] * len(left)
        for i in range(len(left)):  # XGBoost numbers children after their parent
            for c in (left[i], right[i]):
                if c != -1:
                    depth[c] = depth[i] + 1
        leaf = [i for i in range(len(left)) if left[i] == -1]
        leaves.append(len(leaf))
        depths.append(max(depth[i] for i in leaf))
    return {
        "name": NAME,
        "file": Path(path).name,
        "file_bytes": Path(path).stat().st_size,
        "trees": len(trees),
        "leaves_total": int(sum(leaves)),
        "leaves_mean": float(np.mean(leaves)),
        "leaves_p10_p50_p90": [float(v) for v in np.percentile(leaves, [10, 50, 90])],
        "depth_max": int(max(depths)),
        "depth_mean": float(np.mean(depths)),
        "features": int(learner["learner_model_param"]["num_feature"]),
        "base_score": learner["learner_model_param"]["base_score"],
        "objective": learner["objective"]["name"],
        "params": PARAMS,
        "rounds": N_TREES,
        "dataset": {"generator": "sklearn.datasets.make_classification", **DATASET,
                    "train_rows": N_TRAIN, "held_out_rows": DATASET["n_samples"] - N_TRAIN},
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models-dir", required=True, help="folder to write NAME.json into")
    args = p.parse_args()
    t0 = time.perf_counter()
    out = write(args.models_dir)
    d = describe(out)
    print(f"bench: trained {NAME} ({d['trees']} trees, max_depth {PARAMS['max_depth']}, {d['leaves_mean']:.1f} "
          f"leaves a tree on average, {d['file_bytes'] / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s → {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
