"""The SHAP and LIME peers of bench/compare.py (cases `kernel_shap*`, `lime` and `tree_shap*`).

Captum has no KernelSHAP-over-a-background or tabular LIME that Candor reproduces; their
reference implementations are the `shap` and `lime` packages (the ones the Swift goldens in
Tests/Fixtures/golden/ come from, scripts/fixtures/make_kernel_shap_fixtures.py and
make_lime_fixtures.py). Both call the model through onnxruntime on the same .onnx file
Candor serves, so the comparison is of the explainers, not of two models. For the
`tree_shap*` cases the reference is SHAP's TreeExplainer on the XGBoost JSON file Candor
serves (bench/tree_model.py's 500-tree model): for XGBoost, SHAP hands path-dependent
TreeSHAP to XGBoost's own C++ code (predict(pred_contribs=True)), on a booster set to
nthread=1.

Everything here runs on one thread, like the Captum side's `threads_1` setting: the
onnxruntime sessions have intra_op_num_threads = inter_op_num_threads = 1, and the timed
calls run inside `one_thread()` — threadpoolctl limits every BLAS (OpenBLAS, MKL) and
OpenMP runtime loaded in the process to 1 thread (the runtime equivalent of
OMP/MKL/OPENBLAS_NUM_THREADS=1; those variables cannot be exported by compare.py, since
torch would read them at import and the Captum side's default-threads setting would
vanish) and torch is set to 1 thread; all are restored on exit.

Standalone (no Candor needed) it runs the peers of every case once and times them (the
tree_shap cases train bench/tree_model.py's model into a temporary folder unless --models-dir
holds it):

    .venv-fixtures/bin/python bench/peers.py [--calls N] [--cases tree_shap,tree_shap_b100]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort

from measurement import timed_loop

ROOT = Path(__file__).resolve().parent.parent

# Exact KernelSHAP (every coalition enumerated on both sides): max |Candor − SHAP| over the
# per-feature attributions, and |Δ base_value|, must be ≤ ATOL + RTOL · max |SHAP attribution|.
KSHAP_ATOL, KSHAP_RTOL = 1e-4, 1e-4
# TreeSHAP (path-dependent, every instance of the case): max |Candor − SHAP| over the
# attributions, |Δ base_value| and |Δ margin| must be ≤ ATOL + RTOL · max |SHAP attribution|
# (float32: XGBoost computes and sums its 500 trees' contributions in float32).
TREE_ATOL, TREE_RTOL = 1e-4, 1e-4
# LIME: the rules compared (as sets) between the two sides, largest |weight| first.
LIME_TOP = 3
# Reference packages and the versions the bench (and the goldens) are pinned to (quantus, the
# faithfulness_correlation cases' peer, in bench/requirements-nodeps.txt; scikit-learn and
# alibi, the analysis cases' peers, bench/analysis_peer.py), and the package behind each peer.
PINNED = {"shap": "0.51.0", "lime": "0.2.0.1", "quantus": "0.6.0", "dice-ml": "0.12", "scikit-learn": "1.9.1",
          "alibi": "0.9.6"}
PEER_DISTS = {"shap": "shap", "shap_tree": "shap", "lime": "lime", "quantus": "quantus", "dice": "dice-ml",
              "sklearn": "scikit-learn", "alibi": "alibi"}


def versions() -> dict:
    out = {}
    for dist in ("shap", "lime", "quantus", "dice-ml", "scikit-learn", "alibi", "scipy", "threadpoolctl", "onnxruntime",
                 "numpy"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    # XGBoost's CPU-only wheel is the distribution xgboost-cpu; the full one is xgboost.
    for dist in ("xgboost-cpu", "xgboost"):
        try:
            out["xgboost"] = f"{importlib.metadata.version(dist)} ({dist})"
            break
        except importlib.metadata.PackageNotFoundError:
            out["xgboost"] = None
    return out


def check_pins(peer_names=("shap", "lime")) -> list[str]:
    """Problems with the installed reference packages of the named peers (wrong versions shape
    the numbers; a package no case of the run uses is not checked)."""
    v, dists = versions(), {PEER_DISTS[p] for p in peer_names if p in PEER_DISTS}
    return [f"{d} {v[d]} is installed but the bench is pinned to {want} (bench/requirements*.txt)"
            for d, want in PINNED.items() if d in dists and v[d] != want]


@contextlib.contextmanager
def one_thread():
    """BLAS/OpenMP runtimes and torch (if loaded) on one thread for the duration."""
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def thread_report() -> list[dict]:
    """What threadpoolctl sees inside one_thread(): every runtime and its thread count."""
    from threadpoolctl import threadpool_info

    with one_thread():
        return [{k: i.get(k) for k in ("user_api", "internal_api", "prefix", "num_threads", "version")}
                for i in threadpool_info()]


class OrtModel:
    """onnxruntime on one .onnx file, single-threaded; float32 in, float64 out."""

    def __init__(self, path: Path):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.path = Path(path)
        self.sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        (inp,) = self.sess.get_inputs()
        self.input = inp.name

    def run(self, x, output: str) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return self.sess.run([output], {self.input: x})[0].astype(np.float64)

    def column(self, output: str, target: int):
        """f(X) → the `output`[:, target] column (SHAP's and lime-regression's model)."""
        return lambda x: self.run(x, output)[:, target]

    def all_columns(self, output: str):
        """f(X) → every column of `output` (lime's predict_proba)."""
        return lambda x: self.run(x, output)


def sidecar_background(models_dir: Path, name: str) -> np.ndarray:
    """The model's default KernelSHAP background (the rows Candor uses when the request has
    none): models/<name>.background.json, float64 as written."""
    return np.array(json.loads((Path(models_dir) / f"{name}.background.json").read_text()), dtype=np.float64)


_SPLITS: dict = {}


def training_split(dataset: str):
    """(feature names, training rows) of "iris" / "breast_cancer": load_split() of
    scripts/train_demo_models.py, the split the models and their sidecar statistics come
    from. That module sets torch to one thread and deterministic algorithms when imported;
    both are restored here so the Captum side's timings are unaffected."""
    if dataset not in _SPLITS:
        torch = sys.modules.get("torch")
        state = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) if torch else None
        sys.path.insert(0, str(ROOT / "scripts"))
        try:
            from train_demo_models import load_split
        finally:
            sys.path.remove(str(ROOT / "scripts"))
            if torch is not None:
                torch.set_num_threads(state[0])
                torch.use_deterministic_algorithms(state[1])
        data, x_tr, *_ = load_split(dataset)
        _SPLITS[dataset] = ([str(n) for n in data.feature_names], x_tr)
    return _SPLITS[dataset]


