#!/usr/bin/env bash
# Drives the Open Inference Protocol routes (/v2) and KServe's V1 verbs with the real clients,
# NVIDIA's `tritonclient[http]` and KServe's own `kserve`: starts `candor serve` on a free
# loopback port over a scratch copy of models/ and runs scripts/open_inference_clients.py
# (health, metadata, inference with binary and JSON tensors, errors) and
# scripts/kserve_clients.py (`:predict`, `:explain`, liveness, readiness, V2 inference) against
# it. The server is started with the arguments KServe gives an explainer container
# (--model_name, --predictor_host, --http_port, --workers), as it would be in a cluster.
# Exits non-zero, naming the failed check, on failure.
#
# Needs python3 (it keeps the clients in the git-ignored .venv-oip) and the candor binary:
# CANDOR_BIN, else .build/debug/candor, built with `swift build --product candor` if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wait-for-url.sh
source scripts/candor-server.sh

tritonclient_version=2.73.0
kserve_version=0.21.0
venv=.venv-oip
if ! "$venv/bin/python" -c "import numpy, tritonclient.http, kserve; from importlib.metadata import version; assert (version('tritonclient'), version('kserve')) == ('$tritonclient_version', '$kserve_version')" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "tritonclient[http]==$tritonclient_version" "kserve==$kserve_version" numpy
fi

ensure_candor_binary

make_scratch
port=$(free_port)
CANDOR_DATA_DIRECTORY="$scratch/data" \
    "$binary" serve --host 127.0.0.1 --models-dir "$scratch/models" \
        --model_name iris_mlp --predictor_host iris-mlp-predictor.invalid --http_port "$port" --workers 1 \
        >"$scratch/server.log" 2>&1 &
server_pid=$!
wait_for_url "test-serving-clients: candor" "http://127.0.0.1:$port/readyz" "$server_pid" "$scratch/server.log"
"$venv/bin/python" scripts/open_inference_clients.py "127.0.0.1:$port"
"$venv/bin/python" scripts/kserve_clients.py "127.0.0.1:$port"
