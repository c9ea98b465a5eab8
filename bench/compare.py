#!/usr/bin/env python3
"""Candor vs Captum (and SHAP, LIME, SHAP's TreeExplainer): explain latency, throughput and agreement.

For every model in models/ (iris_mlp, breast_cancer_mlp) and every case

    saliency               1 instance    (abs=true, Captum's default too)
    input_x_gradient       1 instance
    integrated_gradients   1 instance    n_steps=50, gausslegendre, baseline 0
    integrated_gradients  32 instances   same parameters
    feature_ablation       1 and 32      baseline 0 (Captum: perturbations_per_eval = #features,
                                         and its default 1 timed too)
    occlusion_w2           1 instance    window [2], stride 1, baseline 0 (Captum likewise)

and, on one model each,

    exact_shapley          iris, 1 and 32 instances, 4 singleton groups (Captum ShapleyValues)
    exact_shapley_g6       breast_cancer, 1 instance, 6 groups of 5 contiguous features
    shapley_value_sampling breast_cancer, 1 instance, n_samples 25 (sampled: the values are not
                           compared with Captum's; efficiency is checked on both sides)

and, against the `shap` and `lime` packages instead of Captum (bench/peers.py; their peer is
timed on one thread only, model calls through onnxruntime included):

    kernel_shap            iris, 1 instance, output `probabilities`, sidecar background (30 rows),
                           every coalition enumerated: compared with shap.KernelExplainer
    kernel_shap_g10        breast_cancer, 1 instance, 10 groups of 3 contiguous features,
                           sidecar background (50 rows), all 2^10 − 2 coalitions: compared
    kernel_shap_sampled    breast_cancer, 1 instance, 30 features, n_samples 2108 (sampled:
                           max |diff| reported for information only)
    lime                   iris (`probabilities`, classification, 4 features) and breast_cancer
                           (`logits`, regression on the target logit, 10 features), 5000
                           samples, vs lime.lime_tabular (sampled: whether the top-3 rules are
                           the same set is reported for information only)

and, against SHAP's TreeExplainer (bench/peers.py; XGBoost's own C++ TreeSHAP behind it, one
thread) on bench/tree_model.py's XGBoost model (500 trees, max_depth 6, 30 features), which
bench/run.sh trains into the temporary models folder it serves:

    tree_shap              synthetic_xgb500, 1 instance, output `margin`, target 0, path-dependent
    tree_shap_b100         synthetic_xgb500, 100 instances: the throughput case (instances/s on
                           both sides, and their ratio); both compared instance by instance

this script

1. rebuilds the ONNX model as a torch.nn.Sequential from its initializers (Sub/Div
   standardisation, Gemm, activations) and checks it against onnxruntime;
2. measures Candor over HTTP: sequential latency (warm-ups, then N timed requests on one
   fresh persistent connection, `Cache-Control: no-cache`), the server's own mean time for
   those requests (from /metrics), and throughput with K concurrent client threads;
3. measures Captum in-process on the same module and input (`attribute` only), with
   torch.set_num_threads(1) and with torch's default thread count;
4. checks that Candor's attributions equal Captum's (max abs diff), so both sides compute
   the same numbers (SHAP's for the exact kernel_shap cases);
5. prints a table and writes bench/results/latest.json and bench/results/latest.md.

Candor's times include HTTP, JSON encoding/decoding and the client; Captum's do not.
Usually started by bench/run.sh, which starts and stops the server; run by hand with
`--url http://127.0.0.1:PORT` against a server started with CANDOR_CACHE_MAX_BYTES=0.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import json
import os
import platform
import re
import sys
import threading
import time
import urllib.parse
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from captum.attr import (LRP, Deconvolution, DeepLift, GuidedBackprop, GuidedGradCam, LayerAttribution, LayerGradCam,
                         FeatureAblation, InputXGradient, IntegratedGradients, Occlusion, Saliency,
                         ShapleyValues, ShapleyValueSampling)
from onnx import numpy_helper
from torch import nn

import peers  # the shap / lime peers (bench/peers.py); shap and lime are imported on first use
import tree_model  # the XGBoost model of the tree_shap cases (xgboost is imported on first use)

ROOT = Path(__file__).resolve().parent.parent
SEED = 0
IG_PARAMS = {"n_steps": 50, "integration": "gausslegendre", "baselines": 0.0}
SVS_SAMPLES = 25
# Orderings of the high-sample Captum estimate the sampled case is measured against.
SVS_REFERENCE_SAMPLES = 1000
CNN_MODEL = "shapes_cnn"  # the convolutional demo model (scripts/train_cnn_demo_model.py)
# Captum 0.9's DeepLift loses its MaxPool rule where a ReLU feeds the pool directly (the ReLU's
# hook reads the gradient before the pool's hook rewrites it: Captum issue #1104, fixed after
# 0.9), as in every block of the CNN demo model, so its attributions break DeepLIFT's
# summation-to-delta there. Both sides are held to that property instead; times are compared.
DEEPLIFT_NOTE = "Captum 0.9 DeepLift drops its MaxPool rule after a ReLU (issue #1104): held to Σ attributions = f(x) − f(x′)"


def block_mask(n_features: int, width: int) -> list[int]:
    """Contiguous groups of `width` features: 0,0,…,1,1,…"""
    return [i // width for i in range(n_features)]


@dataclass(frozen=True)
class Case:
    """One benchmark case. `params(n_features)` gives Candor's params; `captum(n_features)`
    the extra keyword arguments of Captum's `attribute` (perturbations_per_eval, masks, …);
    `captum_alt` an optional second Captum setting timed as well (label, function giving the
    keyword arguments that replace `captum`'s), reported under the main table. `captum_calls`/`captum_warmup` cap the peer's timed
    loop (Captum's, SHAP's or LIME's) for slow cases (None: --requests / --warmup).

    `peer` is the reference implementation: "captum" (in-process on the torch rebuild, timed
    with 1 and the default number of threads), or "shap" / "lime" (bench/peers.py: onnxruntime on
    the .onnx file, one thread; `peer_args(n_features)` gives the peer's own arguments), or
    "shap_tree" (the `tree_shap` cases: SHAP's TreeExplainer on the XGBoost model of
    bench/tree_model.py, one thread). `output` maps a model to the output explained (default:
    the model's first output). `candor_calls` / `candor_warmup` cap Candor's own loop the
    same way for slow cases."""
    id: str
    method: str
    batch: int
    params: object = field(default_factory=dict)   # dict, or n_features -> dict
    models: tuple | None = None                     # None: every model
    captum: object = None                           # n_features -> dict
    captum_alt: tuple | None = None                 # (label, n_features -> dict)
    captum_calls: int | None = None
    captum_warmup: int | None = None
    sampled: bool = False                           # random: not compared value by value
    peer: str = "captum"                            # "captum", "shap", "lime" or "shap_tree"
    peer_args: object = None                        # n_features -> dict (shap / lime peers)
    output: dict | None = None                      # model name -> output explained
    candor_calls: int | None = None                 # caps Candor's timed requests (None: --requests)
    candor_warmup: int | None = None                # caps Candor's warm-ups (None: --warmup)
    completeness_only: str | None = None            # why values are not compared (held to Σ = Δf instead)

    def output_of(self, model: str, default: str) -> str:
        return (self.output or {}).get(model, default)

    def candor_params(self, nfeat: int) -> dict:
        return self.params(nfeat) if callable(self.params) else self.params

    def captum_kwargs(self, nfeat: int) -> dict:
        return self.captum(nfeat) if self.captum else {}


def _ppe_features(nfeat):  # one forward pass per call: every single-feature ablation at once
    return {"perturbations_per_eval": nfeat}


def _occlusion_w2(nfeat):  # window 2, stride 1: nfeat − 1 positions, all in one pass
    return {"sliding_window_shapes": (2,), "strides": 1, "perturbations_per_eval": nfeat - 1}


_CAPTUM_DEFAULT_PPE = ("perturbations_per_eval=1 (Captum's default)", lambda nfeat: {"perturbations_per_eval": 1})
_BC_GROUPS = 6
_BC_KSHAP_GROUPS = 10
LIME_SAMPLES = 5000
TREE_BATCH = 100

# Candor is always sent no perturbations_per_eval (its default: as many perturbations per pass as
# its memory budget allows). Captum gets the setting named in `captum`.
CASES = [
    Case("saliency", "saliency", 1, {"abs": True}),
    Case("input_x_gradient", "input_x_gradient", 1, {}),
    Case("integrated_gradients", "integrated_gradients", 1, IG_PARAMS),
    Case("integrated_gradients_b32", "integrated_gradients", 32, IG_PARAMS),
    Case("feature_ablation", "feature_ablation", 1, {"baselines": 0.0},
         captum=_ppe_features, captum_alt=_CAPTUM_DEFAULT_PPE),
    Case("feature_ablation_b32", "feature_ablation", 32, {"baselines": 0.0},
         captum=_ppe_features, captum_alt=_CAPTUM_DEFAULT_PPE),
    Case("occlusion_w2", "occlusion", 1, {"sliding_window_shapes": [2], "strides": [1], "baselines": 0.0},
         captum=_occlusion_w2, captum_alt=_CAPTUM_DEFAULT_PPE),
    # iris: 4 singleton groups (24 orderings for Captum, 16 coalitions for Candor).
    Case("exact_shapley", "exact_shapley", 1, {"baselines": 0.0}, models=("iris_mlp",),
         captum=lambda nfeat: {"perturbations_per_eval": nfeat}),
    Case("exact_shapley_b32", "exact_shapley", 32, {"baselines": 0.0}, models=("iris_mlp",),
         captum=lambda nfeat: {"perturbations_per_eval": nfeat}),
    # breast_cancer: 6 groups of 5 contiguous features (720 orderings / 64 coalitions). Captum's
    # ShapleyValues takes ~0.15 s a call here, so its loop is capped.
    Case("exact_shapley_g6", "exact_shapley", 1,
         lambda nfeat: {"baselines": 0.0, "feature_mask": block_mask(nfeat, nfeat // _BC_GROUPS)},
         models=("breast_cancer_mlp",),
         captum=lambda nfeat: {"perturbations_per_eval": _BC_GROUPS,
                               "feature_mask": torch.tensor([block_mask(nfeat, nfeat // _BC_GROUPS)], dtype=torch.long)},
         captum_calls=60, captum_warmup=5),
    # 30 singleton groups, 25 random orderings on each side (different generators).
    Case("shapley_value_sampling", "shapley_value_sampling", 1,
         {"n_samples": SVS_SAMPLES, "seed": 0, "baselines": 0.0}, models=("breast_cancer_mlp",),
         captum=lambda nfeat: {"n_samples": SVS_SAMPLES, "perturbations_per_eval": nfeat},
         captum_alt=_CAPTUM_DEFAULT_PPE,
         captum_calls=100, captum_warmup=10, sampled=True),
    # ---- Against shap 0.51.0 / lime 0.2.0.1 (bench/peers.py), not Captum. Candor uses the sidecar
    # background / statistics by default; the peers get the same rows / the training split.
    # iris: 4 features, every one of the 2^4 − 2 coalitions on both sides: exact, compared.
    Case("kernel_shap", "kernel_shap", 1, {}, models=("iris_mlp",), output={"iris_mlp": "probabilities"},
         peer="shap", peer_args=lambda nfeat: {}),
    # breast_cancer: 10 groups of 3 contiguous features, all 2^10 − 2 = 1022 coalitions (both sides'
    # default n_samples 2·10 + 2048 is more than that): exact, compared.
    Case("kernel_shap_g10", "kernel_shap", 1, lambda nfeat: {"feature_mask": block_mask(nfeat, nfeat // _BC_KSHAP_GROUPS)},
         models=("breast_cancer_mlp",), peer="shap",
         peer_args=lambda nfeat: {"mask": block_mask(nfeat, nfeat // _BC_KSHAP_GROUPS)},
         captum_calls=100, captum_warmup=5),
    # breast_cancer: 30 singleton groups, 2·30 + 2048 = 2108 sampled coalitions (Candor's default and
    # SHAP's "auto", sent explicitly to both): different random coalitions, not compared.
    Case("kernel_shap_sampled", "kernel_shap", 1, lambda nfeat: {"n_samples": 2 * nfeat + 2048},
         models=("breast_cancer_mlp",), peer="shap", peer_args=lambda nfeat: {"nsamples": 2 * nfeat + 2048},
         captum_calls=100, captum_warmup=5, sampled=True),
    # Tabular LIME, quartile bins, 5000 samples: iris on `probabilities` (lime's classification mode,
    # 4 features), breast_cancer on `logits` (regression on the target logit, 10 features). Sampled.
    Case("lime", "lime", 1, lambda nfeat: {"num_features": min(nfeat, 10), "n_samples": LIME_SAMPLES},
         models=("iris_mlp", "breast_cancer_mlp"), output={"iris_mlp": "probabilities"}, peer="lime",
         peer_args=lambda nfeat: {"num_features": min(nfeat, 10), "num_samples": LIME_SAMPLES},
         captum_calls=100, captum_warmup=5, sampled=True),
    # ---- Against SHAP's TreeExplainer (bench/peers.py TreeShapPeer), which hands XGBoost models to
    # XGBoost's own C++ TreeSHAP (predict(pred_contribs=True)). The model is bench/tree_model.py's
    # 500-tree, depth-6 binary classifier, trained by bench/run.sh into the folder it serves; the
    # explained output is the raw score `margin`, target 0 (its only column), path-dependent.
    # The convolutional methods, on the CNN demo model only (image models run only the cases that
    # name them). The default layer of the Grad-CAM cases is the last Conv node's output.
    Case("cnn_saliency", "saliency", 1, {"abs": True}, models=(CNN_MODEL,)),
    Case("cnn_integrated_gradients_b8", "integrated_gradients", 8, IG_PARAMS, models=(CNN_MODEL,), captum_calls=50),
    Case("cnn_deeplift", "deeplift", 1, {"baselines": 0.0}, models=(CNN_MODEL,), completeness_only=DEEPLIFT_NOTE),
    Case("cnn_deeplift_b16", "deeplift", 16, {"baselines": 0.0}, models=(CNN_MODEL,), completeness_only=DEEPLIFT_NOTE),
    Case("cnn_guided_backprop", "guided_backprop", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_deconvolution", "deconvolution", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_grad_cam", "grad_cam", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_grad_cam_b16", "grad_cam", 16, {}, models=(CNN_MODEL,)),
    Case("cnn_guided_grad_cam", "guided_grad_cam", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_lrp", "lrp", 1, {}, models=(CNN_MODEL,)),
    Case("cnn_lrp_b16", "lrp", 16, {}, models=(CNN_MODEL,)),
    Case("tree_shap", "tree_shap", 1, {}, models=(tree_model.NAME,), output={tree_model.NAME: "margin"},
         peer="shap_tree", peer_args=lambda nfeat: {}),
    # 100 instances per request / per shap_values call: the throughput case (instances per second).
    Case("tree_shap_b100", "tree_shap", TREE_BATCH, {}, models=(tree_model.NAME,), output={tree_model.NAME: "margin"},
         peer="shap_tree", peer_args=lambda nfeat: {}, captum_calls=50, captum_warmup=3,
         candor_calls=50, candor_warmup=3),
]
# Captum warns on every call that it set requires_grad on the input; that is expected.
warnings.filterwarnings("ignore", message=r"Input Tensor \d+ did not already require gradients")
# Agreement tolerance (float32): max |Candor − Captum| ≤ ATOL + RTOL · max |Captum|.
ATOL, RTOL = 1e-5, 1e-4
# A case is flagged as noisy when other processes kept more than this many cores busy.
NOISY_CORES = 0.25


# ---------------------------------------------------------------------------------------
# ONNX → torch
# ---------------------------------------------------------------------------------------

class ConstBinary(nn.Module):
    """x ∘ c or c ∘ x for a constant tensor c (Sub, Add, Mul, Div with an initializer)."""

    OPS = {"Sub": torch.sub, "Add": torch.add, "Mul": torch.mul, "Div": torch.div}

    def __init__(self, op: str, const: np.ndarray, const_first: bool):
        super().__init__()
        self.op = op
        self.const_first = const_first
        self.register_buffer("c", torch.tensor(np.asarray(const, dtype=np.float32)))

    def forward(self, x):
        f = self.OPS[self.op]
        return f(self.c, x) if self.const_first else f(x, self.c)

    def extra_repr(self):
        return f"{self.op}, const {tuple(self.c.shape)}, const_first={self.const_first}"


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def onnx_to_torch(path: Path, output: str | None = None):
    """An nn.Sequential equivalent to the chain of nodes from the model's only input to
    `output` (default: the first output). Supports the operators the demo models use plus
    a few neighbours; anything else raises with the node named."""
    proto = onnx.load(str(path))  # loads external data from beside the file
    consts = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"])
    inputs = [i.name for i in proto.graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise ValueError(f"{path.name}: expected one graph input, got {inputs}")
    target = output or proto.graph.output[0].name
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 17)
    current, layers, names = inputs[0], [], []
    for node in proto.graph.node:
        if current == target:
            break
        if node.op_type == "Constant":
            continue
        dynamic = [i for i in node.input if i and i not in consts]
        if current not in node.input:
            continue
        if dynamic != [current]:
            raise ValueError(f"{path.name}: node {node.name or node.op_type} is not a simple chain step")
        a, op = _attrs(node), node.op_type
        if op in ConstBinary.OPS:
            const_name = next(i for i in node.input if i in consts)
            layers.append(ConstBinary(op, consts[const_name], const_first=node.input[0] == const_name))
        elif op == "Gemm":
            if a.get("transA", 0):
                raise ValueError(f"{path.name}: Gemm with transA is not supported")
            w = consts[node.input[1]].astype(np.float32)
            w = w if a.get("transB", 0) else w.T  # Linear stores [out, in]
            lin = nn.Linear(w.shape[1], w.shape[0], bias=len(node.input) > 2 and bool(node.input[2]))
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(w * a.get("alpha", 1.0)))
                if lin.bias is not None:
                    c = consts[node.input[2]].astype(np.float32).reshape(-1)
                    lin.bias.copy_(torch.tensor(np.broadcast_to(c * a.get("beta", 1.0), (w.shape[0],)).copy()))
            layers.append(lin)
        elif op == "MatMul":
            w = consts[node.input[1]].astype(np.float32)
            lin = nn.Linear(w.shape[0], w.shape[1], bias=False)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(w.T))
            layers.append(lin)
        elif op == "Relu":
            layers.append(nn.ReLU())
        elif op == "Tanh":
            layers.append(nn.Tanh())
        elif op == "Sigmoid":
            layers.append(nn.Sigmoid())
        elif op == "Softmax":
            layers.append(nn.Softmax(dim=a.get("axis", -1 if opset >= 13 else 1)))
        elif op == "Identity":
            layers.append(nn.Identity())
        elif op == "Conv":
            w = consts[node.input[1]].astype(np.float32)
            pads = a.get("pads", [0] * 4)
            if pads[:2] != pads[2:] or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise ValueError(f"{path.name}: Conv {node.name} has asymmetric or automatic padding")
            conv = nn.Conv2d(w.shape[1] * a.get("group", 1), w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", [1, 1])),
                             padding=tuple(pads[:2]), dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1),
                             bias=len(node.input) > 2)
            with torch.no_grad():
                conv.weight.copy_(torch.tensor(w))
                if conv.bias is not None:
                    conv.bias.copy_(torch.tensor(consts[node.input[2]].astype(np.float32)))
            layers.append(conv)
        elif op == "MaxPool":
            pads = a.get("pads", [0] * 4)
            layers.append(nn.MaxPool2d(tuple(a["kernel_shape"]), stride=tuple(a.get("strides", a["kernel_shape"])),
                                       padding=tuple(pads[:2]), ceil_mode=bool(a.get("ceil_mode", 0))))
        elif op == "GlobalAveragePool":
            layers.append(nn.AdaptiveAvgPool2d(1))
        elif op == "Flatten":
            layers.append(nn.Flatten(a.get("axis", 1)))
        else:
            raise ValueError(f"{path.name}: operator {op} (node {node.name}) is not supported by the bench converter")
        current = node.output[0]
        names.append(current)
    if current != target:
        raise ValueError(f"{path.name}: output {target} is not reached by a chain from {inputs[0]}")
    module = nn.Sequential(*layers).eval()
    module.onnx_outputs = names  # the ONNX tensor each layer computes (layer methods name them)
    for p in module.parameters():
        p.requires_grad_(False)
    return module, inputs[0], target


def standardisation(module: nn.Sequential, n_features: int):
    """(mean, std) from a leading Sub-const / Div-const pair, else (0, 1)."""
    mean, std = np.zeros(n_features, np.float32), np.ones(n_features, np.float32)
    if len(module) >= 2 and all(isinstance(m, ConstBinary) for m in module[:2]):
        if module[0].op == "Sub" and module[1].op == "Div":
            mean, std = module[0].c.numpy(), module[1].c.numpy()
    return mean, std


def n_features_of(path: Path, input_name: str) -> int:
    proto = onnx.load(str(path), load_external_data=False)
    vi = next(i for i in proto.graph.input if i.name == input_name)
    dims = vi.type.tensor_type.shape.dim
    if len(dims) not in (2, 4) or not all(d.dim_value for d in dims[1:]):
        raise ValueError(f"{path.name}: the bench expects a [batch, features] or [batch, C, H, W] input, got {dims}")
    return int(np.prod([d.dim_value for d in dims[1:]]))


def instance_shape_of(path: Path, input_name: str) -> tuple:
    proto = onnx.load(str(path), load_external_data=False)
    vi = next(i for i in proto.graph.input if i.name == input_name)
    return tuple(d.dim_value for d in vi.type.tensor_type.shape.dim[1:])


# ---------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------

def summarise(seconds: list[float]) -> dict:
    a = np.asarray(seconds, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "median_ms": float(np.median(a) * 1e3),
        "p99_ms": float(np.percentile(a, 99) * 1e3),
        "mean_ms": float(a.mean() * 1e3),
        "min_ms": float(a.min() * 1e3),
        "max_ms": float(a.max() * 1e3),
        "sequential_per_s": float(a.size / a.sum()),
    }


def timed_loop(fn, warmup: int, n: int, max_seconds: float) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) * 1e-9)
        if time.perf_counter() > deadline:
            break
    return times


# ---------------------------------------------------------------------------------------
# HTTP client (standard library, one persistent connection per client)
# ---------------------------------------------------------------------------------------

HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "Cache-Control": "no-cache"}


class Client:
    def __init__(self, host: str, port: int, timeout: float = 120.0):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.connects = 0
        self._sock = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                if self.conn.sock is not self._sock:  # http.client (re)opened the connection
                    self.connects += 1
                    self._sock = self.conn.sock
                resp = self.conn.getresponse()
                return resp.status, resp.headers, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed a kept-alive connection: reopen once (counted in `connects`).
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        self.conn.close()


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")


def scrape(host: str, port: int) -> dict:
    """{(name, frozenset(labels)): value} from /metrics."""
    c = Client(host, port)
    try:
        status, _, data = c.request("GET", "/metrics")
    finally:
        c.close()
    out = {}
    if status != 200:
        return out
    for line in data.decode("utf-8", "replace").splitlines():
        m = METRIC_LINE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        try:
            out[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            pass
    return out


def metric_mean_ms(before: dict, after: dict, name: str, labels: dict) -> float | None:
    key_s = (name + "_sum", frozenset(labels.items()))
    key_c = (name + "_count", frozenset(labels.items()))
    dc = after.get(key_c, 0.0) - before.get(key_c, 0.0)
    ds = after.get(key_s, 0.0) - before.get(key_s, 0.0)
    return ds / dc * 1e3 if dc > 0 else None


def system_busy_seconds() -> float | None:
    """CPU seconds spent not idle, summed over all CPUs, from /proc/stat (Linux), or None."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class OtherLoad:
    """Cores used by other processes (neither this one nor the server) over a stretch of time."""

    def __init__(self, server_pid: int | None):
        self.pid = server_pid
        self.t, self.sys, self.me, self.srv = (time.perf_counter(), system_busy_seconds(), time.process_time(),
                                               process_cpu_seconds(server_pid))

    def cores(self) -> float | None:
        t, sys_, me, srv = time.perf_counter(), system_busy_seconds(), time.process_time(), process_cpu_seconds(self.pid)
        if None in (self.sys, sys_, self.srv, srv) or t <= self.t:
            return None
        return max(0.0, ((sys_ - self.sys) - (me - self.me) - (srv - self.srv)) / (t - self.t))


def process_cpu_seconds(pid: int | None) -> float | None:
    """utime + stime of a process from /proc (Linux), or None."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def throughput(host: str, port: int, path: str, body: bytes, threads: int, seconds: float,
               server_pid: int | None = None) -> dict:
    ok = [0] * threads
    statuses: list[Counter] = [Counter() for _ in range(threads)]
    failures: list[str] = []
    barrier = threading.Barrier(threads + 1)
    window = {}

    def worker(i: int):
        c = Client(host, port)
        try:
            c.request("POST", path, body, HEADERS)  # open the connection before the clock starts
        except Exception as e:  # noqa: BLE001
            failures.append(repr(e))
        barrier.wait()
        try:
            while time.perf_counter() < window["stop"]:  # re-read: set just after the barrier
                status, headers, _ = c.request("POST", path, body, HEADERS)
                statuses[i][status] += 1
                if status == 200 and headers.get("X-Cache") != "hit":
                    ok[i] += 1
        except Exception as e:  # noqa: BLE001
            failures.append(repr(e))
        finally:
            window.setdefault("ends", []).append(time.perf_counter())
            c.close()

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    window["stop"] = time.perf_counter() + 3600  # placeholder until all are connected
    barrier.wait()
    start = time.perf_counter()
    window["stop"] = start + seconds
    client_cpu0, server_cpu0 = time.process_time(), process_cpu_seconds(server_pid)
    for t in ts:
        t.join(timeout=seconds + 300)
    elapsed = max(window.get("ends", [time.perf_counter()])) - start
    client_cpu, server_cpu = time.process_time() - client_cpu0, process_cpu_seconds(server_pid)
    total = sum(statuses, Counter())
    return {
        "threads": threads,
        "seconds": elapsed,
        "ok": sum(ok),
        "requests_per_s": sum(ok) / elapsed if elapsed > 0 else 0.0,
        "statuses": {str(k): v for k, v in sorted(total.items())},
        "client_errors": failures[:5],
        # CPU used during the window, in cores (1.0 = one core busy all the time).
        "client_cpu_cores": client_cpu / elapsed if elapsed > 0 else None,
        "server_cpu_cores": (server_cpu - server_cpu0) / elapsed
        if server_cpu is not None and server_cpu0 is not None and elapsed > 0 else None,
    }


# ---------------------------------------------------------------------------------------
# Captum
# ---------------------------------------------------------------------------------------

def captum_call(module: nn.Module, method: str, x: torch.Tensor, target, kwargs: dict | None = None):
    kwargs = kwargs or {}
    if method == "saliency":
        explainer = Saliency(module)
        return lambda: explainer.attribute(x, target=target, abs=True)
    if method == "input_x_gradient":
        explainer = InputXGradient(module)
        return lambda: explainer.attribute(x, target=target)
    if method == "integrated_gradients":
        explainer = IntegratedGradients(module)
        # Candor always returns convergence_delta, so Captum computes it too.
        return lambda: explainer.attribute(
            x, baselines=torch.zeros_like(x), target=target, n_steps=IG_PARAMS["n_steps"],
            method=IG_PARAMS["integration"], return_convergence_delta=True)
    if method == "deeplift":
        explainer = DeepLift(module)
        return lambda: explainer.attribute(x, baselines=torch.zeros_like(x), target=target, return_convergence_delta=True)
    if method in ("guided_backprop", "deconvolution"):
        explainer = (GuidedBackprop if method == "guided_backprop" else Deconvolution)(module)
        return lambda: explainer.attribute(x, target=target)
    if method in ("grad_cam", "guided_grad_cam"):
        # Candor's default layer: the last Conv node's output.
        layer = module[max(i for i, m in enumerate(module) if isinstance(m, nn.Conv2d))]
        if method == "guided_grad_cam":
            explainer = GuidedGradCam(module, layer)
            return lambda: explainer.attribute(x, target=target, interpolate_mode="nearest")
        explainer = LayerGradCam(module, layer)
        return lambda: LayerAttribution.interpolate(explainer.attribute(x, target=target), tuple(x.shape[2:]), "bilinear")
    if method == "lrp":
        explainer = LRP(FunctionalFlatten(module))
        return lambda: explainer.attribute(x, target=target, return_convergence_delta=True)
    perturbation = {"feature_ablation": FeatureAblation, "occlusion": Occlusion,
                    "exact_shapley": ShapleyValues, "shapley_value_sampling": ShapleyValueSampling}
    if method in perturbation:
        explainer = perturbation[method](module)
        return lambda: explainer.attribute(x, baselines=0.0, target=target, **kwargs)
    raise ValueError(method)


class FunctionalFlatten(nn.Module):
    """The chain with its nn.Flatten layers applied as functions: Captum's LRP refuses any leaf
    module it has no rule for, Flatten included."""

    def __init__(self, module: nn.Sequential):
        super().__init__()
        self.parts = nn.ModuleList()
        self.flattens = []
        part = []
        for layer in module:
            if isinstance(layer, nn.Flatten):
                self.parts.append(nn.Sequential(*part))
                self.flattens.append(layer.start_dim)
                part = []
            else:
                part.append(layer)
        self.parts.append(nn.Sequential(*part))

    def forward(self, x):
        for index, part in enumerate(self.parts):
            x = part(x)
            if index < len(self.flattens):
                x = torch.flatten(x, self.flattens[index])
        return x


def f32_json(a: np.ndarray):
    """Nested lists of the shortest decimals that read back as the same float32 values."""
    a = np.asarray(a, dtype=np.float32)
    if a.ndim > 2:
        return [f32_json(item) for item in a]
    return [[float(str(np.float32(v))) for v in row] for row in a]


# ---------------------------------------------------------------------------------------
# shap / lime peers
# ---------------------------------------------------------------------------------------

PEER_NAMES = {"captum": "Captum", "shap": "SHAP", "lime": "LIME", "shap_tree": "SHAP Tree"}


def peer_times(row: dict) -> dict:
    """The peer's timings of a case row: {"threads_N": summary} (Captum: 1 and the default
    thread count; shap / lime: threads_1 only)."""
    return row.get("captum") or row.get("peer_timing") or {}


def peer_case(case: Case, name: str, path: Path, models_dir: Path, nfeat: int, x: np.ndarray, targets: list,
              output: str, out_values: np.ndarray, response: dict, row: dict, problems: list, args) -> None:
    """The shap / lime side of a case: agreement with Candor's first response (seeded reference
    call), then the timed loop of the whole peer call on one thread (peers.one_thread(),
    onnxruntime with 1 thread). Fills row["agreement"] and row["peer_timing"]."""
    if case.batch != 1:
        raise ValueError(f"{case.id}: the shap / lime peers explain one instance")
    model = peers.OrtModel(path)
    xi, target = x[0].astype(np.float64), targets[0]  # the float32 values Candor was sent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if case.peer == "shap":
            peer = peers.KernelShapPeer(model, output, target, xi, peers.sidecar_background(models_dir, name),
                                        **case.peer_args(nfeat))
            agree = peers.kernel_shap_agreement(peer, response, exact=not case.sampled)
        elif case.peer == "lime":
            peer = peers.LimePeer(model, name, output, target, xi, **case.peer_args(nfeat))
            agree = peers.lime_agreement(peer, response)
        else:
            raise ValueError(case.peer)
    e = response["explanations"][0]
    agree["output_max_abs_diff"] = (float(np.abs(np.asarray(e["output"], dtype=np.float64) - out_values[0]).max())
                                    if "output" in e else None)
    agree["targets_equal"] = [ex.get("target") for ex in response["explanations"]] == targets
    row["agreement"] = agree
    if agree["ok"] is False or not agree["targets_equal"]:
        keys = ("max_abs_diff", "max_abs_reference", "tolerance", "base_value_abs_diff", "shap_enumerated_all",
                "targets_equal")
        problems.append(f"{name}/{case.id}: Candor vs {PEER_NAMES[case.peer]} attributions differ: "
                        + str({k: agree[k] for k in keys if k in agree}))
    warm = case.captum_warmup if case.captum_warmup is not None else args.warmup
    calls = min(args.requests, case.captum_calls) if case.captum_calls else args.requests
    with peers.one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        row["peer_timing"] = {"threads_1": summarise(timed_loop(peer.explain, warm, calls, args.max_case_seconds))}


def timed_peer(fn, warmup: int, n: int, max_seconds: float) -> dict:
    """summarise(timed_loop(...)) plus the CPU this process used over the timed loop, in cores
    (≈ 1.0 when the peer really ran on one thread)."""
    for _ in range(warmup):
        fn()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    out = summarise(timed_loop(fn, 0, n, max_seconds))
    wall = time.perf_counter() - wall0
    out["cpu_cores"] = (time.process_time() - cpu0) / wall if wall > 0 else None
    return out


def tree_cases(name: str, cases: list, host: str, port: int, args, thread_settings, models_out: dict,
               cases_out: list, problems: list) -> None:
    """The tree_shap cases on the XGBoost model bench/tree_model.py trained into --models-dir:
    Candor over HTTP (as every case), SHAP's TreeExplainer in-process on one thread, agreement
    on every instance, and instances per second on both sides."""
    if not cases:
        return
    path = tree_model.path_in(args.models_dir)
    if not path.exists():
        problems.append(f"{name}: skipped the tree_shap cases: {path} does not exist (bench/run.sh trains it into the "
                        "folder it serves; by hand: bench/tree_model.py --models-dir DIR, then start the server on DIR)")
        print(f"\n== {name}: {path} does not exist; tree_shap cases skipped")
        return
    info = tree_model.describe(path)
    c = Client(host, port)
    status, _, data = c.request("GET", f"/v1/models/{name}")
    c.close()
    served = status == 200
    not_served = None
    if not served:
        not_served = (f"{name}: Candor answered {status} to GET /v1/models/{name} ({data[:160]!r}): the server does not "
                      "serve the XGBoost model (a binary older than tree-ensemble support skips NAME.json files; "
                      "otherwise look for 'refused model' in the server log); only SHAP's side of the tree_shap "
                      "cases was timed")
        problems.append(not_served)
    models_out[name] = {"kind": "xgboost", "path": str(path), "output": "margin", **info,
                        "candor_sha256": json.loads(data).get("sha256") if served else None, "served": served}
    print(f"\n== {name}: XGBoost JSON, {info['trees']} trees (max depth {info['depth_max']}, "
          f"{info['leaves_mean']:.1f} leaves a tree on average, {info['file_bytes'] / 1e6:.1f} MB), output 'margin'"
          + ("" if served else " — NOT SERVED by this Candor binary"))
    x_all = tree_model.instances(max(cs.batch for cs in cases))
    for case in cases:
        x = x_all[:case.batch]
        params = case.candor_params(info["features"])
        body = {"method": case.method, "inputs": f32_json(x), "output": "margin", "target": 0, "params": params}
        body_bytes = json.dumps(body, separators=(",", ":")).encode()
        route = f"/v1/models/{name}/explain"
        row = {"model": name, "case": case.id, "method": case.method, "batch": case.batch, "params": params,
               "peer": case.peer, "output": "margin", "sampled": False, "request_bytes": len(body_bytes),
               "peer_args": {"feature_perturbation": "tree_path_dependent", "model_output": "raw"}}
        print(f"-- {name} / {case.id} (batch {case.batch}, request {len(body_bytes)} B)", flush=True)
        other_load = OtherLoad(args.server_pid or None)
        response = None
        if served:
            response = candor_measure(host, port, route, body_bytes, case, args, row, problems, f"{name}/{case.id}")
        else:
            row["candor_error"] = "not served by this binary"
        tree_peer_case(case, name, path, x, response, row, problems, args)
        finish_row(row, case, other_load, thread_settings, cases_out)


def tree_peer_case(case: Case, name: str, path: Path, x: np.ndarray, response: dict | None, row: dict,
                   problems: list, args) -> None:
    """SHAP's side of a tree_shap case: agreement with Candor's first response (when there is
    one), then `explainer.shap_values(X)` timed on one thread (booster nthread=1 inside
    peers.one_thread()), XGBoost's bare pred_contribs for information, and instances/s."""
    peer = peers.TreeShapPeer(path, x)
    if response is not None:
        agree = peers.tree_shap_agreement(peer, response)
        agree["targets_equal"] = all(e.get("target") == 0 for e in response["explanations"])
        row["agreement"] = agree
        if not agree["ok"] or not agree["targets_equal"]:
            keys = ("max_abs_diff", "max_abs_reference", "tolerance", "base_value_abs_diff", "margin_max_abs_diff",
                    "targets_equal")
            problems.append(f"{name}/{case.id}: Candor vs SHAP TreeExplainer attributions differ: "
                            + str({k: agree[k] for k in keys if k in agree}))
    else:
        ref = peer.reference()
        row["peer_reference"] = {"base_value_shap": ref["base_value"],
                                 "shap_expected_value_before_first_call": peer.initial_expected_value,
                                 "shap_efficiency_max_abs_error": ref["efficiency_max_abs_error"]}
    warm = min(args.warmup, case.captum_warmup) if case.captum_warmup is not None else args.warmup
    calls = min(args.requests, case.captum_calls) if case.captum_calls else args.requests
    with peers.one_thread():
        row["peer_timing"] = {"threads_1": timed_peer(peer.explain, warm, calls, args.max_case_seconds)}
        # For information: XGBoost's own call without SHAP's wrapper (no additivity check).
        row["peer_alt"] = {"label": "booster.predict(DMatrix(X), pred_contribs=True) alone (not SHAP)",
                           "threads_1": timed_peer(peer.contribs, min(warm, 3), min(calls, 20), args.max_case_seconds)}
    batch = case.batch
    shap_med = row["peer_timing"]["threads_1"]["median_ms"]
    ips = {"shap_1t": batch / (shap_med / 1e3)}
    if "candor" in row:
        cl, tp = row["candor"]["latency"], row["candor"]["throughput"]
        ips["candor_sequential"] = batch / (cl["median_ms"] / 1e3)
        ips["ratio_candor_sequential_over_shap"] = ips["candor_sequential"] / ips["shap_1t"]
        ips["candor_concurrent"] = tp["requests_per_s"] * batch
        ips["candor_concurrent_server_cores"] = tp["server_cpu_cores"]
        if tp["server_cpu_cores"]:
            ips["candor_concurrent_per_server_core"] = ips["candor_concurrent"] / tp["server_cpu_cores"]
            ips["ratio_candor_per_server_core_over_shap"] = ips["candor_concurrent_per_server_core"] / ips["shap_1t"]
        if row["candor"].get("server_explain_mean_ms"):
            ips["candor_server_time"] = batch / (row["candor"]["server_explain_mean_ms"] / 1e3)
    row["instances_per_s"] = ips


def tree_throughput_text(r: dict) -> str:
    ips = r.get("instances_per_s") or {}
    out = f"instances/s: SHAP 1t {fmt(ips.get('shap_1t'), 0)}"
    if "candor_sequential" in ips:
        out += (f", Candor sequential {fmt(ips['candor_sequential'], 0)} (ratio Candor/SHAP "
                f"{fmt(ips['ratio_candor_sequential_over_shap'], 2)}), Candor {r['candor']['throughput']['threads']} "
                f"clients {fmt(ips['candor_concurrent'], 0)} on {fmt(ips.get('candor_concurrent_server_cores'), 2)} "
                "server cores")
    return out


def agreement_text(r: dict) -> str:
    """The agreement cell of a case row."""
    ag = r.get("agreement") or {}
    if r.get("peer") == "lime":
        same = ag.get("top_rules_same_set")
        return (f"top-{peers.LIME_TOP} rules {'same set' if same else 'differ' if same is not None else '—'} "
                "(sampled: not compared)")
    diff = fmt(ag.get("max_abs_diff"))
    if r.get("peer") == "shap_tree":
        if not ag:
            return "— (Candor not measured)"
        return (f"{diff} ({'ok' if ag.get('ok') else 'MISMATCH'}; base_value Δ {fmt(ag.get('base_value_abs_diff'))}, "
                f"{ag.get('instances')} instances)")
    if r.get("peer") == "shap":
        if r.get("sampled"):
            return (f"{diff} (sampled: not compared; SHAP seed 0 vs 1: "
                    f"{fmt(ag.get('shap_seed0_vs_seed1_max_abs'))})")
        return f"{diff} ({'ok' if ag.get('ok') else 'MISMATCH'}; base_value Δ {fmt(ag.get('base_value_abs_diff'))})"
    if r.get("sampled"):
        return f"{diff} (sampled: not compared; efficiency {'ok' if ag.get('ok') else 'FAILED'})"
    if "completeness_tolerance" in ag:
        return (f"{diff} (Captum #1104: not compared; Candor's delta {fmt(ag.get('candor_convergence_delta_max_abs'))} "
                f"{'ok' if ag.get('ok') else 'FAILED'}, Captum's {fmt(ag.get('captum_convergence_delta_max_abs'))})")
    return f"{diff} ({'ok' if ag.get('ok') else 'MISMATCH'})"


# ---------------------------------------------------------------------------------------
# One case: Candor's side, and the row's ratios and progress line
# ---------------------------------------------------------------------------------------

def candor_measure(host: str, port: int, route: str, body_bytes: bytes, case: Case, args, row: dict,
                   problems: list, label: str) -> dict | None:
    """Candor's side of a case: one fresh persistent connection, warm-ups, the timed requests
    (the server's own mean time from /metrics around them), then the concurrent throughput.
    Fills row["candor"] and returns the first response, or sets row["candor_error"] and
    returns None when Candor answered an error."""
    client = Client(host, port)
    first = client.request("POST", route, body_bytes, HEADERS)
    if first[0] != 200:
        msg = f"{label}: Candor answered {first[0]}: {first[2][:300]!r}"
        print("   " + msg)
        problems.append(msg)
        row["candor_error"] = msg
        client.close()
        return None
    response = json.loads(first[2])
    row["response_bytes"] = len(first[2])
    bad = Counter()

    def send():
        status, headers, _ = client.request("POST", route, body_bytes, HEADERS)
        if status != 200:
            bad[status] += 1
        elif headers.get("X-Cache") == "hit":
            bad["cache-hit"] += 1

    warmup = min(args.warmup, case.candor_warmup) if case.candor_warmup is not None else args.warmup
    requests = min(args.requests, case.candor_calls) if case.candor_calls else args.requests
    for _ in range(max(0, warmup - 1)):
        send()
    before = scrape(host, port)
    lat = timed_loop(send, 0, requests, args.max_case_seconds)
    after = scrape(host, port)
    client.close()
    row["candor"] = {
        "latency": summarise(lat),
        "server_explain_mean_ms": metric_mean_ms(before, after, "candor_explain_duration_seconds", {"method": case.method}),
        "server_http_mean_ms": metric_mean_ms(before, after, "candor_http_request_duration_seconds",
                                              {"route": "/v1/models/{name}/explain", "method": "POST", "status": "200"}),
        "connections_opened": client.connects,
        "bad_responses": {str(k): v for k, v in bad.items()},
    }
    if bad:
        problems.append(f"{label}: unexpected responses during latency loop: {dict(bad)}")
    if client.connects != 1:
        problems.append(f"{label}: the connection was reopened {client.connects - 1} time(s)")
    row["candor"]["throughput"] = throughput(host, port, route, body_bytes, args.throughput_threads,
                                             args.throughput_seconds, args.server_pid or None)
    tp = row["candor"]["throughput"]
    if set(tp["statuses"]) - {"200"} or tp["client_errors"]:
        problems.append(f"{label}: throughput run saw statuses {tp['statuses']} errors {tp['client_errors']}")
    return response


def finish_row(row: dict, case: Case, other_load: "OtherLoad", thread_settings, cases_out: list) -> None:
    """Ratios (peer time / Candor time per thread setting the peer was timed with), the row
    appended to cases_out, and the progress line."""
    row["other_cpu_cores"] = other_load.cores()
    row["ratios"] = {}
    peer_t = peer_times(row)
    cl = row["candor"]["latency"] if "candor" in row else None
    if cl is not None:
        for nt in thread_settings:
            if f"threads_{nt}" not in peer_t:  # shap / lime / SHAP's TreeExplainer: one thread only
                continue
            cp = peer_t[f"threads_{nt}"]
            row["ratios"][f"median_threads_{nt}"] = ratio(cp["median_ms"], cl["median_ms"])
            row["ratios"][f"p99_threads_{nt}"] = ratio(cp["p99_ms"], cl["p99_ms"])
    cases_out.append(row)
    agree = row.get("agreement") or {}
    pname = PEER_NAMES[case.peer]
    peer_text = "; ".join(f"{pname} {nt}t median {fmt(peer_t[f'threads_{nt}']['median_ms'])} ms"
                          for nt in thread_settings if f"threads_{nt}" in peer_t)
    if cl is None:
        print(f"   Candor: {row.get('candor_error', 'not measured')}; {peer_text}"
              + (f"; {tree_throughput_text(row)}" if "instances_per_s" in row else ""), flush=True)
        return
    tp = row["candor"]["throughput"]
    print(f"   Candor median {fmt(cl['median_ms'])} ms p99 {fmt(cl['p99_ms'])} ms (n={cl['n']}), "
          f"server mean {fmt(row['candor']['server_explain_mean_ms'])} ms, "
          f"{fmt(tp['requests_per_s'], 1)} req/s x{tp['threads']} "
          f"(CPU cores: server {fmt(tp['server_cpu_cores'], 2)}, client {fmt(tp['client_cpu_cores'], 2)}); "
          + peer_text
          + (f"; Captum {row['captum_alt']['label']}: "
             + ", ".join(f"{nt}t median {fmt(row['captum_alt'][f'threads_{nt}']['median_ms'])} ms"
                         for nt in thread_settings) if "captum_alt" in row else "")
          + (f"; {tree_throughput_text(row)}" if "instances_per_s" in row else "")
          + f"; {agreement_text(row)}"
          + (f" (efficiency error Candor {fmt(agree['candor_efficiency_max_abs_error'])}, "
             f"Captum {fmt(agree['captum_efficiency_max_abs_error'])}; vs {SVS_REFERENCE_SAMPLES}-sample "
             f"reference: Candor {fmt(agree['candor_vs_reference_max_abs'])}, "
             f"Captum {fmt(agree['captum_vs_reference_max_abs'])})" if case.sampled and case.peer == "captum" else "")
          + (f"; other processes {row['other_cpu_cores']:.2f} cores" if row["other_cpu_cores"] else ""),
          flush=True)


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------

def fmt(v, digits=3, unit=""):
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 10 ** -digits):
            return f"{v:.2e}{unit}"
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="Candor base URL, e.g. http://127.0.0.1:8080 (loopback)")
    p.add_argument("--models-dir", default=str(ROOT / "models"))
    p.add_argument("--models", default=f"iris_mlp,breast_cancer_mlp,{CNN_MODEL},{tree_model.NAME}",
                   help=f"models to run the cases on ({tree_model.NAME}: the XGBoost model of the tree_shap cases, "
                        "trained by bench/run.sh into the folder it serves)")
    p.add_argument("--cases", default=",".join(c.id for c in CASES),
                   help="case ids (a case listed for one model only is skipped on the others)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--requests", type=int, default=200, help="timed sequential requests / calls per case")
    p.add_argument("--max-case-seconds", type=float, default=20.0,
                   help="stop a timed loop early after this long (bounds the run with slow builds)")
    p.add_argument("--throughput-seconds", type=float, default=5.0)
    p.add_argument("--throughput-threads", type=int, default=4)
    p.add_argument("--label", default="", help="build label, e.g. release or debug")
    p.add_argument("--candor-bin", default="")
    p.add_argument("--server-pid", type=int, default=0, help="Candor's pid, to report its CPU use (optional)")
    p.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    args = p.parse_args()

    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"refusing non-loopback host {host}", file=sys.stderr)
        return 2
    known = {c.id for c in CASES}
    unknown = [c for c in args.cases.split(",") if c and c not in known]
    if unknown:
        print(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(c.id for c in CASES)}", file=sys.stderr)
        return 2
    wanted_cases = [c for c in CASES if c.id in args.cases.split(",")]
    model_names = [m for m in args.models.split(",") if m]
    # The shap / lime peers: import them (and load the training splits lime needs, which
    # imports scripts/train_demo_models.py) before anything is timed, so a missing package
    # fails now, not minutes into the run.
    peer_cases = [(c, m) for c in wanted_cases if c.peer != "captum" for m in model_names
                  if c.models is None or m in c.models]
    try:
        if any(c.peer == "shap" for c, _ in peer_cases):
            import shap  # noqa: F401
        if any(c.peer == "lime" for c, _ in peer_cases):
            import lime.lime_tabular  # noqa: F401
            for m in {m for c, m in peer_cases if c.peer == "lime"}:
                peers.training_split(peers.DATASETS[m])
        if any(c.peer == "shap_tree" for c, _ in peer_cases):
            import shap  # noqa: F401
            import sklearn  # noqa: F401
            import xgboost  # noqa: F401
        if peer_cases:
            import threadpoolctl  # noqa: F401
    except ImportError as e:
        print(f"the kernel_shap / lime / tree_shap cases need shap, lime, scikit-learn, PyYAML, xgboost and "
              f"threadpoolctl (bench/requirements.txt): {e}", file=sys.stderr)
        return 2
    default_threads = torch.get_num_threads()
    thread_settings = [1] if default_threads == 1 else [1, default_threads]
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    run_started = time.perf_counter()

    meta = {
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "label": args.label,
        "candor_bin": args.candor_bin,
        "candor_bin_mtime": _mtime(args.candor_bin),
        "candor_url": args.url,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "captum": _version("captum"),
        "onnxruntime": ort.__version__,
        "torch_default_threads": default_threads,
        "warmup": args.warmup,
        "requests": args.requests,
        "max_case_seconds": args.max_case_seconds,
        "throughput_seconds": args.throughput_seconds,
        "throughput_threads": args.throughput_threads,
        "agreement_tolerance": {"atol": ATOL, "rtol_of_max_abs": RTOL},
        "server_env": {k: v for k, v in os.environ.items() if k.startswith("CANDOR_")},
        "load_average_start": _loadavg(),
    }
    if peer_cases:
        meta["peer_versions"] = peers.versions()
        # What runs the shap / lime peers: every BLAS / OpenMP runtime and its thread count
        # inside peers.one_thread() (all 1), plus onnxruntime sessions with 1 intra/inter-op thread.
        meta["peer_threads"] = peers.thread_report()
        meta["kernel_shap_tolerance"] = {"atol": peers.KSHAP_ATOL, "rtol_of_max_abs": peers.KSHAP_RTOL}
        if any(c.peer == "shap_tree" for c, _ in peer_cases):
            meta["tree_shap_tolerance"] = {"atol": peers.TREE_ATOL, "rtol_of_max_abs": peers.TREE_RTOL}
    print(f"Candor vs Captum/SHAP/LIME — build: {args.label or '?'}  binary: {args.candor_bin or '?'}  url: {args.url}")
    print(f"torch {torch.__version__} (default threads {default_threads}), captum {meta['captum']}, "
          f"cpus {meta['cpus']}, {meta['cpu']}")

    models_out, cases_out, problems = {}, [], []
    if peer_cases:
        problems += peers.check_pins()

    # The HTTP floor: GET /healthz on one persistent connection (no JSON body, no compute).
    c = Client(host, port)
    floor = summarise(timed_loop(lambda: c.request("GET", "/healthz"), args.warmup, args.requests, args.max_case_seconds))
    c.close()
    meta["healthz_latency"] = floor
    print(f"HTTP floor (GET /healthz, persistent connection): median {fmt(floor['median_ms'])} ms, "
          f"p99 {fmt(floor['p99_ms'])} ms")
    for name in model_names:
        if name == tree_model.NAME:
            tree_cases(name, [c for c in wanted_cases if c.models is not None and name in c.models], host, port,
                       args, thread_settings, models_out, cases_out, problems)
            continue
        path = Path(args.models_dir) / f"{name}.onnx"
        module, input_name, output_name = onnx_to_torch(path)
        nfeat = n_features_of(path, input_name)
        shape = instance_shape_of(path, input_name)
        if len(shape) == 3:
            # An image model: uniform pixels in [0, 1], float32.
            x_all = rng.uniform(0, 1, (32,) + shape).astype(np.float32)
        else:
            mean, std = standardisation(module, nfeat)
            # Deterministic inputs in the model's own units: mean + std · N(0, 1), float32.
            x_all = (mean + std * rng.standard_normal((32, nfeat))).astype(np.float32)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        ort_out = sess.run([output_name], {input_name: x_all})[0]
        with torch.no_grad():
            torch_out = module(torch.tensor(x_all)).numpy()
        onnx_diff = float(np.abs(ort_out - torch_out).max())
        c = Client(host, port)
        status, _, data = c.request("GET", f"/v1/models/{name}")
        c.close()
        if status != 200:
            raise SystemExit(f"Candor does not serve {name}: GET /v1/models/{name} → {status} {data[:200]!r}")
        desc = json.loads(data)
        models_out[name] = {
            "path": str(path), "input": input_name, "output": output_name, "features": nfeat,
            "torch_module": repr(module), "torch_vs_onnxruntime_max_abs_diff": onnx_diff,
            "candor_sha256": desc.get("sha256"),
        }
        print(f"\n== {name}: torch rebuild vs onnxruntime max |diff| = {onnx_diff:.2e} "
              f"({len(module)} layers, output '{output_name}')")
        if onnx_diff > 1e-4:
            problems.append(f"{name}: rebuilt torch module differs from onnxruntime by {onnx_diff:.2e}")

        for case in wanted_cases:
            if case.models is not None and name not in case.models:
                continue
            if case.models is None and len(shape) == 3:
                continue  # the generic (tabular) cases do not run on image models
            case_id, method, batch = case.id, case.method, case.batch
            params = case.candor_params(nfeat)
            captum_kwargs = case.captum_kwargs(nfeat)
            x = x_all[:batch]
            case_output = case.output_of(name, output_name)
            # The explained output's values (onnxruntime); the targets are their argmax.
            case_out = torch_out if case_output == output_name else sess.run([case_output], {input_name: x_all})[0]
            targets = [int(t) for t in case_out[:batch].argmax(axis=1)]
            body = {"method": method, "inputs": f32_json(x), "output": case_output,
                    "target": targets[0] if batch == 1 else targets, "params": params}
            body_bytes = json.dumps(body, separators=(",", ":")).encode()
            route = f"/v1/models/{name}/explain"
            row = {"model": name, "case": case_id, "method": method, "batch": batch, "params": params,
                   "peer": case.peer, "output": case_output, "sampled": case.sampled,
                   "request_bytes": len(body_bytes)}
            if case.peer == "captum":
                row["captum_kwargs"] = _jsonable(captum_kwargs)
            else:
                row["peer_args"] = case.peer_args(nfeat)
            print(f"-- {name} / {case_id} (batch {batch}, request {len(body_bytes)} B)", flush=True)
            other_load = OtherLoad(args.server_pid or None)

            response = candor_measure(host, port, route, body_bytes, case, args, row, problems, f"{name}/{case_id}")
            if response is None:
                cases_out.append(row)
                continue
            tp = row["candor"]["throughput"]

            if case.peer == "captum":
                # Captum: reference values (default threads), then timings per thread setting.
                torch.set_num_threads(default_threads)
                xt = torch.tensor(x)
                target_arg = targets[0] if batch == 1 else torch.tensor(targets)
                fn = captum_call(module, method, xt, target_arg, captum_kwargs)
                torch.manual_seed(SEED)  # Captum's sampled orderings come from torch's generator
                ref = fn()
                ref_delta = None
                if isinstance(ref, tuple):
                    ref, ref_delta = ref
                ref = ref.detach().numpy()
                got = np.array([e["attributions"] for e in response["explanations"]], dtype=np.float64)
                got_out = np.array([e["output"] for e in response["explanations"]], dtype=np.float64)
                got_targets = [e["target"] for e in response["explanations"]]
                diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else None
                scale = float(np.abs(ref).max())
                agree = {
                    "max_abs_diff": diff,
                    "max_abs_reference": scale,
                    "relative_to_max": diff / scale if diff is not None and scale > 0 else None,
                    "ok": diff is not None and diff <= ATOL + RTOL * scale,
                    "output_max_abs_diff": float(np.abs(got_out - torch_out[:batch]).max()),
                    "targets_equal": got_targets == targets,
                }
                if ref_delta is not None:
                    cand_delta = np.array([e.get("convergence_delta", np.nan) for e in response["explanations"]])
                    agree["candor_convergence_delta_max_abs"] = float(np.nanmax(np.abs(cand_delta)))
                    agree["captum_convergence_delta_max_abs"] = float(ref_delta.abs().max())
                row["agreement"] = agree
                if case.sampled:
                    # Different random orderings on each side (Candor's seeded generator, torch's
                    # randperm in Captum): the values are not compared one by one. Checked instead:
                    # efficiency on both sides (every ordering's credits sum to f(x) − f(x′)), and
                    # both sides' distance to a high-sample Captum estimate, for information.
                    with torch.no_grad():
                        f_base = module(torch.zeros_like(xt)).numpy()
                    idx = np.arange(batch)
                    f_x, f_b = torch_out[:batch][idx, targets], f_base[idx, targets]
                    eff_tol = ATOL + RTOL * float(np.abs(f_x).max() + np.abs(f_b).max())
                    cand_eff = float(np.abs(got.sum(axis=1) - (f_x - f_b)).max())
                    capt_eff = float(np.abs(ref.sum(axis=1) - (f_x - f_b)).max())
                    torch.manual_seed(SEED + 1)
                    ref_hi = captum_call(module, method, xt, target_arg,
                                         {**captum_kwargs, "n_samples": SVS_REFERENCE_SAMPLES})().detach().numpy()
                    agree.update({
                        "compared": "sampled: not compared value by value (different random orderings)",
                        "ok": cand_eff <= eff_tol and capt_eff <= eff_tol,
                        "efficiency_tolerance": eff_tol,
                        "candor_efficiency_max_abs_error": cand_eff,
                        "captum_efficiency_max_abs_error": capt_eff,
                        "reference_samples": SVS_REFERENCE_SAMPLES,
                        "candor_vs_reference_max_abs": float(np.abs(got - ref_hi).max()),
                        "captum_vs_reference_max_abs": float(np.abs(ref - ref_hi).max()),
                    })
                    if not agree["ok"] or not agree["targets_equal"]:
                        problems.append(f"{name}/{case_id}: sampled attributions differ from f(x) − f(x′) "
                                        f"(efficiency) or targets differ: {agree}")
                elif case.completeness_only:
                    cand_delta = np.array([e.get("convergence_delta", np.nan) for e in response["explanations"]])
                    scale = float(np.abs(torch_out[:batch]).max())
                    agree.update({
                        "compared": case.completeness_only,
                        "ok": bool(np.nanmax(np.abs(cand_delta)) <= ATOL + RTOL * scale),
                        "completeness_tolerance": ATOL + RTOL * scale,
                    })
                    if not agree["ok"] or not agree["targets_equal"]:
                        problems.append(f"{name}/{case_id}: Candor's DeepLIFT is not complete: {agree}")
                elif not agree["ok"] or not agree["targets_equal"]:
                    problems.append(f"{name}/{case_id}: Candor vs Captum attributions differ: {agree}")

                warm = case.captum_warmup if case.captum_warmup is not None else args.warmup
                calls = min(args.requests, case.captum_calls) if case.captum_calls else args.requests
                row["captum"] = {}
                for nt in thread_settings:
                    torch.set_num_threads(nt)
                    fn = captum_call(module, method, xt, target_arg, captum_kwargs)
                    row["captum"][f"threads_{nt}"] = summarise(timed_loop(fn, warm, calls, args.max_case_seconds))
                if case.captum_alt:
                    label, alt = case.captum_alt
                    alt_kwargs = {**captum_kwargs, **alt(nfeat)}
                    row["captum_alt"] = {"label": label, "kwargs": _jsonable(alt_kwargs)}
                    torch.set_num_threads(default_threads)
                    if not case.sampled:
                        torch.manual_seed(SEED)
                        alt_ref = captum_call(module, method, xt, target_arg, alt_kwargs)()
                        row["captum_alt"]["max_abs_diff_vs_main_setting"] = float(np.abs(alt_ref.detach().numpy() - ref).max())
                    for nt in thread_settings:
                        torch.set_num_threads(nt)
                        fn = captum_call(module, method, xt, target_arg, alt_kwargs)
                        alt_lat = summarise(timed_loop(fn, warm, calls, args.max_case_seconds))
                        row["captum_alt"][f"threads_{nt}"] = alt_lat
                        row["captum_alt"][f"ratio_median_threads_{nt}"] = ratio(alt_lat["median_ms"], row["candor"]["latency"]["median_ms"])
                torch.set_num_threads(default_threads)
            else:
                # shap / lime (bench/peers.py): reference values, then one-thread timings.
                peer_case(case, name, path, Path(args.models_dir), nfeat, x, targets, case_output, case_out[:batch],
                          response, row, problems, args)

            finish_row(row, case, other_load, thread_settings, cases_out)

    meta["wall_seconds"] = time.perf_counter() - run_started
    meta["load_average_end"] = _loadavg()
    noisy = [f"{r['model']}/{r['case']} {r['other_cpu_cores']:.2f}" for r in cases_out
             if r.get("other_cpu_cores") is not None and r["other_cpu_cores"] > NOISY_CORES]
    if noisy:
        problems.append("other processes used CPU during the run (cores busy outside the bench and the server: "
                        + ", ".join(noisy) + "): timings are noisy; rerun on an idle machine")
    result = {"meta": meta, "models": models_out, "cases": cases_out, "problems": problems}
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result, thread_settings)
    (out_dir / "latest.md").write_text(md)
    print()
    print(table(cases_out, thread_settings))
    alt = alt_table(cases_out, thread_settings, markdown=False)
    if alt:
        print("\nCaptum with perturbations_per_eval=1 (its default) instead of the batched setting above:")
        print(alt)
    tput = tree_throughput_table(cases_out, markdown=False)
    if tput:
        print("\nTreeSHAP throughput, instances/s (ratio > 1: Candor faster; sequential = one request at a time):")
        print(tput)
    if problems:
        print("\nProblems:")
        for pr in problems:
            print("  - " + pr)
    print(f"\nwrote {out_dir / 'latest.json'} and {out_dir / 'latest.md'} ({meta['wall_seconds']:.0f} s)")
    return 1 if any("differ" in pr or "answered" in pr for pr in problems) else 0


