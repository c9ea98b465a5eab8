"""Running bench/compare.py's cases, model by model: the inputs and targets, the request,
Candor's side, then the peer's (Captum, or SHAP / LIME / SHAP's TreeExplainer, or for a metric
case Captum's or Quantus's metric), and the case's row with its ratios and progress line."""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

import tree_model  # the XGBoost model of the tree_shap cases (xgboost is imported on first use)
from candor_http import candor_measure, evaluate_body, explain_body, get, request_once
from captum_peer import SVS_REFERENCE_SAMPLES, CaptumCase, jsonable
from cases import NAMED_CASES_ONLY, PEER_NAMES, SEED, Case
from dice_peer import DicePeer, dice_agreement
import peers  # one_thread(), for the dice-ml peer's timings
from measurement import OtherLoad, ratio, summarise, timed_loop
from metric_peer import REFERENCE_SEEDS, MetricPeer, metric_values
from peer_runs import shap_lime_case, tree_case
from report import agreement_text, fmt, peer_times, server_ms, tree_throughput_text
from torch_rebuild import instance_shape_of, n_features_of, onnx_to_torch, standardisation


@dataclass
class Run:
    """What every case of a run shares: where Candor is, the options, torch's default thread
    count and the peer's thread settings, and what the run collects (models, case rows, problems)."""
    host: str
    port: int
    args: argparse.Namespace
    default_threads: int
    thread_settings: list[int]
    models: dict = field(default_factory=dict)
    cases: list = field(default_factory=list)
    problems: list = field(default_factory=list)


@dataclass
class OnnxModel:
    """An ONNX model ready for its cases: the torch rebuild, an onnxruntime session, the 32
    instances the cases take their batches from, and the rebuild's outputs on them."""
    name: str
    path: Path
    module: nn.Sequential
    input_name: str
    output_name: str
    nfeat: int
    shape: tuple
    x_all: np.ndarray
    sess: ort.InferenceSession
    torch_out: np.ndarray


def run_onnx_model(run: Run, name: str, cases: list[Case], rng: np.random.Generator) -> None:
    """The cases that run on the ONNX model `name` (image models and NAMED_CASES_ONLY run only the
    cases that name them). Analysis cases are not run here (bench/analysis_runs.py)."""
    model = _load_onnx_model(run, name, rng)
    for case in cases:
        if not case.analysis and case.runs_on(name, generic=len(model.shape) != 3 and name not in NAMED_CASES_ONLY):
            run_case = _run_metric_case if case.metric else _run_dice_case if case.peer == "dice" else _run_onnx_case
            run_case(run, model, case)


def _load_onnx_model(run: Run, name: str, rng: np.random.Generator) -> OnnxModel:
    """The torch rebuild checked against onnxruntime, the inputs drawn, and Candor's description."""
    path = Path(run.args.models_dir) / f"{name}.onnx"
    module, input_name, output_name = onnx_to_torch(path)
    nfeat = n_features_of(path, input_name)
    shape = instance_shape_of(path, input_name)
    if len(shape) == 3:
        # An image model: uniform pixels in [0, 1], float32.
        x_all = rng.uniform(0, 1, (32,) + shape).astype(np.float32)
    else:
        mean, std = standardisation(module, nfeat)
        # Deterministic inputs in the model's own units: mean + std · N(0, 1), float32.
        x_all = (mean + std * rng.standard_normal((32, nfeat))).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ort_out = sess.run([output_name], {input_name: x_all})[0]
    with torch.no_grad():
        torch_out = module(torch.tensor(x_all)).numpy()
    onnx_diff = float(np.abs(ort_out - torch_out).max())
    status, _, data = get(run.host, run.port, f"/v1/models/{name}")
    if status != 200:
        raise SystemExit(f"Candor does not serve {name}: GET /v1/models/{name} → {status} {data[:200]!r}")
    run.models[name] = {
        "path": str(path), "input": input_name, "output": output_name, "features": nfeat,
        "torch_module": repr(module), "torch_vs_onnxruntime_max_abs_diff": onnx_diff,
        "candor_sha256": json.loads(data).get("sha256"),
    }
    print(f"\n== {name}: torch rebuild vs onnxruntime max |diff| = {onnx_diff:.2e} "
          f"({len(module)} layers, output '{output_name}')")
    if onnx_diff > 1e-4:
        run.problems.append(f"{name}: rebuilt torch module differs from onnxruntime by {onnx_diff:.2e}")
    return OnnxModel(name, path, module, input_name, output_name, nfeat, shape, x_all, sess, torch_out)


