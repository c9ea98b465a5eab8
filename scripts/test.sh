#!/usr/bin/env bash
# Runs Candor's test suite: installs libopenblas-dev and pkg-config if they are missing,
# starts a throwaway PostgreSQL for the audit store's tests (scripts/test-postgres.sh; unless
# CANDOR_TEST_POSTGRES_URL already names a database), then `swift test`. The tests read their
# golden values from Tests/Fixtures/ and need no Python. Extra arguments go to `swift test`
# (for example: --filter CandorServerTests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
source scripts/test-postgres.sh
if [[ -z "${CANDOR_TEST_POSTGRES_URL:-}" ]]; then
    trap stop_test_postgres EXIT
    start_test_postgres
fi
# OpenBLAS picks its kernels by CPU, and the goldens whose tolerances sit at float32 rounding
# (partial dependence, ALE, TCAV's SVM, a dice boundary case, batching invariances) were
# checked on its AVX-512 kernels (SkylakeX; Cooperlake gives the same). OpenBLAS 0.3.21 does
# not know newer CPUs (Sapphire Rapids, with AVX512-FP16) and falls back to its SSE3 kernels
# (Prescott), which round differently in the last bits: on a CPU with AVX-512 the tests ask
# for the SkylakeX kernels by name. The service itself uses whatever OpenBLAS picks.
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-SkylakeX}"; fi
# The suites use Swift Testing only; skipping the empty XCTest pass keeps its
# "Executed 0 tests" line out of the report.
swift test --disable-xctest "$@"