def table(cases, thread_settings) -> str:
    head = ["model", "case", "peer", "batch", "Candor med ms", "Candor p99 ms", "server ms"]
    for nt in thread_settings:
        head += [f"peer{nt}t med ms", f"peer{nt}t p99 ms", f"ratio{nt}t med", f"ratio{nt}t p99"]
    head += ["Candor req/s", "max|diff| / agreement"]
    rows = []
    for r in cases:
        if "candor" not in r:
            rows.append([r["model"], r["case"], PEER_NAMES.get(r.get("peer"), "?"), str(r["batch"]), "ERROR"]
                        + [""] * (len(head) - 5))
            continue
        line = _timing_cells(r, thread_settings)
        line += [fmt(r["candor"]["throughput"]["requests_per_s"], 1), agreement_text(r)]
        rows.append(line)
    return _grid(head, rows, markdown=False)


def alt_table(cases, thread_settings, markdown: bool) -> str | None:
    """Captum's second setting (its default perturbations_per_eval=1) for the cases that time one."""
    head = ["model", "case", "batch", "Captum setting", "Candor median ms"]
    for nt in thread_settings:
        head += [f"Captum {nt}t median ms", f"ratio {nt}t (median)"]
    head += ["max abs diff vs main Captum setting"]
    rows = []
    for r in cases:
        alt = r.get("captum_alt")
        if not alt or "candor" not in r:
            continue
        line = [r["model"], r["case"], str(r["batch"]), alt["label"], fmt(r["candor"]["latency"]["median_ms"])]
        for nt in thread_settings:
            line += [fmt(alt[f"threads_{nt}"]["median_ms"]), fmt(alt[f"ratio_median_threads_{nt}"], 2)]
        line += [fmt(alt.get("max_abs_diff_vs_main_setting")) if "max_abs_diff_vs_main_setting" in alt
                 else "— (sampled)"]
        rows.append(line)
    return _grid(head, rows, markdown=markdown) if rows else None


