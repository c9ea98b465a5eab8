"""Checks Candor's KServe routes with KServe's own Python client (kserve's
InferenceRESTClient): the V1 verbs (`:predict`, `:explain`, liveness at `/`, model readiness)
and the V2 protocol with its binary tensors (run by scripts/test-serving-clients.sh).

Usage: kserve_clients.py HOST:PORT

Each check prints one line; the first that fails raises, naming what differed. The numbers are
compared with Candor's own POST /v1/models/{name}/predict and /explain on the same instances.
"""

import asyncio
import json
import sys
import urllib.request

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


def check(condition, what):
    if not condition:
        raise SystemExit(f"kserve: FAILED: {what}")
    print(f"kserve: ok: {what}")


def candor(base, path, body):
    request = urllib.request.Request(f"{base}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


async def refused(call):
    """The HTTP status of a call the client should raise for, or None if it did not raise."""
    try:
        await call
    except httpx.HTTPStatusError as error:
        return error.response.status_code
    return None


async def check_v1(base):
    flowers = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
    async with InferenceRESTClient(RESTConfig(protocol="v1")) as client:
        check(await client.is_server_live(base), "the server is live (V1: GET /)")
        check(await client.is_model_ready(base, "iris_mlp"), "iris_mlp is ready (V1)")
        expected = candor(base, "/v1/models/iris_mlp/predict", {"inputs": flowers})["outputs"]["logits"]
        predicted = await client.infer(base, {"instances": flowers}, model_name="iris_mlp")
        check(predicted["predictions"] == expected, ":predict's predictions equal predict's logits")

        explained = await client.explain(base, "iris_mlp", {"instances": flowers})
        expected = candor(base, "/v1/models/iris_mlp/explain", {"method": "integrated_gradients", "inputs": flowers})
        check(explained["method"] == "integrated_gradients", ":explain uses the default method, integrated gradients")
        check(explained["explanations"] == expected["explanations"], ":explain's explanations equal explain's")

        status = await refused(client.infer(base, {"instances": flowers}, model_name="no_such_model"))
        check(status == 404, f":predict on an unknown model is refused with 404 (got {status})")
        status = await refused(client.explain(base, "iris_mlp", {"instances": [[1.0, 2.0, 3.0]]}))
        check(status == 400, f":explain with a wrong shape is refused with 400 (got {status})")


async def check_v2(base):
    flowers = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
    expected = candor(base, "/v1/models/iris_mlp/predict", {"inputs": flowers.tolist()})["outputs"]
    async with InferenceRESTClient(RESTConfig(protocol="v2")) as client:
        check(await client.is_server_live(base), "the server is live (V2)")
        check(await client.is_server_ready(base), "the server is ready (V2)")
        check(await client.is_model_ready(base, "iris_mlp"), "iris_mlp is ready (V2)")
        for binary in (False, True):
            features = InferInput("features", list(flowers.shape), "FP32")
            features.set_data_from_numpy(flowers, binary_data=binary)
            response = await client.infer(base, InferRequest("iris_mlp", [features], request_id="k-1"), model_name="iris_mlp")
            outputs = {output.name: output.as_numpy() for output in response.outputs}
            for name in ("logits", "probabilities"):
                check(np.array_equal(outputs[name], np.asarray(expected[name], dtype=np.float32)),
                      f"{name} with binary inputs {binary} equal predict's")
            check(response.id == "k-1", "the request id is echoed")


async def main():
    base = f"http://{sys.argv[1]}"
    await check_v1(base)
    await check_v2(base)


if __name__ == "__main__":
    asyncio.run(main())