DATASETS = {"iris_mlp": "iris", "breast_cancer_mlp": "breast_cancer"}


def groups_of(mask, n_features: int):
    """Group ids in ascending order and the feature indices of each (singletons without a mask)."""
    mask = np.arange(n_features) if mask is None else np.asarray(mask)
    ids = np.unique(mask)
    return ids, [np.nonzero(mask == g)[0] for g in ids]


# ---------------------------------------------------------------------------------------
# KernelSHAP
# ---------------------------------------------------------------------------------------

class KernelShapPeer:
    """shap.KernelExplainer(f, background).shap_values(x, nsamples, l1_reg=False) for one
    instance, f = onnxruntime's `output`[:, target]. With a feature mask the background is
    wrapped as shap.utils._legacy.DenseData(background, group_names, groups) (groups in
    ascending id order), SHAP's way of explaining groups of columns."""

    def __init__(self, model: OrtModel, output: str, target: int, x: np.ndarray, background: np.ndarray,
                 mask=None, nsamples: int | None = None):
        import shap
        from shap.utils._legacy import DenseData

        self.shap = shap
        self.x = np.asarray(x, dtype=np.float64).reshape(1, -1)
        n_features = self.x.shape[1]
        self.ids, self.groups = groups_of(mask, n_features)
        self.f = model.column(output, target)
        self.data = background if mask is None else DenseData(
            background, [str(int(g)) for g in self.ids], self.groups)
        # SHAP's "auto" is 2·M + 2048 over the M varying groups; every group varies here
        # (checked in `reference`), so this is "auto" and Candor's default.
        self.nsamples = nsamples if nsamples is not None else 2 * len(self.groups) + 2048

    def explain(self):
        """The whole peer call that is timed: explainer (runs f on the background for E[f]) and
        shap_values. Returns (explainer, φ per group)."""
        explainer = self.shap.KernelExplainer(self.f, self.data)
        phi = explainer.shap_values(self.x, nsamples=self.nsamples, l1_reg=False, silent=True)
        return explainer, np.asarray(phi, dtype=np.float64).reshape(-1)

    def per_feature(self, phi: np.ndarray) -> np.ndarray:
        out = np.zeros(self.x.shape[1])
        for j, g in enumerate(self.groups):
            out[g] = phi[j]
        return out

    def reference(self, seed: int = 0):
        np.random.seed(seed)  # SHAP samples coalitions with numpy's global generator
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            explainer, phi = self.explain()
        m = len(explainer.varyingInds)
        return {
            "attributions": self.per_feature(phi),
            "base_value": float(explainer.expected_value),
            "fx": float(self.f(self.x)[0]),
            "varying_groups": m,
            "groups": len(self.groups),
            "coalitions": int(explainer.nsamplesAdded) if m >= 2 else 0,
            "enumerated": m < 2 or int(explainer.nsamplesAdded) == 2 ** m - 2,
        }