def _run_onnx_case(run: Run, model: OnnxModel, case: Case) -> None:
    """One case on an ONNX model: Candor, then Captum or the shap / lime peer on the same instances."""
    name, batch = model.name, case.batch
    params = case.candor_params(model.nfeat)
    x, case_output, case_out, targets = _case_inputs(model, case)
    body_bytes = explain_body(case.method, x, case_output, targets[0] if batch == 1 else targets, params)
    row = new_row(name, case, params, case_output, body_bytes)
    label = f"{name}/{case.id}"
    captum = None
    if case.peer == "captum":
        captum = CaptumCase(run, case, model.module, model.nfeat, x, targets, model.torch_out[:batch], label)
        row["captum_kwargs"] = jsonable(captum.kwargs)
    else:
        row["peer_args"] = case.peer_args(model.nfeat)
    other_load = announce(run, row)
    response = candor_measure(run, f"/v1/models/{name}/explain", body_bytes, case, row, label)
    if response is None:
        run.cases.append(row)
        return
    if captum is not None:
        captum.measure(response, row)
    else:
        # shap / lime (bench/peers.py): reference values, then one-thread timings.
        shap_lime_case(run, case, name, model.path, model.nfeat, x, targets, case_output, case_out, response, row)
    finish_row(run, row, case, other_load)


