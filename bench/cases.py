"""The benchmark cases of bench/compare.py: for each, the method (or the quality metric, or the
dataset-level analysis), the batch, the models it runs on, Candor's params, the peer (Captum,
SHAP, LIME, SHAP's TreeExplainer, Quantus, dice-ml, scikit-learn or Alibi) and its arguments, and
the caps on slow cases' timed loops."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

import tree_model  # the XGBoost model of the tree_shap cases (xgboost is imported on first use)

# The seed of the inputs (numpy), of Captum's sampled orderings (torch) and of the metric cases'
# timed requests (Candor's `seed`; their reference runs take the next seeds on both sides).
SEED = 0
IG_PARAMS = {"n_steps": 50, "integration": "gausslegendre", "baselines": 0.0}
SVS_SAMPLES = 25
CNN_MODEL = "shapes_cnn"  # the convolutional demo model (scripts/train_cnn_demo_model.py)
CREDIT_MODEL = "credit_mlp"  # the synthetic credit demo model (scripts/train_credit_demo_model.py)
# Models that run only the cases that name them (besides image models): credit_mlp is there for
# the counterfactual cases, whose integer and categorical features mean nothing to the others.
NAMED_CASES_ONLY = (CREDIT_MODEL,)
DICE_TOTAL_CFS = 3
# Captum 0.9's DeepLift loses its MaxPool rule where a ReLU feeds the pool directly (the ReLU's
# hook reads the gradient before the pool's hook rewrites it: Captum issue #1104, fixed after
# 0.9), as in every block of the CNN demo model, so its attributions break DeepLIFT's
# summation-to-delta there. Both sides are held to that property instead; times are compared.
DEEPLIFT_NOTE = "Captum 0.9 DeepLift drops its MaxPool rule after a ReLU (issue #1104): held to Σ attributions = f(x) − f(x′)"


def block_mask(n_features: int, width: int) -> list[int]:
    """Contiguous groups of `width` features: 0,0,…,1,1,…"""
    return [i // width for i in range(n_features)]


@dataclass(frozen=True)
class Case:
    """One benchmark case. `params(n_features)` gives Candor's params; `captum(n_features)`
    the extra keyword arguments of Captum's `attribute` (perturbations_per_eval, masks, …);
    `captum_alt` an optional second Captum setting timed as well (label, function giving the
    keyword arguments that replace `captum`'s), reported under the main table. `captum_calls`/`captum_warmup` cap the peer's timed
    loop (Captum's, SHAP's, LIME's or Quantus's) for slow cases (None: --requests / --warmup).

    `peer` is the reference implementation: "captum" (in-process on the torch rebuild, timed
    with 1 and the default number of threads), or "shap" / "lime" (bench/peers.py: onnxruntime on
    the .onnx file, one thread; `peer_args(n_features)` gives the peer's own arguments), or
    "shap_tree" (the `tree_shap` cases: SHAP's TreeExplainer on the XGBoost model of
    bench/tree_model.py, one thread), or "quantus" (a metric case: Quantus in-process on the
    torch rebuild, timed like Captum), or "dice" (the `dice*` cases: dice-ml 0.12 on the .onnx file,
    one thread, bench/dice_peer.py; `peer_args` gives its method and total_CFs). `output` maps a
    model to the output explained (default: the model's first output). `candor_calls` /
    `candor_warmup` cap Candor's own loop the same way for slow cases.

    A metric case (`metric` set) times a quality metric instead of an explanation: Candor's
    `POST /v1/models/{name}/evaluate` against Captum's or Quantus's metric function
    (bench/metric_peer.py). Its `params(n_features)` are the metric's; `method` with
    `method_params` makes the attributions judged: computed once by Candor's explain route and
    sent to both sides, or — for a metric that explains perturbed inputs again
    (REEXPLAINING_METRICS) — named in the request, so that each side re-explains with it.

    An analysis case (`analysis` true) times a dataset-level analysis: `method` names it, Candor
    runs it as a job (`POST /v1/models/{name}/analyses?wait=…`, bench/analysis_runs.py) over
    `batch` dataset rows, the peer is "sklearn" (scikit-learn's partial_dependence /
    permutation_importance) or "alibi" (Alibi's ALE) on onnxruntime, one thread
    (bench/analysis_peer.py); `labels` sends the dataset's labels with the rows."""
    id: str
    method: str
    batch: int
    params: object = field(default_factory=dict)   # dict, or n_features -> dict
    models: tuple | None = None                     # None: every model
    captum: object = None                           # n_features -> dict
    captum_alt: tuple | None = None                 # (label, n_features -> dict)
    captum_calls: int | None = None
    captum_warmup: int | None = None
    sampled: bool = False                           # random: not compared value by value
    peer: str = "captum"                            # "captum", "shap", "lime", "shap_tree", "quantus", "dice",
                                                    # "sklearn" or "alibi"
    peer_args: object = None                        # n_features -> dict (shap / lime peers)
    output: dict | None = None                      # model name -> output explained
    candor_calls: int | None = None                 # caps Candor's timed requests (None: --requests)
    candor_warmup: int | None = None                # caps Candor's warm-ups (None: --warmup)
    completeness_only: str | None = None            # why values are not compared (held to Σ = Δf instead)
    metric: str | None = None                       # a quality metric timed instead of an explanation
    method_params: dict | None = None               # the params of `method` in a metric case
    analysis: bool = False                          # `method` is a dataset-level analysis (a job)
    labels: bool = False                            # an analysis case: the rows' labels are sent

    @property
    def reexplains(self) -> bool:
        """Whether the metric explains perturbed inputs again (the request names the method
        instead of carrying attributions)."""
        return self.metric in REEXPLAINING_METRICS

    def output_of(self, model: str, default: str) -> str:
        return (self.output or {}).get(model, default)

    def candor_params(self, nfeat: int) -> dict:
        return self.params(nfeat) if callable(self.params) else self.params

    def captum_kwargs(self, nfeat: int) -> dict:
        return self.captum(nfeat) if self.captum else {}

    def runs_on(self, model: str, generic: bool) -> bool:
        """Whether the case runs on `model`: a case that names its models runs on those only; one
        that names none runs on the models where `generic` (the tabular ONNX models)."""
        return model in self.models if self.models is not None else generic

    def peer_loop(self, args) -> tuple[int, int]:
        """(warm-ups, timed calls) of the peer's loop: the case's caps, else --warmup / --requests."""
        warmup = self.captum_warmup if self.captum_warmup is not None else args.warmup
        return warmup, min(args.requests, self.captum_calls) if self.captum_calls else args.requests

    def candor_loop(self, args) -> tuple[int, int]:
        """(warm-ups, timed requests) of Candor's loop: at most the case's caps."""
        warmup = min(args.warmup, self.candor_warmup) if self.candor_warmup is not None else args.warmup
        return warmup, min(args.requests, self.candor_calls) if self.candor_calls else args.requests


def _ppe_features(nfeat):  # one forward pass per call: every single-feature ablation at once
    return {"perturbations_per_eval": nfeat}


def _occlusion_w2(nfeat):  # window 2, stride 1: nfeat − 1 positions, all in one pass
    return {"sliding_window_shapes": (2,), "strides": 1, "perturbations_per_eval": nfeat - 1}


_CAPTUM_DEFAULT_PPE = ("perturbations_per_eval=1 (Captum's default)", lambda nfeat: {"perturbations_per_eval": 1})
_BC_GROUPS = 6
_BC_KSHAP_GROUPS = 10
LIME_SAMPLES = 5000
TREE_BATCH = 100
TREE_INTERVENTIONAL_BATCH = 10
TREE_BACKGROUND_ROWS = 100
# The quality metrics' parameters (Candor's names; the peers get the same values under theirs).
# Both sides draw their perturbations at random, so Candor's values are held to the peer's
# seed-to-seed spread, not compared exactly (bench/metric_peer.py).
INFIDELITY_PARAMS = {"n_perturb_samples": 1000, "noise_std": 0.1, "normalize": True, "seed": SEED}
SENSITIVITY_PARAMS = {"n_perturb_samples": 10, "perturb_radius": 0.02, "seed": SEED}
# Metrics that re-explain perturbed inputs: the evaluate request carries `method`, not `attributions`.
REEXPLAINING_METRICS = ("sensitivity_max",)


# The analysis cases: every row of scikit-learn's breast-cancer dataset (bench/analysis_peer.py).
ANALYSIS_ROWS = 569
# Partial dependence: two single features and a pair (50 × 50 grid points), grid resolution 50.
PD_FEATURES = ["mean radius", "worst concave points", ["mean texture", "worst area"]]
PD_GRID = 50


def _faithfulness_params(nfeat: int) -> dict:
    """100 subsets of Candor's default size, sent explicitly because Quantus's default is 224
    whatever the input: a quarter of the features below 896 of them, else 224."""
    return {"n_samples": 100, "subset_size": max(1, nfeat // 4) if nfeat < 896 else 224, "baselines": 0.0, "seed": SEED}

# Candor is always sent no perturbations_per_eval (its default: as many perturbations per pass as
# its memory budget allows). Captum gets the setting named in `captum`.
CASES = [
    Case("saliency", "saliency", 1, {"abs": True}),
    Case("input_x_gradient", "input_x_gradient", 1, {}),
    Case("integrated_gradients", "integrated_gradients", 1, IG_PARAMS),
    Case("integrated_gradients_b32", "integrated_gradients", 32, IG_PARAMS),
    Case("feature_ablation", "feature_ablation", 1, {"baselines": 0.0},
         captum=_ppe_features, captum_alt=_CAPTUM_DEFAULT_PPE),
    Case("feature_ablation_b32", "feature_ablation", 32, {"baselines": 0.0},
         captum=_ppe_features, captum_alt=_CAPTUM_DEFAULT_PPE),
    Case("occlusion_w2", "occlusion", 1, {"sliding_window_shapes": [2], "strides": [1], "baselines": 0.0},
         captum=_occlusion_w2, captum_alt=_CAPTUM_DEFAULT_PPE),
    # iris: 4 singleton groups (24 orderings for Captum, 16 coalitions for Candor).
    Case("exact_shapley", "exact_shapley", 1, {"baselines": 0.0}, models=("iris_mlp",),
         captum=lambda nfeat: {"perturbations_per_eval": nfeat}),
    Case("exact_shapley_b32", "exact_shapley", 32, {"baselines": 0.0}, models=("iris_mlp",),
         captum=lambda nfeat: {"perturbations_per_eval": nfeat}),
    # breast_cancer: 6 groups of 5 contiguous features (720 orderings / 64 coalitions). Captum's
    # ShapleyValues takes ~0.15 s a call here, so its loop is capped.
    Case("exact_shapley_g6", "exact_shapley", 1,
         lambda nfeat: {"baselines": 0.0, "feature_mask": block_mask(nfeat, nfeat // _BC_GROUPS)},
         models=("breast_cancer_mlp",),
         captum=lambda nfeat: {"perturbations_per_eval": _BC_GROUPS,
                               "feature_mask": torch.tensor([block_mask(nfeat, nfeat // _BC_GROUPS)], dtype=torch.long)},
         captum_calls=60, captum_warmup=5),
    # 30 singleton groups, 25 random orderings on each side (different generators).
    Case("shapley_value_sampling", "shapley_value_sampling", 1,
         {"n_samples": SVS_SAMPLES, "seed": 0, "baselines": 0.0}, models=("breast_cancer_mlp",),
         captum=lambda nfeat: {"n_samples": SVS_SAMPLES, "perturbations_per_eval": nfeat},
         captum_alt=_CAPTUM_DEFAULT_PPE,
         captum_calls=100, captum_warmup=10, sampled=True),
    # ---- Against shap 0.51.0 / lime 0.2.0.1 (bench/peers.py), not Captum. Candor uses the sidecar
    # background / statistics by default; the peers get the same rows / the training split.
    # iris: 4 features, every one of the 2^4 − 2 coalitions on both sides: exact, compared.
    Case("kernel_shap", "kernel_shap", 1, {}, models=("iris_mlp",), output={"iris_mlp": "probabilities"},
         peer="shap", peer_args=lambda nfeat: {}),
    # breast_cancer: 10 groups of 3 contiguous features, all 2^10 − 2 = 1022 coalitions (both sides'
    # default n_samples 2·10 + 2048 is more than that): exact, compared.
    Case("kernel_shap_g10", "kernel_shap", 1, lambda nfeat: {"feature_mask": block_mask(nfeat, nfeat // _BC_KSHAP_GROUPS)},
         models=("breast_cancer_mlp",), peer="shap",
         peer_args=lambda nfeat: {"mask": block_mask(nfeat, nfeat // _BC_KSHAP_GROUPS)},
         captum_calls=100, captum_warmup=5),
    # breast_cancer: 30 singleton groups, 2·30 + 2048 = 2108 sampled coalitions (Candor's default and
    # SHAP's "auto", sent explicitly to both): different random coalitions, not compared.
    Case("kernel_shap_sampled", "kernel_shap", 1, lambda nfeat: {"n_samples": 2 * nfeat + 2048},
         models=("breast_cancer_mlp",), peer="shap", peer_args=lambda nfeat: {"nsamples": 2 * nfeat + 2048},
         captum_calls=100, captum_warmup=5, sampled=True),
    # Tabular LIME, quartile bins, 5000 samples: iris on `probabilities` (lime's classification mode,
    # 4 features), breast_cancer on `logits` (regression on the target logit, 10 features). Sampled.
    Case("lime", "lime", 1, lambda nfeat: {"num_features": min(nfeat, 10), "n_samples": LIME_SAMPLES},
         models=("iris_mlp", "breast_cancer_mlp"), output={"iris_mlp": "probabilities"}, peer="lime",
         peer_args=lambda nfeat: {"num_features": min(nfeat, 10), "num_samples": LIME_SAMPLES},
         captum_calls=100, captum_warmup=5, sampled=True),
    # The convolutional methods, on the CNN demo model only (image models run only the cases that
    # name them). The default layer of the Grad-CAM cases is the last Conv node's output.
    Case("cnn_saliency", "saliency", 1, {"abs": True}, models=(CNN_MODEL,)),
    Case("cnn_integrated_gradients_b8", "integrated_gradients", 8, IG_PARAMS, models=(CNN_MODEL,), captum_calls=50),
    Case("cnn_deeplift", "deeplift", 1, {"baselines": 0.0}, models=(CNN_MODEL,), completeness_only=DEEPLIFT_NOTE),
    Case("cnn_deeplift_b16", "deeplift", 16, {"baselines": 0.0}, models=(CNN_MODEL,), completeness_only=DEEPLIFT_NOTE),
    Case("cnn_guided_backprop", "guided_backprop", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_deconvolution", "deconvolution", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_grad_cam", "grad_cam", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_grad_cam_b16", "grad_cam", 16, {}, models=(CNN_MODEL,)),
    Case("cnn_guided_grad_cam", "guided_grad_cam", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_lrp", "lrp", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_lrp_b16", "lrp", 16, {}, models=(CNN_MODEL,)),
    # The robustness probe against Captum's MinParamPerturbation with the same SciPy perturbation
    # (bench/captum_peer.py), Candor's default ranges. On the bench's uniform-noise images no
    # rotation in 0…180° changes the prediction (all 180 angles are evaluated: the linear
    # search's worst case); a blur does, after a dozen σ values. Captum evaluates one amount
    # per forward pass (its default); Candor packs them into growing passes.
    Case("cnn_min_perturbation", "min_perturbation", 1, {"perturbation": "rotation"}, models=(CNN_MODEL,),
         captum=lambda nfeat: {"perturbation": "rotation"}, captum_calls=50, captum_warmup=3,
         candor_calls=50, candor_warmup=3),
    Case("cnn_min_perturbation_blur", "min_perturbation", 1, {"perturbation": "gaussian_blur"}, models=(CNN_MODEL,),
         captum=lambda nfeat: {"perturbation": "gaussian_blur"}, captum_calls=50, captum_warmup=3,
         candor_calls=50, candor_warmup=3),
    Case("cnn_min_perturbation_blur_binary", "min_perturbation", 1, {"perturbation": "gaussian_blur", "mode": "binary"},
         models=(CNN_MODEL,), captum=lambda nfeat: {"perturbation": "gaussian_blur", "mode": "binary"},
         captum_calls=50, captum_warmup=3, candor_calls=50, candor_warmup=3),
    # ---- Quality metrics (POST /v1/models/{name}/evaluate) against captum.metrics and Quantus
    # (bench/metric_peer.py). infidelity and faithfulness_correlation judge the same integrated-
    # gradients attributions on both sides (Candor's, computed once per case); sensitivity_max
    # re-explains on both sides with the method named. On the tabular MLPs, and on the CNN.
    Case("infidelity", "integrated_gradients", 1, INFIDELITY_PARAMS, metric="infidelity", method_params=IG_PARAMS),
    # Saliency is piecewise constant on iris's ReLU net (sensitivity ≈ 0 on both sides), so the
    # IG variant gives a value that is not float noise there.
    Case("sensitivity_max", "saliency", 1, SENSITIVITY_PARAMS, metric="sensitivity_max", method_params={"abs": True}),
    Case("sensitivity_max_ig", "integrated_gradients", 1, SENSITIVITY_PARAMS, metric="sensitivity_max",
         method_params=IG_PARAMS, captum_calls=100, captum_warmup=5),
    Case("faithfulness_correlation", "integrated_gradients", 1, _faithfulness_params, metric="faithfulness_correlation",
         method_params=IG_PARAMS, peer="quantus", captum_calls=100, captum_warmup=5),
    Case("cnn_infidelity", "integrated_gradients", 1, INFIDELITY_PARAMS, models=(CNN_MODEL,), metric="infidelity",
         method_params=IG_PARAMS, captum_calls=30, captum_warmup=2, candor_calls=50, candor_warmup=3),
    Case("cnn_sensitivity_max", "saliency", 1, SENSITIVITY_PARAMS, models=(CNN_MODEL,), metric="sensitivity_max",
         method_params={"abs": True}, captum_calls=30, captum_warmup=2, candor_calls=50, candor_warmup=3),
    # Quantus perturbs and runs the model once per subset (100 forward passes of one image).
    Case("cnn_faithfulness_correlation", "integrated_gradients", 1, _faithfulness_params, models=(CNN_MODEL,),
         metric="faithfulness_correlation", method_params=IG_PARAMS, peer="quantus", captum_calls=20, captum_warmup=2,
         candor_calls=50, candor_warmup=3),
    # ---- Counterfactuals against dice-ml 0.12 (bench/dice_peer.py), on the credit and breast-cancer
    # MLPs: the first background row of class 0, three counterfactuals of class 1. Candor's genetic
    # search against dice-ml's genetic method, and both sides' random sampling. The searches
    # differ, so the agreement is the mean distance (Candor's no larger), not the values. A
    # dice-ml call takes 0.2–0.7 s: both loops are capped.
    Case("dice", "dice", 1, {"desired_class": 1, "total_cfs": DICE_TOTAL_CFS, "seed": SEED},
         models=(CREDIT_MODEL, "breast_cancer_mlp"), peer="dice",
         peer_args=lambda nfeat: {"method": "genetic", "total_CFs": DICE_TOTAL_CFS}, sampled=True,
         captum_calls=10, captum_warmup=1, candor_calls=20, candor_warmup=2),
    Case("dice_random", "dice", 1, {"desired_class": 1, "total_cfs": DICE_TOTAL_CFS, "search": "random", "seed": SEED},
         models=(CREDIT_MODEL, "breast_cancer_mlp"), peer="dice",
         peer_args=lambda nfeat: {"method": "random", "total_CFs": DICE_TOTAL_CFS}, sampled=True,
         captum_calls=10, captum_warmup=1, candor_calls=20, candor_warmup=2),
    # ---- Against SHAP's TreeExplainer (bench/peers.py TreeShapPeer), which hands XGBoost models to
    # XGBoost's own C++ TreeSHAP (predict(pred_contribs=True)). The model is bench/tree_model.py's
    # 500-tree, depth-6 binary classifier, trained by bench/run.sh into the folder it serves; the
    # explained output is the raw score `margin`, target 0 (its only column), path-dependent.
    Case("tree_shap", "tree_shap", 1, {}, models=(tree_model.NAME,), output={tree_model.NAME: "margin"},
         peer="shap_tree", peer_args=lambda nfeat: {}),
    # 100 instances per request / per shap_values call: the throughput case (instances per second).
    Case("tree_shap_b100", "tree_shap", TREE_BATCH, {}, models=(tree_model.NAME,), output={tree_model.NAME: "margin"},
         peer="shap_tree", peer_args=lambda nfeat: {}, captum_calls=50, captum_warmup=3,
         candor_calls=50, candor_warmup=3),
    # Interventional: 10 instances against the first 100 training rows as background, vs
    # TreeExplainer(booster, data=those rows, feature_perturbation="interventional"), which walks
    # the trees itself (SHAP's C++ `dense_independent`), once per instance and background row.
    Case("tree_shap_interventional", "tree_shap", TREE_INTERVENTIONAL_BATCH,
         lambda nfeat: {"feature_perturbation": "interventional",
                        "background": tree_model.background(TREE_BACKGROUND_ROWS).tolist()},
         models=(tree_model.NAME,), output={tree_model.NAME: "margin"}, peer="shap_tree",
         peer_args=lambda nfeat: {"feature_perturbation": "interventional", "background_rows": TREE_BACKGROUND_ROWS},
         captum_calls=20, captum_warmup=2, candor_calls=50, candor_warmup=3),
    # ---- Dataset-level analyses (POST /v1/models/{name}/analyses, a job answered with ?wait) against
    # scikit-learn 1.9.1 and Alibi 0.9.6 (bench/analysis_peer.py, onnxruntime on one thread), on the
    # breast-cancer MLP's logits, target 1, over the 569 rows of scikit-learn's dataset (each run
    # ~0.05–2 s on either side: both loops capped at 1 warm-up and 5 runs). Partial dependence and
    # ALE are deterministic: values compared; permutation importance shuffles with different
    # generators: its baseline is compared, its means against scikit-learn's seed-to-seed spread.
    Case("partial_dependence", "partial_dependence", ANALYSIS_ROWS,
         {"features": PD_FEATURES, "grid_resolution": PD_GRID, "kind": "average"},
         models=("breast_cancer_mlp",), peer="sklearn", analysis=True,
         captum_calls=5, captum_warmup=1, candor_calls=5, candor_warmup=1),
    # The ICE curves too (569 × 50 values per feature in the answer), on the two single features.
    Case("partial_dependence_ice", "partial_dependence", ANALYSIS_ROWS,
         {"features": PD_FEATURES[:2], "grid_resolution": PD_GRID, "kind": "both"},
         models=("breast_cancer_mlp",), peer="sklearn", analysis=True,
         captum_calls=5, captum_warmup=1, candor_calls=5, candor_warmup=1),
    Case("ale", "ale", ANALYSIS_ROWS, {"features": "all", "min_bin_points": 4},
         models=("breast_cancer_mlp",), peer="alibi", analysis=True,
         captum_calls=5, captum_warmup=1, candor_calls=5, candor_warmup=1),
    Case("permutation_importance", "permutation_importance", ANALYSIS_ROWS,
         {"features": "all", "scoring": "accuracy", "n_repeats": 5, "seed": SEED},
         models=("breast_cancer_mlp",), peer="sklearn", analysis=True, labels=True,
         captum_calls=5, captum_warmup=1, candor_calls=5, candor_warmup=1),
]

PEER_NAMES = {"captum": "Captum", "shap": "SHAP", "lime": "LIME", "shap_tree": "SHAP Tree", "quantus": "Quantus",
              "dice": "dice-ml", "sklearn": "scikit-learn", "alibi": "Alibi"}