def kernel_shap_agreement(peer: KernelShapPeer, response: dict, exact: bool) -> dict:
    """Candor's first explanation vs SHAP's (seed 0). Exact cases: ok when the attributions
    and base_value agree within KSHAP_ATOL + KSHAP_RTOL · max |SHAP|. Sampled cases: no
    pass/fail (ok None); reported for information are max |Candor − SHAP|, SHAP's own
    seed-to-seed difference (seed 0 vs seed 1) and both sides' efficiency error."""
    ref = peer.reference(seed=0)
    e = response["explanations"][0]
    got = np.asarray(e["attributions"], dtype=np.float64).reshape(-1)
    want = ref["attributions"]
    scale = float(np.abs(want).max())
    diff = float(np.abs(got - want).max()) if got.shape == want.shape else None
    got_base = e.get("base_value")
    base_diff = abs(float(got_base) - ref["base_value"]) if got_base is not None else None
    tol = KSHAP_ATOL + KSHAP_RTOL * scale
    out = {
        "peer": f"shap {versions()['shap']} KernelExplainer",
        "max_abs_diff": diff,
        "max_abs_reference": scale,
        "relative_to_max": diff / scale if diff is not None and scale > 0 else None,
        "base_value_candor": got_base,
        "base_value_shap": ref["base_value"],
        "base_value_abs_diff": base_diff,
        "fx_shap": ref["fx"],
        "nsamples": peer.nsamples,
        "groups": ref["groups"],
        "shap_coalitions": ref["coalitions"],
        "shap_enumerated_all": ref["enumerated"],
        "tolerance": tol,
    }
    # Efficiency: Σ over groups (each group's value once) = f(x) − E f, on both sides.
    firsts = [g[0] for g in peer.groups]
    if got.shape == want.shape and got_base is not None:
        out["candor_efficiency_abs_error"] = abs(float(got[firsts].sum()) - (ref["fx"] - float(got_base)))
    out["shap_efficiency_abs_error"] = abs(float(want[firsts].sum()) - (ref["fx"] - ref["base_value"]))
    if exact:
        out["compared"] = "exact: every coalition enumerated on both sides"
        out["ok"] = (diff is not None and diff <= tol and base_diff is not None and base_diff <= tol
                     and ref["enumerated"])
    else:
        other = peer.reference(seed=1)
        out["compared"] = "sampled: not compared (different random coalitions); max |diff| for information"
        out["ok"] = None
        out["shap_seed0_vs_seed1_max_abs"] = float(np.abs(other["attributions"] - want).max())
    return out


