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
# OpenBLAS picks its kernels by CPU: on AVX-512 machines (SkylakeX kernels) float32 products
# round differently in the last bits, and four goldens whose tolerances sit at float32 rounding
# (partial dependence, ALE, a dice boundary case, min_perturbation's batching invariance)
# differ. The tests run on the AVX2 (Haswell) kernels the goldens were checked with, on any
# x86 machine; the service itself uses whatever OpenBLAS picks.
if [[ "$(uname -m)" == x86_64 ]]; then export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"; fi
# The suites use Swift Testing only; skipping the empty XCTest pass keeps its
# "Executed 0 tests" line out of the report.
swift test --disable-xctest "$@"
