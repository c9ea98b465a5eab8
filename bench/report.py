"""The results of bench/compare.py: the tables on stdout, bench/results/latest.md (the summary
with ratios, per-case notes and caveats) and bench/results/latest.json (every number). Metric
cases share the tables with the explanation cases; their agreement cell and note read Candor's
value against the peer's seed-to-seed spread (bench/metric_peer.py). Analysis cases share them
too, without a throughput (bench/analysis_peer.py)."""

from __future__ import annotations

import json
from pathlib import Path

import analysis_peer  # the analysis cases' peers: their tolerances and seeds
import metric_peer  # the metric cases' peers: their seeds and tolerances
import peers  # the shap / lime peers (bench/peers.py): their tolerances and LIME's top-k
from captum_peer import ATOL, RTOL
from cases import PEER_NAMES, SEED
from measurement import NOISY_CORES


def fmt(v, digits=3, unit=""):
    """A table cell: "—" for no value, floats with `digits` decimals (scientific when tiny or huge)."""
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 10 ** -digits):
            return f"{v:.2e}{unit}"
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def peer_times(row: dict) -> dict:
    """The peer's timings of a case row: {"threads_N": summary} (Captum: 1 and the default
    thread count; shap / lime: threads_1 only)."""
    return row.get("captum") or row.get("peer_timing") or {}


def server_ms(r: dict):
    """The server's own mean time of a measured row: the explain duration by method, or — the
    evaluate route records no explain duration — the evaluate route's HTTP request duration."""
    c = r["candor"]
    return c["server_explain_mean_ms"] if c.get("server_explain_mean_ms") is not None else c.get("server_http_mean_ms")


def metric_agreement_text(r: dict) -> str:
    """The agreement cell of a metric row: both sides' mean ± std over the seeds (one instance),
    or how many instances are outside the tolerance (several), and the largest gap."""
    ag = r.get("agreement") or {}
    if not ag:
        return "— (Candor not measured)"
    verdict = "GROSSLY OFF" if ag["grossly_off"] else "ok" if ag["ok"] else "outside tolerance"
    peer = PEER_NAMES.get(r.get("peer"), "?")
    gap = f"{verdict}, gap {fmt(ag.get('max_gap_in_se'), 1)} se, {ag['seeds']} seeds"
    if len(ag["candor_values"]) == 1:
        return (f"{r['metric']} Candor {fmt(ag['candor_means'][0], 4)} ± {fmt(ag['candor_stds'][0], 4)}, {peer} "
                f"{fmt(ag['peer_means'][0], 4)} ± {fmt(ag['peer_stds'][0], 4)} ({gap})")
    return f"{r['metric']}: {ag['outside']} of {len(ag['candor_values'])} instances outside tolerance ({gap})"


def analysis_agreement_text(r: dict) -> str:
    """The agreement cell of an analysis row: max |diff| of the curves (and grids), or for
    permutation importance the baselines and how the means sit in the peer's spread."""
    ag = r.get("agreement") or {}
    if not ag:
        return "— (Candor not measured)"
    verdict = "ok" if ag["ok"] else "MISMATCH"
    if r["analysis"] == "permutation_importance":
        return (f"baseline {fmt(ag['baseline_candor'], 4)} / {fmt(ag['baseline_sklearn'], 4)}; means within "
                f"{analysis_peer.IMPORTANCE_STDS:g} std of {ag['seeds']} seeds: {len(ag['outside'])} outside, largest "
                f"{fmt(ag['max_gap_in_allowed'], 2)} of allowed ({verdict}; random: values not compared)")
    if r["analysis"] == "ale":
        return (f"ale_values {fmt(ag['max_abs_diff'])}, ale0 {fmt(ag['ale0_max_abs_diff'])}, grids "
                f"{fmt(ag['grid_max_rel_diff'])} rel ({verdict})")
    ice = f", individual {fmt(ag['individual_max_abs_diff'])}" if ag.get("individual_max_abs_diff") is not None else ""
    return f"average {fmt(ag['max_abs_diff'])}{ice}, grids {fmt(ag['grid_max_rel_diff'])} rel ({verdict})"


