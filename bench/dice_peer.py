"""The `dice*` cases' peer: dice-ml 0.12 (`dice_ml.Dice`, method "genetic" or "random") on the
same ONNX model, run as scripts/fixtures/make_counterfactual_fixtures.py runs it for the Swift
goldens, and both sides' counterfactuals measured with one distance.

The instance is the first row of the model's sidecar background that the model assigns class 0
(credit_mlp: refused; breast_cancer_mlp: malignant); both sides are asked for `total_cfs`
counterfactuals of class 1. dice-ml gets the background rows (with the model's own predictions
as the outcome column) as its training data, so both sides search the background's range:
Candor is sent `permitted_range` = the background's [min, max] of every non-categorical feature
(its default would be the sidecar's training range), and both take their MADs over the same rows.
The sidecar's `immutable_features` are left out of dice-ml's `features_to_vary` (DiCE has no other
way to say it); its `integer_features` are int64 columns and its `categorical_features` DiCE
categories. The model on dice-ml's side is onnxruntime (one thread) behind an sklearn-like
`predict_proba` = softmax(logits).

The searches differ (dice-ml 0.12's genetic search picks parents regardless of fitness and mutates
features to their minimum; its random method returns valid samples at random; Candor's `dice`
documents its own), so no value is compared: the agreement is both sides' validity and mean
distance, d(x, x') = Σ_j |x'_j − x_j| / MAD_j over all features (categorical codes too, as the
fixtures measure it), MAD_j over the background in float64, 0 replaced by 1; Candor's mean must be
no larger than dice-ml's."""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import yaml

SEED = 0


class OnnxClassifier:
    """An sklearn-like classifier over an ONNX file whose first output is logits: predict_proba
    is their softmax. Takes a DataFrame (feature columns; categories arrive as strings) or an array;
    the model sees float32. onnxruntime on one thread."""

    def __init__(self, path: Path, feature_names: list[str]):
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0].name
        self.feature_names = feature_names

    def logits(self, data) -> np.ndarray:
        if isinstance(data, pd.DataFrame):
            data = data[self.feature_names].astype(np.float64).values
        x = np.asarray(data, dtype=np.float64).astype(np.float32).reshape(-1, len(self.feature_names))
        return self.sess.run(None, {self.input: x})[0].astype(np.float64)

    def predict_proba(self, data) -> np.ndarray:
        z = self.logits(data)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, data) -> np.ndarray:
        return self.logits(data).argmax(axis=1)


def mads(rows: np.ndarray) -> np.ndarray:
    """Each feature's median absolute deviation over `rows` (float64), 0 replaced by 1."""
    mad = np.median(np.abs(rows - np.median(rows, axis=0)), axis=0)
    return np.where(mad > 0, mad, 1.0)


def distance(x: np.ndarray, c: np.ndarray, mad: np.ndarray) -> float:
    return float(np.sum(np.abs(np.asarray(c, dtype=np.float64) - x) / mad))