# ---------------------------------------------------------------------------------------
# LIME
# ---------------------------------------------------------------------------------------

class LimePeer:
    """lime.lime_tabular.LimeTabularExplainer(training split, discretize_continuous=True,
    discretizer='quartile', feature_names = scikit-learn's) and explain_instance(x, fn,
    num_features, num_samples). Classification mode (fn = all `output` columns, labels =
    (target,)) when the output is 'probabilities', else regression mode on the target column.
    The explainer is built once (like Candor's statistics, loaded with the model); the timed
    call is explain_instance: sampling, the model on the samples, distances, the surrogate."""

    def __init__(self, model: OrtModel, name: str, output: str, target: int, x: np.ndarray,
                 num_features: int, num_samples: int, seed: int = 0):
        import lime.lime_tabular

        self.lime_tabular = lime.lime_tabular
        self.feature_names, self.x_tr = training_split(DATASETS[name])
        self.mode = "classification" if output == "probabilities" else "regression"
        self.target = int(target)
        self.x = np.asarray(x, dtype=np.float64).reshape(-1)
        self.fn = model.all_columns(output) if self.mode == "classification" else model.column(output, target)
        self.labels = (self.target,) if self.mode == "classification" else (0,)
        self.num_features, self.num_samples = num_features, num_samples
        self.explainer = self.new_explainer(seed)

    def new_explainer(self, seed: int):
        return self.lime_tabular.LimeTabularExplainer(
            self.x_tr, mode=self.mode, feature_names=self.feature_names,
            discretize_continuous=True, discretizer="quartile", random_state=seed)

    def explain(self, explainer=None):
        return (explainer or self.explainer).explain_instance(
            self.x, self.fn, labels=self.labels, num_features=self.num_features, num_samples=self.num_samples)

    def summary(self, exp) -> dict:
        key = self.target if self.mode == "classification" else 1  # regression: label 1 = +weights
        rules = exp.as_list(label=key)
        return {
            "rules": [[r, float(w)] for r, w in rules],
            "features": [int(i) for i, _ in exp.local_exp[key]],
            "intercept": float(exp.intercept[key]),
            "score": float(exp.score),
            "local_prediction": float(np.asarray(exp.local_pred).reshape(-1)[0]),
        }

    def reference(self, seed: int = 0) -> dict:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self.summary(self.explain(self.new_explainer(seed)))


def top_rules(rules, k: int = LIME_TOP) -> list[str]:
    """The k rule strings of largest |weight| ([rule, weight] pairs or {rule, weight} dicts)."""
    pairs = [(r["rule"], r["weight"]) if isinstance(r, dict) else (r[0], r[1]) for r in rules]
    return [r for r, _ in sorted(pairs, key=lambda p: -abs(p[1]))[:k]]


def lime_agreement(peer: LimePeer, response: dict) -> dict:
    """For information only (ok None): both sides sample differently. Whether the top-3 rules
    (by |weight|) are the same set, and both sides' rules, intercept, score, local prediction."""
    ref = peer.reference(seed=0)
    e = response["explanations"][0]
    cand_rules = e.get("rules") or []
    ct, lt = top_rules(cand_rules), top_rules(ref["rules"])
    cand_w = {r["rule"]: float(r["weight"]) for r in cand_rules}
    lime_w = dict((r, w) for r, w in ref["rules"])
    common = sorted(set(cand_w) & set(lime_w))
    return {
        "peer": f"lime {versions()['lime']} LimeTabularExplainer ({peer.mode})",
        "compared": f"sampled: top-{LIME_TOP} rules compared as sets, for information",
        "ok": None,
        "max_abs_diff": float(max(abs(cand_w[r] - lime_w[r]) for r in common)) if common else None,
        "max_abs_reference": float(max(abs(w) for _, w in ref["rules"])) if ref["rules"] else None,
        "top_rules_candor": ct,
        "top_rules_lime": lt,
        "top_rules_same_set": set(ct) == set(lt),
        "rules_in_common": len(common),
        "rules_candor": [[r["rule"], float(r["weight"])] for r in cand_rules],
        "rules_lime": ref["rules"],
        "intercept": {"candor": e.get("intercept"), "lime": ref["intercept"]},
        "score": {"candor": e.get("score"), "lime": ref["score"]},
        "local_prediction": {"candor": e.get("local_prediction"), "lime": ref["local_prediction"]},
        "mode": peer.mode,
    }


