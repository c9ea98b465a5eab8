"""Candor over HTTP for bench/compare.py: the client (standard library, one persistent
connection per client), /metrics, the request encoding, and Candor's side of a case (latency on
one connection, the server's own time, concurrent throughput; for an analysis case, the job
submitted with `?wait` and forgotten after each run); and a release server of a models folder
on a free loopback port, for the text benches."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from measurement import process_cpu_seconds, summarise, timed_loop

if TYPE_CHECKING:
    from case_runs import Run

HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "Cache-Control": "no-cache"}


class Client:
    def __init__(self, host: str, port: int, timeout: float = 120.0):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.connects = 0
        self._sock = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                if self.conn.sock is not self._sock:  # http.client (re)opened the connection
                    self.connects += 1
                    self._sock = self.conn.sock
                resp = self.conn.getresponse()
                return resp.status, resp.headers, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed a kept-alive connection: reopen once (counted in `connects`).
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        self.conn.close()


def get(host: str, port: int, path: str):
    """(status, headers, body) of one GET on a connection of its own."""
    return request_once(host, port, "GET", path)


def request_once(host: str, port: int, method: str, path: str, body: bytes | None = None):
    """(status, headers, body) of one request on a connection of its own (untimed set-up calls,
    e.g. the explanation a metric case judges)."""
    c = Client(host, port)
    try:
        return c.request(method, path, body, HEADERS if body is not None else None)
    finally:
        c.close()


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")


def scrape(host: str, port: int) -> dict:
    """{(name, frozenset(labels)): value} from /metrics."""
    status, _, data = get(host, port, "/metrics")
    out = {}
    if status != 200:
        return out
    for line in data.decode("utf-8", "replace").splitlines():
        m = METRIC_LINE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            pass
    return out


def metric_mean_ms(before: dict, after: dict, name: str, labels: dict) -> float | None:
    key_s = (name + "_sum", frozenset(labels.items()))
    key_c = (name + "_count", frozenset(labels.items()))
    dc = after.get(key_c, 0.0) - before.get(key_c, 0.0)
    ds = after.get(key_s, 0.0) - before.get(key_s, 0.0)
    return ds / dc * 1e3 if dc > 0 else None


def http_floor(host: str, port: int, args) -> dict:
    """The HTTP floor: GET /healthz on one persistent connection (no JSON body, no compute)."""
    c = Client(host, port)
    floor = summarise(timed_loop(lambda: c.request("GET", "/healthz"), args.warmup, args.requests, args.max_case_seconds))
    c.close()
    return floor


def f32_json(a: np.ndarray):
    """Nested lists of the shortest decimals that read back as the same float32 values."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim > 2:
        return [f32_json(item) for item in a]
    return [[float(str(np.float32(v))) for v in row] for row in a]


def explain_body(method: str, x: np.ndarray, output: str, target, params: dict) -> bytes:
    """The explain request, encoded once (the timed loops send these bytes)."""
    return _encode({"method": method, "inputs": f32_json(x), "output": output, "target": target, "params": params})


def evaluate_body(metric: str, params: dict, x: np.ndarray, output: str, target, judged: dict) -> bytes:
    """The evaluate request of one metric, encoded once. `judged` says what is judged: either
    {"attributions": array, one per instance} or {"method": name, "method_params": {...}} for a
    metric that explains perturbed inputs again."""
    body = {"inputs": f32_json(x), "output": output, "target": target, "metrics": [metric], "params": {metric: params}}
    if "attributions" in judged:
        body["attributions"] = f32_json(judged["attributions"])
    else:
        body.update(judged)
    return _encode(body)


def analysis_body(analysis: str, rows: np.ndarray, output: str, target, params: dict, labels=None) -> bytes:
    """The analysis request (POST /v1/models/{name}/analyses), encoded once: the rows as
    `data`, their `labels` when given."""
    body = {"analysis": analysis, "data": f32_json(rows), "output": output, "target": target, "params": params}
    if labels is not None:
        body["labels"] = [int(v) for v in labels]
    return _encode(body)