def _run_dice_case(run: Run, model: OnnxModel, case: Case) -> None:
    """A counterfactual case: the instance is the first background row of class 0 (bench/dice_peer.py),
    Candor is sent the background's ranges as dice-ml searches them; then dice-ml's seeded reference
    call (both sides' validity and mean distance), then its one-thread timings."""
    peer_args = case.peer_args(model.nfeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = DicePeer(Path(run.args.models_dir), model.name, peer_args["method"], peer_args["total_CFs"])
    params = {**case.candor_params(model.nfeat), **peer.candor_params()}
    body_bytes = explain_body(case.method, peer.instance[None, :].astype(np.float32), model.output_name, 0, params)
    row = new_row(model.name, case, params, model.output_name, body_bytes)
    row["peer_args"] = {**peer_args, "desired_class": 1, "features_to_vary": peer.varying}
    label = f"{model.name}/{case.id}"
    other_load = announce(run, row)
    response = candor_measure(run, f"/v1/models/{model.name}/explain", body_bytes, case, row, label)
    if response is None:
        run.cases.append(row)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row["agreement"] = agree = dice_agreement(peer, response)
        if not agree["ok"]:
            run.problems.append(f"{label}: Candor's counterfactuals are invalid or farther than dice-ml's (differ): "
                                f"Candor {agree['candor']}, dice-ml {agree['dice_ml']}")
        warm, calls = case.peer_loop(run.args)
        with peers.one_thread():
            row["peer_timing"] = {"threads_1": summarise(timed_loop(peer.explain, warm, calls, run.args.max_case_seconds))}
    finish_row(run, row, case, other_load)


def _case_inputs(model: OnnxModel, case: Case) -> tuple:
    """(instances, explained output, its values on the instances, targets): the first `batch` of
    the model's instances; the output's values come from the torch rebuild for the model's main
    output, else from onnxruntime; the targets are their argmax."""
    x = model.x_all[:case.batch]
    case_output = case.output_of(model.name, model.output_name)
    case_out = (model.torch_out if case_output == model.output_name
                else model.sess.run([case_output], {model.input_name: model.x_all})[0])
    return x, case_output, case_out[:case.batch], [int(t) for t in case_out[:case.batch].argmax(axis=1)]


def _run_metric_case(run: Run, model: OnnxModel, case: Case) -> None:
    """One metric case on an ONNX model: Candor's evaluate request timed like an explain request,
    then the Captum or Quantus metric on the same instances and judged attributions."""
    params = case.candor_params(model.nfeat)
    x, case_output, case_out, targets = _case_inputs(model, case)
    target = targets[0] if case.batch == 1 else targets
    label = f"{model.name}/{case.id}"
    judged, error = _judged(run, model.name, case, x, case_output, target, label)
    body_for = lambda p: evaluate_body(case.metric, p, x, case_output, target, judged)  # noqa: E731
    body_bytes = body_for(params) if judged else b""
    row = new_row(model.name, case, params, case_output, body_bytes)
    row.update({"metric": case.metric, "method_params": case.method_params,
                "judged": f"{case.method} re-explained on both sides" if case.reexplains
                else f"Candor's {case.method} attributions, sent to both sides"})
    if error:
        row["candor_error"] = error
        run.cases.append(row)
        return
    peer = MetricPeer(run, case, model.module, x, targets, case_out, params, judged, label)
    row["peer_args"] = peer.args
    other_load = announce(run, row)
    route = f"/v1/models/{model.name}/evaluate"
    response = candor_measure(run, route, body_bytes, case, row, label)
    if response is None:
        run.cases.append(row)
        return
    peer.measure(response, _candor_seed_runs(run, route, case, params, body_for, response, label), row)
    finish_row(run, row, case, other_load)


def _candor_seed_runs(run: Run, route: str, case: Case, params: dict, body_for, response: dict,
                      label: str) -> np.ndarray:
    """Candor's values of the case's metric over the reference seeds ([seeds, instances]), to be
    read against the peer's over the same seeds: the timed request's answer for the first (its
    params carry seed SEED), then one untimed request for each further seed."""
    runs = [metric_values(response["evaluations"], case.metric)]
    for seed in range(SEED + 1, SEED + REFERENCE_SEEDS):
        status, _, data = request_once(run.host, run.port, "POST", route, body_for({**params, "seed": seed}))
        if status != 200:
            run.problems.append(f"{label}: Candor answered {status} with seed {seed}: {data[:300]!r}")
            runs.append(np.full_like(runs[0], np.nan))
            continue
        runs.append(metric_values(json.loads(data)["evaluations"], case.metric))
    return np.stack(runs)


def _judged(run: Run, name: str, case: Case, x: np.ndarray, output: str, target, label: str) -> tuple:
    """(what a metric case's request judges, error): for a metric that re-explains, the method
    itself; else the method's attributions, computed once (untimed) by Candor's explain route and
    kept as float32, so that Candor and the peer judge the very same values."""
    if case.reexplains:
        return {"method": case.method, "method_params": case.method_params}, None
    status, _, data = request_once(run.host, run.port, "POST", f"/v1/models/{name}/explain",
                                   explain_body(case.method, x, output, target, case.method_params))
    if status != 200:
        msg = f"{label}: Candor answered {status} to the explain request of the judged attributions: {data[:300]!r}"
        print("   " + msg)
        run.problems.append(msg)
        return None, msg
    explanations = json.loads(data)["explanations"]
    return {"attributions": np.array([e["attributions"] for e in explanations], dtype=np.float32)}, None


def run_tree_model(run: Run, name: str, cases: list[Case]) -> None:
    """The tree_shap cases on the XGBoost model bench/tree_model.py trained into --models-dir:
    Candor over HTTP (as every case), SHAP's TreeExplainer in-process on one thread, agreement
    on every instance, and instances per second on both sides."""
    if not cases:
        return
    path = tree_model.path_in(run.args.models_dir)
    if not path.exists():
        run.problems.append(f"{name}: skipped the tree_shap cases: {path} does not exist (bench/run.sh trains it into "
                            "the folder it serves; by hand: bench/tree_model.py --models-dir DIR, then start the server "
                            "on DIR)")
        print(f"\n== {name}: {path} does not exist; tree_shap cases skipped")
        return
    info = tree_model.describe(path)
    served = _describe_tree_model(run, name, path, info)
    x_all = tree_model.instances(max(cs.batch for cs in cases))
    for case in cases:
        x = x_all[:case.batch]
        params = case.candor_params(info["features"])
        body_bytes = explain_body(case.method, x, "margin", 0, params)
        row = new_row(name, case, params, "margin", body_bytes)
        row["peer_args"] = {"feature_perturbation": "tree_path_dependent", "model_output": "raw",
                            **(case.peer_args(info["features"]) if case.peer_args else {})}
        other_load = announce(run, row)
        response = None
        if served:
            response = candor_measure(run, f"/v1/models/{name}/explain", body_bytes, case, row, f"{name}/{case.id}")
        else:
            row["candor_error"] = "not served by this binary"
        background = params.get("background")
        tree_case(run, case, name, path, x, None if background is None else np.asarray(background, dtype=np.float32),
                  response, row)
        finish_row(run, row, case, other_load)


def _describe_tree_model(run: Run, name: str, path: Path, info: dict) -> bool:
    """Records the tree model (and whether Candor serves it: a problem when not) and prints it."""
    status, _, data = get(run.host, run.port, f"/v1/models/{name}")
    served = status == 200
    if not served:
        run.problems.append(
            f"{name}: Candor answered {status} to GET /v1/models/{name} ({data[:160]!r}): the server does not "
            "serve the XGBoost model (a binary older than tree-ensemble support skips NAME.json files; "
            "otherwise look for 'refused model' in the server log); only SHAP's side of the tree_shap "
            "cases was timed")
    run.models[name] = {"kind": "xgboost", "path": str(path), "output": "margin", **info,
                        "candor_sha256": json.loads(data).get("sha256") if served else None, "served": served}
    print(f"\n== {name}: XGBoost JSON, {info['trees']} trees (max depth {info['depth_max']}, "
          f"{info['leaves_mean']:.1f} leaves a tree on average, {info['file_bytes'] / 1e6:.1f} MB), output 'margin'"
          + ("" if served else " — NOT SERVED by this Candor binary"))
    return served


def new_row(name: str, case: Case, params: dict, output: str, body_bytes: bytes) -> dict:
    return {"model": name, "case": case.id, "method": case.method, "batch": case.batch, "params": params,
            "peer": case.peer, "output": output, "sampled": case.sampled, "request_bytes": len(body_bytes)}


def announce(run: Run, row: dict) -> OtherLoad:
    """The case's first progress line; the other processes' CPU use is counted from here."""
    print(f"-- {row['model']} / {row['case']} (batch {row['batch']}, request {row['request_bytes']} B)", flush=True)
    return OtherLoad(run.args.server_pid or None)


def finish_row(run: Run, row: dict, case: Case, other_load: OtherLoad) -> None:
    """Ratios (peer time / Candor time per thread setting the peer was timed with), the row
    appended to the run's cases, and the progress line."""
    row["other_cpu_cores"] = other_load.cores()
    row["ratios"] = {}
    peer_t = peer_times(row)
    cl = row["candor"]["latency"] if "candor" in row else None
    if cl is not None:
        for nt in run.thread_settings:
            if f"threads_{nt}" not in peer_t:  # shap / lime / SHAP's TreeExplainer: one thread only
                continue
            cp = peer_t[f"threads_{nt}"]
            row["ratios"][f"median_threads_{nt}"] = ratio(cp["median_ms"], cl["median_ms"])
            row["ratios"][f"p99_threads_{nt}"] = ratio(cp["p99_ms"], cl["p99_ms"])
    run.cases.append(row)
    print(_progress_line(row, case, run.thread_settings), flush=True)


def _progress_line(row: dict, case: Case, thread_settings) -> str:
    """The case's result on stdout: Candor's latency, server time and throughput, the peer's
    medians, the tree cases' instances/s and the agreement."""
    peer_t = peer_times(row)
    pname = PEER_NAMES[case.peer]
    peer_text = "; ".join(f"{pname} {nt}t median {fmt(peer_t[f'threads_{nt}']['median_ms'])} ms"
                          for nt in thread_settings if f"threads_{nt}" in peer_t)
    tree_text = f"; {tree_throughput_text(row)}" if "instances_per_s" in row else ""
    if "candor" not in row:
        return f"   Candor: {row.get('candor_error', 'not measured')}; {peer_text}" + tree_text
    cl, tp = row["candor"]["latency"], row["candor"].get("throughput")  # analyses: no throughput run
    agree = row.get("agreement") or {}
    return (f"   Candor median {fmt(cl['median_ms'])} ms p99 {fmt(cl['p99_ms'])} ms (n={cl['n']}), "
            f"server mean {fmt(server_ms(row))} ms, "
            + (f"{fmt(tp['requests_per_s'], 1)} req/s x{tp['threads']} "
               f"(CPU cores: server {fmt(tp['server_cpu_cores'], 2)}, client {fmt(tp['client_cpu_cores'], 2)}); "
               if tp else "")
            + peer_text
            + (f"; Captum {row['captum_alt']['label']}: "
               + ", ".join(f"{nt}t median {fmt(row['captum_alt'][f'threads_{nt}']['median_ms'])} ms"
                           for nt in thread_settings) if "captum_alt" in row else "")
            + tree_text
            + f"; {agreement_text(row)}"
            + (f" (efficiency error Candor {fmt(agree['candor_efficiency_max_abs_error'])}, "
               f"Captum {fmt(agree['captum_efficiency_max_abs_error'])}; vs {SVS_REFERENCE_SAMPLES}-sample "
               f"reference: Candor {fmt(agree['candor_vs_reference_max_abs'])}, "
               f"Captum {fmt(agree['captum_vs_reference_max_abs'])})" if case.sampled and case.peer == "captum" else "")
            + (f"; other processes {row['other_cpu_cores']:.2f} cores" if row["other_cpu_cores"] else ""))