# ---------------------------------------------------------------------------------------
# TreeSHAP (SHAP's TreeExplainer on an XGBoost model)
# ---------------------------------------------------------------------------------------

class TreeShapPeer:
    """shap.TreeExplainer(booster, feature_perturbation="tree_path_dependent", model_output="raw")
    and `.shap_values(X)` on a batch X [n, F] (float32, the values Candor is sent). The booster
    is read from the same NAME.json Candor serves, with `set_param({"nthread": 1})`. With a
    `background`, TreeExplainer(booster, data=background, feature_perturbation="interventional")
    instead: SHAP then walks the trees itself, once per instance and background row.

    For an XGBoost booster, path-dependent and without data, SHAP does not run its own tree
    walk: shap_values builds `xgboost.DMatrix(X)` and calls the booster's C++ TreeSHAP,
    `predict(pred_contribs=True)` (float32), then (check_additivity, on by default) a second
    `predict(output_margin=True)` to check Σφ + E = margin. That whole call is what a SHAP
    user gets, so it is what is timed. The explainer is built once, like Candor loading the
    model. `explainer.expected_value` is the base value SHAP reports after shap_values (the
    bias column of pred_contribs); before the first call it is only the base margin, without
    the trees' means, and is kept as `initial_expected_value` for information."""

    def __init__(self, model_path, x, background=None):
        import shap
        import xgboost

        self.xgb = xgboost
        self.booster = xgboost.Booster(model_file=str(model_path))
        self.booster.set_param({"nthread": 1})
        if background is None:
            self.explainer = shap.TreeExplainer(self.booster, feature_perturbation="tree_path_dependent",
                                                model_output="raw")
        else:
            self.explainer = shap.TreeExplainer(self.booster, data=np.asarray(background, dtype=np.float32),
                                                feature_perturbation="interventional", model_output="raw")
        if self.explainer.model.original_model is not self.booster:
            raise RuntimeError("SHAP's TreeExplainer does not call the nthread=1 booster it was given")
        self.initial_expected_value = float(np.asarray(self.explainer.expected_value).reshape(-1)[0])
        self.x = np.asarray(x, dtype=np.float32).reshape(-1, self.booster.num_features())

    def explain(self):
        """The timed peer call."""
        return self.explainer.shap_values(self.x)

    def contribs(self):
        """XGBoost's own call without SHAP around it (for information): pred_contribs on a
        DMatrix built the way SHAP builds it."""
        return self.booster.predict(self.xgb.DMatrix(self.x), pred_contribs=True)

    def reference(self) -> dict:
        phi = np.asarray(self.explain(), dtype=np.float64).reshape(self.x.shape)
        base = float(np.asarray(self.explainer.expected_value).reshape(-1)[0])
        margin = self.booster.predict(self.xgb.DMatrix(self.x), output_margin=True).astype(np.float64).reshape(-1)
        return {"attributions": phi, "base_value": base, "margin": margin,
                "efficiency_max_abs_error": float(np.abs(phi.sum(axis=1) + base - margin).max())}


