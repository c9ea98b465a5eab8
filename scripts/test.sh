#!/usr/bin/env bash
# Runs Candor's test suite: installs libopenblas-dev and pkg-config if they are missing,
# then `swift test`. The tests read their golden values from Tests/Fixtures/ and need no
# Python. Extra arguments go to `swift test` (for example: --filter CandorServerTests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift test "$@"
