"""Initial values of parameters and state: PyTorch's defaults, seeded.

Where it sits: called by compiler.compile before the network is built. Which operand starts how is
the op table's fact (OpDef.init, ir/ops.py). Conv and dense weights and biases draw from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (what torch.nn.Conv2d / Linear do), batchnorm scales start at 1
and shifts at 0, running variances at 1, every other state at 0. Values known from the model file
(e.g. ONNX initializers) win.
"""

from __future__ import annotations

import math

import numpy as np

from ir.graph import Graph, Value
from ir.ops import OPS, Init
from ir.types import NUMPY_DTYPE


def _rule(graph: Graph, param: Value) -> tuple[Init, int]:
    """How `param` starts, from the op table (the first reader that declares a rule for the
    operand it reads), and the fan-in of that reader's weight."""
    for node in graph.users(param):
        op = OPS[node.op]
        for i, operand in enumerate(node.operands):
            if operand is param and op.initial(i) is not Init.ZEROS:
                weight = node.operands[1].type.shape if len(node.operands) > 1 else ()
                return op.initial(i), math.prod(int(d) for d in weight[1:])
    return Init.ZEROS, 0


def _composed_scale(graph: Graph, param: Value) -> bool:
    """How PyTorch starts a parameter that a layer composed of pointwise ops reads
    (compiler/frontend/compose.py: a LayerNorm scale is a [C] factor of a product, ones). The
    product op declares no initial value of its own (its operands are not parameters by
    nature), so being a [C] factor says which layer made it."""
    return param.type.rank == 1 and any(
        OPS[node.op].commutative and OPS[node.op].identity == 1.0 for node in graph.users(param))


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
        rule, fan_in = _rule(graph, v)
        if rule is Init.FAN_IN and v.role == "param" and fan_in:
            bound = 1.0 / math.sqrt(fan_in)
            out[v.name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
        elif rule is Init.ONES:
            out[v.name] = np.ones(shape, dtype=dtype)
        elif rule is Init.NORMAL and v.role == "param":
            out[v.name] = rng.standard_normal(shape).astype(dtype)
        elif v.role == "param" and _composed_scale(graph, v):
            out[v.name] = np.ones(shape, dtype=dtype)
        else:
            out[v.name] = np.zeros(shape, dtype=dtype)
    return out


