# Sourced by the scripts that run `candor serve` on a loopback port and talk to it
# (fuzz-api.sh, test-page.sh, test-serving-clients.sh), after wait-for-url.sh.
#
# `ensure_candor_binary` sets `binary`: CANDOR_BIN, else .build/debug/candor, built with
# `swift build --product candor` (after the system libraries) when missing.
# `make_scratch` sets `scratch`, a temporary folder holding a copy of models/, removed when the
# script exits, after the server the script starts (its pid in `server_pid`) is stopped.
# `free_port` prints a free loopback port.
# `stop_process PID...` stops each process that still runs and waits for it.
ensure_candor_binary() {
    binary=${CANDOR_BIN:-.build/debug/candor}
    if [[ ! -x "$binary" ]]; then
        bash scripts/install-deps.sh
        swift build --product candor
    fi
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop_process() {
    local pid
    for pid in "$@"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid"
            wait "$pid" 2>/dev/null || true
        fi
    done
}

make_scratch() {
    scratch=$(mktemp -d)
    server_pid=
    trap 'stop_process "$server_pid"; rm -rf "$scratch"' EXIT
    cp -R models "$scratch/models"
}
