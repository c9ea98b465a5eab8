#!/usr/bin/env bash
# Regenerates Sources/CandorModel/ONNX/onnx-subset.pb.swift from onnx-subset.proto.
#
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift built from swift-protobuf at the
# version Package.swift names. The generated file is committed, so a normal build never runs this.
#   PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift scripts/generate-onnx-proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
if [ -z "$plugin" ]; then
    echo "protoc-gen-swift not found: build it with 'swift build -c release --product protoc-gen-swift' in a swift-protobuf checkout and set PROTOC_GEN_SWIFT" >&2
    exit 1
fi
protoc \
    --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Package \
    --proto_path=Sources/CandorModel/ONNX \
    --swift_out=Sources/CandorModel/ONNX \
    onnx-subset.proto
echo "wrote Sources/CandorModel/ONNX/onnx-subset.pb.swift"
