"""Declarations of the ops that autodiff emits: the gradients of the forward ops.

Where it sits: loaded by ir/ops.py. The gradient *rules* that use these ops live in
compiler/passes/grad_rules*.py; their numpy semantics in runtime/ref_ops_grad.py. Most gradients
are plain forward ops (matmul, reshape, mul, reduce_sum); only what has no forward counterpart is
declared here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ir.errors import ShapeError
from ir.ops import AttrSpec, Kind, Layout, Trait
from ir.ops import declare as _declare
from ir.ops_nn import DILATION, PAD, STRIDE
from ir.shape_rules import expect_rank, norm_axis, same_dtype, spatial_out
from ir.types import Dim, TensorType, elements, format_shape

Types = Sequence[TensorType]
Attrs = Mapping[str, Any]

SECOND_ORDER = frozenset({
    "reduce_sum", "batch_mean", "batch_var",
})
"""Ops declared here that forward graphs use too and so get gradient rules; the others are
gradients themselves, and netc does not differentiate twice."""


def declare(name: str, *args: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("grad", "rule" if name in SECOND_ORDER else "none")
    return _declare(name, *args, **kwargs)


INPUT_HW = AttrSpec("input_hw", "ints", length=2)
"""Spatial size of the forward input: strided windows lose it (several sizes give one output)."""



def _check_window_grad(op: str, dy: TensorType, x_shape: Sequence[Dim], a: Attrs,
                       kernel: Sequence[int], ceil_mode: bool = False) -> None:
    """The gradient's dy must have exactly the forward output's shape."""
    x = TensorType(dy.dtype, tuple(x_shape))
    ho, wo = spatial_out(op, x, kernel, a["stride"], a["pad"], a["dilation"], ceil_mode)
    if tuple(dy.shape[2:]) != (ho, wo):
        raise ShapeError(f"{op}: gradient {format_shape(dy.shape)} does not match the forward "
                         f"output {ho}x{wo} of input {format_shape(x_shape)}")


# ---------------------------------------------------------------- convolution

def _conv_grad_input(types: Types, a: Attrs) -> TensorType:
    dy, w = types
    expect_rank("conv2d_grad_input", "gradient (N,O,Ho,Wo)", dy, 4)
    same_dtype("conv2d_grad_input", types)
    if dy.shape[1] != w.shape[0]:
        raise ShapeError(f"conv2d_grad_input: gradient has {dy.shape[1]} channels, weight "
                         f"{format_shape(w.shape)} has {w.shape[0]} filters")
    x_shape = (dy.shape[0], w.shape[1] * a["groups"], *a["input_hw"])
    _check_window_grad("conv2d_grad_input", dy, x_shape, a, w.concrete_shape()[2:])
    return dy.with_shape(x_shape)


def _conv_grad_weight(types: Types, a: Attrs) -> TensorType:
    dy, x = types
    expect_rank("conv2d_grad_weight", "gradient (N,O,Ho,Wo)", dy, 4)
    expect_rank("conv2d_grad_weight", "input (N,C,H,W)", x, 4)
    same_dtype("conv2d_grad_weight", types)
    g = a["groups"]
    if x.shape[1] % g or dy.shape[1] % g:
        raise ShapeError(f"conv2d_grad_weight: groups={g} must divide channels")
    _check_window_grad("conv2d_grad_weight", dy, x.shape, a, a["kernel"])
    return dy.with_shape((dy.shape[1], x.shape[1] // g, *a["kernel"]))


def _conv_grad_flops(types: Types, out: TensorType, a: Attrs) -> int:
    """2 * (elements of dy) * (multiply-adds per element): the forward conv's count."""
    dy, other = types
    if "kernel" in a:  # weight gradient: other is x
        per = (int(other.shape[1]) // int(a["groups"])) * int(a["kernel"][0]) * int(a["kernel"][1])
    else:  # input gradient: other is the weight [O, C/g, kh, kw]
        per = math.prod(int(d) for d in other.shape[1:])
    return 2 * elements(dy.shape) * per


_CONV = (STRIDE, PAD, DILATION, AttrSpec("groups", "int", 1))
declare("conv2d_grad_input", Kind.CONTRACTION, ("dy", "weight"), (*_CONV, INPUT_HW),
        _conv_grad_input,
        "dx of conv2d: the transposed convolution of dy with the weight (scatter of each window).",
        flops=_conv_grad_flops, layout=Layout.READS_WRITES)
declare("conv2d_grad_weight", Kind.CONTRACTION, ("dy", "x"),
        (*_CONV, AttrSpec("kernel", "ints", length=2)), _conv_grad_weight,
        "dW of conv2d: correlation of the input windows with dy, summed over the batch.",
        flops=_conv_grad_flops, layout=Layout.READS)


# ---------------------------------------------------------------- pooling

def _maxpool_grad(types: Types, a: Attrs) -> TensorType:
    dy, x = types
    expect_rank("maxpool2d_grad", "input (N,C,H,W)", x, 4)
    same_dtype("maxpool2d_grad", types)
    _check_window_grad("maxpool2d_grad", dy, x.shape, a, a["kernel"], a["ceil_mode"])
    return x


def _avgpool_grad(types: Types, a: Attrs) -> TensorType:
    (dy,) = types
    expect_rank("avgpool2d_grad", "gradient (N,C,Ho,Wo)", dy, 4)
    x_shape = (*dy.shape[:2], *a["input_hw"])
    _check_window_grad("avgpool2d_grad", dy, x_shape, a, a["kernel"], a["ceil_mode"])
    return dy.with_shape(x_shape)


def _pool_grad_flops(types: Types, out: TensorType, a: Attrs) -> int:
    return elements(types[0].shape) * int(a["kernel"][0]) * int(a["kernel"][1])


_WINDOW = (AttrSpec("kernel", "ints", length=2), AttrSpec("stride", "ints", length=2), PAD,
           DILATION, AttrSpec("ceil_mode", "bool", False))
declare("maxpool2d_grad", Kind.WINDOW, ("dy", "x"), _WINDOW, _maxpool_grad,
        "dx of maxpool2d: each window's dy goes to its first maximum (PyTorch's tie rule).",
        flops=_pool_grad_flops, layout=Layout.READS_WRITES)
declare("avgpool2d_grad", Kind.WINDOW, ("dy",),
        (*_WINDOW, AttrSpec("count_include_pad", "bool", True), INPUT_HW), _avgpool_grad,
        "dx of avgpool2d: each window's dy / divisor spread over the window.",
        flops=_pool_grad_flops, layout=Layout.WRITES)


# ---------------------------------------------------------------- reductions and slices

def _reduce_sum(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    axes = sorted({norm_axis("reduce_sum", ax, x.rank) for ax in a["axes"]})
    if a["keepdims"]:
        return x.with_shape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return x.with_shape(tuple(d for i, d in enumerate(x.shape) if i not in axes))


def _reduce_flops(types: Types, out: TensorType, a: Attrs) -> int:
    return elements(types[0].shape)


declare("reduce_sum", Kind.REDUCE, ("x",),
        (AttrSpec("axes", "ints"), AttrSpec("keepdims", "bool", False)), _reduce_sum,
        "Sum over `axes` (bias gradients, gradients of broadcast operands).", flops=_reduce_flops,
        layout=Layout.READS)


def _slice(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    axis = norm_axis("slice", a["axis"], x.rank)
    size = x.shape[axis]
    if not isinstance(size, int) or not 0 <= a["start"] < a["stop"] <= size:
        raise ShapeError(f"slice [{a['start']}:{a['stop']}] out of range for axis {axis} of "
                         f"{format_shape(x.shape)}")
    return x.with_shape(x.shape[:axis] + (a["stop"] - a["start"],) + x.shape[axis + 1:])


declare("slice", Kind.DATA, ("x",),
        (AttrSpec("axis", "int"), AttrSpec("start", "int"), AttrSpec("stop", "int")), _slice,
        "x[..., start:stop, ...] along `axis` (the gradient of concat).",
        flops=lambda t, o, a: 0, layout=Layout.PLAIN)


# ---------------------------------------------------------------- activations

def _like_second(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        dy, y = types
        same_dtype(name, types)
        if dy.shape != y.shape:
            raise ShapeError(f"{name}: gradient {dy} and saved value {y} differ in shape")
        return dy

    return rule


for _name, _doc in (
    ("relu_grad", "dy * (y > 0), from the forward output y."),
    ("sigmoid_grad", "dy * y * (1 - y), from the forward output y."),
    ("tanh_grad", "dy * (1 - y^2), from the forward output y."),
):
    declare(_name, Kind.ELEMENTWISE, ("dy", "y"), (), _like_second(_name), _doc)

declare("leaky_relu_grad", Kind.ELEMENTWISE, ("dy", "x"), (AttrSpec("alpha", "float", 0.01),),
        _like_second("leaky_relu_grad"), "dy * (1 if x > 0 else alpha), from the forward input x.")
declare("clip_grad", Kind.ELEMENTWISE, ("dy", "x"),
        (AttrSpec("min", "float", -math.inf), AttrSpec("max", "float", math.inf)),
        _like_second("clip_grad"), "dy where min <= x <= max, else 0.")
declare("softmax_grad", Kind.NORMALIZE, ("dy", "y"), (AttrSpec("axis", "int", -1),),
        _like_second("softmax_grad"), "y * (dy - sum(dy * y, axis)).",
        flops=lambda t, o, a: 4 * elements(o.shape), layout=Layout.PLAIN)
declare("log_softmax_grad", Kind.NORMALIZE, ("dy", "y"), (AttrSpec("axis", "int", -1),),
        _like_second("log_softmax_grad"), "dy - exp(y) * sum(dy, axis).",
        flops=lambda t, o, a: 4 * elements(o.shape), layout=Layout.PLAIN)


# ---------------------------------------------------------------- losses

def _ce_grad(types: Types, a: Attrs) -> TensorType:
    logits, labels, dloss = types
    if dloss.shape != ():
        raise ShapeError("softmax_cross_entropy_grad: dloss must be a scalar")
    if labels.dtype != "i64" or labels.shape != (logits.shape[0],):
        raise ShapeError(f"softmax_cross_entropy_grad: labels must be i64[{logits.shape[0]}]")
    return logits


declare("softmax_cross_entropy_grad", Kind.LOSS, ("logits", "labels", "dloss"), (), _ce_grad,
        "dlogits = (softmax(logits) - onehot(labels)) / N * dloss (fused and stable).",
        flops=lambda t, o, a: 6 * elements(o.shape), layout=Layout.PLAIN)


def _mse_grad(types: Types, a: Attrs) -> TensorType:
    pred, target, dloss = types
    same_dtype("mse_grad", types)
    if pred.shape != target.shape or dloss.shape != ():
        raise ShapeError("mse_grad: pred and target must agree and dloss be a scalar")
    return pred


declare("mse_grad", Kind.LOSS, ("pred", "target", "dloss"), (), _mse_grad,
        "dpred = 2 * (pred - target) / numel * dloss.", flops=lambda t, o, a: 3 * elements(o.shape),
        traits=(Trait.POINTWISE,))


# ---------------------------------------------------------------- batch normalization

def _per_channel(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        x = types[0]
        if x.rank not in (2, 4):
            raise ShapeError(f"{name} expects [N,C] or [N,C,H,W], got {x}")
        for t in types:
            if t.rank == 1 and t.shape != (x.shape[1],):
                raise ShapeError(f"{name}: per-channel operand {t} must be [{x.shape[1]}]")
        return x.with_shape((x.shape[1],))

    return rule


declare("batch_mean", Kind.REDUCE, ("x",), (), _per_channel("batch_mean"),
        "Per-channel mean over N (and H, W): the training form's batch statistic.",
        flops=_reduce_flops, layout=Layout.READS)
declare("batch_var", Kind.REDUCE, ("x", "mean"), (), _per_channel("batch_var"),
        "Per-channel biased variance over N (and H, W) around `mean`.",
        flops=lambda t, o, a: 3 * elements(t[0].shape), layout=Layout.READS, per_channel=("mean",))


def _bn_x_like(types: Types, a: Attrs) -> TensorType:
    dy = types[0]
    for t in types[1:]:
        if t.rank == 1 and t.shape != (dy.shape[1],):
            raise ShapeError(f"batchnorm gradient: per-channel operand {t} must be "
                             f"[{dy.shape[1]}]")
        if t.rank > 1 and t.shape != dy.shape:
            raise ShapeError(f"batchnorm gradient: {t} must match {dy}")
    return dy


def _bn_channel(types: Types, a: Attrs) -> TensorType:
    _bn_x_like(types, a)
    return types[0].with_shape((types[0].shape[1],))


_EPS = (AttrSpec("eps", "float", 1e-5),)
declare("batchnorm_grad_input", Kind.ELEMENTWISE, ("dy", "scale", "var"), _EPS, _bn_x_like,
        "dy * scale / sqrt(var + eps): dx of batchnorm with the statistics held fixed.",
        per_channel=("scale", "var"))
declare("batchnorm_grad_scale", Kind.REDUCE, ("dy", "x", "mean", "var"), _EPS, _bn_channel,
        "sum over N,H,W of dy * (x - mean) / sqrt(var + eps): dscale of batchnorm.",
        flops=lambda t, o, a: 3 * elements(t[0].shape), layout=Layout.READS,
        per_channel=("mean", "var"))
declare("batchnorm_grad_var", Kind.REDUCE, ("dy", "x", "scale", "mean", "var"), _EPS,
        _bn_channel,
        "sum over N,H,W of dy * scale * (x - mean) * -1/2 * (var + eps)^-3/2: dvar of batchnorm.",
        flops=lambda t, o, a: 4 * elements(t[0].shape), layout=Layout.READS,
        per_channel=("scale", "mean", "var"))
declare("batch_var_grad", Kind.ELEMENTWISE, ("dvar", "x", "mean"), (),
        lambda types, a: types[1],
        "dvar * 2 * (x - mean) / M per channel (M = N*H*W): dx of batch_var.",
        per_channel=("dvar", "mean"))
declare("batch_mean_grad", Kind.ELEMENTWISE, ("dmean", "x"), (),
        lambda types, a: types[1], "dmean / M broadcast over x's shape: dx of batch_mean.",
        per_channel=("dmean",), shape_only=("x",))


def _broadcast_to(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    target = tuple(a["shape"])
    from ir.types import broadcast_shapes

    if broadcast_shapes(x.shape, target) != target:
        raise ShapeError(f"broadcast_to: {format_shape(x.shape)} does not broadcast to "
                         f"{format_shape(target)}")
    return x.with_shape(target)


declare("broadcast_to", Kind.ELEMENTWISE, ("x",), (AttrSpec("shape", "dims"),), _broadcast_to,
        "x repeated along its size-1 (or missing) axes up to `shape` (the gradient of "
        "reduce_sum).", grad="rule", flops=lambda t, o, a: 0)
