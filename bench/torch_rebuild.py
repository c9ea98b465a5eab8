"""The ONNX model rebuilt in torch, for the Captum side of bench/compare.py.

Each ONNX graph is rebuilt as a torch.nn.Sequential from its initializers (Sub/Div by constants
for the standardisation, Gemm → nn.Linear, ReLU, Tanh, Conv, MaxPool, …), following the chain
from the input to the explained output. It does not import scripts/train_demo_models.py for the
model: that module, on import, sets torch to one thread and deterministic algorithms, which would
bias the default-threads timing; rebuilding from the file also guarantees the weights are exactly
the ones Candor serves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn


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
        layers.append(_layer(path, node, consts, opset))
        current = node.output[0]
        names.append(current)
    if current != target:
        raise ValueError(f"{path.name}: output {target} is not reached by a chain from {inputs[0]}")
    module = nn.Sequential(*layers).eval()
    module.onnx_outputs = names  # the ONNX tensor each layer computes (layer methods name them)
    for p in module.parameters():
        p.requires_grad_(False)
    return module, inputs[0], target


# Operators without weights or attributes the bench needs.
_PLAIN = {"Relu": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid, "Identity": nn.Identity,
          "GlobalAveragePool": lambda: nn.AdaptiveAvgPool2d(1)}


def _layer(path: Path, node, consts: dict, opset: int) -> nn.Module:
    """The torch layer of one chain node."""
    a, op = _attrs(node), node.op_type
    if op in ConstBinary.OPS:
        const_name = next(i for i in node.input if i in consts)
        return ConstBinary(op, consts[const_name], const_first=node.input[0] == const_name)
    if op in _PLAIN:
        return _PLAIN[op]()
    if op == "Softmax":
        return nn.Softmax(dim=a.get("axis", -1 if opset >= 13 else 1))
    if op == "Flatten":
        return nn.Flatten(a.get("axis", 1))
    if op == "MaxPool":
        pads = a.get("pads", [0] * 4)
        return nn.MaxPool2d(tuple(a["kernel_shape"]), stride=tuple(a.get("strides", a["kernel_shape"])),
                            padding=tuple(pads[:2]), ceil_mode=bool(a.get("ceil_mode", 0)))
    weighted = {"Gemm": _gemm, "MatMul": _matmul, "Conv": _conv}
    if op in weighted:
        return weighted[op](path, node, a, consts)
    raise ValueError(f"{path.name}: operator {op} (node {node.name}) is not supported by the bench converter")


def _gemm(path: Path, node, a: dict, consts: dict) -> nn.Linear:
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
    return lin


def _matmul(path: Path, node, a: dict, consts: dict) -> nn.Linear:
    w = consts[node.input[1]].astype(np.float32)
    lin = nn.Linear(w.shape[0], w.shape[1], bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w.T))
    return lin


def _conv(path: Path, node, a: dict, consts: dict) -> nn.Conv2d:
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
    return conv


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
