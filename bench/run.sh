#!/usr/bin/env bash
# Candor vs Captum (and SHAP / LIME / SHAP's TreeExplainer / Quantus) benchmark: copies the repository's
# models/ into a temporary folder, trains the tree_shap cases' XGBoost model into it
# (bench/tree_model.py: 500 trees, max_depth 6, ~2 s), starts `candor serve` on a free loopback
# port on that folder with the cache disabled and a temporary data folder (where the analysis
# cases' jobs are kept), waits for /readyz, runs bench/compare.py, stops the server and deletes
# both folders. models/ itself is never written to, nor the repository's data/. Builds nothing: it
# expects a release binary (swift build -c release).
#
#   bench/run.sh                      # full run (~5–7 min with a release build, plus a few for the metric cases)
#   bench/run.sh --requests 50 --throughput-seconds 2    # extra flags go to compare.py
#   bench/run.sh --cases kernel_shap,kernel_shap_g10,kernel_shap_sampled,lime   # only the SHAP / LIME cases
#   bench/run.sh --cases tree_shap,tree_shap_b100        # only TreeSHAP vs SHAP's TreeExplainer (~1 min)
#   bench/run.sh --models breast_cancer_mlp --cases partial_dependence,partial_dependence_ice,ale,permutation_importance
#                                     # only the analyses vs scikit-learn / Alibi (~40 s)
#   bench/run.sh --cases infidelity,sensitivity_max,sensitivity_max_ig,faithfulness_correlation,cnn_infidelity,cnn_sensitivity_max,cnn_faithfulness_correlation
#                                     # only the quality metrics vs Captum / Quantus
#   bench/run.sh --help               # this text and compare.py's options; starts nothing
#
# Environment:
#   CANDOR_BIN      binary to benchmark (default .build/release/candor)
#   BENCH_PYTHON    Python interpreter to use instead of a virtualenv
#   BENCH_VENV      virtualenv to use/create (default: .venv-bench, else .venv-fixtures if present)
#   BENCH_TIMEOUT   seconds before compare.py is stopped (default 900)
#   CANDOR_WORKERS_THREADS etc. are passed through to the server (see Sources/CandorServer/Configuration/CandorConfiguration.swift).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

for arg in "$@"; do
    if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then
        sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
        for py in "${BENCH_PYTHON:-}" "${BENCH_VENV:+$BENCH_VENV/bin/python}" .venv-bench/bin/python .venv-fixtures/bin/python; do
            if [[ -n "$py" && -x "$py" ]]; then
                echo
                echo "Options of bench/compare.py (give them after run.sh; run.sh sets --url, --models-dir,"
                echo "--label, --candor-bin and --server-pid itself):"
                "$py" bench/compare.py --help
                exit 0
            fi
        done
        echo
        echo "(no Python environment yet for compare.py --help: a first bench/run.sh creates one)"
        exit 0
    fi
done

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
# Everything compare.py imports, and shap / lime / quantus / dice-ml / scikit-learn / alibi / xgboost at
# the versions pinned in bench/requirements.txt and bench/requirements-nodeps.txt (their numbers are
# the reference of the kernel_shap / lime / faithfulness_correlation / dice / analysis / tree_shap
# cases; xgboost also trains the tree model). alibi is imported as bench/analysis_peer.py imports it
# (spacy stood in for). Quiet unless $2 is "loud".
check_imports() {
    local out
    if out="$("$1" - "$ROOT/bench/requirements.txt" "$ROOT/bench/requirements-nodeps.txt" 2>&1 <<'EOF'
import importlib.metadata as md
import sys
import torch, captum, numpy, onnx, onnxruntime  # noqa: F401,E401
import shap, lime.lime_tabular, sklearn, scipy, yaml, threadpoolctl, xgboost, quantus, dice_ml  # noqa: F401,E401
sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0])  # bench/
import analysis_peer  # noqa: E402
analysis_peer.import_alibi_ale()
pins = {}
for path in sys.argv[1:]:
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
for dist in ("shap", "lime", "quantus", "dice-ml", "scikit-learn", "alibi"):
    if md.version(dist) != pins[dist]:
        sys.exit(f"{dist} {md.version(dist)} is installed; bench/requirements*.txt pin {pins[dist]}")
