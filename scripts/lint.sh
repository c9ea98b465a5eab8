#!/usr/bin/env bash
# Lints every Swift file with the toolchain's swift-format and the committed .swift-format,
# except the generated protobuf types.
set -euo pipefail
cd "$(dirname "$0")/.."
find Sources Tests -name '*.swift' ! -name '*.pb.swift' -print0 | xargs -0 swift format lint --strict --configuration .swift-format
