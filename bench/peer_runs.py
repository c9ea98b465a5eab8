"""The SHAP, LIME and TreeExplainer side of a bench/compare.py case (the peers themselves are in
bench/peers.py): agreement with Candor's first response, the peer's whole call timed on one
thread, and for the tree_shap cases instances per second on both sides."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import peers  # the shap / lime peers (bench/peers.py); shap and lime are imported on first use
from cases import PEER_NAMES, Case
from measurement import summarise, timed_loop, timed_peer

if TYPE_CHECKING:
    from case_runs import Run


def _report_mismatch(run: Run, label: str, peer_name: str, agree: dict, keys: tuple) -> None:
    """A problem naming the agreement's `keys` (those it has) when it failed or the targets differ."""
    if agree["ok"] is False or not agree["targets_equal"]:
        run.problems.append(f"{label}: Candor vs {peer_name} attributions differ: "
                            + str({k: agree[k] for k in keys + ("targets_equal",) if k in agree}))


def shap_lime_case(run: Run, case: Case, name: str, path: Path, nfeat: int, x: np.ndarray, targets: list,
                   output: str, out_values: np.ndarray, response: dict, row: dict) -> None:
    """The shap / lime side of a case: agreement with Candor's first response (seeded reference
    call), then the timed loop of the whole peer call on one thread (peers.one_thread(),
    onnxruntime with 1 thread). Fills row["agreement"] and row["peer_timing"]."""
    if case.batch != 1:
        raise ValueError(f"{case.id}: the shap / lime peers explain one instance")
    model = peers.OrtModel(path)
    xi, target = x[0].astype(np.float64), targets[0]  # the float32 values Candor was sent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if case.peer == "shap":
            peer = peers.KernelShapPeer(model, output, target, xi,
                                        peers.sidecar_background(Path(run.args.models_dir), name), **case.peer_args(nfeat))
            agree = peers.kernel_shap_agreement(peer, response, exact=not case.sampled)
        elif case.peer == "lime":
            peer = peers.LimePeer(model, name, output, target, xi, **case.peer_args(nfeat))
            agree = peers.lime_agreement(peer, response)
        else:
            raise ValueError(case.peer)
    e = response["explanations"][0]
    agree["output_max_abs_diff"] = (float(np.abs(np.asarray(e["output"], dtype=np.float64) - out_values[0]).max())
                                    if "output" in e else None)
    agree["targets_equal"] = [ex.get("target") for ex in response["explanations"]] == targets
    row["agreement"] = agree
    _report_mismatch(run, f"{name}/{case.id}", PEER_NAMES[case.peer], agree,
                     ("max_abs_diff", "max_abs_reference", "tolerance", "base_value_abs_diff", "shap_enumerated_all"))
    warm, calls = case.peer_loop(run.args)
    with peers.one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        row["peer_timing"] = {"threads_1": summarise(timed_loop(peer.explain, warm, calls, run.args.max_case_seconds))}


def tree_case(run: Run, case: Case, name: str, path: Path, x: np.ndarray, background: np.ndarray | None,
              response: dict | None, row: dict) -> None:
    """SHAP's side of a tree_shap case: agreement with Candor's first response (when there is
    one), then `explainer.shap_values(X)` timed on one thread (booster nthread=1 inside
    peers.one_thread()), XGBoost's bare pred_contribs for information (path-dependent cases),
    and instances/s. With `background`, SHAP's interventional explainer on those rows."""
    peer = peers.TreeShapPeer(path, x, background)
    if response is not None:
        agree = peers.tree_shap_agreement(peer, response)
        agree["targets_equal"] = all(e.get("target") == 0 for e in response["explanations"])
        row["agreement"] = agree
        _report_mismatch(run, f"{name}/{case.id}", "SHAP TreeExplainer", agree,
                         ("max_abs_diff", "max_abs_reference", "tolerance", "base_value_abs_diff", "margin_max_abs_diff"))
    else:
        ref = peer.reference()
        row["peer_reference"] = {"base_value_shap": ref["base_value"],
                                 "shap_expected_value_before_first_call": peer.initial_expected_value,
                                 "shap_efficiency_max_abs_error": ref["efficiency_max_abs_error"]}
    warm, calls = case.peer_loop(run.args)
    warm = min(run.args.warmup, warm)
    with peers.one_thread():
        row["peer_timing"] = {"threads_1": timed_peer(peer.explain, warm, calls, run.args.max_case_seconds)}
        if background is None:
            # For information: XGBoost's own call without SHAP's wrapper (no additivity check).
            row["peer_alt"] = {"label": "booster.predict(DMatrix(X), pred_contribs=True) alone (not SHAP)",
                               "threads_1": timed_peer(peer.contribs, min(warm, 3), min(calls, 20), run.args.max_case_seconds)}
    row["instances_per_s"] = instances_per_s(row, case.batch)


def instances_per_s(row: dict, batch: int) -> dict:
    """Instances per second of a tree_shap row: SHAP's (one call at a time, one thread), and
    Candor's sequentially, concurrently (also per server core) and from its server-side time."""
    shap_med = row["peer_timing"]["threads_1"]["median_ms"]
    ips = {"shap_1t": batch / (shap_med / 1e3)}
    if "candor" in row:
        cl, tp = row["candor"]["latency"], row["candor"]["throughput"]
        ips["candor_sequential"] = batch / (cl["median_ms"] / 1e3)
        ips["ratio_candor_sequential_over_shap"] = ips["candor_sequential"] / ips["shap_1t"]
        ips["candor_concurrent"] = tp["requests_per_s"] * batch
        ips["candor_concurrent_server_cores"] = tp["server_cpu_cores"]
        if tp["server_cpu_cores"]:
            ips["candor_concurrent_per_server_core"] = ips["candor_concurrent"] / tp["server_cpu_cores"]
            ips["ratio_candor_per_server_core_over_shap"] = ips["candor_concurrent_per_server_core"] / ips["shap_1t"]
        if row["candor"].get("server_explain_mean_ms"):
            ips["candor_server_time"] = batch / (row["candor"]["server_explain_mean_ms"] / 1e3)
    return ips