def _timing_cells(r, thread_settings) -> list:
    """The cells both tables share: the case, its peer, Candor's latency, the peer's at each
    thread count and the ratios ("—" where the peer was not timed: shap / lime run on one
    thread only)."""
    cl = r["candor"]["latency"]
    line = [r["model"], r["case"], PEER_NAMES.get(r.get("peer", "captum"), "?"), str(r["batch"]),
            fmt(cl["median_ms"]), fmt(cl["p99_ms"]), fmt(r["candor"]["server_explain_mean_ms"])]
    pt = peer_times(r)
    for nt in thread_settings:
        cp = pt.get(f"threads_{nt}", {})
        line += [fmt(cp.get("median_ms")), fmt(cp.get("p99_ms")),
                 fmt(r["ratios"].get(f"median_threads_{nt}"), 2), fmt(r["ratios"].get(f"p99_threads_{nt}"), 2)]
    return line


def _grid(head, rows, markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if i > 2 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown(result, thread_settings) -> str:
    m = result["meta"]
    debug = "debug" in (m["label"] or "") or "/debug/" in (m["candor_bin"] or "")
    lines = [
        "# Candor vs Captum (and SHAP, LIME) — explain benchmark",
        "",
        f"- Run: {m['timestamp']}, build **{m['label'] or 'unknown'}** (`{m['candor_bin']}`), "
        f"{m['cpus']} CPUs ({m['cpu']}), {m['platform']}",
        f"- torch {m['torch']} (default threads {m['torch_default_threads']}), captum {m['captum']}, "
        f"onnxruntime {m['onnxruntime']}, Python {m['python']}",
        f"- Latency: {m['warmup']} warm-ups, then up to {m['requests']} sequential requests/calls "
        f"(each loop capped at {m['max_case_seconds']:g} s); Candor over one fresh persistent HTTP/1.1 "
        f"connection on loopback with `Cache-Control: no-cache`, cache disabled "
        f"(`CANDOR_CACHE_MAX_BYTES=0`). Throughput: {m['throughput_threads']} client threads, "
        f"{m['throughput_seconds']:g} s per case.",
        "- **Ratio = peer time / Candor time (the peer: Captum, or SHAP / LIME for `kernel_shap*` / `lime`, SHAP's "
        "TreeExplainer for `tree_shap*`); "
        "> 1 means Candor is faster.**",
        "- **Candor's time is end to end over HTTP: JSON encoding of the request, loopback TCP, "
        "parsing, validation, the computation, JSON encoding of the response and the Python "
        "client. Captum's time is the in-process `attribute(...)` call only** (tensor already "
        "built, no serialisation; SHAP's and LIME's: see below). \"server ms\" is the server's own mean time per explain "
        "(`candor_explain_duration_seconds` in /metrics: body decoding, computation, encoding).",
        f"- HTTP floor: `GET /healthz` on a persistent connection takes median "
        f"{fmt(m['healthz_latency'].get('median_ms'))} ms (p99 {fmt(m['healthz_latency'].get('p99_ms'))} ms) "
        "with this client; every Candor latency below includes at least that much.",
        "- Captum IG is timed with `return_convergence_delta=True` because Candor always returns "
        "`convergence_delta` (one extra forward pass on each side).",
        "- Perturbation methods: Candor is sent no `perturbations_per_eval` (its default: as many "
        "perturbations per forward pass as its memory budget allows). Captum gets its fastest "
        "setting: `FeatureAblation` `perturbations_per_eval` = number of features (all single-feature "
        "ablations in one pass), `Occlusion` (window 2, stride 1) = number of window positions, "
        "`ShapleyValues` = number of groups (Captum batches only within one ordering, so larger values "
        "change nothing), `ShapleyValueSampling` = number of features. Captum's default (1) is timed "
        "too for feature ablation, occlusion and Shapley value sampling (second table).",
        "- `exact_shapley`: Candor evaluates the 2ⁿ coalitions and weights the marginals; Captum "
        "`ShapleyValues` walks all n! orderings (24 for iris's 4 features, 720 for breast_cancer's 6 "
        "groups of 5 contiguous features, `feature_mask` a [1, 30] long tensor). Same values, different "
        "amount of work.",
        "",
    ]
    if m.get("peer_versions"):
        pv = m["peer_versions"]
        lines[-1:-1] = [
            f"- `kernel_shap*` and `lime` cases are measured against shap {pv.get('shap')} and lime "
            f"{pv.get('lime')} (scikit-learn {pv.get('scikit-learn')}, scipy {pv.get('scipy')}) instead of "
            "Captum (column \"peer\"): the model is onnxruntime on the same .onnx file, one thread "
            "(onnxruntime 1 intra/inter-op thread; BLAS/OpenMP limited to 1 by threadpoolctl), so only the "
            "1-thread columns are filled. The timed peer call is the whole explanation with its model calls: "
            "`shap.KernelExplainer(f, background).shap_values(x, nsamples, l1_reg=False)` (the explainer's "
            "construction runs f on the background for E[f], as Candor does per request), and lime's "
            "`explain_instance(x, fn, num_features, num_samples=5000)` on an explainer built once from the "
            "training split (as Candor's statistics are loaded with the model).",
        ]
    tree_rows = [r for r in result["cases"] if r.get("peer") == "shap_tree"]
    if tree_rows:
        pv = m.get("peer_versions") or {}
        tm = result["models"].get(tree_rows[0]["model"], {})
        lines[-1:-1] = [
            f"- `tree_shap*` cases are measured against shap {pv.get('shap')}'s `TreeExplainer(booster)` "
            "(path-dependent, `model_output=\"raw\"`), which for an XGBoost model hands the work to XGBoost's own "
            f"C++ TreeSHAP (`predict(pred_contribs=True)`, xgboost {pv.get('xgboost')}) plus a margin prediction "
            "for its additivity check: the timed peer call is `explainer.shap_values(X)`, explainer built once, "
            "booster `nthread=1` inside threadpoolctl's one-thread limit. The model: "
            f"`{tm.get('name')}`, {tm.get('trees')} trees of max_depth 6 ({fmt(tm.get('leaves_mean'), 1)} leaves a "
            "tree on average), an XGBoost binary classifier trained by `bench/tree_model.py` on a synthetic "
            "30-feature dataset and served from the bench's temporary models folder; explained output `margin`, "
            "target 0. Instances per second are in the table under the main one.",
        ]
    if debug:
        lines += ["> **DEBUG BUILD — these Candor numbers are not representative.** "
                  "Run `swift build -c release` and `bench/run.sh` for real numbers.", ""]
    head = ["model", "case", "peer", "batch", "Candor median ms", "Candor p99 ms", "server mean ms"]
    for nt in thread_settings:
        head += [f"peer {nt}t median ms", f"peer {nt}t p99 ms", f"ratio {nt}t (median)", f"ratio {nt}t (p99)"]
    head += [f"Candor req/s ({m['throughput_threads']} clients)", "CPU cores server / client",
             "peer 1t calls/s (sequential)", "max abs diff vs peer / agreement", "other load (cores)"]
    rows = []
    for r in result["cases"]:
        if "candor" not in r:
            rows.append([r["model"], r["case"], PEER_NAMES.get(r.get("peer"), "?"), str(r["batch"]),
                         "error: " + r.get("candor_error", "")] + [""] * (len(head) - 5))
            continue
        line = _timing_cells(r, thread_settings)
        tp = r["candor"]["throughput"]
        line += [fmt(tp["requests_per_s"], 1),
                 f"{fmt(tp['server_cpu_cores'], 2)} / {fmt(tp['client_cpu_cores'], 2)}",
                 fmt(peer_times(r).get("threads_1", {}).get("sequential_per_s"), 1),
                 agreement_text(r),
                 fmt(r.get("other_cpu_cores"), 2)]
        rows.append(line)
    lines += [_grid(head, rows, markdown=True), ""]
    alt = alt_table(result["cases"], thread_settings, markdown=True)
    if alt:
        lines += ["Captum with its default `perturbations_per_eval=1` (one forward pass per perturbation) "
                  "instead of the batched setting of the table above; same Candor numbers:", "", alt, ""]
    tput = tree_throughput_table(result["cases"], markdown=True)
    if tput:
        lines += ["TreeSHAP throughput, instances per second (batch ÷ median time per request / per call). "
                  "\"sequential\" is one request at a time on one connection (Candor computes one request on one "
                  "worker thread, so both sides use one core; Candor's includes HTTP and JSON); \"concurrent\" is "
                  f"the {m['throughput_threads']}-client throughput run, with the server cores it used and per core. "
                  "Ratio > 1: Candor is faster.", "", tput, ""]
    capped = [f"{r['model']}/{r['case']} (n = {peer_times(r)['threads_1']['n']})" for r in result["cases"]
              if "threads_1" in peer_times(r) and peer_times(r)["threads_1"].get("n", 0) < m["requests"]]
    if capped:
        lines += ["The peer's timed loop was shortened (per-case cap or the time limit) for: "
                  + ", ".join(capped) + "; its p99 there is close to the maximum.", ""]
    lines += _peer_notes(result["cases"])
    for r in result["cases"]:
        if r.get("sampled") and "agreement" in r and r.get("peer", "captum") == "captum":
            ag = r["agreement"]
            lines += [f"Sampled case {r['model']}/{r['case']}: Candor and Captum draw different random "
                      "orderings, so their values are not compared one by one (max |Candor − Captum| "
                      f"{fmt(ag['max_abs_diff'])} against max |Captum| {fmt(ag['max_abs_reference'])}, for "
                      "information). Checked instead: efficiency, Σ attributions = f(x) − f(x′), on both "
                      f"sides (max error Candor {fmt(ag['candor_efficiency_max_abs_error'])}, Captum "
                      f"{fmt(ag['captum_efficiency_max_abs_error'])}, tolerance {fmt(ag['efficiency_tolerance'])}). "
                      f"Distance to a {ag['reference_samples']}-ordering Captum estimate: Candor "
                      f"{fmt(ag['candor_vs_reference_max_abs'])}, Captum {fmt(ag['captum_vs_reference_max_abs'])} "
                      "(that estimate has sampling error of its own).", ""]
    lines += ["Agreement: max |Candor − Captum| over all attributions of the case, in the "
              f"attribution's units; ok when ≤ {ATOL:g} + {RTOL:g} · max |Captum attribution|. "
              f"Exact `kernel_shap` cases: max |Candor − SHAP| over the per-feature attributions (a group's "
              f"value on each of its features) and |Δ base_value|, ok when both ≤ {peers.KSHAP_ATOL:g} + "
              f"{peers.KSHAP_RTOL:g} · max |SHAP attribution| and SHAP enumerated every coalition. "
              f"`tree_shap` cases: max |Candor − SHAP| over every instance's attributions and |Candor base_value − "
              f"explainer.expected_value|, ok when both ≤ {peers.TREE_ATOL:g} + {peers.TREE_RTOL:g} · max |SHAP "
              "attribution|, and Candor's `margin` equal to XGBoost's predict(output_margin=True) within "
              f"{peers.TREE_ATOL:g} + {peers.TREE_RTOL:g} · max |margin|. "
              "Timed-loop sample counts (n) and convergence deltas are in latest.json. "
              "\"other load\" is the CPU (in cores) used during the case by processes other than the "
              "bench and the server, from /proc/stat; above "
              f"{NOISY_CORES:g} the case's timings are disturbed.", ""]
    lines += ["Models (rebuilt in torch from the ONNX initializers, compared with onnxruntime):", ""]
    for name, info in result["models"].items():
        if info.get("kind") == "xgboost":
            lines.append(f"- {name}: XGBoost JSON ({info['file_bytes'] / 1e6:.2f} MB), {info['trees']} trees, "
                         f"{info['leaves_total']} leaves ({fmt(info['leaves_mean'], 1)} a tree; p10/p50/p90 "
                         f"{'/'.join(f'{v:g}' for v in info['leaves_p10_p50_p90'])}), max depth {info['depth_max']}, "
                         f"{info['features']} features, `{info['objective']}`, base_score {info['base_score']}; "
                         + ("served by Candor" if info.get("served") else "**not served by this Candor binary**"))
            continue
        lines.append(f"- {name}: {info['features']} features, output `{info['output']}`, "
                     f"torch vs onnxruntime max |diff| {fmt(info['torch_vs_onnxruntime_max_abs_diff'])}")
    lines.append("")
    if result["problems"]:
        lines += ["Problems seen during the run:", ""] + [f"- {p}" for p in result["problems"]] + [""]
    else:
        lines += ["No errors, cache hits, reconnections or mismatches were seen during the run.", ""]
    return "\n".join(lines)


def tree_throughput_table(cases, markdown: bool) -> str | None:
    """Instances per second of the tree_shap cases, both sides, and the ratios."""
    head = ["model", "case", "batch", "SHAP 1t inst/s", "Candor sequential inst/s", "ratio sequential",
            "Candor concurrent inst/s", "server cores", "Candor inst/s per server core", "ratio per core",
            "SHAP CPU cores (timed loop)"]
    rows = []
    for r in cases:
        if r.get("peer") != "shap_tree" or "instances_per_s" not in r:
            continue
        ips = r["instances_per_s"]
        rows.append([r["model"], r["case"], str(r["batch"]), fmt(ips.get("shap_1t"), 0),
                     fmt(ips.get("candor_sequential"), 0), fmt(ips.get("ratio_candor_sequential_over_shap"), 2),
                     fmt(ips.get("candor_concurrent"), 0), fmt(ips.get("candor_concurrent_server_cores"), 2),
                     fmt(ips.get("candor_concurrent_per_server_core"), 0),
                     fmt(ips.get("ratio_candor_per_server_core_over_shap"), 2),
                     fmt(r["peer_timing"]["threads_1"].get("cpu_cores"), 2)])
    return _grid(head, rows, markdown=markdown) if rows else None


def _tree_note(r) -> str:
    ag = r.get("agreement")
    pt = r["peer_timing"]["threads_1"]
    alt = (r.get("peer_alt") or {}).get("threads_1") or {}
    timing = (f"SHAP `shap_values` median {fmt(pt.get('median_ms'))} ms (n = {pt.get('n')}, "
              f"{fmt(pt.get('cpu_cores'), 2)} CPU cores over the timed loop); XGBoost's `pred_contribs` alone, "
              f"without SHAP's DMatrix wrapper and additivity check: median {fmt(alt.get('median_ms'))} ms")
    where = f"TreeSHAP {r['model']}/{r['case']} ({r['batch']} instance{'s' if r['batch'] != 1 else ''}, `margin`)"
    if not ag:
        ref = r.get("peer_reference") or {}
        return (f"{where}: Candor not measured ({r.get('candor_error', '?')}); {timing}; SHAP expected_value "
                f"{fmt(ref.get('base_value_shap'), 6)} (before the first call "
                f"{fmt(ref.get('shap_expected_value_before_first_call'), 6)}), its own local-accuracy error {fmt(ref.get('shap_efficiency_max_abs_error'))}.")
    return (f"{where}: path-dependent on both sides: max |Candor − SHAP| {fmt(ag.get('max_abs_diff'))} over "
            f"{ag.get('instances')} instances (max |SHAP| {fmt(ag.get('max_abs_reference'))}, tolerance "
            f"{fmt(ag.get('tolerance'))}) — {'ok' if ag.get('ok') else 'MISMATCH'}; base_value Candor "
            f"{fmt(ag.get('base_value_candor'), 6)}, SHAP expected_value {fmt(ag.get('base_value_shap'), 6)} (before "
            f"the first shap_values call SHAP reports {fmt(ag.get('shap_expected_value_before_first_call'), 6)}, the "
            f"base margin alone); margin max |Candor − XGBoost| {fmt(ag.get('margin_max_abs_diff'))}; local accuracy "
            f"|Σφ + base − margin| Candor {fmt(ag.get('candor_efficiency_max_abs_error'))}, SHAP "
            f"{fmt(ag.get('shap_efficiency_max_abs_error'))}. {timing}.")


def _peer_notes(cases) -> list[str]:
    """Per-case details of the shap / lime cases for latest.md."""
    out = []
    for r in cases:
        ag = r.get("agreement")
        if r.get("peer") == "shap_tree":
            out += [_tree_note(r), ""]
            continue
        if not ag or r.get("peer") not in ("shap", "lime"):
            continue
        where = f"{r['model']}/{r['case']} (output `{r.get('output')}`)"
        if r["peer"] == "shap":
            common = (f"base_value Candor {fmt(ag.get('base_value_candor'))}, SHAP {fmt(ag.get('base_value_shap'))}; "
                      f"nsamples {ag.get('nsamples')}, {ag.get('groups')} groups, SHAP evaluated "
                      f"{ag.get('shap_coalitions')} coalitions; efficiency error Candor "
                      f"{fmt(ag.get('candor_efficiency_abs_error'))}, SHAP {fmt(ag.get('shap_efficiency_abs_error'))}")
            if r.get("sampled"):
                out += [f"KernelSHAP {where}: sampled coalitions on both sides (Candor's seeded generator, SHAP's "
                        "numpy global RNG), so not compared: max |Candor − SHAP| "
                        f"{fmt(ag.get('max_abs_diff'))} against max |SHAP| {fmt(ag.get('max_abs_reference'))}, for "
                        f"information; SHAP against itself (seed 0 vs seed 1): "
                        f"{fmt(ag.get('shap_seed0_vs_seed1_max_abs'))}. {common}.", ""]
            else:
                out += [f"KernelSHAP {where}: every coalition enumerated on both sides (exact Shapley values "
                        f"of the background-averaged game): max |Candor − SHAP| {fmt(ag.get('max_abs_diff'))} "
                        f"(max |SHAP| {fmt(ag.get('max_abs_reference'))}, tolerance {fmt(ag.get('tolerance'))}) "
                        f"— {'ok' if ag.get('ok') else 'MISMATCH'}; {common}.", ""]
        else:
            out += [f"LIME {where}, lime's {ag.get('mode')} mode: sampled on both sides, not compared. Top-"
                    f"{peers.LIME_TOP} rules by |weight| — Candor {ag.get('top_rules_candor')}, lime "
                    f"{ag.get('top_rules_lime')}: {'the same set' if ag.get('top_rules_same_set') else 'different sets'}; "
                    f"{ag.get('rules_in_common')} rules in common (max |Δ weight| {fmt(ag.get('max_abs_diff'))}); "
                    f"score Candor {fmt(ag['score'].get('candor'))}, lime {fmt(ag['score'].get('lime'))}; "
                    f"intercept Candor {fmt(ag['intercept'].get('candor'))}, lime {fmt(ag['intercept'].get('lime'))}.",
                    ""]
    return out


def _jsonable(kwargs: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, torch.Tensor) else list(v) if isinstance(v, tuple) else v)
            for k, v in kwargs.items()}


def _mtime(path: str):
    try:
        return _dt.datetime.fromtimestamp(os.path.getmtime(path), _dt.timezone.utc).isoformat(timespec="seconds")
    except OSError:
        return None


def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(mod: str) -> str:
    try:
        return __import__(mod).__version__
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    sys.exit(main())
