"""Running bench/compare.py's analysis cases (`partial_dependence*`, `ale`,
`permutation_importance`) on one model: the dataset, the job request, Candor's side
(bench/candor_http.py: the job submitted with `?wait`, forgotten after each run), then the peer's
(bench/analysis_peer.py: agreement with Candor's result, then its one-thread timings), and the
case's row with its ratio and progress line."""

from __future__ import annotations

import warnings
from pathlib import Path

import analysis_peer
import peers  # one_thread(), for the peers' timings
from candor_http import analysis_body, candor_analysis_measure
from case_runs import Run, announce, finish_row, new_row
from cases import PEER_NAMES, Case
from measurement import timed_peer

# The analysed output and value: the breast-cancer MLP's logits, the positive class (benign), as
# scikit-learn analyses a binary classifier (and Candor does by default; sent explicitly).
OUTPUT, TARGET = "logits", 1
# The dataset of each model the analysis cases run on: (rows, labels, feature names).
DATASETS = {"breast_cancer_mlp": analysis_peer.breast_cancer_rows}


def run_analysis_cases(run: Run, name: str, cases: list[Case]) -> None:
    """The analysis cases on the ONNX model `name`, over its dataset's rows."""
    if not cases:
        return
    if name not in DATASETS:
        run.problems.append(f"{name}: skipped the analysis cases: the bench has no dataset for it")
        return
    rows, labels, names = DATASETS[name]()
    path = Path(run.args.models_dir) / f"{name}.onnx"
    print(f"\n== {name}: analyses over {len(rows)} dataset rows, output '{OUTPUT}', target {TARGET}")
    for case in cases:
        if case.batch != len(rows):
            raise ValueError(f"{case.id}: the case says {case.batch} rows, the dataset has {len(rows)}")
        _run_analysis_case(run, name, path, case, rows, labels, names)


def _run_analysis_case(run: Run, name: str, path: Path, case: Case, rows, labels, names: list[str]) -> None:
    """One analysis case: Candor's timed jobs, the peer's answer compared with the first job's
    result, then the peer's timed calls on one thread."""
    params = case.candor_params(len(names))
    body_bytes = analysis_body(case.method, rows, OUTPUT, TARGET, params, labels if case.labels else None)
    row = new_row(name, case, params, OUTPUT, body_bytes)
    row.update({"analysis": case.method, "target": TARGET, "labels": "dataset" if case.labels else None})
    label = f"{name}/{case.id}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = analysis_peer.AnalysisPeer(case.method, path, OUTPUT, TARGET, rows, labels, names, params)
    row["peer_args"] = peer.args()
    other_load = announce(run, row)
    result = candor_analysis_measure(run, f"/v1/models/{name}/analyses", body_bytes, case, row, label)
    if result is None:
        run.cases.append(row)
        return
    with peers.one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row["agreement"] = agree = peer.agreement(result)
        if not agree["ok"]:
            run.problems.append(f"{label}: Candor's result and {PEER_NAMES[case.peer]}'s differ: "
                                + str({k: v for k, v in agree.items() if not isinstance(v, list) or k == "outside"}))
        warm, calls = case.peer_loop(run.args)
        row["peer_timing"] = {"threads_1": timed_peer(peer.explain, warm, calls, run.args.max_case_seconds)}
    finish_row(run, row, case, other_load)
