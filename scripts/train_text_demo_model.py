#!/usr/bin/env python3
"""Train and export Candor's text demo model into models/.

Generates (deterministically: fixed seeds, one thread):

  models/review_sentiment.onnx            a 2-layer transformer encoder (BERT's layout, post-
                                          LayerNorm, 4 heads of 8, feed-forward 64, GELU)
                                          classifying a product review as negative or positive
                                          from its [CLS] token. Exported with PyTorch's dynamo
                                          exporter (opset 18). Inputs `input_ids` and
                                          `attention_mask`, int64 [batch, sequence]; output
                                          `logits` [batch, 2] (classes negative, positive).
  models/review_sentiment.tokenizer.json  its WordPiece tokenizer (BERT's pipeline: BertNormalizer
                                          lowercasing, BertPreTokenizer, [CLS] $A [SEP],
                                          truncation to 64 tokens), written by `tokenizers`.
  models/review_sentiment.yaml            sidecar: description with held-out accuracy,
                                          class_names, the tokenizer file.

Why: the README walks through "which words made this review negative" (issue 18), and the text
methods are checked against Captum and SHAP on this model. A model trained here, on a corpus
generated here, keeps the repository free of downloaded weights and the fixture generators
able to rebuild the PyTorch module from the ONNX file's initializers (`ReviewClassifier`
names its parameters as the exporter writes them).

The corpus (numpy default_rng(18), nothing downloaded): 6000 templated reviews, each one or two
clauses, "<opener> <product> is [not] [intensifier] <adjective>" and optionally
"but|and the <aspect> is [not] <adjective>". A clause's polarity is its adjective's, flipped by
"not"; with "but" the review takes the second clause's polarity, with "and" both clauses agree
(the generator draws them so). Classes: 0 negative, 1 positive. 80/20 split by position after a
seeded shuffle; Adam over shuffled mini-batches of 64 for 8 epochs.

The vocabulary is built deterministically (tokenizers' WordPieceTrainer breaks ties
differently from run to run): the special tokens, every character of the normalized corpus
alone and as a `##` continuation, and every word of the corpus, in code point order.

Run:  .venv-fixtures/bin/python scripts/train_text_demo_model.py
      .venv-fixtures/bin/python scripts/train_text_demo_model.py --tokenizer-only
      (the tokenizer alone, rebuilt from the corpus: it is deterministic, the training is not
      across torch builds)
(from the repository root; see scripts/fixtures/requirements.txt for versions.)
"""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"

import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
NAME = "review_sentiment"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_LENGTH = 64
CLASSES = ["negative", "positive"]

PRODUCTS = ["phone", "kettle", "jacket", "laptop", "blender", "headphones", "backpack", "camera", "chair",
            "lamp", "toaster", "keyboard", "mattress", "stroller", "drill"]
ASPECTS = ["battery", "price", "delivery", "screen", "sound", "handle", "fabric", "manual", "support", "lid"]
POSITIVE = ["great", "excellent", "reliable", "comfortable", "beautiful", "sturdy", "quiet", "fast",
            "lovely", "solid", "perfect", "helpful"]
NEGATIVE = ["terrible", "broken", "flimsy", "noisy", "slow", "disappointing", "cheap", "useless",
            "awful", "fragile", "poor", "unhelpful"]
INTENSIFIERS = ["", "", "", "very ", "really ", "quite ", "absolutely "]
OPENERS = ["This", "The", "The new", "Our old", "My", "Honestly, the", "After a month, the", "So far the"]
ENDINGS = ["", "", ".", "!", ". Five stars.", ". Would buy again.", ". Returned it.", "..."]


def clause(rng: np.random.Generator, polarity: int) -> str:
    """'is [not] [intensifier] adjective' with the given polarity (1 positive, 0 negative)."""
    negated = rng.random() < 0.35
    adjective_positive = polarity != negated
    adjective = rng.choice(POSITIVE if adjective_positive else NEGATIVE)
    return f"is {'not ' if negated else ''}{rng.choice(INTENSIFIERS)}{adjective}"


