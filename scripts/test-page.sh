#!/usr/bin/env bash
# Tests the web page (GET /) in a real headless Chromium: starts `candor serve` on a free
# loopback port over a scratch copy of models/, starts chromedriver, and drives the page with
# scripts/page_test.py (W3C WebDriver, Python standard library only): the page loads without
# console errors, keyboard focus reaches the controls and is visible, credit_mlp is explained
# with a bar chart, shapes_cnn with a heat map of a chosen (and a dropped) PNG, an API error is
# shown, and nothing overflows at 390 px. Exits non-zero, naming the failed check, on failure.
#
# Usage: scripts/test-page.sh [--screenshots]
#   --screenshots   also save docs/page-desktop.png, docs/page-image.png and docs/page-text.png (1280×800) and
#                   docs/page-phone.png (390×844)
# Installs chromium and chromium-driver with apt-get if missing (sudo only when not root).
# Needs python3 and the candor binary: CANDOR_BIN, else .build/debug/candor, built with
# `swift build --product candor` if missing. CHROMIUM_BIN and CHROMEDRIVER_BIN override the
# browser and driver (default /usr/bin/chromium, /usr/bin/chromedriver).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wait-for-url.sh
source scripts/candor-server.sh

chromium=${CHROMIUM_BIN:-/usr/bin/chromium}
chromedriver=${CHROMEDRIVER_BIN:-/usr/bin/chromedriver}
if [[ ! -x "$chromium" || ! -x "$chromedriver" ]]; then
    bash scripts/install-deps.sh chromium chromium-driver
fi

ensure_candor_binary

scratch=$(mktemp -d)
server_pid=
driver_pid=
stop_all() {
    stop_process "$driver_pid" "$server_pid"
    rm -rf "$scratch"
}
trap stop_all EXIT

cp -R models "$scratch/models"
port=$(free_port)
# The debug binary is slow: a long deadline keeps a loaded machine from turning an
# explanation into a 504.
CANDOR_SERVER_REQUEST_TIMEOUT_SECONDS=120 CANDOR_DATA_DIRECTORY="$scratch/data" \
    "$binary" serve --host 127.0.0.1 --port "$port" --models-dir "$scratch/models" >"$scratch/server.log" 2>&1 &
server_pid=$!
url=http://127.0.0.1:$port
wait_for_url "test-page: candor" "$url/readyz" "$server_pid" "$scratch/server.log"

driver_port=$(free_port)
"$chromedriver" --port="$driver_port" >"$scratch/chromedriver.log" 2>&1 &
driver_pid=$!
wait_for_url "test-page: chromedriver" "http://127.0.0.1:$driver_port/status" "$driver_pid" "$scratch/chromedriver.log"

status=0
python3 scripts/page_test.py --base-url "$url" --driver-url "http://127.0.0.1:$driver_port" --chromium "$chromium" \
    --work-dir "$scratch" "$@" || status=$?
if [[ $status -ne 0 ]]; then
    echo "test-page: FAILED; the server's log ends:" >&2
    tail -n 20 "$scratch/server.log" >&2
fi
exit $status
