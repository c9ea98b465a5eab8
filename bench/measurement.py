"""Timing and CPU accounting for bench/compare.py: the timed loop (warm-ups, then timed calls
until the count or the time limit), its summary statistics, ratios, and the CPU used by this
process, by the server and by every other process on the machine (the noise check)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

# A case is flagged as noisy when other processes kept more than this many cores busy.
NOISY_CORES = 0.25


def summarise(seconds: list[float]) -> dict:
    a = np.asarray(seconds, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "median_ms": float(np.median(a) * 1e3),
        "p99_ms": float(np.percentile(a, 99) * 1e3),
        "mean_ms": float(a.mean() * 1e3),
        "min_ms": float(a.min() * 1e3),
        "max_ms": float(a.max() * 1e3),
        "sequential_per_s": float(a.size / a.sum()),
    }


def timed_loop(fn, warmup: int, n: int, max_seconds: float) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) * 1e-9)
        if time.perf_counter() > deadline:
            break
    return times


def timed_peer(fn, warmup: int, n: int, max_seconds: float) -> dict:
    """summarise(timed_loop(...)) plus the CPU this process used over the timed loop, in cores
    (≈ 1.0 when the peer really ran on one thread)."""
    for _ in range(warmup):
        fn()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    out = summarise(timed_loop(fn, 0, n, max_seconds))
    wall = time.perf_counter() - wall0
    out["cpu_cores"] = (time.process_time() - cpu0) / wall if wall > 0 else None
    return out


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def system_busy_seconds() -> float | None:
    """CPU seconds spent not idle, summed over all CPUs, from /proc/stat (Linux), or None."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class OtherLoad:
    """Cores used by other processes (neither this one nor the server) over a stretch of time."""

    def __init__(self, server_pid: int | None):
        self.pid = server_pid
        self.t, self.sys, self.me, self.srv = (time.perf_counter(), system_busy_seconds(), time.process_time(),
                                               process_cpu_seconds(server_pid))

    def cores(self) -> float | None:
        t, sys_, me, srv = time.perf_counter(), system_busy_seconds(), time.process_time(), process_cpu_seconds(self.pid)
        if None in (self.sys, sys_, self.srv, srv) or t <= self.t:
            return None
        return max(0.0, ((sys_ - self.sys) - (me - self.me) - (srv - self.srv)) / (t - self.t))


def process_cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a process from /proc (Linux), or None."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def noisy_cases_problem(rows: list) -> str | None:
    """The problem to report when other processes kept more than NOISY_CORES busy during cases."""
    noisy = [f"{r['model']}/{r['case']} {r['other_cpu_cores']:.2f}" for r in rows
             if r.get("other_cpu_cores") is not None and r["other_cpu_cores"] > NOISY_CORES]
    if not noisy:
        return None
    return ("other processes used CPU during the run (cores busy outside the bench and the server: "
            + ", ".join(noisy) + "): timings are noisy; rerun on an idle machine")
