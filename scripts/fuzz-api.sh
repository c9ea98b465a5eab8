#!/usr/bin/env bash
# Fuzzes the server against openapi.yaml with Schemathesis: starts `candor serve` on a loopback
# port over a scratch copy of models/ (the fuzzer may add and delete models; scripts/fuzz-api.toml
# says how it picks model names), runs a bounded, seeded Schemathesis session (examples, coverage
# and fuzzing phases; about 3,800 requests in about a minute and a half on the debug binary) and
# fails on any 5xx, any response the contract does not describe (status, content type, headers,
# body) and any request the contract forbids that the server accepts.
#
# Needs python3 (it keeps Schemathesis in the git-ignored .venv-fuzz) and the candor binary:
# CANDOR_BIN, else .build/debug/candor, built with `swift build --product candor` if missing.
# Settings (environment): FUZZ_MAX_EXAMPLES (per operation and phase, default 100),
# FUZZ_SEED (default 1), FUZZ_TIME_LIMIT (seconds for the whole run, default 300),
# FUZZ_REPORT_DIR (default .build/fuzz-report: the JUnit and NDJSON reports and the server
# log). The same seed and settings generate the same requests. Extra arguments go to
# `schemathesis run` (for example: --include-operation-id explain).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wait-for-url.sh
source scripts/candor-server.sh

schemathesis_version=4.32.5
venv=.venv-fuzz
if [[ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != *"$schemathesis_version"* ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

ensure_candor_binary

report_dir=${FUZZ_REPORT_DIR:-.build/fuzz-report}
mkdir -p "$report_dir"
make_scratch
cp models/iris_mlp.onnx "$scratch/models/fuzz_victim.onnx"
port=$(free_port)
token=fuzz-admin-token
# The largest requests the contract allows take seconds on the debug binary (RISE with a
# million masks: 14 s on 2 cores); a long deadline keeps a slow machine from turning them into
# 504s, which would fail not_a_server_error. Analyses run as jobs: a short job deadline and
# queue keep a `?wait` or an event stream on a generated heavy analysis from holding the run.
CANDOR_ADMIN_TOKEN=$token CANDOR_SERVER_REQUEST_TIMEOUT_SECONDS=120 CANDOR_DATA_DIRECTORY="$scratch/data" \
    CANDOR_ANALYSES_TIMEOUT_SECONDS=10 CANDOR_ANALYSES_MAX_QUEUED=2 "$binary" serve --host 127.0.0.1 --port "$port" --models-dir "$scratch/models" \
    >"$report_dir/server.log" 2>&1 &
server_pid=$!

url=http://127.0.0.1:$port
wait_for_url "fuzz-api: candor" "$url/readyz" "$server_pid" "$report_dir/server.log"

status=0
timeout --signal=INT --kill-after=30 "${FUZZ_TIME_LIMIT:-300}" \
    "$venv/bin/schemathesis" --config-file scripts/fuzz-api.toml run openapi.yaml \
    --url "$url" \
    --header "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method \
    --max-examples "${FUZZ_MAX_EXAMPLES:-100}" \
    --seed "${FUZZ_SEED:-1}" --generation-database none \
    --workers 2 --request-timeout 150 \
    --report junit,ndjson --report-dir "$report_dir" \
    --no-color "$@" || status=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "fuzz-api: candor died during the run; its log is in $report_dir/server.log" >&2
    status=1
fi
exit "$status"
