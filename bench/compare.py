#!/usr/bin/env python3
"""Candor vs Captum (and SHAP, LIME, SHAP's TreeExplainer, Quantus): latency, throughput and agreement.

For every model in models/ (iris_mlp, breast_cancer_mlp) and every case

    saliency               1 instance    (abs=true, Captum's default too)
    input_x_gradient       1 instance
    integrated_gradients   1 instance    n_steps=50, gausslegendre, baseline 0
    integrated_gradients  32 instances   same parameters
    feature_ablation       1 and 32      baseline 0 (Captum: perturbations_per_eval = #features,
                                         and its default 1 timed too)
    occlusion_w2           1 instance    window [2], stride 1, baseline 0 (Captum likewise)

and, on one model each,

    exact_shapley          iris, 1 and 32 instances, 4 singleton groups (Captum ShapleyValues)
    exact_shapley_g6       breast_cancer, 1 instance, 6 groups of 5 contiguous features
    shapley_value_sampling breast_cancer, 1 instance, n_samples 25 (sampled: the values are not
                           compared with Captum's; efficiency is checked on both sides)

and, against the `shap` and `lime` packages instead of Captum (bench/peers.py; their peer is
timed on one thread only, model calls through onnxruntime included):

    kernel_shap            iris, 1 instance, output `probabilities`, sidecar background (30 rows),
                           every coalition enumerated: compared with shap.KernelExplainer
    kernel_shap_g10        breast_cancer, 1 instance, 10 groups of 3 contiguous features,
                           sidecar background (50 rows), all 2^10 − 2 coalitions: compared
    kernel_shap_sampled    breast_cancer, 1 instance, 30 features, n_samples 2108 (sampled:
                           max |diff| reported for information only)
    lime                   iris (`probabilities`, classification, 4 features) and breast_cancer
                           (`logits`, regression on the target logit, 10 features), 5000
                           samples, vs lime.lime_tabular (sampled: whether the top-3 rules are
                           the same set is reported for information only)

and, against SHAP's TreeExplainer (bench/peers.py; XGBoost's own C++ TreeSHAP behind it, one
thread) on bench/tree_model.py's XGBoost model (500 trees, max_depth 6, 30 features), which
bench/run.sh trains into the temporary models folder it serves:

    tree_shap              synthetic_xgb500, 1 instance, output `margin`, target 0, path-dependent
    tree_shap_b100         synthetic_xgb500, 100 instances: the throughput case (instances/s on
                           both sides, and their ratio); both compared instance by instance
    tree_shap_interventional  synthetic_xgb500, 10 instances, interventional, the first 100
                           training rows as background (the same request repeated: Candor keeps
                           the background's counts with the model)

and the quality metrics (POST /v1/models/{name}/evaluate) against captum.metrics and Quantus,
in-process on the torch rebuild (bench/metric_peer.py; timed with 1 and the default threads):

    infidelity             MLPs, 1 instance, 1000 Gaussian perturbations (σ 0.1), normalize, on
                           Candor's integrated-gradients attributions (the same sent to Captum)
    sensitivity_max        MLPs, 1 instance, saliency re-explained at 10 points of the 0.02 ball
    sensitivity_max_ig     MLPs, the same with integrated gradients
    faithfulness_correlation  MLPs, 1 instance, 100 subsets of a quarter of the features,
                           baseline 0, on the IG attributions: vs Quantus FaithfulnessCorrelation
    cnn_infidelity, cnn_sensitivity_max, cnn_faithfulness_correlation
                           shapes_cnn, the same (subsets of 224 elements)

(random on both sides: Candor's value is read against the peer's spread over several seeds)

and the counterfactual method `dice` against dice-ml 0.12 (bench/dice_peer.py; onnxruntime, one
thread), on the first background row of class 0, three counterfactuals of class 1:

    dice                   credit_mlp, breast_cancer_mlp: Candor's genetic search vs dice-ml's
    dice_random            the same: both sides' random sampling
                           (the searches differ: both sides' validity and mean MAD-scaled L1
                           distance are reported, Candor's held to ≤ dice-ml's)

and the dataset-level analyses (POST /v1/models/{name}/analyses, a job: submitted with ?wait,
timed until its answer, then forgotten so the next run computes again) against scikit-learn 1.9.1
and Alibi 0.9.6 (bench/analysis_peer.py; onnxruntime, one thread), on breast_cancer_mlp's logits,
target 1, over the 569 rows of scikit-learn's breast-cancer dataset (5 runs a side):

    partial_dependence     2 features and 1 pair, grid_resolution 50, kind average: vs
                           sklearn.inspection.partial_dependence(method="brute"), one call an item
    partial_dependence_ice the 2 single features, kind both (ICE curves too): the same
                           (max |diff| of `average` and of `individual`, and the grids)
    ale                    all 30 features, min_bin_points 4: vs alibi.explainers.ALE (max |diff|
                           of `ale_values`, `ale0`, `constant_value`, and the grids)
    permutation_importance all 30 features, the dataset's labels, accuracy, n_repeats 5: vs
                           sklearn.inspection.permutation_importance (random on both sides: the
                           baseline must be equal, the mean importances within 3 standard
                           deviations of scikit-learn's over 20 random states)

this script

1. rebuilds the ONNX model as a torch.nn.Sequential from its initializers (Sub/Div
   standardisation, Gemm, activations) and checks it against onnxruntime;
2. measures Candor over HTTP: sequential latency (warm-ups, then N timed requests on one
   fresh persistent connection, `Cache-Control: no-cache`), the server's own mean time for
   those requests (from /metrics), and throughput with K concurrent client threads;
3. measures Captum in-process on the same module and input (`attribute` only), with
   torch.set_num_threads(1) and with torch's default thread count;
4. checks that Candor's attributions equal Captum's (max abs diff), so both sides compute
   the same numbers (SHAP's for the exact kernel_shap cases; for a metric, that Candor's value
   lies within the peer's seed-to-seed spread; for an analysis, the values above);
5. prints a table and writes bench/results/latest.json and bench/results/latest.md.

Candor's times include HTTP, JSON encoding/decoding and the client; Captum's do not.
Usually started by bench/run.sh, which starts and stops the server; run by hand with
`--url http://127.0.0.1:PORT` against a server started with CANDOR_CACHE_MAX_BYTES=0.
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.parse
from pathlib import Path

import numpy as np
import torch

import analysis_peer  # the analysis cases' peers (scikit-learn, Alibi; alibi is imported on first use)
import environment
import peers  # the shap / lime peers (bench/peers.py); shap and lime are imported on first use
import report
import tree_model  # the XGBoost model of the tree_shap cases (xgboost is imported on first use)
from analysis_runs import run_analysis_cases
from candor_http import http_floor
from case_runs import Run, run_onnx_model, run_tree_model
from cases import CASES, CNN_MODEL, CREDIT_MODEL, SEED
from measurement import noisy_cases_problem

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="Candor base URL, e.g. http://127.0.0.1:8080 (loopback)")
    p.add_argument("--models-dir", default=str(ROOT / "models"))
    p.add_argument("--models", default=f"iris_mlp,breast_cancer_mlp,{CNN_MODEL},{CREDIT_MODEL},{tree_model.NAME}",
                   help=f"models to run the cases on ({tree_model.NAME}: the XGBoost model of the tree_shap cases, "
                        "trained by bench/run.sh into the folder it serves)")
    p.add_argument("--cases", default=",".join(c.id for c in CASES),
                   help="case ids (a case listed for one model only is skipped on the others)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--requests", type=int, default=200, help="timed sequential requests / calls per case")
    p.add_argument("--max-case-seconds", type=float, default=20.0,
                   help="stop a timed loop early after this long (bounds the run with slow builds)")
    p.add_argument("--throughput-seconds", type=float, default=5.0)
    p.add_argument("--throughput-threads", type=int, default=4)
    p.add_argument("--label", default="", help="build label, e.g. release or debug")
    p.add_argument("--candor-bin", default="")
    p.add_argument("--server-pid", type=int, default=0, help="Candor's pid, to report its CPU use (optional)")
    p.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    return p.parse_args()


def import_peers(peer_cases: list) -> bool:
    """Imports the shap / lime / TreeExplainer / Quantus peers' packages (and loads the training
    splits lime needs, which imports scripts/train_demo_models.py) before anything is timed, so a
    missing package fails now, not minutes into the run."""
    try:
        if any(c.peer == "shap" for c, _ in peer_cases):
            import shap  # noqa: F401
        if any(c.peer == "lime" for c, _ in peer_cases):
            import lime.lime_tabular  # noqa: F401
            for m in {m for c, m in peer_cases if c.peer == "lime"}:
                peers.training_split(peers.DATASETS[m])
        if any(c.peer == "shap_tree" for c, _ in peer_cases):
            import shap  # noqa: F401
            import sklearn  # noqa: F401
            import xgboost  # noqa: F401
        if any(c.peer == "quantus" for c, _ in peer_cases):
            import quantus  # noqa: F401
        if any(c.peer == "dice" for c, _ in peer_cases):
            import dice_ml  # noqa: F401
        if any(c.peer == "sklearn" for c, _ in peer_cases):
            import sklearn.inspection  # noqa: F401
        if any(c.peer == "alibi" for c, _ in peer_cases):
            analysis_peer.import_alibi_ale()
        if peer_cases:
            import threadpoolctl  # noqa: F401
    except ImportError as e:
        print(f"the kernel_shap / lime / tree_shap / faithfulness_correlation / dice / analysis cases need shap, lime, "
              f"scikit-learn, PyYAML, xgboost, quantus, dice-ml, alibi and threadpoolctl (bench/requirements*.txt): {e}",
              file=sys.stderr)
        return False
    return True


def select_cases(ids: str) -> list | None:
    """The cases named in --cases, in CASES' order; None (after saying which) if one is unknown."""
    known = {c.id for c in CASES}
    unknown = [c for c in ids.split(",") if c and c not in known]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(c.id for c in CASES)}", file=sys.stderr)
        return None
    return [c for c in CASES if c.id in ids.split(",")]


