#!/usr/bin/env python3
"""Peak memory of a model upload: starts `candor serve` on a free port over an empty models
folder, uploads a model of about SIZE MB (an ONNX MatMul whose weights sit in an external data
file, as a multipart upload streamed from disk), and reports the server's peak resident memory
(VmHWM) before and after, and their difference relative to the upload's size.

    python3 scripts/measure-upload-memory.py [.build/release/candor] [SIZE_MB]

Standard library only: the ONNX file is written by hand (protobuf wire format).

Measured on the debug build, 50 MB upload (2 cores, Linux): collecting the body before writing
it grew the peak by 269 MB (5.4x); streaming the parts to the staging directory, 154 MB (3.1x);
and reading external data as a slice of the mapped file instead of a copy, 105 MB (2.1x) — the
mapped file's pages plus the decoded float32 weights the model keeps."""

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number, payload):
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def integer(number, value):
    return varint(number << 3) + varint(value)


def value_info(name, dims):
    shape = b"".join(field(1, field(2, d.encode()) if isinstance(d, str) else integer(1, d)) for d in dims)
    tensor_type = integer(1, 1) + field(2, shape)  # elem_type FLOAT, shape
    return field(1, name.encode()) + field(2, field(1, tensor_type))


def model(rows, columns, location):
    weight = (
        integer(1, rows) + integer(1, columns) + integer(2, 1) + field(8, b"W")
        + field(13, field(1, b"location") + field(2, location.encode()))
        + integer(14, 1)  # data_location EXTERNAL
    )
    node = field(1, b"X") + field(1, b"W") + field(2, b"Y") + field(3, b"matmul") + field(4, b"MatMul")
    graph = (
        field(1, node) + field(2, b"big") + field(5, weight)
        + field(11, value_info("X", ["N", rows])) + field(12, value_info("Y", ["N", columns]))
    )
    return integer(1, 8) + field(8, integer(2, 17)) + field(7, graph)  # ir_version, opset 17, graph


def high_water_mark(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/candor"
    size_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    columns = 1024
    rows = size_mb * (1 << 20) // (4 * columns)
    with tempfile.TemporaryDirectory() as work:
        models = os.path.join(work, "models")
        os.mkdir(models)
        weights = os.path.join(work, "big.onnx.data")
        with open(weights, "wb") as out:
            block = bytes(4 * columns)
            for _ in range(rows):
                out.write(block)
        onnx = model(rows, columns, "big.onnx.data")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        env = dict(os.environ, CANDOR_ADMIN_TOKEN="measure", CANDOR_MODELS_MAX_MODEL_BYTES=str(4 << 30))
        server = subprocess.Popen(
            [binary, "serve", "--models-dir", models, "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port)
                    connection.request("GET", "/readyz")
                    if connection.getresponse().status == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            before = high_water_mark(server.pid)
            boundary = uuid.uuid4().hex
            head = (
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbig\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"model\"; filename=\"big.onnx\"\r\n\r\n"
            ).encode() + onnx + (
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"external_data\"; "
                f"filename=\"big.onnx.data\"\r\n\r\n"
            ).encode()
            tail = f"\r\n--{boundary}--\r\n".encode()
            length = len(head) + os.path.getsize(weights) + len(tail)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            connection.putrequest("POST", "/v1/models")
            connection.putheader("Authorization", "Bearer measure")
            connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
            connection.putheader("Content-Length", str(length))
            connection.endheaders()
            connection.send(head)
            with open(weights, "rb") as data:
                while chunk := data.read(1 << 20):
                    connection.send(chunk)
            connection.send(tail)
            response = connection.getresponse()
            response.read()
            after = high_water_mark(server.pid)
            mb = 1 << 20
            print(f"upload {length / mb:.1f} MB -> HTTP {response.status}")
            print(f"peak RSS before {before / mb:.1f} MB, after {after / mb:.1f} MB, "
                  f"growth {(after - before) / mb:.1f} MB = {(after - before) / length:.2f}x the upload")
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