def make_corpus(n: int = 6000, seed: int = 18) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.random() < 0.5)
        text = f"{rng.choice(OPENERS)} {rng.choice(PRODUCTS)} "
        shape = rng.random()
        if shape < 0.4:
            text += clause(rng, label)
        elif shape < 0.75:
            text += f"{clause(rng, 1 - label)} but the {rng.choice(ASPECTS)} {clause(rng, label)}"
        else:
            text += f"{clause(rng, label)} and the {rng.choice(ASPECTS)} {clause(rng, label)}"
        texts.append(text + rng.choice(ENDINGS))
        labels.append(label)
    return texts, np.array(labels)


def make_tokenizer(texts: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words = set()
    for text in texts:
        for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(tokenizer.normalizer.normalize_str(text)):
            words.add(word)
    characters = {character for word in words for character in word}
    pieces = words | characters | {"##" + character for character in characters}
    vocabulary = {token: index for index, token in enumerate(SPECIAL + sorted(pieces - set(SPECIAL)))}
    tokenizer.model = models.WordPiece(vocabulary, unk_token="[UNK]", max_input_chars_per_word=100)
    # Registered as a BERT tokenizer.json registers them: "[MASK]" written in a text (SHAP's
    # Text masker writes it there) is the mask token, not "[", "mask", "]".
    tokenizer.add_special_tokens(SPECIAL)
    tokenizer.decoder = decoders.WordPiece()
    cls, sep = vocabulary["[CLS]"], vocabulary["[SEP]"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    return tokenizer


class SelfAttention(torch.nn.Module):
    """Multi-head scaled dot-product attention with an additive padding mask (BERT's)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = torch.nn.Linear(width, width)
        self.key = torch.nn.Linear(width, width)
        self.value = torch.nn.Linear(width, width)
        self.output = torch.nn.Linear(width, width)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        return x.reshape(batch, length, self.heads, width // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask_bias
        probabilities = torch.softmax(scores, dim=-1)
        context = (probabilities @ v).transpose(1, 2).reshape(x.shape)
        return self.output(context)


class EncoderLayer(torch.nn.Module):
    def __init__(self, width: int, heads: int, hidden: int):
        super().__init__()
        self.attention = SelfAttention(width, heads)
        self.attention_norm = torch.nn.LayerNorm(width)
        self.intermediate = torch.nn.Linear(width, hidden)
        self.feed_forward = torch.nn.Linear(hidden, width)
        self.output_norm = torch.nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        x = self.attention_norm(x + self.attention(x, mask_bias))
        return self.output_norm(x + self.feed_forward(torch.nn.functional.gelu(self.intermediate(x))))


class ReviewClassifier(torch.nn.Module):
    """Token and position embeddings, LayerNorm, two encoder layers, a linear head on [CLS]."""

    def __init__(self, vocabulary: int, width: int = 32, heads: int = 4, hidden: int = 64, layers: int = 2):
        super().__init__()
        self.embeddings = torch.nn.Embedding(vocabulary, width)
        self.positions = torch.nn.Embedding(MAX_LENGTH, width)
        self.embedding_norm = torch.nn.LayerNorm(width)
        self.layers = torch.nn.ModuleList([EncoderLayer(width, heads, hidden) for _ in range(layers)])
        self.classifier = torch.nn.Linear(width, len(CLASSES))

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embeddings(input_ids) + self.positions.weight[: input_ids.shape[1]]

    def encode(self, embedded: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(embedded.dtype)) * -10000.0
        x = self.embedding_norm(embedded)
        for layer in self.layers:
            x = layer(x, mask_bias)
        return self.classifier(x[:, 0])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encode(self.embed(input_ids), attention_mask)


def batch(tokenizer: Tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encodings = tokenizer.encode_batch(texts)
    length = max(len(e.ids) for e in encodings)
    ids = torch.zeros(len(texts), length, dtype=torch.int64)
    mask = torch.zeros(len(texts), length, dtype=torch.int64)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        mask[row, : len(e.ids)] = 1
    return ids, mask


def train() -> tuple[ReviewClassifier, Tokenizer, float, int]:
    """The trained model (in eval mode), its tokenizer, and its held-out accuracy and size: the
    same on every run, so the fixture generators can rebuild the exported model."""
    torch.manual_seed(18)
    torch.set_num_threads(1)
    texts, labels = make_corpus()
    order = np.random.default_rng(0).permutation(len(texts))
    split = int(0.8 * len(texts))
    train_rows, test_rows = order[:split], order[split:]
    tokenizer = make_tokenizer(texts)
    model = ReviewClassifier(tokenizer.get_vocab_size())
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    shuffle = np.random.default_rng(1)
    for epoch in range(8):
        model.train()
        epoch_order = shuffle.permutation(train_rows)
        for start in range(0, len(train_rows), 64):
            rows = epoch_order[start : start + 64]
            ids, mask = batch(tokenizer, [texts[i] for i in rows])
            loss = torch.nn.functional.cross_entropy(model(ids, mask), torch.tensor(labels[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: loss {loss.item():.4f}")
    model.eval()
    with torch.no_grad():
        ids, mask = batch(tokenizer, [texts[i] for i in test_rows])
        accuracy = float((model(ids, mask).argmax(1).numpy() == labels[test_rows]).mean())
    return model, tokenizer, accuracy, len(test_rows)


def load_served() -> tuple[ReviewClassifier, Tokenizer]:
    """The served model rebuilt in PyTorch from models/review_sentiment.onnx and its tokenizer
    file, so that fixtures and benchmarks explain exactly what Candor serves whichever torch
    build runs them (retraining is deterministic only on one build: another's rounding drifts
    over the 600 steps). The encoder's Linear weights are exported transposed, as unnamed
    constants in the module's order; the rest go by their state-dict names."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(MODELS / f"{NAME}.onnx")).graph
    tokenizer = Tokenizer.from_file(str(MODELS / f"{NAME}.tokenizer.json"))
    model = ReviewClassifier(tokenizer.get_vocab_size())
    state = model.state_dict()
    named = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    unnamed = iter(value for name, value in named.items() if name not in state and value.ndim == 2)
    for key in state:
        value = named[key] if key in named else next(unnamed).T
        assert tuple(value.shape) == tuple(state[key].shape), (key, value.shape)
        state[key] = torch.from_numpy(np.array(value))  # a writable copy
    model.load_state_dict(state)
    return model.eval(), tokenizer


def main() -> int:
    if "--tokenizer-only" in sys.argv[1:]:
        texts, _ = make_corpus()
        make_tokenizer(texts).save(str(MODELS / f"{NAME}.tokenizer.json"), pretty=True)
        return 0
    model, tokenizer, accuracy, tested = train()
    print(f"held-out accuracy {accuracy:.4f} on {tested} reviews")

    MODELS.mkdir(exist_ok=True)
    path = MODELS / f"{NAME}.onnx"
    example = batch(tokenizer, ["This phone is not great", "The new kettle is slow but the price is perfect"])
    batch_axis, sequence_axis = torch.export.Dim("batch"), torch.export.Dim("sequence", max=MAX_LENGTH)
    program = torch.onnx.export(
        model, example, dynamo=True, opset_version=18, input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_shapes={"input_ids": {0: batch_axis, 1: sequence_axis}, "attention_mask": {0: batch_axis, 1: sequence_axis}},
        optimize=True, external_data=False)
    program.save(str(path), external_data=False)
    onnx.checker.check_model(str(path))
    tokenizer.save(str(MODELS / f"{NAME}.tokenizer.json"), pretty=True)
    sidecar = {
        "description": (
            f"Product-review sentiment on a SYNTHETIC corpus (templated reviews with negation and 'but' "
            f"clauses, generated by scripts/train_text_demo_model.py): a 2-layer transformer encoder "
            f"(width 32, 4 heads, GELU feed-forward 64) over WordPiece tokens, classes negative / "
            f"positive, {accuracy:.1%} accuracy on a held-out 20% split ({tested} reviews)."),
        "class_names": CLASSES,
        "tokenizer": f"{NAME}.tokenizer.json",
    }
    with open(MODELS / f"{NAME}.yaml", "w") as f:
        f.write("# Generated by scripts/train_text_demo_model.py — do not edit by hand.\n")
        yaml.safe_dump(sidecar, f, sort_keys=False, width=100)
    ops = sorted({node.op_type for node in onnx.load(str(path)).graph.node})
    print(f"wrote {path} ({path.stat().st_size} bytes), operators: {', '.join(ops)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
