"""What bench/compare.py records about the run in latest.json's `meta`: the build, the machine,
the versions, the thread counts, the options, the tolerances and the load average."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

import onnxruntime as ort
import torch

import peers  # the shap / lime peers (bench/peers.py): their versions, threads and tolerances
from captum_peer import ATOL, RTOL


def describe(args, default_threads: int, peer_cases: list) -> dict:
    """The run's `meta` at its start; `peer_cases` are the (case, model) pairs with a shap /
    lime / TreeExplainer peer."""
    meta = {
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "label": args.label,
        "candor_bin": args.candor_bin,
        "candor_bin_mtime": _mtime(args.candor_bin),
        "candor_url": args.url,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "captum": _version("captum"),
        "onnxruntime": ort.__version__,
        "torch_default_threads": default_threads,
        "warmup": args.warmup,
        "requests": args.requests,
        "max_case_seconds": args.max_case_seconds,
        "throughput_seconds": args.throughput_seconds,
        "throughput_threads": args.throughput_threads,
        "agreement_tolerance": {"atol": ATOL, "rtol_of_max_abs": RTOL},
        "server_env": {k: v for k, v in os.environ.items() if k.startswith("CANDOR_")},
        "load_average_start": loadavg(),
    }
    if peer_cases:
        meta["peer_versions"] = peers.versions()
        # What runs the shap / lime peers: every BLAS / OpenMP runtime and its thread count
        # inside peers.one_thread() (all 1), plus onnxruntime sessions with 1 intra/inter-op thread.
        meta["peer_threads"] = peers.thread_report()
        meta["kernel_shap_tolerance"] = {"atol": peers.KSHAP_ATOL, "rtol_of_max_abs": peers.KSHAP_RTOL}
        if any(c.peer == "shap_tree" for c, _ in peer_cases):
            meta["tree_shap_tolerance"] = {"atol": peers.TREE_ATOL, "rtol_of_max_abs": peers.TREE_RTOL}
    return meta


def _mtime(path: str):
    try:
        return _dt.datetime.fromtimestamp(os.path.getmtime(path), _dt.timezone.utc).isoformat(timespec="seconds")
    except OSError:
        return None


def loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(mod: str) -> str:
    try:
        return __import__(mod).__version__
    except Exception:  # noqa: BLE001
        return "?"
