"""ONNX converters of the layers: Conv, MaxPool, AveragePool, the global pools,
BatchNormalization, Gemm, MatMul and Dropout.

Where it sits: registers into compiler/frontend/onnx/registry.CONVERTERS. netc's windows are
2-D: a 1-D convolution or pool runs as a 2-D one over a height of 1 (reshapes are views, so the
lift costs nothing); 3-D ones are rejected. Gemm with a [out, in] weight (PyTorch's Linear)
becomes `dense`, so an imported model shows the same layers as its YAML twin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from compiler.frontend import compose
from compiler.frontend.onnx.convert_compose import emitter
from compiler.frontend.onnx.importer import NodeContext
from compiler.frontend.onnx.registry import Shapes, converter
from ir.graph import Value
from ir.types import Dim

# ---------------------------------------------------------------- windows


def _spatial_rank(node: Any, attrs: Mapping[str, Any], shapes: Shapes) -> int | None:
    if "kernel_shape" in attrs:
        return len(attrs["kernel_shape"])
    weight = shapes.rank(node.input[1]) if len(node.input) > 1 else None
    return None if weight is None else weight - 2


def _window_check(node: Any, attrs: Mapping[str, Any], shapes: Shapes) -> str | None:
    rank = _spatial_rank(node, attrs, shapes)
    if rank is not None and rank not in (1, 2):
        return f"{rank}-D; netc's windows are 1-D and 2-D"
    return None


def window_pads(cx: NodeContext, sizes: Sequence[Dim], kernel: Sequence[int],
                strides: Sequence[int], dilations: Sequence[int]) -> list[int]:
    """ONNX pads [begin..., end...] for the node's auto_pad."""
    mode = cx.attrs.get("auto_pad", "NOTSET")
    k = len(kernel)
    if mode in ("NOTSET", ""):
        return list(cx.attrs.get("pads", [0] * 2 * k))
    if mode == "VALID":
        return [0] * 2 * k
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        raise cx.fail(f"unknown auto_pad '{mode}'")
    begin, end = [], []
    for size, kk, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        if not isinstance(size, int):
            raise cx.fail("auto_pad needs static spatial sizes")
        out = -(-size // s)
        total = max(0, (out - 1) * s + (kk - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begin.append(small if mode == "SAME_UPPER" else large)
        end.append(large if mode == "SAME_UPPER" else small)
    return begin + end


class Window:
    """A window op's geometry in 2-D: 1-D nodes are lifted to a height of 1."""

    def __init__(self, cx: NodeContext, x: Value, kernel: Sequence[int]) -> None:
        self.cx = cx
        self.x = x
        self.lifted = len(kernel) == 1
        spatial = x.type.rank - 2
        if spatial != len(kernel):
            raise cx.fail(f"input {x.type} does not have {len(kernel)} spatial dims")
        ones = [1] * len(kernel)
        strides = list(cx.attrs.get("strides", ones))
        dilations = list(cx.attrs.get("dilations", ones))
        pads = window_pads(cx, list(x.type.shape[2:]), kernel, strides, dilations)
        if self.lifted:
            kernel, strides, dilations = [1, *kernel], [1, *strides], [1, *dilations]
            pads = [0, pads[0], 0, pads[1]]
        self.kernel, self.stride, self.dilation, self.pad = kernel, strides, dilations, pads

    def input(self) -> Value:
        if not self.lifted:
            return self.x
        n, c, length = self.x.type.shape
        return self.cx.add("reshape", [self.x], {"shape": (n, c, 1, length)}, part="in2d")

    def output(self, y: Value) -> Value:
        if not self.lifted:
            return y
        n, c, _, length = y.type.shape
        return self.cx.add("reshape", [y], {"shape": (n, c, length)}, part="out1d")

    def attrs(self) -> dict[str, Any]:
        return {"stride": self.stride, "pad": self.pad, "dilation": self.dilation}


@converter("Conv", check=_window_check)
def _conv(cx: NodeContext) -> None:
    x = cx.value(0)
    w = cx.parameter(1, "param")
    kernel = list(cx.attrs.get("kernel_shape", w.type.shape[2:]))
    win = Window(cx, x, kernel)
    if win.lifted:
        o, cg, k = w.type.shape
        w = cx.add("reshape", [w], {"shape": (o, cg, 1, k)}, part="weight2d")
    operands = [win.input(), w]
    if cx.has(2):
        operands.append(cx.parameter(2, "param"))
    y = cx.add("conv2d", operands, {**win.attrs(), "groups": cx.attrs.get("group", 1)},
               part="conv")
    cx.finish(win.output(y))


def _pool_check(node: Any, attrs: Mapping[str, Any], shapes: Shapes) -> str | None:
    if attrs.get("storage_order", 0):
        return "storage_order=1"
    return _window_check(node, attrs, shapes)


@converter("MaxPool", "AveragePool", check=_pool_check)
def _pool(cx: NodeContext) -> None:
    x = cx.value(0)
    win = Window(cx, x, list(cx.attrs["kernel_shape"]))
    attrs = {**win.attrs(), "kernel": win.kernel, "ceil_mode": bool(cx.attrs.get("ceil_mode", 0))}
    if cx.op_type == "MaxPool":
        op = "maxpool2d"
    else:
        op = "avgpool2d"
        attrs["count_include_pad"] = bool(cx.attrs.get("count_include_pad", 0))
    cx.finish(win.output(cx.add(op, [win.input()], attrs, part="pool")))


@converter("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(cx: NodeContext) -> None:
    x = cx.value(0)
    average = cx.op_type == "GlobalAveragePool"
    if x.type.rank == 4:
        cx.finish(cx.add("global_avgpool" if average else "global_maxpool", [x]))
        return
    axes = list(range(2, x.type.rank))
    cx.finish(cx.add("reduce_mean" if average else "reduce_max", [x],
                     {"axes": axes, "keepdims": True}))


# ---------------------------------------------------------------- normalization, dropout

@converter("BatchNormalization", outputs=3)
def _batchnorm(cx: NodeContext) -> None:
    if cx.attrs.get("training_mode", 0):
        _batchnorm_training(cx)
        return
    x = cx.value(0)
    operands = [cx.parameter(1, "param"), cx.parameter(2, "param"),
                cx.parameter(3, "running_mean"), cx.parameter(4, "running_var")]
    # ONNX: running = momentum * running + (1 - momentum) * batch; netc (PyTorch) weighs the
    # batch by its momentum.
    momentum = round(1.0 - cx.attrs.get("momentum", 0.9), 12)  # 0.1, not 0.09999999999999998
    attrs = {"eps": cx.attrs.get("epsilon", 1e-5), "momentum": momentum}
    shape = x.type.shape
    if x.type.rank in (2, 4):
        cx.finish(cx.add("batchnorm", [x, *operands], attrs))
        return
    if x.type.rank < 2:
        raise cx.fail(f"input {x.type} has no channel axis")
    rest = math.prod(int(d) for d in shape[2:])
    flat = cx.add("reshape", [x], {"shape": (shape[0], shape[1], rest, 1)}, part="in4d")
    y = cx.add("batchnorm", [flat, *operands], attrs, part="bn")
    cx.finish(cx.add("reshape", [y], {"shape": shape}, part="out"))


def _batchnorm_training(cx: NodeContext) -> None:
    """training_mode=1: normalized by the batch's own statistics (mean and biased variance over
    every axis but the channel axis 1), in existing ops; outputs 1 and 2 are the running
    statistics ONNX defines, running * momentum + batch * (1 - momentum)."""
    x = cx.value(0)
    if x.type.rank < 2:
        raise cx.fail(f"input {x.type} has no channel axis")
    axes = [a for a in range(x.type.rank) if a != 1]
    per_channel = (x.type.shape[1],) + (1,) * (x.type.rank - 2)
    scale, shift = (cx.add("reshape", [cx.parameter(i, "param")], {"shape": per_channel},
                           part=f"{part}_view") for i, part in ((1, "scaled"), (2, "shifted")))
    eps = float(cx.attrs.get("epsilon", 1e-5))
    y, mean, var, _ = compose.layer_norm(emitter(cx), x, axes, eps, scale, shift)
    cx.finish(y)
    momentum = float(cx.attrs.get("momentum", 0.9))
    for out, (i, stat) in enumerate(((3, mean), (4, var)), start=1):
        if out >= len(cx.node.output) or not cx.node.output[out]:
            continue
        flat = cx.add("reshape", [stat], {"shape": (x.type.shape[1],)}, part=f"stat{out}")
        keep = compose.scalar(emitter(cx), x, momentum, f"m{out}")
        kept = cx.add("mul", [cx.value(i, x.type), keep], part=f"kept{out}")
        take = compose.scalar(emitter(cx), x, 1.0 - momentum, f"f{out}")
        fresh = cx.add("mul", [flat, take], part=f"fresh{out}")
        cx.set_output(cx.add("add", [kept, fresh], part=f"running{out}"), out)


@converter("Dropout", static=(1, 2))
def _dropout(cx: NodeContext) -> None:
    training = cx.scalar(2)
    if training:
        raise cx.fail("training_mode=true: netc applies dropout when it trains "
                      "(compile(..., train=True)), never in inference")
    ratio = cx.scalar(1)
    rate = 0.5 if ratio is None else ratio
    if not 0.0 <= rate < 1.0:
        raise cx.fail(f"ratio must be in [0, 1), got {rate}")
    seed = int(cx.attrs.get("seed", 0))
    cx.finish(cx.add("dropout", [cx.value(0)], {"rate": rate, "seed": seed}))


# ---------------------------------------------------------------- contractions

@converter("Gemm")
def _gemm(cx: NodeContext) -> None:
    a = cx.value(0)
    b = cx.parameter(1, "param")
    alpha, beta = cx.attrs.get("alpha", 1.0), cx.attrs.get("beta", 1.0)
    trans_a, trans_b = bool(cx.attrs.get("transA", 0)), bool(cx.attrs.get("transB", 0))
    c = cx.parameter(2, "param") if cx.has(2) else None
    if trans_b and not trans_a and alpha == 1.0:  # PyTorch's Linear: y = x W^T + b
        out = b.type.shape[0]
        bias = c if c is not None and beta == 1.0 and c.type.shape == (out,) else None
        y = cx.add("dense", [a, b] + ([bias] if bias is not None else []), part="dense")
        if c is not None and bias is None:
            y = cx.add("add", [y, _scaled(cx, c, beta)], part="bias")
        cx.finish(y)
        return
    y = cx.add("matmul", [a, b], {"transpose_a": trans_a, "transpose_b": trans_b}, part="mm")
    y = _scaled(cx, y, alpha)
    if c is not None:
        y = cx.add("add", [y, _scaled(cx, c, beta)], part="bias")
    cx.finish(y)


def _scaled(cx: NodeContext, v: Value, factor: float) -> Value:
    if factor == 1.0:
        return v
    scale = cx.add("const", [], {"value": factor, "dtype": v.type.dtype}, part="scale")
    return cx.add("mul", [v, scale], part="scaled")


@converter("MatMul")
def _matmul(cx: NodeContext) -> None:
    from compiler.frontend.onnx.convert_math import operands

    a, b = operands(cx, 0, 1)
    if a.type.rank == 0 or b.type.rank == 0:
        raise cx.fail("MatMul of a scalar")
    squeeze: list[int] = []
    if a.type.rank == 1:  # numpy: a vector on the left is a row, then dropped
        a = cx.add("reshape", [a], {"shape": (1, *a.type.shape)}, part="row")
        squeeze.append(-2)
    if b.type.rank == 1:
        b = cx.add("reshape", [b], {"shape": (*b.type.shape, 1)}, part="col")
        squeeze.append(-1)
    y = _contract(cx, a, b)
    if squeeze:
        rank = y.type.rank
        drop = {s % rank for s in squeeze}
        shape = tuple(d for i, d in enumerate(y.type.shape) if i not in drop)
        y = cx.add("reshape", [y], {"shape": shape}, part="squeeze")
    cx.finish(y)


def _contract(cx: NodeContext, a: Value, b: Value) -> Value:
    """a @ b for rank >= 2 with numpy's batch broadcasting."""
    if a.type.rank == 2 and b.type.rank == 2:
        return cx.add("matmul", [a, b], part="mm")
    lead = a.type.shape[:-1]
    if b.type.rank == 2 and all(isinstance(d, int) for d in lead):
        # stacked rows times one matrix: one 2-D product over the rows (views around it)
        rows = cx.add("reshape", [a], {"shape": (math.prod(lead), a.type.shape[-1])},
                      part="rows")
        y = cx.add("matmul", [rows, b], part="mm")
        return cx.add("reshape", [y], {"shape": (*lead, b.type.shape[-1])}, part="unrows")
    return compose.batched_matmul(emitter(cx), a, b)  # a broadcast product summed over K
