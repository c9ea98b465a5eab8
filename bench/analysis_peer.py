"""The analysis cases' peers (`partial_dependence*`, `ale`, `permutation_importance`):
scikit-learn 1.9.1's `sklearn.inspection.partial_dependence(method="brute")` and
`permutation_importance`, and Alibi 0.9.6's `alibi.explainers.ALE`, run on the same ONNX model
as scripts/fixtures/make_partial_dependence_fixtures.py and make_importance_fixtures.py run
them for the Swift goldens, and each compared with Candor's job result (both versions are
pinned: bench/peers.py's PINNED, checked at the start of a run).

The data are scikit-learn's breast-cancer dataset, all 569 rows (`load_breast_cancer`), read as
float32 and widened to float64 — the values Candor is sent — with the dataset's targets as
labels. The model is onnxruntime on the .onnx file Candor serves (one intra-/inter-op thread),
its `logits` output as float64:

- scikit-learn gets a minimal fitted classifier whose `predict_proba` returns the logits as they
  are and whose `classes_` are 0 and 1, so scikit-learn analyses the second column (its positive
  class), as Candor does by default; `predict` is their argmax (what `accuracy` scores);
- Alibi gets the logits function itself (every column); the analysed target's column is kept.

Alibi 0.9.6 imports spacy (for AnchorText), which is stood in for when absent, and its
`ale.get_quantiles` calls `numpy.percentile(..., interpolation=)`, a keyword numpy 2.4 no longer
accepts: it is replaced by the same function passing `method=` (the same quantiles), as the
fixture script does.

Agreement: `partial_dependence` and `ale` are deterministic, so values are compared — PD's
`average` (and `individual`) and grids; ALE's `ale_values`, `ale0`, `constant_value` and grids —
within the goldens' tolerance, CURVE_ATOL + CURVE_RTOL · max |peer value| (float32 model
evaluation on both sides). `permutation_importance` shuffles with different generators, so, as
the golden test holds it: the baseline score must be equal, and each feature's mean importance
over Candor's repeats within 3 standard deviations (ddof 1) of scikit-learn's mean over
IMPORTANCE_SEEDS random states, plus one row's flip in one repeat (accuracy's resolution)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import onnxruntime as ort
from sklearn.base import BaseEstimator, ClassifierMixin

# Partial dependence and ALE values (the goldens' tolerance): max |Candor − peer| must be
# ≤ CURVE_ATOL + CURVE_RTOL · max |peer value|; grids within GRID_RTOL relative.
CURVE_ATOL, CURVE_RTOL = 2e-6, 1e-5
GRID_RTOL = 1e-9
# Permutation importance: scikit-learn's spread is taken over this many random states (the
# golden test's 20), and Candor's mean importance must lie within IMPORTANCE_STDS of their mean.
IMPORTANCE_SEEDS = 20
IMPORTANCE_STDS = 3.0


def breast_cancer_rows() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scikit-learn's breast-cancer dataset: the 569 rows as float32 widened to float64 (the
    values Candor is sent), their targets (0 malignant, 1 benign) and the feature names."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    rows = data.data.astype(np.float32).astype(np.float64)
    return rows, data.target.astype(np.int64), [str(n) for n in data.feature_names]


class OnnxOutput:
    """One output of an ONNX model under onnxruntime (one thread), as float64 rows."""

    def __init__(self, path: Path, output: str):
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.output = output

    def __call__(self, x) -> np.ndarray:
        return self.session.run([self.output], {self.input: np.asarray(x, dtype=np.float32)})[0].astype(np.float64)


class OnnxClassifier(ClassifierMixin, BaseEstimator):
    """A fitted scikit-learn classifier whose predict_proba is an ONNX output as is, and whose
    predict is its argmax."""

    def __init__(self, model=None):
        self.model = model

    def fit(self, x, y=None):
        self.classes_ = np.arange(self.model(x[:1]).shape[1])
        self.n_features_in_ = x.shape[1]
        return self

    def predict_proba(self, x):
        return self.model(x)

    def predict(self, x):
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]


def import_alibi_ale():
    """alibi.explainers.ale, with a stand-in for spacy and numpy 2's percentile keyword."""
    if "spacy" not in sys.modules and importlib.util.find_spec("spacy") is None:
        for name in ("spacy", "spacy.util", "spacy.cli"):
            sys.modules.setdefault(name, types.ModuleType(name))
        sys.modules["spacy.util"].get_package_path = None
        sys.modules["spacy.cli"].download = sys.modules["spacy.cli"].link = None
    from alibi.explainers import ale

    def get_quantiles(values, num_quantiles=11, interpolation="linear"):
        percentiles = np.linspace(0, 100, num=num_quantiles)
        return np.percentile(values, percentiles, axis=0, method=interpolation)

    ale.get_quantiles = get_quantiles
    return ale