def agreement_text(r: dict) -> str:
    """The agreement cell of a case row."""
    ag = r.get("agreement") or {}
    if r.get("metric"):
        return metric_agreement_text(r)
    if r.get("analysis"):
        return analysis_agreement_text(r)
    if r.get("peer") == "dice":
        if not ag:
            return "— (Candor not measured)"
        c, d = ag["candor"], ag["dice_ml"]
        return (f"mean d Candor {fmt(c['mean_distance'], 2)}, dice-ml {fmt(d['mean_distance'], 2)} "
                f"(validity {fmt(c['validity'], 2)} / {fmt(d['validity'], 2)}; "
                f"{'ok' if ag['ok'] else 'FARTHER OR INVALID'}; searches differ: values not compared)")
    if r.get("peer") == "lime":
        same = ag.get("top_rules_same_set")
        return (f"top-{peers.LIME_TOP} rules {'same set' if same else 'differ' if same is not None else '—'} "
                "(sampled: not compared)")
    diff = fmt(ag.get("max_abs_diff"))
    if r.get("peer") == "shap_tree":
        if not ag:
            return "— (Candor not measured)"
        return (f"{diff} ({'ok' if ag.get('ok') else 'MISMATCH'}; base_value Δ {fmt(ag.get('base_value_abs_diff'))}, "
                f"{ag.get('instances')} instances)")
    if r.get("peer") == "shap":
        if r.get("sampled"):
            return (f"{diff} (sampled: not compared; SHAP seed 0 vs 1: "
                    f"{fmt(ag.get('shap_seed0_vs_seed1_max_abs'))})")
        return f"{diff} ({'ok' if ag.get('ok') else 'MISMATCH'}; base_value Δ {fmt(ag.get('base_value_abs_diff'))})"
    if r.get("sampled"):
        return f"{diff} (sampled: not compared; efficiency {'ok' if ag.get('ok') else 'FAILED'})"
    if "completeness_tolerance" in ag:
        return (f"{diff} (Captum #1104: not compared; Candor's delta {fmt(ag.get('candor_convergence_delta_max_abs'))} "
                f"{'ok' if ag.get('ok') else 'FAILED'}, Captum's {fmt(ag.get('captum_convergence_delta_max_abs'))})")
    return f"{diff} ({'ok' if ag.get('ok') else 'MISMATCH'})"


def tree_throughput_text(r: dict) -> str:
    """A tree_shap case's instances per second, for its progress line."""
    ips = r.get("instances_per_s") or {}
    out = f"instances/s: SHAP 1t {fmt(ips.get('shap_1t'), 0)}"
    if "candor_sequential" in ips:
        out += (f", Candor sequential {fmt(ips['candor_sequential'], 0)} (ratio Candor/SHAP "
                f"{fmt(ips['ratio_candor_sequential_over_shap'], 2)}), Candor {r['candor']['throughput']['threads']} "
                f"clients {fmt(ips['candor_concurrent'], 0)} on {fmt(ips.get('candor_concurrent_server_cores'), 2)} "
                "server cores")
    return out


def table(cases, thread_settings) -> str:
    """The table on stdout: one row a case."""
    head = ["model", "case", "peer", "batch", "Candor med ms", "Candor p99 ms", "server ms"]
    for nt in thread_settings:
        head += [f"peer{nt}t med ms", f"peer{nt}t p99 ms", f"ratio{nt}t med", f"ratio{nt}t p99"]
    head += ["Candor req/s", "max|diff| / agreement"]
    rows = _case_rows(cases, thread_settings, len(head), lambda r: "ERROR",
                      lambda r: [fmt(_throughput(r).get("requests_per_s"), 1), agreement_text(r)])
    return _grid(head, rows, markdown=False)


def _throughput(r: dict) -> dict:
    """A measured row's throughput run ({} for an analysis case, which has none)."""
    return r["candor"].get("throughput") or {}


def _case_rows(cases, thread_settings, width: int, error, cells) -> list[list[str]]:
    """One row a case: the timing cells both tables share, then `cells(row)`; a case Candor
    did not answer gets `error(row)` after its name and empty cells for the rest."""
    rows = []
    for r in cases:
        if "candor" not in r:
            rows.append([r["model"], r["case"], PEER_NAMES.get(r.get("peer"), "?"), str(r["batch"]), error(r)]
                        + [""] * (width - 5))
        else:
            rows.append(_timing_cells(r, thread_settings) + cells(r))
    return rows


def alt_table(cases, thread_settings, markdown: bool) -> str | None:
    """Captum's second setting (its default perturbations_per_eval=1) for the cases that time one."""
    head = ["model", "case", "batch", "Captum setting", "Candor median ms"]
    for nt in thread_settings:
        head += [f"Captum {nt}t median ms", f"ratio {nt}t (median)"]
    head += ["max abs diff vs main Captum setting"]
    rows = []
    for r in cases:
        alt = r.get("captum_alt")
        if not alt or "candor" not in r:
            continue
        line = [r["model"], r["case"], str(r["batch"]), alt["label"], fmt(r["candor"]["latency"]["median_ms"])]
        for nt in thread_settings:
            line += [fmt(alt[f"threads_{nt}"]["median_ms"]), fmt(alt[f"ratio_median_threads_{nt}"], 2)]
        line += [fmt(alt.get("max_abs_diff_vs_main_setting")) if "max_abs_diff_vs_main_setting" in alt
                 else "— (sampled)"]
        rows.append(line)
    return _grid(head, rows, markdown=markdown) if rows else None