def _encode(body: dict) -> bytes:
    """Compact JSON: the request bytes are built once, before anything is timed."""
    return json.dumps(body, separators=(",", ":")).encode()


class _LoadClients:
    """The client threads of a throughput run: each connects, waits at the barrier until all
    have, then sends the request back to back until `stop`."""

    def __init__(self, host: str, port: int, path: str, body: bytes, threads: int):
        self.host, self.port, self.path, self.body = host, port, path, body
        self.ok = [0] * threads
        self.statuses: list[Counter] = [Counter() for _ in range(threads)]
        self.failures: list[str] = []
        self.barrier = threading.Barrier(threads + 1)
        self.stop = time.perf_counter() + 3600  # placeholder until all are connected
        self.ends: list[float] = []

    def worker(self, i: int):
        c = Client(self.host, self.port)
        try:
            c.request("POST", self.path, self.body, HEADERS)  # open the connection before the clock starts
        except Exception as e:  # noqa: BLE001
            self.failures.append(repr(e))
        self.barrier.wait()
        try:
            while time.perf_counter() < self.stop:  # re-read: set just after the barrier
                status, headers, _ = c.request("POST", self.path, self.body, HEADERS)
                self.statuses[i][status] += 1
                if status == 200 and headers.get("X-Cache") != "hit":
                    self.ok[i] += 1
        except Exception as e:  # noqa: BLE001
            self.failures.append(repr(e))
        finally:
            self.ends.append(time.perf_counter())
            c.close()


