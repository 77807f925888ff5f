"""Declarations of the forward ops: what a model description or an ONNX file lowers to.

Where it sits: loaded by ir/ops.py into the op table. Each entry is the one declaration of an op:
operands, typed attributes with defaults, shape rule and FLOP count. Semantics live in the
reference interpreter (runtime/ref_ops.py), gradients in compiler/passes/grad_rules*.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ir.errors import ShapeError
from ir.ops import AttrSpec, Init, Kind, Layout, Trait, declare
from ir.shape_rules import expect_float, expect_rank, norm_axis, same_dtype, spatial_out
from ir.types import BATCH, Dim, TensorType, broadcast_shapes, elements, format_shape

Types = Sequence[TensorType]
Attrs = Mapping[str, Any]

STRIDE = AttrSpec("stride", "ints", (1, 1), length=2)
PAD = AttrSpec("pad", "ints", (0, 0, 0, 0), length=4)  # [top, left, bottom, right]
DILATION = AttrSpec("dilation", "ints", (1, 1), length=2)



# ---------------------------------------------------------------- contractions

def _conv2d(types: Types, a: Attrs) -> TensorType:
    x, w = types[0], types[1]
    expect_rank("conv2d", "input (N,C,H,W)", x, 4)
    expect_rank("conv2d", "weight (O,C/groups,kH,kW)", w, 4)
    expect_float("conv2d", x)
    same_dtype("conv2d", types)
    groups = a["groups"]
    cin, cout = x.shape[1], w.shape[0]
    if groups < 1 or not isinstance(cin, int) or cin % groups or cout % groups:
        raise ShapeError(
            f"conv2d: groups={groups} must divide input channels {cin} and filters {cout}"
        )
    if w.shape[1] * groups != cin:
        raise ShapeError(
            f"conv2d weight {format_shape(w.shape)} expects {w.shape[1] * groups} input channels "
            f"(groups={groups}), input has {cin}"
        )
    if len(types) == 3 and types[2].shape != (cout,):
        raise ShapeError(f"conv2d bias must be [{cout}], got {format_shape(types[2].shape)}")
    ho, wo = spatial_out("conv2d", x, w.concrete_shape()[2:], a["stride"], a["pad"],
                         a["dilation"])
    return x.with_shape((x.shape[0], cout, ho, wo))


def _conv_flops(types: Types, out: TensorType, a: Attrs) -> int:
    w = types[1]
    macs = elements(out.shape) * math.prod(w.concrete_shape()[1:])
    return 2 * macs + (elements(out.shape) if len(types) == 3 else 0)


declare(
    "conv2d", Kind.CONTRACTION, ("x", "weight", "bias?"),
    (STRIDE, PAD, DILATION, AttrSpec("groups", "int", 1)),
    _conv2d, "2-D cross-correlation over NCHW with OIHW weights (PyTorch semantics).",
    flops=_conv_flops, layout=Layout.READS_WRITES,
    init={"weight": Init.FAN_IN, "bias": Init.FAN_IN},
)


def _dense(types: Types, a: Attrs) -> TensorType:
    x, w = types[0], types[1]
    expect_rank("dense", "input (N,features)", x, 2)
    expect_rank("dense", "weight (out,in)", w, 2)
    same_dtype("dense", types)
    if x.shape[1] != w.shape[1]:
        raise ShapeError(
            f"dense gets {x.shape[1]} input features, its weight {format_shape(w.shape)} "
            f"expects {w.shape[1]}"
        )
    if len(types) == 3 and types[2].shape != (w.shape[0],):
        raise ShapeError(f"dense bias must be [{w.shape[0]}], got {format_shape(types[2].shape)}")
    return x.with_shape((x.shape[0], w.shape[0]))


def _dense_flops(types: Types, out: TensorType, a: Attrs) -> int:
    n = elements(out.shape)
    return 2 * n * int(types[1].shape[1]) + (n if len(types) == 3 else 0)


declare(
    "dense", Kind.CONTRACTION, ("x", "weight", "bias?"), (),
    _dense, "y = x @ weight^T + bias with weight [out, in] (PyTorch Linear).", flops=_dense_flops,
    layout=Layout.PLAIN, init={"weight": Init.FAN_IN, "bias": Init.FAN_IN},
)


def _matmul(types: Types, a: Attrs) -> TensorType:
    x, y = types
    rows = x.rank > 2 and y.rank == 2 and not a["transpose_a"]
    if x.rank < 2 or (x.rank != y.rank and not rows):
        raise ShapeError(f"matmul takes two matrices, two stacks of matrices of the same rank, "
                         f"or a stack times one matrix, got {x} @ {y}")
    same_dtype("matmul", types)
    lead = x.shape[:-2]
    if not rows and y.shape[:-2] != lead:
        raise ShapeError(f"matmul stacks disagree: {format_shape(lead)} vs "
                         f"{format_shape(y.shape[:-2])} ({x} @ {y})")
    m, k1 = (x.shape[-1], x.shape[-2]) if a["transpose_a"] else x.shape[-2:]
    k2, n = (y.shape[-1], y.shape[-2]) if a["transpose_b"] else y.shape[-2:]
    if k1 != k2:
        raise ShapeError(f"matmul inner dimensions disagree: {k1} vs {k2} ({x} @ {y})")
    return x.with_shape((*lead, m, n))


def _matmul_flops(types: Types, out: TensorType, a: Attrs) -> int:
    x = types[0]
    k = x.shape[-2] if a["transpose_a"] else x.shape[-1]
    return 2 * elements(out.shape) * (k if isinstance(k, int) else 1)


declare(
    "matmul", Kind.CONTRACTION, ("a", "b"),
    (AttrSpec("transpose_a", "bool", False), AttrSpec("transpose_b", "bool", False)),
    _matmul, "Matrix product op(a) @ op(b), op = optional transpose of the last two axes; "
    "a and b of rank > 2: a stack of products over equal leading axes (attention's heads); "
    "a of rank > 2 times a matrix b: every matrix of the stack times b (Linear over tokens).",
    flops=_matmul_flops, layout=Layout.PLAIN,
    # a parameter b is a Linear weight read as [out, in] (transpose_b): PyTorch's fan-in start
    init={"b": Init.FAN_IN},
)


# ---------------------------------------------------------------- windows

def _pool(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        (x,) = types
        expect_rank(name, "input (N,C,H,W)", x, 4)
        expect_float(name, x)
        ho, wo = spatial_out(name, x, a["kernel"], a["stride"], a["pad"], a["dilation"],
                             a["ceil_mode"])
        return x.with_shape((x.shape[0], x.shape[1], ho, wo))

    return rule


def _pool_flops(types: Types, out: TensorType, a: Attrs) -> int:
    return elements(out.shape) * int(a["kernel"][0]) * int(a["kernel"][1])


_WINDOW = (
    AttrSpec("kernel", "ints", length=2), AttrSpec("stride", "ints", length=2), PAD, DILATION,
    AttrSpec("ceil_mode", "bool", False),
)
declare("maxpool2d", Kind.WINDOW, ("x",), _WINDOW, _pool("maxpool2d"),
        "Max over each window; padding counts as -inf.", flops=_pool_flops,
        layout=Layout.READS_WRITES)
declare("avgpool2d", Kind.WINDOW, ("x",),
        (*_WINDOW, AttrSpec("count_include_pad", "bool", True)), _pool("avgpool2d"),
        "Mean over each window; count_include_pad as in PyTorch/ONNX.", flops=_pool_flops,
        layout=Layout.READS_WRITES)


def _global_pool(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        (x,) = types
        expect_rank(name, "input (N,C,H,W)", x, 4)
        return x.with_shape((x.shape[0], x.shape[1], 1, 1))

    return rule


def _global_flops(types: Types, out: TensorType, a: Attrs) -> int:
    return elements(types[0].shape)


declare("global_avgpool", Kind.REDUCE, ("x",), (), _global_pool("global_avgpool"),
        "Mean over H and W: [N,C,H,W] -> [N,C,1,1].", flops=_global_flops,
        layout=Layout.READS)
declare("global_maxpool", Kind.REDUCE, ("x",), (), _global_pool("global_maxpool"),
        "Max over H and W: [N,C,H,W] -> [N,C,1,1].", flops=_global_flops,
        layout=Layout.READS)


# ---------------------------------------------------------------- views

def _flatten(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    axis = norm_axis("flatten", a["axis"], max(x.rank, 1)) if x.rank else 0
    return x.with_shape((_dim_product(x.shape[:axis]), _dim_product(x.shape[axis:])))


def _dim_product(dims: Sequence[Dim]) -> Dim:
    """Product of dims; the symbolic batch survives only as a lone factor times static ones."""
    static = math.prod(d for d in dims if isinstance(d, int))
    symbolic = [d for d in dims if not isinstance(d, int)]
    if not symbolic:
        return static
    if static == 1 and len(symbolic) == 1:
        return BATCH
    raise ShapeError(f"cannot flatten the batch dimension together with others: {list(dims)}")


def _reshape(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    target = tuple(a["shape"])
    if sum(1 for d in target if d == BATCH) != sum(1 for d in x.shape if d == BATCH):
        raise ShapeError(
            f"reshape must keep the batch dimension: {list(x.shape)} -> {list(target)}"
        )
    if any(isinstance(d, int) and d < 0 for d in target):
        raise ShapeError(f"reshape target {list(target)} must be resolved (no -1) in the IR")
    before = math.prod(d for d in x.shape if isinstance(d, int))
    after = math.prod(d for d in target if isinstance(d, int))
    if before != after:
        raise ShapeError(
            f"reshape changes the element count: {format_shape(x.shape)} ({before} per sample) "
            f"-> {format_shape(target)} ({after})"
        )
    return x.with_shape(target)


declare("flatten", Kind.VIEW, ("x",), (AttrSpec("axis", "int", 1),), _flatten,
        "Row-major flatten to 2-D at `axis`: j = c*H*W + h*W + w. A view: zero bytes moved.",
        flops=lambda t, o, a: 0)
declare("reshape", Kind.VIEW, ("x",), (AttrSpec("shape", "dims"),), _reshape,
        "Same bytes, new shape (row-major). A view: zero bytes moved.", flops=lambda t, o, a: 0)


# ---------------------------------------------------------------- elementwise

def _unary(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        (x,) = types
        expect_float(name, x)
        return x

    return rule


def _binary(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        x, y = types
        dtype = same_dtype(name, types)
        try:
            shape = broadcast_shapes(x.shape, y.shape)
        except ShapeError as err:
            raise ShapeError(f"{name}: {err}") from None
        return TensorType(dtype, shape)

    return rule


for _name, _identity, _commutes, _doc in (
    ("add", 0.0, True, "a + b with numpy broadcasting (a bias [C,1,1] broadcasts over [N,C,H,W])."),
    ("sub", 0.0, False, "a - b with numpy broadcasting."),
    ("mul", 1.0, True, "a * b with numpy broadcasting."),
    ("div", 1.0, False, "a / b with numpy broadcasting."),
    ("maximum", None, True, "max(a, b) with numpy broadcasting; NaN wins (ONNX Max)."),
    ("minimum", None, True, "min(a, b) with numpy broadcasting; NaN wins (ONNX Min)."),
    ("pow", None, False, "a ** b with numpy broadcasting (ONNX Pow on floats)."),
):
    declare(_name, Kind.ELEMENTWISE, ("a", "b"), (), _binary(_name), _doc, identity=_identity,
            commutative=_commutes)

for _name, _doc in (
    ("relu", "max(x, 0)."),
    ("sigmoid", "1 / (1 + exp(-x))."),
    ("tanh", "Hyperbolic tangent."),
    ("exp", "e^x."),
    ("log", "Natural logarithm."),
    ("sqrt", "Square root."),
    ("neg", "-x."),
    ("abs", "|x|."),
):
    declare(_name, Kind.ELEMENTWISE, ("x",), (), _unary(_name), _doc)

declare("leaky_relu", Kind.ELEMENTWISE, ("x",), (AttrSpec("alpha", "float", 0.01),),
        _unary("leaky_relu"), "x if x > 0 else alpha * x.")
declare("clip", Kind.ELEMENTWISE, ("x",),
        (AttrSpec("min", "float", -math.inf), AttrSpec("max", "float", math.inf)),
        _unary("clip"), "min(max(x, min), max).")
declare("dropout", Kind.ELEMENTWISE, ("x",),
        (AttrSpec("rate", "float", 0.5), AttrSpec("seed", "int", 0)), _unary("dropout"),
        "Identity at inference; training zeroes elements with probability `rate` (seeded mask) "
        "and scales the rest by 1/(1-rate).", flops=lambda t, o, a: 0)


# ---------------------------------------------------------------- normalizations

def _softmax_like(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        (x,) = types
        expect_float(name, x)
        norm_axis(name, a["axis"], x.rank)
        return x

    return rule


def _softmax_flops(types: Types, out: TensorType, a: Attrs) -> int:
    return 5 * elements(out.shape)


declare("softmax", Kind.NORMALIZE, ("x",), (AttrSpec("axis", "int", -1),),
        _softmax_like("softmax"), "exp(x - max) / sum(exp(x - max)) along `axis`.",
        flops=_softmax_flops, layout=Layout.PLAIN)
declare("log_softmax", Kind.NORMALIZE, ("x",), (AttrSpec("axis", "int", -1),),
        _softmax_like("log_softmax"), "x - max - log(sum(exp(x - max))) along `axis`.",
        flops=_softmax_flops, layout=Layout.PLAIN)


def _batchnorm(types: Types, a: Attrs) -> TensorType:
    x = types[0]
    if x.rank not in (2, 4):
        raise ShapeError(f"batchnorm expects [N,C] or [N,C,H,W], got {x}")
    same_dtype("batchnorm", types)
    c = x.shape[1]
    for role, t in zip(("scale", "shift", "mean", "var"), types[1:], strict=True):
        if t.shape != (c,):
            raise ShapeError(f"batchnorm {role} must be [{c}], got {format_shape(t.shape)}")
    return x


declare("batchnorm", Kind.NORMALIZE, ("x", "scale", "shift", "mean", "var"),
        (AttrSpec("eps", "float", 1e-5), AttrSpec("momentum", "float", 0.1)), _batchnorm,
        "Inference form: (x - mean) / sqrt(var + eps) * scale + shift per channel (axis 1). "
        "`momentum` is used by the training form to update the running statistics.",
        flops=lambda t, o, a: 2 * elements(o.shape), traits=(Trait.POINTWISE,),
        per_channel=("scale", "shift", "mean", "var"),
        init={"scale": Init.ONES, "var": Init.ONES})


# ---------------------------------------------------------------- data movement

def _concat(types: Types, a: Attrs) -> TensorType:
    first = types[0]
    same_dtype("concat", types)
    axis = norm_axis("concat", a["axis"], first.rank)
    total = 0
    for t in types:
        if t.rank != first.rank or any(
            i != axis and d != first.shape[i] for i, d in enumerate(t.shape)
        ):
            raise ShapeError(
                f"concat along axis {axis}: shapes "
                f"{', '.join(format_shape(u.shape) for u in types)} differ outside that axis"
            )
        size = t.shape[axis]
        if not isinstance(size, int):
            raise ShapeError("concat along the batch axis is not supported")
        total += size
    return first.with_shape(first.shape[:axis] + (total,) + first.shape[axis + 1:])


declare("concat", Kind.DATA, ("*inputs",), (AttrSpec("axis", "int"),), _concat,
        "Joins tensors along `axis`.", flops=lambda t, o, a: 0, layout=Layout.PLAIN)


def _const(types: Types, a: Attrs) -> TensorType:
    return TensorType(a["dtype"], tuple(a["shape"]))


declare("const", Kind.DATA, (),
        (AttrSpec("value", "float"), AttrSpec("dtype", "str", "f32", choices=("f32", "f64")),
         AttrSpec("shape", "dims", ())), _const,
        "A tensor filled with `value` (a scalar by default).", grad="none",
        flops=lambda t, o, a: 0, traits=(Trait.POINTWISE,))


# ---------------------------------------------------------------- losses

def _softmax_ce(types: Types, a: Attrs) -> TensorType:
    logits, labels = types
    expect_rank("softmax_cross_entropy", "logits (N,classes)", logits, 2)
    expect_float("softmax_cross_entropy", logits)
    if labels.dtype != "i64" or labels.shape != (logits.shape[0],):
        raise ShapeError(
            f"softmax_cross_entropy labels must be i64[{logits.shape[0]}] class indices, "
            f"got {labels}"
        )
    return TensorType(logits.dtype, ())


declare("softmax_cross_entropy", Kind.LOSS, ("logits", "labels"), (), _softmax_ce,
        "mean over the batch of -log softmax(logits)[label] (integer labels).",
        flops=lambda t, o, a: 5 * elements(t[0].shape), layout=Layout.PLAIN)


def _mse(types: Types, a: Attrs) -> TensorType:
    pred, target = types
    same_dtype("mse", types)
    expect_float("mse", pred)
    if pred.shape != target.shape:
        raise ShapeError(f"mse: prediction {pred} and target {target} differ in shape")
    return TensorType(pred.dtype, ())


declare("mse", Kind.LOSS, ("pred", "target"), (), _mse,
        "mean over all elements of (pred - target)^2.",
        flops=lambda t, o, a: 3 * elements(t[0].shape), layout=Layout.PLAIN)