# XGBoost's CPU-only wheel is the distribution xgboost-cpu; either way the module is xgboost.
if xgboost.__version__ != pins["xgboost-cpu"]:
    sys.exit(f"xgboost {xgboost.__version__} is installed; bench/requirements.txt pins xgboost-cpu {pins['xgboost-cpu']}")
EOF
)"; then
        return 0
    fi
    if [[ "${2:-}" == "loud" ]]; then
        echo "$out" | tail -n 3 >&2
    fi
    return 1
}

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
        # quantus, dice-ml and alibi without their dependencies (opencv-python, xgboost, numpy<2; see bench/requirements.txt).
        "$PY" -m pip install --quiet --no-deps -r bench/requirements-nodeps.txt
    fi
fi
if ! check_imports "$PY" loud; then
    echo "bench: $PY cannot import torch, captum, numpy, onnx, onnxruntime, shap, lime, scikit-learn, scipy," >&2
    echo "bench: PyYAML, threadpoolctl, xgboost, quantus, dice-ml and alibi, or its shap / lime / quantus / dice-ml /" >&2
    echo "bench: scikit-learn / alibi / xgboost are not the" >&2
    echo "bench: pinned versions (see bench/requirements.txt and bench/requirements-nodeps.txt)" >&2
    exit 2
fi
echo "bench: python $PY"

# ---- Cleanup (on any exit: stop the server, delete the temporary models folder) --------
SERVER_PID=""
MODELS_DIR=""
DATA_DIR=""
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

cleanup() {
    stop_server
    if [[ -n "$MODELS_DIR" && -d "$MODELS_DIR" && "$MODELS_DIR" == */candor-bench-models.* ]]; then
        rm -rf -- "$MODELS_DIR"
    fi
    if [[ -n "$DATA_DIR" && -d "$DATA_DIR" && "$DATA_DIR" == */candor-bench-data.* ]]; then
        rm -rf -- "$DATA_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- Models folder ------------------------------------------------------------------
# A temporary copy of models/ (ONNX files, external data, sidecars, backgrounds) plus the tree
# model of the tree_shap cases, so nothing is written into the repository's models/.
MODELS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/candor-bench-models.XXXXXX")"
cp -R "$ROOT/models/." "$MODELS_DIR/"
"$PY" bench/tree_model.py --models-dir "$MODELS_DIR"
# The server's data folder (CANDOR_DATA_DIRECTORY): the analysis cases' jobs are written there
# (each finished job is kept until the bench forgets it), not into the repository's data/.
DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/candor-bench-data.XXXXXX")"

# ---- Server -------------------------------------------------------------------------
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
SERVER_LOG="$RESULTS/server.log"

echo "bench: starting $CANDOR_BIN serve on 127.0.0.1:$PORT (models: $MODELS_DIR, a copy of models/ plus the tree model; data: $DATA_DIR; cache off; log: $SERVER_LOG)"
CANDOR_CACHE_MAX_BYTES=0 CANDOR_DATA_DIRECTORY="$DATA_DIR" "$CANDOR_BIN" serve --host 127.0.0.1 --port "$PORT" --models-dir "$MODELS_DIR" \
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
timeout "${BENCH_TIMEOUT:-900}" "$PY" bench/compare.py \
    --url "http://127.0.0.1:$PORT" --models-dir "$MODELS_DIR" \
    --label "$LABEL" --candor-bin "$CANDOR_BIN" --server-pid "$SERVER_PID" "$@" || status=$?
if [[ $status -eq 124 ]]; then
    echo "bench: compare.py timed out after ${BENCH_TIMEOUT:-900} s" >&2
fi
stop_server
if grep -qiE 'error|fatal|crash' "$SERVER_LOG"; then
    echo "bench: the server log has errors:" >&2
    grep -iE 'error|fatal|crash' "$SERVER_LOG" | tail -n 10 >&2
fi
exit $status
