"""Initial values of parameters and state: PyTorch's defaults, seeded.

Where it sits: called by compiler.compile before the network is built. Conv and dense weights
and biases draw from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (what torch.nn.Conv2d / Linear do),
batchnorm scales start at 1 and shifts at 0, running variances at 1, every other state at 0.
Values known from the model file (e.g. ONNX initializers) win.
"""

from __future__ import annotations

import math

import numpy as np

from ir.graph import Graph, Value
from ir.types import NUMPY_DTYPE


def _fan_in(graph: Graph, param: Value) -> int | None:
    for node in graph.users(param):
        if node.op in ("conv2d", "dense") and param in node.operands[1:]:
            w = node.operands[1].type.shape
            return math.prod(int(d) for d in w[1:])
    return None


def _composed_init(graph: Graph, param: Value) -> str | None:
    """How PyTorch starts a parameter that a composed layer (compiler/frontend/compose.py)
    reads: an embedding table N(0, 1), a Linear weight over the last axis (a [out, in] factor
    of a product) U(+-1/sqrt(in)), a LayerNorm scale (a [C] factor) ones."""
    for node in graph.users(param):
        if node.op == "embedding" and node.operands[0] is param:
            return "normal"
        if node.op == "mul" and param.type.rank in (1, 2):
            return "linear" if param.type.rank == 2 else "ones"
    return None


def _batchnorm_role(graph: Graph, param: Value) -> int | None:
    for node in graph.users(param):
        if node.op == "batchnorm":
            return node.operands.index(param)
    return None


def initial_values(graph: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays for every param and state input of `graph`, in input order."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for v in graph.inputs_with_role("param", "state"):
        dtype = NUMPY_DTYPE[v.type.dtype]
        shape = tuple(int(d) for d in v.type.shape)
        if v.name in graph.initializers:
            out[v.name] = np.array(graph.initializers[v.name], dtype=dtype).reshape(shape)
            continue
        fan_in = _fan_in(graph, v) if v.role == "param" else None
        bn = _batchnorm_role(graph, v)
        if fan_in:
            bound = 1.0 / math.sqrt(fan_in)
            out[v.name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
        elif bn in (1, 4):  # scale, running variance
            out[v.name] = np.ones(shape, dtype=dtype)
        elif v.role == "param" and (composed := _composed_init(graph, v)) is not None:
            out[v.name] = _draw(rng, composed, shape).astype(dtype)
        else:
            out[v.name] = np.zeros(shape, dtype=dtype)
    return out


def _draw(rng: np.random.Generator, how: str, shape: tuple[int, ...]) -> np.ndarray:
    if how == "normal":
        return rng.standard_normal(shape)
    if how == "linear":
        bound = 1.0 / math.sqrt(shape[1])
        return rng.uniform(-bound, bound, size=shape)
    return np.ones(shape)