def tree_throughput_table(cases, markdown: bool) -> str | None:
    """Instances per second of the tree_shap cases, both sides, and the ratios."""
    head = ["model", "case", "batch", "SHAP 1t inst/s", "Candor sequential inst/s", "ratio sequential",
            "Candor concurrent inst/s", "server cores", "Candor inst/s per server core", "ratio per core",
            "SHAP CPU cores (timed loop)"]
    rows = []
    for r in cases:
        if r.get("peer") != "shap_tree" or "instances_per_s" not in r:
            continue
        ips = r["instances_per_s"]
        rows.append([r["model"], r["case"], str(r["batch"]), fmt(ips.get("shap_1t"), 0),
                     fmt(ips.get("candor_sequential"), 0), fmt(ips.get("ratio_candor_sequential_over_shap"), 2),
                     fmt(ips.get("candor_concurrent"), 0), fmt(ips.get("candor_concurrent_server_cores"), 2),
                     fmt(ips.get("candor_concurrent_per_server_core"), 0),
                     fmt(ips.get("ratio_candor_per_server_core_over_shap"), 2),
                     fmt(r["peer_timing"]["threads_1"].get("cpu_cores"), 2)])
    return _grid(head, rows, markdown=markdown) if rows else None


def _timing_cells(r, thread_settings) -> list:
    """The cells both tables share: the case, its peer, Candor's latency, the peer's at each
    thread count and the ratios ("—" where the peer was not timed: shap / lime run on one
    thread only)."""
    cl = r["candor"]["latency"]
    line = [r["model"], r["case"], PEER_NAMES.get(r.get("peer", "captum"), "?"), str(r["batch"]),
            fmt(cl["median_ms"]), fmt(cl["p99_ms"]), fmt(server_ms(r))]
    pt = peer_times(r)
    for nt in thread_settings:
        cp = pt.get(f"threads_{nt}", {})
        line += [fmt(cp.get("median_ms")), fmt(cp.get("p99_ms")),
                 fmt(r["ratios"].get(f"median_threads_{nt}"), 2), fmt(r["ratios"].get(f"p99_threads_{nt}"), 2)]
    return line