def main() -> int:
    args = parse_args()
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"refusing non-loopback host {host}", file=sys.stderr)
        return 2
    wanted_cases = select_cases(args.cases)
    if wanted_cases is None:
        return 2
    model_names = [m for m in args.models.split(",") if m]
    peer_cases = [(c, m) for c in wanted_cases if c.peer != "captum" for m in model_names if c.runs_on(m, generic=True)]
    if not import_peers(peer_cases):
        return 2
    default_threads = torch.get_num_threads()
    run = Run(host, port, args, default_threads, [1] if default_threads == 1 else [1, default_threads])
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    run_started = time.perf_counter()
    meta = start(run, peer_cases)
    for name in model_names:
        if name == tree_model.NAME:
            run_tree_model(run, name, [c for c in wanted_cases if c.runs_on(name, generic=False)])
        else:
            run_onnx_model(run, name, wanted_cases, rng)
            run_analysis_cases(run, name, [c for c in wanted_cases if c.analysis and c.runs_on(name, generic=False)])
    meta["wall_seconds"] = time.perf_counter() - run_started
    return finish(run, meta)


def start(run: Run, peer_cases: list) -> dict:
    """The run's `meta` (the environment, and the HTTP floor measured now), the header lines,
    and the problems with the peers' package versions."""
    args = run.args
    meta = environment.describe(args, run.default_threads, peer_cases)
    print(f"Candor vs Captum/SHAP/LIME/Quantus — build: {args.label or '?'}  binary: {args.candor_bin or '?'}  url: {args.url}")
    print(f"torch {torch.__version__} (default threads {run.default_threads}), captum {meta['captum']}, "
          f"cpus {meta['cpus']}, {meta['cpu']}")
    if peer_cases:
        run.problems += peers.check_pins({c.peer for c, _ in peer_cases})
    meta["healthz_latency"] = floor = http_floor(run.host, run.port, args)
    print(f"HTTP floor (GET /healthz, persistent connection): median {report.fmt(floor['median_ms'])} ms, "
          f"p99 {report.fmt(floor['p99_ms'])} ms")
    return meta


def finish(run: Run, meta: dict) -> int:
    """The noise check, latest.json / latest.md, the summary on stdout, and the exit status:
    1 when Candor answered an error or its attributions differ from the peer's."""
    meta["load_average_end"] = environment.loadavg()
    noisy = noisy_cases_problem(run.cases)
    if noisy:
        run.problems.append(noisy)
    result = {"meta": meta, "models": run.models, "cases": run.cases, "problems": run.problems}
    out_dir = Path(run.args.out_dir)
    report.write(result, run.thread_settings, out_dir)
    report.print_summary(result, run.thread_settings)
    print(f"\nwrote {out_dir / 'latest.json'} and {out_dir / 'latest.md'} ({meta['wall_seconds']:.0f} s)")
    return 1 if any("differ" in pr or "answered" in pr for pr in run.problems) else 0


if __name__ == "__main__":
    sys.exit(main())
