#!/usr/bin/env bash
# Builds Candor (release) and serves the demo models in models/ on the built-in defaults:
# http://127.0.0.1:8080. Installs libopenblas-dev and pkg-config first if they are missing.
# Extra arguments go to `candor serve` (for example: --port 9000, --config config/candor.yaml).
# Then, in another terminal: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build -c release
exec .build/release/candor serve "$@"