class DicePeer:
    """dice-ml on one instance of one model: `explain()` is the timed call
    (`generate_counterfactuals`, the Data / Model / Dice objects built once, as Candor loads the
    model and its sidecar once); `candor_params()` what Candor is sent besides the case's params."""

    def __init__(self, models_dir: Path, name: str, method: str, total_cfs: int):
        sidecar = yaml.safe_load((Path(models_dir) / f"{name}.yaml").read_text())
        import dice_ml  # imported here: only the dice cases need it

        self.name, self.method, self.total_cfs = name, method, total_cfs
        self.names = list(sidecar["feature_names"])
        self.integer = list(sidecar.get("integer_features") or [])
        self.categorical = {k: list(v) for k, v in (sidecar.get("categorical_features") or {}).items()}
        self.immutable = list(sidecar.get("immutable_features") or [])
        self.background = np.array(json.loads((Path(models_dir) / sidecar["background"]).read_text()), dtype=np.float64)
        self.model = OnnxClassifier(Path(models_dir) / f"{name}.onnx", self.names)
        outcome = self.model.predict(self.background)
        refused = np.flatnonzero(outcome == 0)
        if refused.size == 0:
            raise ValueError(f"{name}: no background row is predicted class 0")
        self.instance = self.background[refused[0]]
        self.mad = mads(self.background)
        data = dice_ml.Data(dataframe=self._frame(self.background, outcome),
                            continuous_features=[f for f in self.names if f not in self.categorical],
                            outcome_name="outcome")
        model = dice_ml.Model(model=self.model, backend="sklearn", model_type="classifier")
        self.explainer = dice_ml.Dice(data, model, method=method)
        self.query = self._frame(self.instance[None, :])
        for f in self.categorical:
            # Categories as the strings DiCE keeps them as (pandas 3 refuses them in a float frame).
            self.query[f] = self.query[f].astype(str)
        self.varying = [f for f in self.names if f not in self.immutable]

    def _frame(self, rows: np.ndarray, outcome=None) -> pd.DataFrame:
        df = pd.DataFrame(rows, columns=self.names)
        for f in self.integer + list(self.categorical):
            df[f] = df[f].round().astype(np.int64)
        if outcome is not None:
            df["outcome"] = outcome
        return df

    def candor_params(self) -> dict:
        """The background's range for every non-categorical feature, as dice-ml searches it."""
        return {"permitted_range": {f: [float(self.background[:, j].min()), float(self.background[:, j].max())]
                                    for j, f in enumerate(self.names) if f not in self.categorical}}

    def explain(self):
        """One seeded `generate_counterfactuals` call (numpy's and Python's global generators
        seeded, `random_seed` for the random method: the genetic method has none), its output
        silenced. Returns dice-ml's result; raises when dice-ml finds none."""
        kwargs = dict(total_CFs=self.total_cfs, desired_class=1, features_to_vary=self.varying)
        if self.method == "random":
            kwargs["random_seed"] = SEED
        np.random.seed(SEED)
        random.seed(SEED)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return self.explainer.generate_counterfactuals(self.query, **kwargs)

    def counterfactuals(self) -> tuple[np.ndarray, str | None]:
        """dice-ml's final (sparse) counterfactuals [n, F] float64, and the error it raised, if any."""
        try:
            result = self.explain()
        except Exception as e:  # dice-ml raises when it finds none
            return np.zeros((0, len(self.names))), f"{type(e).__name__}: {e}"
        frame = result.cf_examples_list[0].final_cfs_df_sparse
        if frame is None:
            return np.zeros((0, len(self.names))), None
        return frame[self.names].astype(np.float64).values, None

    def summary(self, rows: np.ndarray) -> dict:
        """Count, validity (re-predicted with onnxruntime: class 1) and mean distance of `rows`."""
        if len(rows) == 0:
            return {"found": 0, "validity": None, "mean_distance": None}
        valid = self.model.predict(rows) == 1
        return {"found": int(len(rows)), "validity": float(valid.mean()),
                "mean_distance": float(np.mean([distance(self.instance, c, self.mad) for c in rows]))}


def dice_agreement(peer: DicePeer, response: dict) -> dict:
    """Both sides' counterfactuals measured alike; `ok` when Candor returned counterfactuals that
    are all valid and their mean distance is no larger than dice-ml's (or dice-ml found none)."""
    e = response["explanations"][0]
    candor_rows = np.array([c["instance"] for c in e.get("counterfactuals", [])], dtype=np.float64)
    candor_rows = candor_rows.reshape(-1, len(peer.names))
    rows, error = peer.counterfactuals()
    candor, dice = peer.summary(candor_rows), peer.summary(rows)
    ok = (candor["found"] > 0 and candor["validity"] == 1.0
          and (dice["mean_distance"] is None or candor["mean_distance"] <= dice["mean_distance"] + 1e-9))
    return {"instance": [float(v) for v in peer.instance], "method": peer.method, "total_cfs": peer.total_cfs,
            "candor": candor, "dice_ml": dice, "dice_ml_error": error, "candor_validity_reported": e.get("validity"),
            "ok": bool(ok), "targets_equal": True}
