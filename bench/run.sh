#!/usr/bin/env bash
# Candor vs Captum benchmark: starts `candor serve` on a free loopback port with the
# repository's models/ and the cache disabled, waits for /readyz, runs bench/compare.py,
# stops the server. Builds nothing: it expects a release binary (swift build -c release).
#
#   bench/run.sh                      # full run (~2–4 min with a release build)
#   bench/run.sh --requests 50 --throughput-seconds 2    # extra flags go to compare.py
#
# Environment:
#   CANDOR_BIN      binary to benchmark (default .build/release/candor)
#   BENCH_PYTHON    Python interpreter to use instead of a virtualenv
#   BENCH_VENV      virtualenv to use/create (default: .venv-bench, else .venv-fixtures if present)
#   BENCH_TIMEOUT   seconds before compare.py is stopped (default 600)
#   CANDOR_WORKERS_THREADS etc. are passed through to the server (see Sources/CandorServer/Configuration/CandorConfiguration.swift).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CANDOR_BIN="${CANDOR_BIN:-.build/release/candor}"
if [[ ! -x "$CANDOR_BIN" ]]; then
    echo "bench: no Candor binary at $CANDOR_BIN." >&2
    echo "bench: build it first with:  swift build -c release" >&2
    echo "bench: (or point CANDOR_BIN at another build, e.g. CANDOR_BIN=.build/debug/candor for a smoke test)" >&2
    exit 2
fi
case "$CANDOR_BIN" in
    *release*) LABEL="release" ;;
    *debug*) LABEL="debug" ;;
    *) LABEL="${BENCH_LABEL:-unknown}" ;;
esac

RESULTS="$ROOT/bench/results"
mkdir -p "$RESULTS"

# ---- Python environment -------------------------------------------------------------
check_imports() { "$1" -c 'import torch, captum, numpy, onnx, onnxruntime' >/dev/null 2>&1; }

if [[ -n "${BENCH_PYTHON:-}" ]]; then
    PY="$BENCH_PYTHON"
else
    if [[ -n "${BENCH_VENV:-}" ]]; then
        VENV="$BENCH_VENV"
    elif [[ -x .venv-bench/bin/python ]]; then
        VENV=.venv-bench
    elif [[ -x .venv-fixtures/bin/python ]]; then
        VENV=.venv-fixtures
    else
        VENV=.venv-bench
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "bench: creating virtualenv $VENV"
        python3 -m venv "$VENV"
    fi
    PY="$VENV/bin/python"
    if ! check_imports "$PY"; then
        echo "bench: installing bench/requirements.txt into $VENV"
        "$PY" -m pip install --quiet --upgrade pip
        "$PY" -m pip install --quiet -r bench/requirements.txt
    fi
fi
if ! check_imports "$PY"; then
    echo "bench: $PY cannot import torch, captum, numpy, onnx and onnxruntime (see bench/requirements.txt)" >&2
    exit 2
fi
echo "bench: python $PY"

# ---- Server -------------------------------------------------------------------------
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
SERVER_LOG="$RESULTS/server.log"
SERVER_PID=""

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "bench: server did not stop within 10 s of SIGTERM; sending SIGKILL" >&2
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

echo "bench: starting $CANDOR_BIN serve on 127.0.0.1:$PORT (models: $ROOT/models, cache off; log: $SERVER_LOG)"
CANDOR_CACHE_MAX_BYTES=0 "$CANDOR_BIN" serve --host 127.0.0.1 --port "$PORT" --models-dir "$ROOT/models" \
    >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

if ! "$PY" - "$PORT" "$SERVER_PID" <<'EOF'
import os, sys, time, urllib.request
port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.time() + 60
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("bench: the server exited before it was ready")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            if r.status == 200:
                print("bench: ready:", r.read().decode())
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit("bench: the server was not ready within 60 s")
EOF
then
    tail -n 20 "$SERVER_LOG" >&2
    exit 1
fi

# ---- Benchmark ----------------------------------------------------------------------
status=0
timeout "${BENCH_TIMEOUT:-600}" "$PY" bench/compare.py \
    --url "http://127.0.0.1:$PORT" --models-dir "$ROOT/models" \
    --label "$LABEL" --candor-bin "$CANDOR_BIN" --server-pid "$SERVER_PID" "$@" || status=$?
if [[ $status -eq 124 ]]; then
    echo "bench: compare.py timed out after ${BENCH_TIMEOUT:-600} s" >&2
fi
stop_server
if grep -qiE 'error|fatal|crash' "$SERVER_LOG"; then
    echo "bench: the server log has errors:" >&2
    grep -iE 'error|fatal|crash' "$SERVER_LOG" | tail -n 10 >&2
fi
exit $status
