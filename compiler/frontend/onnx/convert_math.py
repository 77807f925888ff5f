"""ONNX converters of pointwise math, softmax and reductions.

Where it sits: registers into compiler/frontend/onnx/registry.CONVERTERS. Arithmetic on two
constants is folded here with numpy (exporters compute shapes and scales that way); every other
node becomes the IR op of the same meaning, named after the node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compiler.frontend.onnx.importer import NodeContext
from compiler.frontend.onnx.registry import converter
from ir.graph import Value

_BINARY = {"Add": ("add", np.add), "Sub": ("sub", np.subtract), "Mul": ("mul", np.multiply),
           "Div": ("div", np.divide)}
_UNARY = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp", "Log": "log",
          "Sqrt": "sqrt", "Neg": "neg"}


def operands(cx: NodeContext, *positions: int) -> list[Value]:
    """Inputs as values; a constant takes the dtype of the first input that is a value."""
    found = (cx.importer.env.get(cx.node.input[i]) for i in positions)
    like = next((v.type for v in found if isinstance(v, Value)), None)
    return [cx.value(i, like) for i in positions]


@converter(*_BINARY)
def _binary(cx: NodeContext) -> None:
    op, fold = _BINARY[cx.op_type]
    env = cx.importer.env
    a, b = (env.get(name) for name in cx.node.input[:2])
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        cx.finish(np.asarray(fold(a, b)).astype(np.result_type(a, b)))
        return
    cx.finish(cx.add(op, operands(cx, 0, 1)))


@converter(*_UNARY)
def _unary(cx: NodeContext) -> None:
    cx.finish(cx.add(_UNARY[cx.op_type], [cx.value(0)]))


@converter("LeakyRelu")
def _leaky_relu(cx: NodeContext) -> None:
    cx.finish(cx.add("leaky_relu", [cx.value(0)], {"alpha": cx.attrs.get("alpha", 0.01)}))


@converter("Clip", static=(1, 2))
def _clip(cx: NodeContext) -> None:
    low, high = cx.scalar(1), cx.scalar(2)
    attrs = {"min": -np.inf if low is None else low, "max": np.inf if high is None else high}
    cx.finish(cx.add("clip", [cx.value(0)], attrs))


@converter("Softmax", "LogSoftmax")
def _softmax(cx: NodeContext) -> None:
    op = "softmax" if cx.op_type == "Softmax" else "log_softmax"
    cx.finish(cx.add(op, [cx.value(0)], {"axis": cx.attrs.get("axis", -1)}))


def _reduce_axes(cx: NodeContext, rank: int) -> list[int] | None:
    """The reduced axes, normalized; None when the node is a no-op (empty axes with
    noop_with_empty_axes)."""
    axes = cx.ints(1) if cx.has(1) else cx.attrs.get("axes")
    if not axes:
        return None if cx.attrs.get("noop_with_empty_axes", 0) else list(range(rank))
    for ax in axes:
        if not -rank <= ax < rank:
            raise cx.fail(f"axis {ax} out of range for rank {rank}")
    return sorted({ax % rank for ax in axes})


_GLOBAL = {"ReduceMean": "global_avgpool", "ReduceMax": "global_maxpool"}
_REDUCE = {"ReduceSum": "reduce_sum", "ReduceMean": "reduce_mean", "ReduceMax": "reduce_max"}


@converter(*_REDUCE, static=(1,))
def _reduce(cx: NodeContext) -> None:
    x = cx.value(0)
    axes = _reduce_axes(cx, x.type.rank)
    if axes is None:
        cx.finish(x)
        return
    keepdims = bool(cx.attrs.get("keepdims", 1))
    if cx.op_type in _GLOBAL and x.type.rank == 4 and axes == [2, 3]:
        # the spatial mean/max of NCHW features is a global pool (its own kernel)
        pooled = cx.add(_GLOBAL[cx.op_type], [x], part="pool")
        if not keepdims:
            pooled = cx.add("reshape", [pooled], {"shape": x.type.shape[:2]}, part="squeeze")
        cx.finish(pooled)
        return
    attrs: dict[str, Any] = {"axes": axes, "keepdims": keepdims}
    cx.finish(cx.add(_REDUCE[cx.op_type], [x], attrs))
