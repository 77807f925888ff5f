"""Layers that are compositions of IR ops, written once for every frontend.

Where it sits: between the frontends and the op table. The model-description Builder
(compiler/frontend/builder.py) and the ONNX converters (compiler/frontend/onnx/convert_*.py)
both lower LayerNormalization, GELU, SiLU, HardSigmoid, HardSwish and products over the last
axis through these functions, so a YAML layer and its ONNX twin give the same ops. Each
function takes `emit(op, operands, attrs, part)`, the frontend's way of adding an
intermediate op named `<layer>.<part>`, and returns the layer's result; the frontend gives
that result the layer's own name. Every op used has a reference, a gradient rule and a
kernel, and fusion merges the pointwise steps into one loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ir.graph import Value

Emit = Callable[[str, Sequence[Value], dict[str, Any], str], Value]
"""(op, operands, attrs, part) -> the op's result, named `<layer>.<part>`."""


def scalar(emit: Emit, like: Value, value: float, part: str) -> Value:
    """A scalar constant in `like`'s dtype (broadcasts against anything)."""
    return emit("const", [], {"value": float(value), "dtype": like.type.dtype, "shape": ()}, part)


def layer_norm(emit: Emit, x: Value, axes: Sequence[int], eps: float, scale: Value | None,
               shift: Value | None) -> tuple[Value, Value, Value, Value]:
    """(x - mean) / sqrt(var + eps) * scale + shift over `axes` (biased variance, PyTorch's own
    decomposition). Returns (result, mean, var, std), the statistics in kept-dims shape."""
    reduce = {"axes": list(axes), "keepdims": True}
    mean = emit("reduce_mean", [x], reduce, "mean")
    centered = emit("sub", [x, mean], {}, "centered")
    var = emit("reduce_mean", [emit("mul", [centered, centered], {}, "square")], reduce, "var")
    std = emit("sqrt", [emit("add", [var, scalar(emit, x, eps, "eps")], {}, "var_eps")], {},
               "std")
    y = emit("div", [centered, std], {}, "normalized")
    if scale is not None:
        y = emit("mul", [y, scale], {}, "scaled")
    if shift is not None:
        y = emit("add", [y, shift], {}, "shifted")
    return y, mean, var, std


def hard_sigmoid(emit: Emit, x: Value, alpha: float = 1.0 / 6.0, beta: float = 0.5) -> Value:
    """clip(alpha x + beta, 0, 1); PyTorch's Hardsigmoid has alpha 1/6, ONNX's default 0.2."""
    scaled = emit("mul", [x, scalar(emit, x, alpha, "alpha")], {}, "scaled")
    shifted = emit("add", [scaled, scalar(emit, x, beta, "beta")], {}, "shifted")
    return emit("clip", [shifted], {"min": 0.0, "max": 1.0}, "gate")


def hard_swish(emit: Emit, x: Value) -> Value:
    """x * hard_sigmoid(x) with PyTorch's (and ONNX's) 1/6 and 1/2."""
    return emit("mul", [x, hard_sigmoid(emit, x)], {}, "product")


def gelu(emit: Emit, x: Value) -> Value:
    """0.5 x (1 + erf(x / sqrt 2)): the exact GELU (PyTorch's default, ONNX Gelu 'none')."""
    inner = emit("erf", [emit("mul", [x, scalar(emit, x, 1.0 / math.sqrt(2.0), "rsqrt2")], {},
                              "scaled")], {}, "erf")
    half = emit("mul", [x, scalar(emit, x, 0.5, "half")], {}, "half_x")
    return emit("mul", [half, emit("add", [inner, scalar(emit, x, 1.0, "one")], {}, "shifted")],
                {}, "product")


def gelu_tanh(emit: Emit, x: Value) -> Value:
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): GELU's tanh approximation (PyTorch's
    approximate='tanh', ONNX Gelu 'tanh')."""
    cube = emit("mul", [emit("mul", [x, x], {}, "square"), x], {}, "cube")
    inner = emit("add", [x, emit("mul", [cube, scalar(emit, x, 0.044715, "c")], {}, "cubic")],
                 {}, "inner")
    scaled = emit("mul", [inner, scalar(emit, x, math.sqrt(2.0 / math.pi), "k")], {}, "scaled")
    gate = emit("add", [emit("tanh", [scaled], {}, "tanh"), scalar(emit, x, 1.0, "one")], {},
                "shifted")
    half = emit("mul", [x, scalar(emit, x, 0.5, "half")], {}, "half_x")
    return emit("mul", [half, gate], {}, "product")


def silu(emit: Emit, x: Value) -> Value:
    """x * sigmoid(x) (SiLU, also called swish)."""
    return emit("mul", [x, emit("sigmoid", [x], {}, "gate")], {}, "product")


def _view(emit: Emit, x: Value, shape: Sequence[Any], part: str) -> Value:
    return x if tuple(shape) == x.type.shape else emit("reshape", [x], {"shape": tuple(shape)},
                                                      part)


def linear_last(emit: Emit, x: Value, weight: Value, bias: Value | None) -> Value:
    """y[..., o] = sum_i x[..., i] weight[o, i] + bias[o]: PyTorch's Linear over the last axis
    of a rank > 2 input (dense takes [N, features] only), as one matmul of the stack's rows."""
    y = emit("matmul", [x, weight], {"transpose_b": True}, "mm")
    return y if bias is None else emit("add", [y, bias], {}, "biased")


def batched_matmul(emit: Emit, a: Value, b: Value, transpose_b: bool = False) -> Value:
    """a[..., M, K] @ b[..., K, N] (or b[..., N, K]^T) with numpy's batch broadcasting: one
    matmul over a stack of products when both stacks are the same (attention's heads), else a
    broadcast product summed over K."""
    if a.type.rank == b.type.rank and a.type.shape[:-2] == b.type.shape[:-2]:
        return emit("matmul", [a, b], {"transpose_b": transpose_b}, "mm")
    if transpose_b:  # a[..., M, 1, K] * b[..., 1, N, K], summed over the last axis
        left = _view(emit, a, (*a.type.shape[:-1], 1, a.type.shape[-1]), "left")
        right = _view(emit, b, (*b.type.shape[:-2], 1, *b.type.shape[-2:]), "right")
        products = emit("mul", [left, right], {}, "products")
        return emit("reduce_sum", [products], {"axes": [-1], "keepdims": False}, "sum")
    left = _view(emit, a, (*a.type.shape, 1), "left")  # a[..., M, K, 1] * b[..., 1, K, N]
    right = _view(emit, b, (*b.type.shape[:-2], 1, *b.type.shape[-2:]), "right")
    products = emit("mul", [left, right], {}, "products")
    return emit("reduce_sum", [products], {"axes": [-2], "keepdims": False}, "sum")
