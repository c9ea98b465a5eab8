"""Checks Candor's Open Inference Protocol routes with NVIDIA's tritonclient[http], a client
written for Triton and KServe V2 (run by scripts/test-serving-clients.sh).

Usage: open_inference_clients.py HOST:PORT

Each check prints one line; the first that fails raises, naming what differed. The numbers are
compared with Candor's own POST /v1/models/{name}/predict on the same instances.
"""

import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException


def check(condition, what):
    if not condition:
        raise SystemExit(f"open-inference: FAILED: {what}")
    print(f"open-inference: ok: {what}")


def predict(url, model, inputs):
    body = json.dumps({"inputs": inputs}).encode()
    request = urllib.request.Request(f"http://{url}/v1/models/{model}/predict", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return {name: np.asarray(values, dtype=np.float32) for name, values in json.load(response)["outputs"].items()}


def main():
    url = sys.argv[1]
    client = triton.InferenceServerClient(url=url)
    check(client.is_server_live(), "the server is live")
    check(client.is_server_ready(), "the server is ready")
    check(client.is_model_ready("iris_mlp"), "iris_mlp is ready")
    check(not client.is_model_ready("no_such_model"), "a model that is not loaded is not ready")
    server = client.get_server_metadata()
    check(server["name"] == "candor" and "binary_tensor_data" in server["extensions"], f"server metadata {server}")
    metadata = client.get_model_metadata("iris_mlp")
    check(metadata["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}], f"iris_mlp's inputs {metadata['inputs']}")
    check([o["name"] for o in metadata["outputs"]] == ["logits", "probabilities"], "iris_mlp's outputs")

    flowers = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]], dtype=np.float32)
    expected = predict(url, "iris_mlp", flowers.tolist())
    for binary_in in (True, False):
        for binary_out in (True, False):
            features = triton.InferInput("features", list(flowers.shape), "FP32")
            features.set_data_from_numpy(flowers, binary_data=binary_in)
            outputs = [triton.InferRequestedOutput(name, binary_data=binary_out) for name in ("probabilities", "logits")]
            result = client.infer("iris_mlp", [features], outputs=outputs, request_id="r-1")
            for name in ("logits", "probabilities"):
                got = result.as_numpy(name)
                check(got is not None and got.shape == expected[name].shape and np.array_equal(got, expected[name]),
                      f"{name} with binary inputs {binary_in}, binary outputs {binary_out} equal predict's")
            check(result.get_response()["id"] == "r-1", "the request id is echoed")

    # A float64 batch is read as float32, as predict reads JSON numbers.
    features = triton.InferInput("features", list(flowers.shape), "FP64")
    features.set_data_from_numpy(flowers.astype(np.float64))
    result = client.infer("iris_mlp", [features])
    check(np.array_equal(result.as_numpy("logits"), expected["logits"]), "an FP64 batch gives the FP32 batch's logits")

    # The CNN: a 4-D image batch, binary both ways.
    images = np.random.default_rng(0).random((2, 3, 32, 32), dtype=np.float32)
    expected = predict(url, "shapes_cnn", images.tolist())
    pixels = triton.InferInput("image", list(images.shape), "FP32")
    pixels.set_data_from_numpy(images)
    result = client.infer("shapes_cnn", [pixels])
    check(np.array_equal(result.as_numpy("logits"), expected["logits"]), "shapes_cnn's logits equal predict's")

    for what, call in [
        ("an unknown model", lambda: client.get_model_metadata("no_such_model")),
        ("a wrong shape", lambda: client.infer("iris_mlp", [shaped("features", np.zeros((1, 5), np.float32))])),
        ("an unknown input", lambda: client.infer("iris_mlp", [shaped("petals", np.zeros((1, 4), np.float32))])),
    ]:
        try:
            call()
            check(False, f"{what} is refused")
        except InferenceServerException as error:
            check(bool(error.message()), f"{what} is refused: {error.message()}")


def shaped(name, array):
    tensor = triton.InferInput(name, list(array.shape), "FP32")
    tensor.set_data_from_numpy(array)
    return tensor


if __name__ == "__main__":
    main()