def tree_shap_agreement(peer: TreeShapPeer, response: dict) -> dict:
    """Candor's explanations (every instance of the request) vs SHAP's: attributions,
    base_value vs explainer.expected_value, Candor's `margin` vs XGBoost's
    predict(output_margin=True); ok when all are within TREE_ATOL + TREE_RTOL · max |SHAP|.
    Also both sides' local accuracy |Σφ + base − margin|."""
    ref = peer.reference()
    ex = response["explanations"]
    want = ref["attributions"]
    got = np.array([np.asarray(e["attributions"], dtype=np.float64).reshape(-1) for e in ex])
    scale = float(np.abs(want).max())
    tol = TREE_ATOL + TREE_RTOL * scale
    diff = float(np.abs(got - want).max()) if got.shape == want.shape else None
    bases = [e.get("base_value") for e in ex]
    base_diff = (float(max(abs(float(b) - ref["base_value"]) for b in bases))
                 if bases and all(b is not None for b in bases) else None)
    outs = [np.asarray(e.get("output", []), dtype=np.float64).reshape(-1) for e in ex]
    cand_margin = np.array([o[0] if o.size else np.nan for o in outs])
    margin_diff = float(np.abs(cand_margin - ref["margin"]).max()) if len(outs) == len(ref["margin"]) else None
    out = {
        "peer": f"shap {versions()['shap']} TreeExplainer → xgboost {versions()['xgboost']} pred_contribs",
        "compared": "exact: path-dependent TreeSHAP on both sides, every instance",
        "instances": len(ex),
        "max_abs_diff": diff,
        "max_abs_reference": scale,
        "relative_to_max": diff / scale if diff is not None and scale > 0 else None,
        "tolerance": tol,
        "base_value_candor": bases[0] if bases else None,
        "base_value_shap": ref["base_value"],
        "base_value_abs_diff": base_diff,
        "shap_expected_value_before_first_call": peer.initial_expected_value,
        "margin_max_abs_diff": margin_diff,
        "shap_efficiency_max_abs_error": ref["efficiency_max_abs_error"],
    }
    if diff is not None and base_diff is not None:
        out["candor_efficiency_max_abs_error"] = float(
            np.abs(got.sum(axis=1) + np.array(bases, dtype=np.float64) - cand_margin).max())
    out["ok"] = (diff is not None and diff <= tol and base_diff is not None and base_diff <= tol
                 and margin_diff is not None and margin_diff <= TREE_ATOL + TREE_RTOL * float(np.abs(ref["margin"]).max()))
    return out


# ---------------------------------------------------------------------------------------
# Standalone: run and time the peers without Candor
# ---------------------------------------------------------------------------------------

def _standalone() -> int:
    all_cases = ["kernel_shap", "kernel_shap_g10", "kernel_shap_sampled", "lime", "tree_shap", "tree_shap_b100"]
    p = argparse.ArgumentParser(description="Run and time the SHAP / LIME / TreeSHAP peers of the bench's cases "
                                            "(no Candor needed).")
    p.add_argument("--models-dir", default=str(ROOT / "models"),
                   help="the ONNX models and, if it holds one, the tree model (else it is trained into a "
                        "temporary folder)")
    p.add_argument("--calls", type=int, default=5, help="timed calls per case (after 1 warm-up)")
    p.add_argument("--cases", default=",".join(all_cases), help=f"comma-separated, of {', '.join(all_cases)}")
    args = p.parse_args()
    wanted = [c for c in args.cases.split(",") if c]
    unknown = sorted(set(wanted) - set(all_cases))
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(all_cases)}")
    for pr in check_pins():
        print("warning:", pr)
    print("versions:", versions())
    print("threads inside one_thread():", [(t["internal_api"], t["num_threads"]) for t in thread_report()])
    _standalone_onnx(args, wanted)
    tree_todo = [(c, {"tree_shap": 1, "tree_shap_b100": 100}[c]) for c in ("tree_shap", "tree_shap_b100") if c in wanted]
    if tree_todo:
        _standalone_tree(args, tree_todo)
    return 0


