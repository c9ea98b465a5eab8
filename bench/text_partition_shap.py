#!/usr/bin/env python3
"""Candor vs SHAP on text: `partition_shap` on the demo text model `review_sentiment`, SHAP's
Partition explainer with its Text masker (max_evals 500, batch_size 5: SHAP's defaults) — per
review, and for a batch of 8 reviews.

SHAP runs in process with the model function a user of an ONNX model writes: the masked texts
tokenized together (padded) and run by onnxruntime in one call, at one intra-op thread and at
onnxruntime's default. The tokenizer is the served tokenizer.json behind the adapter the
fixtures use (`FastTokenizer` in scripts/fixtures/make_shap_text_fixtures.py). Candor runs as a
release server on a free loopback port, answering over HTTP + JSON on one kept-alive connection
with its cache off, so its times include tokenization, the round trip and the JSON. Both sides'
values per token are compared before anything is timed.

Run (a release build first; a few minutes):
    swift build -c release
    .venv-fixtures/bin/python bench/text_partition_shap.py [--requests 10] [--json bench/results/text_partition_shap.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import shap

from candor_http import served_text_explanations, text_bench_arguments
from measurement import ratio, summarise, timed_loop, timed_peer
from text_lig import REVIEWS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "fixtures"))
from make_shap_text_fixtures import DEMO  # noqa: E402


def model_function(threads: int | None):
    """SHAP's model: the texts tokenized together, padded, one onnxruntime call."""
    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(ROOT / "models" / "review_sentiment.onnx"), options, providers=["CPUExecutionProvider"])
    tokenizer = DEMO.tokenizer

    def logits(texts) -> np.ndarray:
        encodings = tokenizer.encode_batch([str(text) for text in texts])
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), length), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        return session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0].astype(np.float64)

    return logits


def main() -> int:
    args = text_bench_arguments(__doc__, 10, ROOT)

    explainers = {threads: shap.explainers.PartitionExplainer(model_function(threads), shap.maskers.Text(DEMO)) for threads in (1, None)}

    def shap_call(texts: list[str], threads: int | None):
        return explainers[threads](texts, max_evals=500, silent=True)

    rows = []
    with served_text_explanations(Path(args.candor_bin), ROOT / "models") as explain:
        for label, texts in (("1 review", REVIEWS[:1]), ("8 reviews", REVIEWS[:8])):
            candor_call = explain("partition_shap", texts)
            answer = candor_call()
            reference = shap_call(texts, 1)
            worst = 0.0
            for row, explanation in enumerate(answer["explanations"]):
                outputs = reference.values[row].sum(0) + reference.base_values[row]
                theirs = reference.values[row][:, int(np.argmax(outputs))]
                ours = np.asarray(explanation["attributions"])
                worst = max(worst, float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-6)))
            candor = summarise(timed_loop(candor_call, 2, args.requests, 60))
            timings = {threads: timed_peer(lambda: shap_call(texts, threads), 1, args.requests, 120) for threads in (1, None)}
            rows.append({
                "case": label, "candor_median_ms": candor["median_ms"],
                "shap_1_thread_median_ms": timings[1]["median_ms"],
                "shap_default_threads_median_ms": timings[None]["median_ms"],
                "speedup_vs_1_thread": ratio(timings[1]["median_ms"], candor["median_ms"]),
                "speedup_vs_default_threads": ratio(timings[None]["median_ms"], candor["median_ms"]),
                "max_relative_difference": worst,
            })

    print("| case | Candor (HTTP) ms | SHAP, onnxruntime 1 thread ms | SHAP, default threads ms | speed-up (1 thread) | speed-up (default) | max rel. diff |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['case']} | {row['candor_median_ms']:.1f} | {row['shap_1_thread_median_ms']:.1f} | "
              f"{row['shap_default_threads_median_ms']:.1f} | {row['speedup_vs_1_thread']:.2f}× | "
              f"{row['speedup_vs_default_threads']:.2f}× | {row['max_relative_difference']:.1e} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"shap": shap.__version__, "onnxruntime": onnxruntime.__version__, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
