#!/usr/bin/env bash
# Runs Candor's test suite: installs libopenblas-dev and pkg-config if they are missing,
# then `swift test`. The tests read their golden values from Tests/Fixtures/ and need no
# Python. Extra arguments go to `swift test` (for example: --filter CandorServerTests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# The suites use Swift Testing only; skipping the empty XCTest pass keeps its
# "Executed 0 tests" line out of the report.
swift test --disable-xctest "$@"