def _standalone_onnx(args, wanted: list[str]) -> None:
    """The KernelSHAP and LIME peers on the ONNX demo models, one random instance each."""
    rng = np.random.default_rng(0)
    for name, out_name, nfeat in [("iris_mlp", "probabilities", 4), ("breast_cancer_mlp", "logits", 30)]:
        todo = {"iris_mlp": {"kernel_shap", "lime"},
                "breast_cancer_mlp": {"kernel_shap_g10", "kernel_shap_sampled", "lime"}}[name] & set(wanted)
        if not todo:
            continue
        model = OrtModel(Path(args.models_dir) / f"{name}.onnx")
        bg = sidecar_background(args.models_dir, name)
        mean, std = bg.mean(axis=0), bg.std(axis=0)
        x = (mean + std * rng.standard_normal(nfeat)).astype(np.float32).astype(np.float64)
        target = int(model.run(x[None], out_name)[0].argmax())
        for case, make in _standalone_peers(model, name, out_name, target, x, bg):
            if case not in todo:
                continue
            peer = make()
            ref = peer.reference()
            with one_thread(), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                peer.explain()
                times = timed_loop(peer.explain, 0, args.calls, math.inf)
            info = ({k: ref[k] for k in ("base_value", "coalitions", "enumerated")}
                    if isinstance(peer, KernelShapPeer) else {"top": top_rules(ref["rules"]), "score": ref["score"]})
            print(f"{name}/{case}: target {target}, median {np.median(times) * 1e3:.1f} ms "
                  f"(min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}, n={len(times)}); {info}")


def _standalone_peers(model: OrtModel, name: str, out_name: str, target: int, x, bg) -> list:
    """(case, function making its peer) of the model's shap / lime cases."""
    if name == "iris_mlp":
        return [("kernel_shap", lambda: KernelShapPeer(model, out_name, target, x, bg)),
                ("lime", lambda: LimePeer(model, name, out_name, target, x, 4, 5000))]
    return [("kernel_shap_g10", lambda: KernelShapPeer(model, out_name, target, x, bg, mask=[i // 3 for i in range(30)])),
            ("kernel_shap_sampled", lambda: KernelShapPeer(model, out_name, target, x, bg, nsamples=2108)),
            ("lime", lambda: LimePeer(model, name, out_name, target, x, 10, 5000))]


def _standalone_tree(args, tree_todo: list) -> None:
    """SHAP's TreeExplainer on the tree model (trained into a temporary folder unless
    --models-dir holds it), for each (case, batch)."""
    import tree_model  # bench/tree_model.py (beside this file)

    with tempfile.TemporaryDirectory() as tmp:
        path = tree_model.path_in(args.models_dir)
        if not path.exists():
            t0 = time.perf_counter()
            path = tree_model.write(tmp)
            print(f"trained {tree_model.NAME} into {tmp} in {time.perf_counter() - t0:.1f} s")
        d = tree_model.describe(path)
        print(f"{tree_model.NAME}: {d['trees']} trees, max depth {d['depth_max']}, {d['leaves_mean']:.1f} leaves a tree "
              f"on average, {d['file_bytes'] / 1e6:.2f} MB")
        for case, batch in tree_todo:
            peer = TreeShapPeer(path, tree_model.instances(batch))
            ref = peer.reference()
            with one_thread():
                peer.explain()
                cpu0 = time.process_time()
                times = timed_loop(peer.explain, 0, args.calls, math.inf)
                cores = (time.process_time() - cpu0) / sum(times)
                bare = timed_loop(peer.contribs, 0, args.calls, math.inf)
            med = float(np.median(times))
            print(f"{tree_model.NAME}/{case}: batch {batch}, shap_values median {med * 1e3:.2f} ms "
                  f"(min {min(times) * 1e3:.2f}, max {max(times) * 1e3:.2f}, n={len(times)}, "
                  f"{cores:.2f} CPU cores) = {batch / med:.0f} instances/s; pred_contribs alone median "
                  f"{np.median(bare) * 1e3:.2f} ms; expected_value {ref['base_value']:.6g} (before the first "
                  f"call {peer.initial_expected_value:.6g}); SHAP's own |Σφ + E − margin| "
                  f"{ref['efficiency_max_abs_error']:.2e}")


if __name__ == "__main__":
    sys.exit(_standalone())