def throughput(host: str, port: int, path: str, body: bytes, threads: int, seconds: float,
               server_pid: int | None = None) -> dict:
    load = _LoadClients(host, port, path, body, threads)
    ts = [threading.Thread(target=load.worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    load.barrier.wait()
    start = time.perf_counter()
    load.stop = start + seconds
    client_cpu0, server_cpu0 = time.process_time(), process_cpu_seconds(server_pid)
    for t in ts:
        t.join(timeout=seconds + 300)
    elapsed = max(load.ends or [time.perf_counter()]) - start
    client_cpu, server_cpu = time.process_time() - client_cpu0, process_cpu_seconds(server_pid)
    total = sum(load.statuses, Counter())
    return {
        "threads": threads,
        "seconds": elapsed,
        "ok": sum(load.ok),
        "requests_per_s": sum(load.ok) / elapsed if elapsed > 0 else 0.0,
        "statuses": {str(k): v for k, v in sorted(total.items())},
        "client_errors": load.failures[:5],
        # CPU used during the window, in cores (1.0 = one core busy all the time).
        "client_cpu_cores": client_cpu / elapsed if elapsed > 0 else None,
        "server_cpu_cores": (server_cpu - server_cpu0) / elapsed
        if server_cpu is not None and server_cpu0 is not None and elapsed > 0 else None,
    }


def candor_measure(run: Run, route: str, body_bytes: bytes, case, row: dict, label: str) -> dict | None:
    """Candor's side of a case: one fresh persistent connection, warm-ups, the timed requests
    (the server's own mean time from /metrics around them), then the concurrent throughput.
    Fills row["candor"] and returns the first response, or sets row["candor_error"] and
    returns None when Candor answered an error."""
    client = Client(run.host, run.port)
    first = client.request("POST", route, body_bytes, HEADERS)
    if first[0] != 200:
        msg = f"{label}: Candor answered {first[0]}: {first[2][:300]!r}"
        print("   " + msg)
        run.problems.append(msg)
        row["candor_error"] = msg
        client.close()
        return None
    response = json.loads(first[2])
    row["response_bytes"] = len(first[2])
    row["candor"] = _latency(run, client, route, body_bytes, case, label)
    if client.connects != 1:
        run.problems.append(f"{label}: the connection was reopened {client.connects - 1} time(s)")
    args = run.args
    row["candor"]["throughput"] = throughput(run.host, run.port, route, body_bytes, args.throughput_threads,
                                             args.throughput_seconds, args.server_pid or None)
    tp = row["candor"]["throughput"]
    if set(tp["statuses"]) - {"200"} or tp["client_errors"]:
        run.problems.append(f"{label}: throughput run saw statuses {tp['statuses']} errors {tp['client_errors']}")
    return response


def _latency(run: Run, client: Client, route: str, body_bytes: bytes, case, label: str) -> dict:
    """The rest of the warm-ups and the timed requests on `client` (which sent the first
    request), with the server's mean times from /metrics around them; closes the client."""
    bad = Counter()

    def send():
        status, headers, _ = client.request("POST", route, body_bytes, HEADERS)
        if status != 200:
            bad[status] += 1
        elif headers.get("X-Cache") == "hit":
            bad["cache-hit"] += 1

    warmup, requests = case.candor_loop(run.args)
    for _ in range(max(0, warmup - 1)):
        send()
    before = scrape(run.host, run.port)
    lat = timed_loop(send, 0, requests, run.args.max_case_seconds)
    after = scrape(run.host, run.port)
    client.close()
    if bad:
        run.problems.append(f"{label}: unexpected responses during latency loop: {dict(bad)}")
    # The route's last segment: explain (which also records candor_explain_duration_seconds by
    # method) or evaluate (which records only the HTTP request's duration).
    endpoint = route.rsplit("/", 1)[1]
    return {
        "latency": summarise(lat),
        "server_explain_mean_ms": metric_mean_ms(before, after, "candor_explain_duration_seconds", {"method": case.method})
        if endpoint == "explain" else None,
        "server_http_mean_ms": metric_mean_ms(before, after, "candor_http_request_duration_seconds",
                                              {"route": f"/v1/models/{{name}}/{endpoint}", "method": "POST", "status": "200"}),
        "connections_opened": client.connects,
        "bad_responses": {str(k): v for k, v in bad.items()},
    }


# How long an analysis request waits for its job (`?wait=`, at most 300): far more than any case takes.
ANALYSIS_WAIT_SECONDS = 120
# The pause before each GET of a job that came back `succeeded` without its result.
RESULT_POLL_SECONDS = 0.005


def candor_analysis_measure(run: Run, route: str, body_bytes: bytes, case, row: dict, label: str) -> dict | None:
    """Candor's side of an analysis case, on one persistent connection: each run is the job's
    submission with `?wait` (200 with the finished job document, timed), then — untimed — the
    finished job forgotten (`DELETE /v1/analyses/{id}`, 204), so that the next, equal request is
    computed again instead of being answered from the kept result (`X-Cache: hit`). Warm-ups,
    then the timed runs, the server's mean time of the submissions from /metrics around them.
    Fills row["candor"] (no throughput: analyses run one at a time, on one worker) and returns
    the first job's result, or sets row["candor_error"] and returns None."""
    client = Client(run.host, run.port, timeout=ANALYSIS_WAIT_SECONDS + 60)
    path = f"{route}?wait={ANALYSIS_WAIT_SECONDS}"
    problems: list[str] = []
    refetched = Counter()

    def submit() -> tuple[float, dict | None]:
        t0 = time.perf_counter_ns()
        status, headers, data = client.request("POST", path, body_bytes, HEADERS)
        location = headers.get("Location")
        document = json.loads(data) if status in (200, 202) else None
        if status == 200 and location and (document or {}).get("state") == "succeeded" and "result" not in document:
            # A `succeeded` job without its result: the job's state is published before its
            # result is stored (AnalysisJobs.execute: job.finish, then write), and the answer is
            # read from the store. A client has to fetch it again until the result is there, so
            # those GETs (every RESULT_POLL_SECONDS) are timed too.
            refetched["runs"] += 1
            deadline = time.perf_counter() + 10.0
            while time.perf_counter() < deadline and status == 200 and "result" not in document:
                refetched["gets"] += 1
                time.sleep(RESULT_POLL_SECONDS)
                status, _, data = client.request("GET", location)
                document = json.loads(data) if status == 200 else None
        elapsed = (time.perf_counter_ns() - t0) * 1e-9
        if (status != 200 or headers.get("X-Cache") == "hit" or (document or {}).get("state") != "succeeded"
                or "result" not in document):
            problems.append(f"{status} {headers.get('X-Cache') or ''} {data[:300]!r}")
            document = None
        if location:  # forget the job (finished: 204), or cancel it (unfinished: 200)
            deleted = client.request("DELETE", location)[0]
            if deleted not in (200, 204):
                problems.append(f"DELETE {location} answered {deleted}")
        return elapsed, document

    _, first = submit()
    if first is None:
        msg = f"{label}: Candor answered {problems[0]}"
        print("   " + msg)
        run.problems.append(msg)
        row["candor_error"] = msg
        client.close()
        return None
    warmup, runs = case.candor_loop(run.args)
    for _ in range(max(0, warmup - 1)):
        submit()
    before = scrape(run.host, run.port)
    times, deadline = [], time.perf_counter() + run.args.max_case_seconds
    for _ in range(runs):
        times.append(submit()[0])
        if time.perf_counter() > deadline:
            break
    after = scrape(run.host, run.port)
    client.close()
    if problems:
        run.problems.append(f"{label}: unexpected analysis answers during the timed runs: {problems[:3]}")
    if refetched:
        run.problems.append(f"{label}: {refetched['runs']} of {len(times) + warmup} jobs came back `succeeded` without "
                            "their result (the job's state is published before its result is stored); fetched again "
                            f"with GET /v1/analyses/{{id}} ({refetched['gets']} GETs), inside the timed run")
    row["candor"] = {
        "latency": summarise(times),
        "server_explain_mean_ms": None,
        "server_http_mean_ms": metric_mean_ms(before, after, "candor_http_request_duration_seconds",
                                              {"route": "/v1/models/{name}/analyses", "method": "POST", "status": "200"}),
        "connections_opened": client.connects,
        "results_refetched": dict(refetched),
        "job": {k: first.get(k) for k in ("analysis", "params", "output", "target", "progress")},
    }
    if client.connects != 1:
        run.problems.append(f"{label}: the connection was reopened {client.connects - 1} time(s)")
    return first["result"]


def start_models_server(binary: Path, models: Path) -> tuple[subprocess.Popen, int, tempfile.TemporaryDirectory]:
    """`candor serve` of `models` on a free loopback port, its data in a temporary folder, the
    audit log and the response cache off; returns once /readyz answers 200."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.TemporaryDirectory(prefix="candor-bench-")
    env = dict(os.environ, CANDOR_DATA_DIRECTORY=data.name, CANDOR_AUDIT_ENABLED="false", CANDOR_CACHE_MAX_BYTES="0")
    server = subprocess.Popen(
        [str(binary), "serve", "--port", str(port), "--models-dir", str(models)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                if response.status == 200:
                    return server, port, data
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("candor did not become ready")


def text_bench_arguments(description: str, requests: int, root: Path) -> argparse.Namespace:
    """The text benches' command line: --candor-bin (a release build, checked), --requests,
    --json."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candor-bin", default=str(root / ".build/release/candor"))
    parser.add_argument("--requests", type=int, default=requests)
    parser.add_argument("--json", help="write the results here as well")
    args = parser.parse_args()
    if not Path(args.candor_bin).exists():
        raise SystemExit(f"{args.candor_bin} is missing: run `swift build -c release` first")
    return args


@contextmanager
def served_text_explanations(binary: Path, models: Path):
    """A release server of `models` and a function explaining texts with it over one kept-alive
    connection: explain(method, texts) → the answer; stopped and its data removed on exit."""
    server, port, data = start_models_server(binary, models)
    client = Client("127.0.0.1", port)

    def explain(method: str, texts: list[str]):
        body = json.dumps({"method": method, "inputs": [{"text": t} for t in texts]}).encode()

        def call():
            status, _, payload = client.request("POST", "/v1/models/review_sentiment/explain", body, HEADERS)
            assert status == 200, payload[:300]
            return json.loads(payload)
        return call

    try:
        yield explain
    finally:
        client.close()
        server.terminate()
        server.wait()
        data.cleanup()