def _index(reference, names: list[str]) -> int:
    return reference if isinstance(reference, int) else names.index(reference)


def _max_abs(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def _grid_rel(mine, theirs) -> float:
    """The largest relative difference between two grids (infinite when their lengths differ)."""
    theirs = np.asarray(theirs, dtype=np.float64)
    if len(mine) != len(theirs):
        return float("inf")
    return float(np.max(np.abs(np.asarray(mine, dtype=np.float64) - theirs) / np.maximum(np.abs(theirs), 1e-300)))


class AnalysisPeer:
    """The peer of one analysis case on `rows` (labels `labels`) of the ONNX model at `path`:
    `explain()` is the timed call (the estimator or explainer built once, as Candor loads the
    model once), `agreement(result)` compares Candor's job result with the peer's answer."""

    def __init__(self, analysis: str, path: Path, output: str, target: int, rows: np.ndarray, labels: np.ndarray,
                 names: list[str], params: dict):
        self.analysis, self.target, self.rows, self.labels, self.names = analysis, target, rows, labels, names
        self.params = params
        self.model = OnnxOutput(path, output)
        self.estimator = OnnxClassifier(self.model).fit(rows)
        if analysis == "ale":
            self.explainer = import_alibi_ale().ALE(self.model, feature_names=names)
        self.explain = {"partial_dependence": self._partial_dependence, "ale": self._ale,
                        "permutation_importance": self._permutation_importance}[analysis]

    def args(self) -> dict:
        """The peer's call, for latest.json."""
        p = self.params
        if self.analysis == "partial_dependence":
            return {"function": "sklearn.inspection.partial_dependence", "method": "brute",
                    "kind": p.get("kind", "average"), "grid_resolution": p["grid_resolution"], "calls": "one per item"}
        if self.analysis == "ale":
            return {"function": "alibi.explainers.ALE(predictor).explain", "min_bin_points": p.get("min_bin_points", 4)}
        return {"function": "sklearn.inspection.permutation_importance", "scoring": p["scoring"],
                "n_repeats": p["n_repeats"], "random_state": 0, "n_jobs": None}

    # ---- the timed calls ----------------------------------------------------------------

    def _partial_dependence(self) -> list:
        from sklearn.inspection import partial_dependence

        out = []
        for item in self.params["features"]:
            pair = isinstance(item, list)
            indices = [_index(r, self.names) for r in (item if pair else [item])]
            out.append(partial_dependence(self.estimator, self.rows, [tuple(indices)] if pair else indices,
                                          method="brute", kind=self.params.get("kind", "average"),
                                          grid_resolution=self.params["grid_resolution"]))
        return out

    def _ale_features(self) -> list[int]:
        selection = self.params.get("features", "all")
        return list(range(len(self.names))) if selection == "all" else [_index(r, self.names) for r in selection]

    def _ale(self):
        return self.explainer.explain(self.rows, features=self._ale_features(),
                                      min_bin_points=self.params.get("min_bin_points", 4))

    def _permutation_importance(self, random_state: int = 0):
        from sklearn.inspection import permutation_importance

        return permutation_importance(self.estimator, self.rows, self.labels, scoring=self.params["scoring"],
                                      n_repeats=self.params["n_repeats"], random_state=random_state)

    # ---- agreement ------------------------------------------------------------------------

    def agreement(self, result: dict) -> dict:
        return {"partial_dependence": self._pd_agreement, "ale": self._ale_agreement,
                "permutation_importance": self._importance_agreement}[self.analysis](result)

    def _pd_agreement(self, result: dict) -> dict:
        """Max |Candor − scikit-learn| of every item's `average` (and `individual`; the scale of the
        tolerance is the largest |value| of either), and the grids."""
        diffs, ice_diffs, grid_rel, scale = [], [], [], 0.0
        for entry, bunch in zip(result["features"], self._partial_dependence()):
            # scikit-learn's leading axis is the output: one for a binary classifier.
            row = 0 if bunch["average" if "average" in bunch else "individual"].shape[0] == 1 else self.target
            item_grid_rel = [_grid_rel(mine, theirs) for mine, theirs in zip(entry["grid_values"], bunch["grid_values"])]
            grid_rel += item_grid_rel
            if float("inf") in item_grid_rel:
                continue  # another grid: the values cannot be compared (the grids' difference fails the case)
            if "average" in bunch:
                scale = max(scale, float(np.abs(bunch["average"][row]).max()))
                diffs.append(_max_abs(entry["average"], bunch["average"][row]))
            if "individual" in bunch:
                scale = max(scale, float(np.abs(bunch["individual"][row]).max()))
                ice_diffs.append(_max_abs(entry["individual"], bunch["individual"][row]))
        tolerance = CURVE_ATOL + CURVE_RTOL * scale
        worst = max(diffs + ice_diffs, default=float("inf"))
        return {"max_abs_diff": max(diffs, default=None), "individual_max_abs_diff": max(ice_diffs, default=None),
                "max_abs_reference": scale, "grid_max_rel_diff": max(grid_rel), "tolerance": tolerance,
                "items": len(diffs), "ok": bool(worst <= tolerance and max(grid_rel) <= GRID_RTOL)}

    def _ale_agreement(self, result: dict) -> dict:
        """Max |Candor − Alibi| of `ale_values` (the target's column), `ale0` and `constant_value`,
        and the grids (Alibi's `feature_values`)."""
        data = self._ale().data
        column = self.target
        diffs, ale0_diffs, grid_rel, scale, same_grids = [], [], [], 0.0, True
        for position, entry in enumerate(result["features"]):
            theirs = np.asarray(data["ale_values"][position])[:, column]
            grid_rel.append(_grid_rel(entry["grid_values"], data["feature_values"][position]))
            if grid_rel[-1] == float("inf"):  # another grid: the values cannot be compared
                same_grids = False
                continue
            scale = max(scale, float(np.abs(theirs).max()))
            diffs.append(_max_abs(entry["ale_values"], theirs))
            ale0_diffs.append(abs(entry["ale0"] - float(np.asarray(data["ale0"][position])[column])))
        constant = float(self.model(self.rows)[:, column].mean())
        tolerance = CURVE_ATOL + CURVE_RTOL * scale
        constant_diff = abs(result["constant_value"] - constant)
        worst = max(diffs + ale0_diffs + [constant_diff]) if diffs else float("inf")
        return {"max_abs_diff": max(diffs, default=None), "ale0_max_abs_diff": max(ale0_diffs, default=None),
                "constant_value_abs_diff": constant_diff, "max_abs_reference": scale,
                "grid_max_rel_diff": max(grid_rel, default=None), "grids_same_length": same_grids,
                "features": len(result["features"]),
                "grid_points": int(sum(len(e["grid_values"]) for e in result["features"])), "tolerance": tolerance,
                "ok": bool(same_grids and worst <= tolerance and max(grid_rel) <= GRID_RTOL)}

    def _importance_agreement(self, result: dict) -> dict:
        """Baseline scores equal; Candor's mean importances within scikit-learn's seed-to-seed spread."""
        from sklearn.metrics import check_scoring

        scorer = check_scoring(self.estimator, scoring=self.params["scoring"])
        baseline = float(scorer(self.estimator, self.rows, self.labels))
        per_seed = np.stack([self._permutation_importance(seed).importances_mean for seed in range(IMPORTANCE_SEEDS)])
        mean, std = per_seed.mean(axis=0), per_seed.std(axis=0, ddof=1)
        candor = np.array([e["importances_mean"] for e in result["features"]], dtype=np.float64)
        resolution = 1.0 / (len(self.rows) * self.params["n_repeats"]) if self.params["scoring"] == "accuracy" else 0.0
        allowed = IMPORTANCE_STDS * std + resolution + 1e-9
        gap = np.abs(candor - mean)
        outside = [self.names[j] for j in np.flatnonzero(gap > allowed)]
        baseline_diff = abs(result["baseline_score"] - baseline)
        # Accuracy counts rows, so both sides' baselines are the same number; other scores are
        # formulas over two runtimes' float32 outputs, which differ in their last bits.
        baseline_ok = baseline_diff <= (0.0 if self.params["scoring"] == "accuracy" else 1e-6 + 1e-5 * abs(baseline))
        return {"baseline_candor": result["baseline_score"], "baseline_sklearn": baseline,
                "baseline_abs_diff": baseline_diff, "seeds": IMPORTANCE_SEEDS,
                "max_abs_diff": float(gap.max()), "max_gap_in_allowed": float((gap / allowed).max()),
                "outside": outside, "top_candor": self.names[int(np.argmax(candor))],
                "top_sklearn": self.names[int(np.argmax(mean))],
                "candor_means": candor.tolist(), "sklearn_means": mean.tolist(), "sklearn_stds": std.tolist(),
                "ok": bool(baseline_ok and not outside)}
