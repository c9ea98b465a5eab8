"""KernelSHAP to the same accuracy: how many coalitions, and how much time, Candor's
`kernel_shap` needs to reach the error SHAP's `KernelExplainer` has at its default budget.

Run against a server you started (loopback; `CANDOR_CACHE_MAX_BYTES=0`) on the repository's
`models/`:

    .venv-fixtures/bin/python bench/kernel_shap_accuracy.py --url http://127.0.0.1:PORT

On the breast-cancer MLP (`logits`, the predicted class, the sidecar's 50 background rows),
for instances taken from scikit-learn's breast-cancer rows, in two settings:

- 15 groups of 2 features: the reference is `exact_shapley` with the same background (every
  one of the 2¹⁵ coalitions; equal to SHAP's enumerated values, see the `kernel_shap_g10` case);
- 30 single features: no exact reference is affordable, so the reference is a 100,000-coalition
  `kernel_shap` with SHAP's own sampler (its error is about √(2108 / 100000) ≈ 15 % of the
  error measured below, which it adds to every row alike).

SHAP runs `KernelExplainer(f, background).shap_values(x, nsamples=2·M + 2048, l1_reg=False)`
on onnxruntime, one thread (as `bench/peers.py`), over `--seeds` seeds of numpy's global
generator; its error is the root mean square difference to the reference, averaged over seeds
and instances, and its time the median call. Candor runs both samplers (`sampling: shap` and
`leverage`) at the same budget and at smaller ones (each 2^(−1/4) of the one before), over the same number of seeds; the
"matched" budget is the smallest whose error is at most SHAP's, and the ratio is SHAP's time
over Candor's median request time there (HTTP and JSON included). Writes
`bench/results/kernel_shap_accuracy.json` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from candor_http import HEADERS, Client  # noqa: E402
from peers import KernelShapPeer, OrtModel, one_thread, sidecar_background  # noqa: E402

MODEL = "breast_cancer_mlp"
OUTPUT = "logits"
SETTINGS = {"groups15": 15, "features30": 30}


def post(client: Client, body: dict) -> tuple[dict, float]:
    start = time.perf_counter()
    status, _, data = client.request("POST", f"/v1/models/{MODEL}/explain", json.dumps(body).encode(), HEADERS)
    elapsed = time.perf_counter() - start
    if status != 200:
        raise SystemExit(f"Candor answered {status}: {data[:400]!r}")
    return json.loads(data), elapsed


def attributions(answer: dict) -> np.ndarray:
    return np.asarray(answer["explanations"][0]["attributions"], dtype=np.float64).reshape(-1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="a running Candor, e.g. http://127.0.0.1:8080")
    parser.add_argument("--models-dir", default=str(HERE.parent / "models"))
    parser.add_argument("--instances", type=int, default=3, help="breast-cancer rows explained (default 3)")
    parser.add_argument("--seeds", type=int, default=6, help="seeds per sampler and budget (default 6)")
    parser.add_argument("--steps", type=int, default=8,
                        help="budgets tried below the default, each 2^(-1/4) of the one before (default 8: down to a quarter)")
    args = parser.parse_args()
    url = urlparse(args.url)
    client = Client(url.hostname or "127.0.0.1", url.port or 80)
    models = Path(args.models_dir)

    from sklearn.datasets import load_breast_cancer

    rows = load_breast_cancer().data[100:100 + args.instances]
    background = sidecar_background(models, MODEL)
    onnx = OrtModel(models / f"{MODEL}.onnx")
    report = {"model": MODEL, "seeds": args.seeds, "instances": args.instances, "settings": {}}
    for setting, groups in SETTINGS.items():
        mask = [i * groups // 30 for i in range(30)]
        budget = 2 * groups + 2048
        references, targets, shap_errors, shap_times = [], [], [], []
        for x in rows:
            target = int(np.argmax(onnx.run(x[None], OUTPUT)[0]))
            targets.append(target)
            base = {"method": "kernel_shap", "inputs": [x.tolist()], "output": OUTPUT, "target": target}
            if groups <= 20:
                reference_body = {**base, "method": "exact_shapley", "params": {"feature_mask": mask, "background": background.tolist()}}
            else:
                reference_body = {**base, "params": {"feature_mask": mask, "n_samples": 100_000, "seed": 12345}}
            reference = attributions(post(client, reference_body)[0])
            references.append(reference)
            peer = KernelShapPeer(onnx, OUTPUT, target, x, background, mask=None if groups == 30 else mask, nsamples=budget)
            with one_thread(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for seed in range(args.seeds):
                    np.random.seed(seed)
                    start = time.perf_counter()
                    _, phi = peer.explain()
                    shap_times.append(time.perf_counter() - start)
                    shap_errors.append(float(np.sqrt(np.mean((peer.per_feature(phi) - reference) ** 2))))
        shap_error = float(np.mean(shap_errors))
        shap_time = float(np.median(shap_times))
        entry = {"groups": groups, "budget": budget, "shap": {"rmse": shap_error, "median_ms": 1000 * shap_time}, "candor": {}}
        print(f"{setting}: {groups} groups, SHAP at {budget} coalitions: rmse {shap_error:.4g}, median {1000 * shap_time:.1f} ms")
        for sampling in ("shap", "leverage"):
            runs = []
            for step in range(args.steps + 1):
                n = round(budget * 2 ** (-step / 4))
                errors, times = [], []
                for x, target, reference in zip(rows, targets, references):
                    for seed in range(args.seeds):
                        params = {"feature_mask": mask, "n_samples": n, "sampling": sampling, "seed": seed}
                        answer, elapsed = post(client, {"method": "kernel_shap", "inputs": [x.tolist()], "output": OUTPUT,
                                                        "target": target, "params": params})
                        errors.append(float(np.sqrt(np.mean((attributions(answer) - reference) ** 2))))
                        times.append(elapsed)
                run = {"n_samples": n, "rmse": float(np.mean(errors)), "median_ms": 1000 * float(np.median(times))}
                runs.append(run)
                print(f"  candor {sampling:8s} n={n:5d}  rmse {run['rmse']:.4g}  median {run['median_ms']:.2f} ms")
            matched = [run for run in runs if run["rmse"] <= shap_error]
            best = min(matched, key=lambda run: run["n_samples"]) if matched else None
            ratio = (1000 * shap_time / best["median_ms"]) if best else None
            entry["candor"][sampling] = {"runs": runs, "matched": best, "ratio": ratio}
            print(f"  {sampling}: matched at {best['n_samples'] if best else '—'} coalitions, ratio "
                  f"{f'{ratio:.2f}×' if ratio else '— (no budget reached SHAP’s error)'}")
        report["settings"][setting] = entry
    out = HERE / "results" / "kernel_shap_accuracy.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
