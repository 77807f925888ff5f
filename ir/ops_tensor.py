"""Declarations of the tensor-manipulation ops imported models need: transpose, pad, and the
mean and max reductions (plus the mask of the maximum, for its gradient).

Where it sits: loaded by ir/ops.py into the op table. The ONNX frontend (compiler/frontend/onnx)
lowers Transpose, Pad, ReduceMean and ReduceMax to these; every other ONNX op it accepts maps to
an op declared in ir/ops_nn.py. Semantics live in runtime/ref_ops_tensor.py, gradient rules
in compiler/passes/grad_rules_tensor.py, kernels in compiler/codegen/emitters/tensor.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ir.errors import ShapeError
from ir.ops import AttrSpec, Kind, Layout, declare
from ir.shape_rules import norm_axis, same_dtype
from ir.types import Dim, TensorType, broadcast_shapes, elements, format_shape

Types = Sequence[TensorType]
Attrs = Mapping[str, Any]



def _free(types: Types, out: TensorType, a: Attrs) -> int:
    return 0


# ---------------------------------------------------------------- data movement

def _transpose(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    perm = tuple(a["perm"])
    if sorted(perm) != list(range(x.rank)):
        raise ShapeError(f"transpose: perm {list(perm)} is not a permutation of the "
                         f"{x.rank} axes of {format_shape(x.shape)}")
    return x.with_shape(tuple(x.shape[p] for p in perm))


declare("transpose", Kind.DATA, ("x",), (AttrSpec("perm", "ints"),), _transpose,
        "Permutes the axes: out.shape[i] = x.shape[perm[i]] (numpy.transpose).", flops=_free,
        layout=Layout.PLAIN)


def _pad(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    before, after = tuple(a["before"]), tuple(a["after"])
    if len(before) != x.rank or len(after) != x.rank:
        raise ShapeError(f"pad: before {list(before)} and after {list(after)} need one entry per "
                         f"axis of {format_shape(x.shape)}")
    shape: list[Dim] = []
    for d, lo, hi in zip(x.shape, before, after, strict=True):
        if not isinstance(d, int):
            if lo or hi:
                raise ShapeError(f"pad: cannot pad the batch dimension {d} (by {lo}, {hi})")
            shape.append(d)
        elif d + lo + hi < 0:
            raise ShapeError(f"pad: cropping {-lo}+{-hi} from a dimension of size {d}")
        else:
            shape.append(d + lo + hi)
    return x.with_shape(tuple(shape))


declare("pad", Kind.DATA, ("x",),
        (AttrSpec("before", "ints"), AttrSpec("after", "ints"), AttrSpec("value", "float", 0.0)),
        _pad,
        "Constant padding: `before[i]` and `after[i]` elements of `value` around axis i; a "
        "negative count crops instead (so the gradient of a pad is a pad).", flops=_free,
        layout=Layout.PLAIN)


# ---------------------------------------------------------------- reductions

def _reduce(name: str) -> Any:
    def rule(types: Types, a: Attrs) -> TensorType:
        (x,) = types
        axes = sorted({norm_axis(name, ax, x.rank) for ax in a["axes"]})
        if a["keepdims"]:
            return x.with_shape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
        return x.with_shape(tuple(d for i, d in enumerate(x.shape) if i not in axes))

    return rule


def _reduce_flops(types: Types, out: TensorType, a: Attrs) -> int:
    return elements(types[0].shape)


_AXES = (AttrSpec("axes", "ints"), AttrSpec("keepdims", "bool", False))
declare("reduce_mean", Kind.REDUCE, ("x",), _AXES, _reduce("reduce_mean"),
        "Mean over `axes` (the count includes the batch when the batch axis is reduced).",
        flops=_reduce_flops, layout=Layout.PLAIN)
declare("reduce_max", Kind.REDUCE, ("x",), _AXES, _reduce("reduce_max"),
        "Maximum over `axes`; NaN wins, an empty reduction gives -inf.", flops=_reduce_flops,
        layout=Layout.PLAIN)


def _max_mask(types: Types, a: Attrs) -> TensorType:
    x, y = types
    same_dtype("max_mask", types)
    if y.rank != x.rank or broadcast_shapes(y.shape, x.shape) != x.shape:
        raise ShapeError(f"max_mask: the maximum {format_shape(y.shape)} must have the "
                         f"kept-dims shape of the input {format_shape(x.shape)}")
    return x


declare("max_mask", Kind.ELEMENTWISE, ("x", "y"), (), _max_mask,
        "1 where x equals its reduction's maximum y (y in kept-dims form, broadcast), else 0: "
        "the gradient of reduce_max is dy shared evenly among the elements that attain it.",
        grad="none")
