#!/usr/bin/env bash
# Overload: how many useful answers (200s) Candor still gives when far more clients than
# workers hammer it, against its rate with as many clients as workers. Issue 10 asks that
# the 200s under overload stay at least 80% of the unloaded rate.
#
# Starts `candor serve` (CANDOR_BIN, default .build/release/candor) on a free loopback port
# with the cache off, then runs wrk (Debian package `wrk`) with bench/overload.lua for
# OVERLOAD_SECONDS (default 10) at `workers` connections, then at OVERLOAD_CONNECTIONS
# (default 128), on kernel_shap over breast_cancer_mlp (one instance, 2,108 coalitions),
# and prints both rates and their ratio. wrk ignores Retry-After, as a flood does. Another
# request: OVERLOAD_BODY_FILE (a JSON explain body) and OVERLOAD_PATH (its route).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CANDOR_BIN:-.build/release/candor}
[ -x "$bin" ] || { echo "overload: $bin not found; run swift build -c release (or set CANDOR_BIN)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "overload: wrk not found (apt-get install wrk)" >&2; exit 2; }
seconds=${OVERLOAD_SECONDS:-10}
connections=${OVERLOAD_CONNECTIONS:-128}
workers=$(nproc)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
body=$(mktemp)
log=$(mktemp)
trap 'kill "$server" 2>/dev/null || true; rm -f "$body" "$log"' EXIT
if [ -n "${OVERLOAD_BODY_FILE:-}" ]; then
    cp "$OVERLOAD_BODY_FILE" "$body"
else
    cat >"$body" <<'JSON'
{"method":"kernel_shap","inputs":[[13.5,20.1,87.0,560.0,0.09,0.08,0.05,0.03,0.17,0.06,0.3,1.0,2.0,25.0,0.006,0.02,0.03,0.01,0.02,0.003,15.0,27.0,100.0,700.0,0.12,0.2,0.2,0.09,0.28,0.08]],"params":{"n_samples":2108}}
JSON
fi
CANDOR_CACHE_MAX_BYTES=0 "$bin" serve --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
server=$!
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    sleep 0.5
done
url="http://127.0.0.1:$port"
export OVERLOAD_BODY_FILE=$body OVERLOAD_PATH=${OVERLOAD_PATH:-/v1/models/breast_cancer_mlp/explain}
rate() { wrk -t2 -c"$1" -d"${seconds}s" -s bench/overload.lua "$url" | sed -n 's/^statuses \(.*\) ok_per_second \(.*\)$/\2 \1/p'; }
unloaded=$(rate "$workers")
loaded=$(rate "$connections")
echo "connections=$workers   200/s=${unloaded%% *}   (${unloaded#* })"
echo "connections=$connections 200/s=${loaded%% *}   (${loaded#* })"
python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'overloaded / unloaded = {b / a:.2f}' if a else 'no 200s unloaded: a longer OVERLOAD_SECONDS or a cheaper request')" "${unloaded%% *}" "${loaded%% *}"
