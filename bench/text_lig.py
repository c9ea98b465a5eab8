#!/usr/bin/env python3
"""Candor vs Captum on text: `layer_integrated_gradients` at the word embeddings of the demo
text model `review_sentiment`, from Captum's tutorial reference ([CLS] and [SEP] kept, every
other token [PAD]), n_steps 50, Gauss–Legendre — per review, and for a batch of 16 reviews.

Captum runs in process on the PyTorch module rebuilt from the served .onnx file's weights
(`load_served()` in scripts/train_text_demo_model.py), at one thread and at torch's default; Candor runs as a release server on a free loopback
port, answering over HTTP + JSON on one kept-alive connection with its cache bypassed
(`Cache-Control: no-cache`), so its times include tokenization, the round trip and the JSON.
Both sides' attributions per token are compared before anything is timed.

Run (a release build first; about a minute):
    swift build -c release
    .venv-fixtures/bin/python bench/text_lig.py [--requests 30] [--json bench/results/text_lig.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from candor_http import served_text_explanations, text_bench_arguments
from measurement import ratio, timed_loop, timed_peer, summarise

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import train_text_demo_model as demo  # noqa: E402

REVIEWS = [
    "The headphones are great but the battery is terrible",
    "This phone is not great",
    "The new kettle is slow but the price is perfect.",
    "Honestly, the lamp is really beautiful and the fabric is not cheap!",
    "So far the drill is terrible",
    "Our old toaster is not very quiet but the support is helpful",
    "After a month, the mattress is absolutely awful. Returned it.",
    "My stroller is solid and the handle is comfortable",
]


def main() -> int:
    args = text_bench_arguments(__doc__, 30, ROOT)

    default_threads = torch.get_num_threads()
    model, tokenizer = demo.load_served()
    cls_id, sep_id, pad_id = (tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    lig = LayerIntegratedGradients(lambda ids, mask: model(ids, mask), model.embeddings)

    def captum_inputs(texts: list[str]):
        ids, mask = demo.batch(tokenizer, texts)
        special = (ids == cls_id) | (ids == sep_id) | (mask == 0)
        reference = torch.where(special, ids, torch.full_like(ids, pad_id))
        with torch.no_grad():
            targets = model(ids, mask).argmax(1)
        return ids, mask, reference, targets

    def captum_call(texts: list[str]):
        ids, mask, reference, targets = captum_inputs(texts)
        return lig.attribute(ids, baselines=reference, additional_forward_args=(mask,), target=targets).sum(-1)

    rows = []
    with served_text_explanations(Path(args.candor_bin), ROOT / "models") as explain:
        for label, texts in (("1 review", REVIEWS[:1]), ("16 reviews", (REVIEWS * 2)[:16])):
            candor_call = explain("layer_integrated_gradients", texts)
            answer = candor_call()
            reference = captum_call(texts).detach().numpy()
            ids, mask, _, _ = captum_inputs(texts)
            worst = 0.0
            for row, explanation in enumerate(answer["explanations"]):
                length = int(mask[row].sum())
                ours = np.asarray(explanation["attributions"])
                theirs = reference[row][:length]
                worst = max(worst, float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-6)))
            candor = summarise(timed_loop(candor_call, 3, args.requests, 60))
            timings = {}
            for threads in sorted({1, default_threads}):
                torch.set_num_threads(threads)
                timings[threads] = timed_peer(lambda: captum_call(texts), 3, args.requests, 60)
            torch.set_num_threads(max(timings))
            rows.append({
                "case": label, "candor_median_ms": candor["median_ms"],
                "captum_1_thread_median_ms": timings[1]["median_ms"],
                "captum_default_threads_median_ms": timings[max(timings)]["median_ms"],
                "captum_default_threads": max(timings),
                "speedup_vs_1_thread": ratio(timings[1]["median_ms"], candor["median_ms"]),
                "speedup_vs_default_threads": ratio(timings[max(timings)]["median_ms"], candor["median_ms"]),
                "max_relative_difference": worst,
            })

    print("| case | Candor (HTTP) ms | Captum 1 thread ms | Captum default threads ms | speed-up (1 thread) | speed-up (default) | max rel. diff |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['case']} | {row['candor_median_ms']:.2f} | {row['captum_1_thread_median_ms']:.2f} | "
              f"{row['captum_default_threads_median_ms']:.2f} | {row['speedup_vs_1_thread']:.2f}× | "
              f"{row['speedup_vs_default_threads']:.2f}× | {row['max_relative_difference']:.1e} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"torch": torch.__version__, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