def _grid(head, rows, markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if i > 2 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown(result, thread_settings) -> str:
    m = result["meta"]
    lines = _run_bullets(m) + _peer_bullets(result) + _metric_bullets(result) + _analysis_bullets(result) + [""]
    if "debug" in (m["label"] or "") or "/debug/" in (m["candor_bin"] or ""):
        lines += ["> **DEBUG BUILD — these Candor numbers are not representative.** "
                  "Run `swift build -c release` and `bench/run.sh` for real numbers.", ""]
    lines += [_main_table(result, thread_settings), ""]
    alt = alt_table(result["cases"], thread_settings, markdown=True)
    if alt:
        lines += ["Captum with its default `perturbations_per_eval=1` (one forward pass per perturbation) "
                  "instead of the batched setting of the table above; same Candor numbers:", "", alt, ""]
    tput = tree_throughput_table(result["cases"], markdown=True)
    if tput:
        lines += ["TreeSHAP throughput, instances per second (batch ÷ median time per request / per call). "
                  "\"sequential\" is one request at a time on one connection (Candor computes one request on one "
                  "worker thread, so both sides use one core; Candor's includes HTTP and JSON); \"concurrent\" is "
                  f"the {m['throughput_threads']}-client throughput run, with the server cores it used and per core. "
                  "Ratio > 1: Candor is faster.", "", tput, ""]
    capped = [f"{r['model']}/{r['case']} (n = {peer_times(r)['threads_1']['n']})" for r in result["cases"]
              if "threads_1" in peer_times(r) and peer_times(r)["threads_1"].get("n", 0) < m["requests"]]
    if capped:
        lines += ["The peer's timed loop was shortened (per-case cap or the time limit) for: "
                  + ", ".join(capped) + "; its p99 there is close to the maximum.", ""]
    lines += _peer_notes(result["cases"]) + _sampled_notes(result["cases"]) + _agreement_rules()
    lines += _models(result["models"])
    if result["problems"]:
        lines += ["Problems seen during the run:", ""] + [f"- {p}" for p in result["problems"]] + [""]
    else:
        lines += ["No errors, cache hits, reconnections or mismatches were seen during the run.", ""]
    return "\n".join(lines)


def _run_bullets(m: dict) -> list[str]:
    """The title and the bullets on how the run measured (build, versions, loops, what a ratio is)."""
    return [
        "# Candor vs Captum (and SHAP, LIME) — explain benchmark",
        "",
        f"- Run: {m['timestamp']}, build **{m['label'] or 'unknown'}** (`{m['candor_bin']}`), "
        f"{m['cpus']} CPUs ({m['cpu']}), {m['platform']}",
        f"- torch {m['torch']} (default threads {m['torch_default_threads']}), captum {m['captum']}, "
        f"onnxruntime {m['onnxruntime']}, Python {m['python']}",
        f"- Latency: {m['warmup']} warm-ups, then up to {m['requests']} sequential requests/calls "
        f"(each loop capped at {m['max_case_seconds']:g} s); Candor over one fresh persistent HTTP/1.1 "
        f"connection on loopback with `Cache-Control: no-cache`, cache disabled "
        f"(`CANDOR_CACHE_MAX_BYTES=0`). Throughput: {m['throughput_threads']} client threads, "
        f"{m['throughput_seconds']:g} s per case.",
        "- **Ratio = peer time / Candor time (the peer: Captum, or SHAP / LIME for `kernel_shap*` / `lime`, SHAP's "
        "TreeExplainer for `tree_shap*`, Captum's or Quantus's metric for the metric cases); "
        "> 1 means Candor is faster.**",
        "- **Candor's time is end to end over HTTP: JSON encoding of the request, loopback TCP, "
        "parsing, validation, the computation, JSON encoding of the response and the Python "
        "client. Captum's time is the in-process `attribute(...)` call only** (tensor already "
        "built, no serialisation; SHAP's and LIME's: see below). \"server ms\" is the server's own mean time per explain "
        "(`candor_explain_duration_seconds` in /metrics: body decoding, computation, encoding; for the metric "
        "cases, which the evaluate route serves, its `candor_http_request_duration_seconds`).",
        f"- HTTP floor: `GET /healthz` on a persistent connection takes median "
        f"{fmt(m['healthz_latency'].get('median_ms'))} ms (p99 {fmt(m['healthz_latency'].get('p99_ms'))} ms) "
        "with this client; every Candor latency below includes at least that much.",
        "- Captum IG is timed with `return_convergence_delta=True` because Candor always returns "
        "`convergence_delta` (one extra forward pass on each side).",
        "- Perturbation methods: Candor is sent no `perturbations_per_eval` (its default: as many "
        "perturbations per forward pass as its memory budget allows). Captum gets its fastest "
        "setting: `FeatureAblation` `perturbations_per_eval` = number of features (all single-feature "
        "ablations in one pass), `Occlusion` (window 2, stride 1) = number of window positions, "
        "`ShapleyValues` = number of groups (Captum batches only within one ordering, so larger values "
        "change nothing), `ShapleyValueSampling` = number of features. Captum's default (1) is timed "
        "too for feature ablation, occlusion and Shapley value sampling (second table).",
        "- `exact_shapley`: Candor evaluates the 2ⁿ coalitions and weights the marginals; Captum "
        "`ShapleyValues` walks all n! orderings (24 for iris's 4 features, 720 for breast_cancer's 6 "
        "groups of 5 contiguous features, `feature_mask` a [1, 30] long tensor). Same values, different "
        "amount of work.",
    ]


def _peer_bullets(result) -> list[str]:
    """The bullets on the SHAP / LIME and TreeExplainer peers, for a run that had them."""
    m, lines = result["meta"], []
    if m.get("peer_versions") and any(r.get("peer") in ("shap", "lime") for r in result["cases"]):
        pv = m["peer_versions"]
        lines += [
            f"- `kernel_shap*` and `lime` cases are measured against shap {pv.get('shap')} and lime "
            f"{pv.get('lime')} (scikit-learn {pv.get('scikit-learn')}, scipy {pv.get('scipy')}) instead of "
            "Captum (column \"peer\"): the model is onnxruntime on the same .onnx file, one thread "
            "(onnxruntime 1 intra/inter-op thread; BLAS/OpenMP limited to 1 by threadpoolctl), so only the "
            "1-thread columns are filled. The timed peer call is the whole explanation with its model calls: "
            "`shap.KernelExplainer(f, background).shap_values(x, nsamples, l1_reg=False)` (the explainer's "
            "construction runs f on the background for E[f], as Candor does per request), and lime's "
            "`explain_instance(x, fn, num_features, num_samples=5000)` on an explainer built once from the "
            "training split (as Candor's statistics are loaded with the model).",
        ]
    tree_rows = [r for r in result["cases"] if r.get("peer") == "shap_tree"]
    if tree_rows:
        pv = m.get("peer_versions") or {}
        tm = result["models"].get(tree_rows[0]["model"], {})
        lines += [
            f"- `tree_shap*` cases are measured against shap {pv.get('shap')}'s `TreeExplainer(booster)` "
            "(path-dependent, `model_output=\"raw\"`), which for an XGBoost model hands the work to XGBoost's own "
            f"C++ TreeSHAP (`predict(pred_contribs=True)`, xgboost {pv.get('xgboost')}) plus a margin prediction "
            "for its additivity check: the timed peer call is `explainer.shap_values(X)`, explainer built once, "
            "booster `nthread=1` inside threadpoolctl's one-thread limit. The model: "
            f"`{tm.get('name')}`, {tm.get('trees')} trees of max_depth 6 ({fmt(tm.get('leaves_mean'), 1)} leaves a "
            "tree on average), an XGBoost binary classifier trained by `bench/tree_model.py` on a synthetic "
            "30-feature dataset and served from the bench's temporary models folder; explained output `margin`, "
            "target 0. Instances per second are in the table under the main one. `tree_shap_interventional` "
            "uses `TreeExplainer(booster, data=background, feature_perturbation=\"interventional\")` instead, where "
            "SHAP walks the trees itself, once per instance and background row (the first 100 training rows).",
        ]
    return lines


def _metric_bullets(result) -> list[str]:
    """The bullet on the metric cases (what each side computes and what is timed), for a run that had them."""
    rows = [r for r in result["cases"] if r.get("metric")]
    if not rows:
        return []
    pv = result["meta"].get("peer_versions") or {}
    return [
        "- Metric cases (`infidelity`, `sensitivity_max*`, `faithfulness_correlation`, `cnn_*` likewise) time a "
        "quality metric: Candor's `POST /v1/models/{name}/evaluate` against `captum.metrics.infidelity` / "
        f"`sensitivity_max` (captum {result['meta']['captum']}) or Quantus {pv.get('quantus')}'s "
        "`FaithfulnessCorrelation`, in-process on the torch rebuild, timed at each thread setting like Captum's "
        "explanations. `infidelity` and `faithfulness_correlation` judge the same attributions on both sides "
        "(Candor's integrated gradients, computed once per case, untimed); `sensitivity_max` re-explains with the "
        "method named (Candor's `method`, Captum's attribute function of the same method). Every metric draws "
        "random perturbations, each side with its own generator: the agreement cell shows both sides' mean ± "
        f"standard deviation over {metric_peer.REFERENCE_SEEDS} seeds (untimed runs; Candor's first is the timed "
        "request's answer) and the gap between the means in standard errors.",
    ]


def _analysis_bullets(result) -> list[str]:
    """The bullet on the analysis cases (what each side runs and what is timed), for a run that had them."""
    rows = [r for r in result["cases"] if r.get("analysis")]
    if not rows:
        return []
    pv = result["meta"].get("peer_versions") or {}
    return [
        "- Analysis cases (`partial_dependence*`, `ale`, `permutation_importance`) time a dataset-level analysis "
        f"over {rows[0]['batch']} rows (scikit-learn's breast-cancer dataset) of `{rows[0]['model']}`'s "
        f"`{rows[0]['output']}`, target {rows[0]['target']}: Candor's job, `POST /v1/models/{{name}}/analyses?wait=…` "
        "answered 200 with the finished job (its `DELETE` afterwards, which forgets it so the next equal request is "
        "computed again, is not timed; no throughput run: analyses run one at a time), against scikit-learn "
        f"{pv.get('scikit-learn')}'s `partial_dependence(method=\"brute\")` (one call an item) / "
        f"`permutation_importance` or Alibi {pv.get('alibi')}'s `ALE(predictor).explain`, the model onnxruntime on "
        "one thread inside threadpoolctl's one-thread limit. \"server ms\" is the submission's "
        "`candor_http_request_duration_seconds` (waiting for the job included).",
    ]


def _main_table(result, thread_settings) -> str:
    """latest.md's table: one row a case, with the CPU use, the peer's calls/s and the other load."""
    head = ["model", "case", "peer", "batch", "Candor median ms", "Candor p99 ms", "server mean ms"]
    for nt in thread_settings:
        head += [f"peer {nt}t median ms", f"peer {nt}t p99 ms", f"ratio {nt}t (median)", f"ratio {nt}t (p99)"]
    head += [f"Candor req/s ({result['meta']['throughput_threads']} clients)", "CPU cores server / client",
             "peer 1t calls/s (sequential)", "max abs diff vs peer / agreement", "other load (cores)"]

    def cells(r):
        tp = _throughput(r)
        return [fmt(tp.get("requests_per_s"), 1),
                f"{fmt(tp.get('server_cpu_cores'), 2)} / {fmt(tp.get('client_cpu_cores'), 2)}",
                fmt(peer_times(r).get("threads_1", {}).get("sequential_per_s"), 1),
                agreement_text(r),
                fmt(r.get("other_cpu_cores"), 2)]

    rows = _case_rows(result["cases"], thread_settings, len(head), lambda r: "error: " + r.get("candor_error", ""), cells)
    return _grid(head, rows, markdown=True)


def _sampled_notes(cases) -> list[str]:
    """What the sampled Captum cases are held to instead of value-by-value agreement."""
    lines = []
    for r in cases:
        if r.get("sampled") and "agreement" in r and r.get("peer", "captum") == "captum":
            ag = r["agreement"]
            lines += [f"Sampled case {r['model']}/{r['case']}: Candor and Captum draw different random "
                      "orderings, so their values are not compared one by one (max |Candor − Captum| "
                      f"{fmt(ag['max_abs_diff'])} against max |Captum| {fmt(ag['max_abs_reference'])}, for "
                      "information). Checked instead: efficiency, Σ attributions = f(x) − f(x′), on both "
                      f"sides (max error Candor {fmt(ag['candor_efficiency_max_abs_error'])}, Captum "
                      f"{fmt(ag['captum_efficiency_max_abs_error'])}, tolerance {fmt(ag['efficiency_tolerance'])}). "
                      f"Distance to a {ag['reference_samples']}-ordering Captum estimate: Candor "
                      f"{fmt(ag['candor_vs_reference_max_abs'])}, Captum {fmt(ag['captum_vs_reference_max_abs'])} "
                      "(that estimate has sampling error of its own).", ""]
    return lines


def _agreement_rules() -> list[str]:
    """How agreement is judged, per peer, and what "other load" means."""
    return ["Agreement: max |Candor − Captum| over all attributions of the case, in the "
            f"attribution's units; ok when ≤ {ATOL:g} + {RTOL:g} · max |Captum attribution|. "
            f"Exact `kernel_shap` cases: max |Candor − SHAP| over the per-feature attributions (a group's "
            f"value on each of its features) and |Δ base_value|, ok when both ≤ {peers.KSHAP_ATOL:g} + "
            f"{peers.KSHAP_RTOL:g} · max |SHAP attribution| and SHAP enumerated every coalition. "
            f"`tree_shap` cases: max |Candor − SHAP| over every instance's attributions and |Candor base_value − "
            f"explainer.expected_value|, ok when both ≤ {peers.TREE_ATOL:g} + {peers.TREE_RTOL:g} · max |SHAP "
            "attribution|, and Candor's `margin` equal to XGBoost's predict(output_margin=True) within "
            f"{peers.TREE_ATOL:g} + {peers.TREE_RTOL:g} · max |margin|. "
            f"Metric cases: {metric_peer.spread_rule()}. "
            "Analysis cases: `partial_dependence*` and `ale`, max |Candor − peer| over every curve value "
            "(`average` and `individual`; `ale_values`, `ale0` and `constant_value`), ok when ≤ "
            f"{analysis_peer.CURVE_ATOL:g} + {analysis_peer.CURVE_RTOL:g} · max |peer value| and the grids agree to "
            f"{analysis_peer.GRID_RTOL:g} relative; `permutation_importance`, the baseline scores equal and every mean "
            f"importance within {analysis_peer.IMPORTANCE_STDS:g} standard deviations of scikit-learn's mean over "
            f"{analysis_peer.IMPORTANCE_SEEDS} random states, plus one row's flip in one repeat. "
            "Timed-loop sample counts (n) and convergence deltas are in latest.json. "
            "\"other load\" is the CPU (in cores) used during the case by processes other than the "
            "bench and the server, from /proc/stat; above "
            f"{NOISY_CORES:g} the case's timings are disturbed.", ""]


def _models(models: dict) -> list[str]:
    """One line a model: the ONNX models' torch rebuild check, the tree model's shape."""
    lines = ["Models (rebuilt in torch from the ONNX initializers, compared with onnxruntime):", ""]
    for name, info in models.items():
        if info.get("kind") == "xgboost":
            lines.append(f"- {name}: XGBoost JSON ({info['file_bytes'] / 1e6:.2f} MB), {info['trees']} trees, "
                         f"{info['leaves_total']} leaves ({fmt(info['leaves_mean'], 1)} a tree; p10/p50/p90 "
                         f"{'/'.join(f'{v:g}' for v in info['leaves_p10_p50_p90'])}), max depth {info['depth_max']}, "
                         f"{info['features']} features, `{info['objective']}`, base_score {info['base_score']}; "
                         + ("served by Candor" if info.get("served") else "**not served by this Candor binary**"))
            continue
        lines.append(f"- {name}: {info['features']} features, output `{info['output']}`, "
                     f"torch vs onnxruntime max |diff| {fmt(info['torch_vs_onnxruntime_max_abs_diff'])}")
    return lines + [""]


def _tree_note(r) -> str:
    ag = r.get("agreement")
    pt = r["peer_timing"]["threads_1"]
    alt = (r.get("peer_alt") or {}).get("threads_1") or {}
    timing = (f"SHAP `shap_values` median {fmt(pt.get('median_ms'))} ms (n = {pt.get('n')}, "
              f"{fmt(pt.get('cpu_cores'), 2)} CPU cores over the timed loop); XGBoost's `pred_contribs` alone, "
              f"without SHAP's DMatrix wrapper and additivity check: median {fmt(alt.get('median_ms'))} ms")
    where = f"TreeSHAP {r['model']}/{r['case']} ({r['batch']} instance{'s' if r['batch'] != 1 else ''}, `margin`)"
    if not ag:
        ref = r.get("peer_reference") or {}
        return (f"{where}: Candor not measured ({r.get('candor_error', '?')}); {timing}; SHAP expected_value "
                f"{fmt(ref.get('base_value_shap'), 6)} (before the first call "
                f"{fmt(ref.get('shap_expected_value_before_first_call'), 6)}), its own local-accuracy error {fmt(ref.get('shap_efficiency_max_abs_error'))}.")
    return (f"{where}: path-dependent on both sides: max |Candor − SHAP| {fmt(ag.get('max_abs_diff'))} over "
            f"{ag.get('instances')} instances (max |SHAP| {fmt(ag.get('max_abs_reference'))}, tolerance "
            f"{fmt(ag.get('tolerance'))}) — {'ok' if ag.get('ok') else 'MISMATCH'}; base_value Candor "
            f"{fmt(ag.get('base_value_candor'), 6)}, SHAP expected_value {fmt(ag.get('base_value_shap'), 6)} (before "
            f"the first shap_values call SHAP reports {fmt(ag.get('shap_expected_value_before_first_call'), 6)}, the "
            f"base margin alone); margin max |Candor − XGBoost| {fmt(ag.get('margin_max_abs_diff'))}; local accuracy "
            f"|Σφ + base − margin| Candor {fmt(ag.get('candor_efficiency_max_abs_error'))}, SHAP "
            f"{fmt(ag.get('shap_efficiency_max_abs_error'))}. {timing}.")


def _peer_notes(cases) -> list[str]:
    """Per-case details of the shap / lime / TreeExplainer and metric cases for latest.md."""
    out = []
    for r in cases:
        ag = r.get("agreement")
        if ag and r.get("metric"):
            out += [_metric_note(r, ag), ""]
        elif r.get("peer") == "shap_tree":
            out += [_tree_note(r), ""]
        elif ag and r.get("peer") == "shap":
            out += [_kernel_shap_note(r, ag), ""]
        elif ag and r.get("peer") == "lime":
            out += [_lime_note(r, ag), ""]
        elif ag and r.get("peer") == "dice":
            out += [_dice_note(r, ag), ""]
        elif ag and r.get("analysis"):
            out += [_analysis_note(r, ag), ""]
    return out


def _analysis_note(r, ag) -> str:
    """An analysis case: its params, the peer's call, the agreement's figures."""
    where = (f"Analysis `{r['analysis']}` {r['model']}/{r['case']} ({r['batch']} rows, params {r['params']}; "
             f"peer {r.get('peer_args')})")
    if r["analysis"] == "permutation_importance":
        return (f"{where}: baseline accuracy Candor {fmt(ag['baseline_candor'], 6)}, scikit-learn "
                f"{fmt(ag['baseline_sklearn'], 6)}; most important feature Candor `{ag['top_candor']}`, scikit-learn "
                f"`{ag['top_sklearn']}`; max |Candor mean − scikit-learn mean| {fmt(ag['max_abs_diff'])}, at most "
                f"{fmt(ag['max_gap_in_allowed'], 2)} of the allowed gap; outside: {ag['outside'] or 'none'} — "
                f"{'ok' if ag['ok'] else 'MISMATCH'}.")
    if r["analysis"] == "ale":
        return (f"{where}: {ag['features']} features, {ag['grid_points']} grid points; max |Candor − Alibi| "
                f"ale_values {fmt(ag['max_abs_diff'])}, ale0 {fmt(ag['ale0_max_abs_diff'])}, constant_value "
                f"{fmt(ag['constant_value_abs_diff'])} (max |Alibi| {fmt(ag['max_abs_reference'])}, tolerance "
                f"{fmt(ag['tolerance'])}); grids {fmt(ag['grid_max_rel_diff'])} relative — "
                f"{'ok' if ag['ok'] else 'MISMATCH'}.")
    return (f"{where}: {ag['items']} items; max |Candor − scikit-learn| average {fmt(ag['max_abs_diff'])}"
            + (f", individual {fmt(ag['individual_max_abs_diff'])}" if ag.get("individual_max_abs_diff") is not None else "")
            + f" (max |scikit-learn value| {fmt(ag['max_abs_reference'])}, tolerance {fmt(ag['tolerance'])}); grids "
            f"{fmt(ag['grid_max_rel_diff'])} relative — {'ok' if ag['ok'] else 'MISMATCH'}.")


def _metric_note(r, ag) -> str:
    """A metric case: what was judged, the peer's call, both sides' values over the seeds."""
    per_instance = "; ".join(
        f"Candor {fmt(c0, 4)} (seed {SEED}), mean {fmt(mc, 4)} ± {fmt(sc, 4)} vs {fmt(mp, 4)} ± {fmt(sp, 4)}"
        for c0, mc, sc, mp, sp in zip(ag["candor_values"], ag["candor_means"], ag["candor_stds"], ag["peer_means"],
                                      ag["peer_stds"]))
    verdict = ("GROSSLY OFF (a mismatch)" if ag["grossly_off"] else "within tolerance" if ag["ok"]
               else f"{ag['outside']} instance(s) outside tolerance (for information)")
    return (f"Metric `{r['metric']}` {r['model']}/{r['case']} ({r['batch']} instance{'s' if r['batch'] != 1 else ''}, "
            f"{r['judged']}; params {r['params']}): peer {ag['peer']} "
            f"{ {k: v for k, v in (r.get('peer_args') or {}).items() if k != 'function'} }; over {ag['seeds']} seeds "
            f"each — {per_instance}: {verdict}, largest gap {fmt(ag.get('max_gap_in_se'), 1)} standard errors; "
            f"outputs max |Candor − torch| {fmt(ag.get('output_max_abs_diff'))}.")


def _kernel_shap_note(r, ag) -> str:
    where = f"{r['model']}/{r['case']} (output `{r.get('output')}`)"
    common = (f"base_value Candor {fmt(ag.get('base_value_candor'))}, SHAP {fmt(ag.get('base_value_shap'))}; "
              f"nsamples {ag.get('nsamples')}, {ag.get('groups')} groups, SHAP evaluated "
              f"{ag.get('shap_coalitions')} coalitions; efficiency error Candor "
              f"{fmt(ag.get('candor_efficiency_abs_error'))}, SHAP {fmt(ag.get('shap_efficiency_abs_error'))}")
    if r.get("sampled"):
        return (f"KernelSHAP {where}: sampled coalitions on both sides (Candor's seeded generator, SHAP's "
                "numpy global RNG), so not compared: max |Candor − SHAP| "
                f"{fmt(ag.get('max_abs_diff'))} against max |SHAP| {fmt(ag.get('max_abs_reference'))}, for "
                f"information; SHAP against itself (seed 0 vs seed 1): "
                f"{fmt(ag.get('shap_seed0_vs_seed1_max_abs'))}. {common}.")
    return (f"KernelSHAP {where}: every coalition enumerated on both sides (exact Shapley values "
            f"of the background-averaged game): max |Candor − SHAP| {fmt(ag.get('max_abs_diff'))} "
            f"(max |SHAP| {fmt(ag.get('max_abs_reference'))}, tolerance {fmt(ag.get('tolerance'))}) "
            f"— {'ok' if ag.get('ok') else 'MISMATCH'}; {common}.")


def _lime_note(r, ag) -> str:
    where = f"{r['model']}/{r['case']} (output `{r.get('output')}`)"
    return (f"LIME {where}, lime's {ag.get('mode')} mode: sampled on both sides, not compared. Top-"
            f"{peers.LIME_TOP} rules by |weight| — Candor {ag.get('top_rules_candor')}, lime "
            f"{ag.get('top_rules_lime')}: {'the same set' if ag.get('top_rules_same_set') else 'different sets'}; "
            f"{ag.get('rules_in_common')} rules in common (max |Δ weight| {fmt(ag.get('max_abs_diff'))}); "
            f"score Candor {fmt(ag['score'].get('candor'))}, lime {fmt(ag['score'].get('lime'))}; "
            f"intercept Candor {fmt(ag['intercept'].get('candor'))}, lime {fmt(ag['intercept'].get('lime'))}.")


def _dice_note(r, ag) -> str:
    c, d = ag["candor"], ag["dice_ml"]
    return (f"Counterfactuals {r['model']}/{r['case']}: instance {ag['instance']} (the first background row of class "
            f"0), {ag['total_cfs']} of class 1; dice-ml 0.12 method `{ag['method']}`"
            + (f" raised {ag['dice_ml_error']}" if ag.get("dice_ml_error") else "")
            + f". Candor found {c['found']} (validity {fmt(c['validity'], 2)}, mean MAD-scaled L1 distance "
            f"{fmt(c['mean_distance'], 3)}), dice-ml {d['found']} (validity {fmt(d['validity'], 2)}, mean distance "
            f"{fmt(d['mean_distance'], 3)}) — {'ok' if ag['ok'] else 'Candor farther or invalid'}. The searches "
            "differ, so the values are not compared.")


def write(result: dict, thread_settings, out_dir: Path) -> None:
    """latest.json (every number) and latest.md (the summary) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (out_dir / "latest.md").write_text(markdown(result, thread_settings))


def print_summary(result: dict, thread_settings) -> None:
    """The tables and the problems on stdout."""
    cases = result["cases"]
    print()
    print(table(cases, thread_settings))
    alt = alt_table(cases, thread_settings, markdown=False)
    if alt:
        print("\nCaptum with perturbations_per_eval=1 (its default) instead of the batched setting above:")
        print(alt)
    tput = tree_throughput_table(cases, markdown=False)
    if tput:
        print("\nTreeSHAP throughput, instances/s (ratio > 1: Candor faster; sequential = one request at a time):")
        print(tput)
    if result["problems"]:
        print("\nProblems:")
        for pr in result["problems"]:
            print("  - " + pr)
