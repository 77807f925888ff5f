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
          "Sqrt": "sqrt", "Neg": "neg", "Abs": "abs"}


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


@converter("Clip")
def _clip(cx: NodeContext) -> None:
    """Constant bounds are attributes of `clip`; bounds computed (or fed) at run time are
    tensors: max(x, low) then min(., high), which is Clip's definition."""
    x = cx.value(0)
    constant = [i for i in (1, 2) if not cx.has(i) or _is_constant(cx, i)]
    low = cx.scalar(1) if 1 in constant else None
    high = cx.scalar(2) if 2 in constant else None
    if low is not None or high is not None or len(constant) == 2:
        attrs = {"min": -np.inf if low is None else low, "max": np.inf if high is None else high}
        x = cx.add("clip", [x], attrs, part=None if len(constant) == 2 else "bounds")
    for i, op in ((1, "maximum"), (2, "minimum")):
        if i not in constant:
            x = cx.add(op, [x, cx.value(i, x.type)], part=None if i == 2 or 2 in constant
                       else "low")
    cx.finish(x)


def _is_constant(cx: NodeContext, i: int) -> bool:
    return isinstance(cx.importer.env.get(cx.node.input[i]), np.ndarray)


_EXTREMUM = {"Max": ("maximum", np.maximum), "Min": ("minimum", np.minimum)}


@converter(*_EXTREMUM)
def _extremum(cx: NodeContext) -> None:
    """n-ary Max/Min with broadcasting: a chain of binary maximum/minimum (constants fold)."""
    op, fold = _EXTREMUM[cx.op_type]
    present = [i for i, name in enumerate(cx.node.input) if name]
    if all(_is_constant(cx, i) for i in present):
        arrays = [a for i in present if (a := cx.static(i)) is not None]
        result = np.asarray(arrays[0])
        for a in arrays[1:]:
            result = np.asarray(fold(result, a))
        cx.finish(result)
        return
    values = operands(cx, *present)
    y = values[0]
    for k, v in enumerate(values[1:], start=1):
        y = cx.add(op, [y, v], part=None if k == len(values) - 1 else f"step{k}")
    cx.finish(y)


_POWERS = {1.0: None, 2.0: "mul", 0.5: "sqrt"}


@converter("Pow")
def _pow(cx: NodeContext) -> None:
    """x ** y; a constant exponent of 1, 2 or 0.5 is the identity, x * x or sqrt(x)."""
    env = cx.importer.env
    base, exponent = (env.get(name) for name in cx.node.input[:2])
    if isinstance(base, np.ndarray) and isinstance(exponent, np.ndarray):
        cx.finish(np.asarray(np.power(base, exponent)).astype(base.dtype))
        return
    if isinstance(exponent, np.ndarray) and exponent.size == 1 and isinstance(base, Value):
        scalar = float(exponent.reshape(-1)[0])
        fits = exponent.ndim <= base.type.rank  # else broadcasting would add axes
        if fits and scalar in _POWERS:
            op = _POWERS[scalar]
            if op is None:
                cx.finish(base)
            else:
                cx.finish(cx.add(op, [base, base] if op == "mul" else [base]))
            return
    cx.finish(cx.add("pow", operands(cx, 0, 1)))


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
_COMPOSED = ("ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
             "ReduceLogSumExp")


@converter(*_REDUCE, *_COMPOSED, static=(1,))
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
    if cx.op_type in _REDUCE:
        cx.finish(cx.add(_REDUCE[cx.op_type], [x], attrs))
        return
    cx.finish(_composed_reduce(cx, x, attrs))


def _composed_reduce(cx: NodeContext, x: Value, attrs: dict[str, Any]) -> Value:
    """The other reductions as what ONNX defines them to be, in ops that exist:
    min = -max(-x), L1 = sum |x|, L2 = sqrt(sum x^2), SumSquare = sum x^2,
    LogSum = log(sum x), LogSumExp = m + log(sum exp(x - m)) with m = max x (kept dims)."""
    op = cx.op_type
    if op == "ReduceMin":
        flipped = cx.add("neg", [x], part="flip")
        return cx.add("neg", [cx.add("reduce_max", [flipped], attrs, part="max")])
    if op == "ReduceL1":
        return cx.add("reduce_sum", [cx.add("abs", [x], part="abs")], attrs)
    if op == "ReduceLogSumExp":
        top = cx.add("reduce_max", [x], {**attrs, "keepdims": True}, part="max")
        exp = cx.add("exp", [cx.add("sub", [x, top], part="shifted")], part="exp")
        total = cx.add("reduce_sum", [exp], attrs, part="sum")
        if not attrs["keepdims"]:
            shape = total.type.shape
            top = cx.add("reshape", [top], {"shape": shape}, part="max_dropped")
        return cx.add("add", [top, cx.add("log", [total], part="log")])
    if op == "ReduceLogSum":
        return cx.add("log", [cx.add("reduce_sum", [x], attrs, part="sum")])
    squares = cx.add("mul", [x, x], part="square")
    if op == "ReduceSumSquare":
        return cx.add("reduce_sum", [squares], attrs)
    return cx.add("sqrt", [cx.add("reduce_sum", [squares], attrs, part="sum")])  # ReduceL2
