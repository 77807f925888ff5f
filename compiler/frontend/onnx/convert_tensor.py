"""ONNX converters of shape and data-movement ops: Reshape, Flatten, Squeeze, Unsqueeze,
Transpose, Concat, Pad, Identity, Constant.

Where it sits: registers into compiler/frontend/onnx/registry.CONVERTERS. Reshapes of every kind
become `reshape`/`flatten` views (zero bytes moved); the batch dimension N must survive them
(a -1 or a 0 that stands for it keeps it symbolic). On constants these ops are folded with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from compiler.frontend.onnx.importer import NodeContext
from compiler.frontend.onnx.registry import Shapes, converter
from ir.graph import Value
from ir.types import BATCH, Dim, format_shape


def _source(cx: NodeContext, i: int = 0) -> Value | np.ndarray:
    """Input i as it is: a constant array or an IR value."""
    found = cx.importer.env.get(cx.node.input[i])
    return found if isinstance(found, np.ndarray) else cx.value(i)


def _shape_of(x: Value | np.ndarray) -> tuple[Dim, ...]:
    return tuple(x.shape) if isinstance(x, np.ndarray) else x.type.shape


def _reshaped(cx: NodeContext, x: Value | np.ndarray, shape: Sequence[Dim]) -> None:
    """The node's output is `x` seen with `shape`: a view, or a folded constant."""
    if isinstance(x, np.ndarray):
        cx.finish(x.reshape(tuple(int(d) for d in shape)))
    elif tuple(shape) == x.type.shape:
        cx.finish(x)
    elif (x.type.rank > 2 and len(shape) == 2 and shape[0] == x.type.shape[0]
          and all(isinstance(d, int) for d in x.type.shape[1:])
          and shape[1] == math.prod(int(d) for d in x.type.shape[1:])):
        # [N, C, H, W] -> [N, C*H*W] is a flatten (what PyTorch's x.view(-1, k) exports)
        cx.finish(cx.add("flatten", [x], {"axis": 1}))
    else:
        cx.finish(cx.add("reshape", [x], {"shape": tuple(shape)}))


def resolve_reshape(cx: NodeContext, source: Sequence[Dim], target: Sequence[int],
                    allowzero: bool) -> list[Dim]:
    """ONNX Reshape's target (0 copies a dim unless allowzero, one -1 is inferred) against a
    source shape whose first dim may be the batch N."""
    dims: list[Dim] = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(source):
                raise cx.fail(f"shape {list(target)}: 0 at position {i} has no input dim to copy")
            dims.append(source[i])
        else:
            dims.append(t)
    if sum(1 for d in dims if d == -1) > 1 or any(isinstance(d, int) and d < -1 for d in dims):
        raise cx.fail(f"invalid shape {list(target)}")
    per_sample = math.prod(int(d) for d in source if isinstance(d, int))
    known = math.prod(int(d) for d in dims if isinstance(d, int) and d != -1)
    batched = BATCH in source and BATCH not in dims
    if -1 in dims:
        if batched and known == per_sample:
            return [BATCH if d == -1 else d for d in dims]  # -1 stands for the batch
        if batched or known == 0 or per_sample % known:
            raise cx.fail(f"cannot reshape {format_shape(source)} to {list(target)}"
                          + (" keeping the batch dimension N" if batched else ""))
        return [per_sample // known if d == -1 else d for d in dims]
    if batched:
        raise cx.fail(f"reshape of {format_shape(source)} to {list(target)} would fix the batch "
                      "size; export with -1 (or 0) for the batch dimension")
    return dims


@converter("Reshape", static=(1,))
def _reshape(cx: NodeContext) -> None:
    x = _source(cx)
    target = cx.ints(1) or []
    shape = resolve_reshape(cx, _shape_of(x), target, bool(cx.attrs.get("allowzero", 0)))
    _reshaped(cx, x, shape)


@converter("Flatten")
def _flatten(cx: NodeContext) -> None:
    x = _source(cx)
    shape = _shape_of(x)
    axis = cx.attrs.get("axis", 1)
    if not -len(shape) <= axis <= len(shape):
        raise cx.fail(f"axis {axis} out of range for rank {len(shape)}")
    axis += len(shape) if axis < 0 else 0
    if isinstance(x, Value) and 0 < axis < len(shape):
        cx.finish(cx.add("flatten", [x], {"axis": axis}))
        return
    groups = (shape[:axis], shape[axis:])
    if isinstance(x, Value) and any(BATCH in g and len(g) > 1 for g in groups):
        raise cx.fail(f"flatten at axis {axis} merges the batch dimension of "
                      f"{format_shape(shape)} with others")
    dims = [BATCH if BATCH in g else math.prod(int(d) for d in g) for g in groups]
    _reshaped(cx, x, dims)


def _axes(cx: NodeContext, rank: int) -> list[int] | None:
    axes = cx.ints(1) if cx.has(1) else cx.attrs.get("axes")
    if axes is None:
        return None
    if any(not -rank <= a < rank for a in axes):
        raise cx.fail(f"axes {list(axes)} out of range for rank {rank}")
    return sorted({a % rank for a in axes})


@converter("Squeeze", static=(1,))
def _squeeze(cx: NodeContext) -> None:
    x = _source(cx)
    shape = _shape_of(x)
    axes = _axes(cx, len(shape))
    if axes is None:
        axes = [i for i, d in enumerate(shape) if d == 1]
    for a in axes:
        if shape[a] != 1:
            raise cx.fail(f"cannot squeeze axis {a} of {format_shape(shape)} (size {shape[a]})")
    _reshaped(cx, x, [d for i, d in enumerate(shape) if i not in axes])


@converter("Unsqueeze", static=(1,))
def _unsqueeze(cx: NodeContext) -> None:
    x = _source(cx)
    shape = list(_shape_of(x))
    axes = _axes(cx, len(shape) + len(cx.ints(1) or cx.attrs.get("axes") or []))
    if not axes:
        raise cx.fail("Unsqueeze needs axes")
    for a in axes:
        shape.insert(a, 1)
    _reshaped(cx, x, shape)


@converter("Transpose")
def _transpose(cx: NodeContext) -> None:
    x = _source(cx)
    rank = len(_shape_of(x))
    perm = list(cx.attrs.get("perm", range(rank - 1, -1, -1)))
    if isinstance(x, np.ndarray):
        cx.finish(np.ascontiguousarray(np.transpose(x, perm)))
    elif perm == list(range(rank)):
        cx.finish(x)
    else:
        cx.finish(cx.add("transpose", [x], {"perm": perm}))


@converter("Concat")
def _concat(cx: NodeContext) -> None:
    parts = [cx.importer.env.get(name) for name in cx.node.input if name]
    axis = cx.attrs["axis"]
    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    if len(arrays) == len(parts):
        cx.finish(np.concatenate(arrays, axis=axis))
        return
    from compiler.frontend.onnx.convert_math import operands

    values = operands(cx, *(i for i, name in enumerate(cx.node.input) if name))
    if len(values) == 1:
        cx.finish(values[0])
        return
    cx.finish(cx.add("concat", values, {"axis": axis}))


def _pad_check(node: Any, attrs: Mapping[str, Any], shapes: Shapes) -> str | None:
    mode = attrs.get("mode", "constant")
    return None if mode == "constant" else f"mode={mode}"


@converter("Pad", static=(1, 2, 3), check=_pad_check)
def _pad(cx: NodeContext) -> None:
    x = cx.value(0)
    rank = x.type.rank
    pads = cx.ints(1) or []
    axes = cx.ints(3)
    axes = list(range(rank)) if axes is None else [a % rank for a in axes]
    if len(pads) != 2 * len(axes):
        raise cx.fail(f"pads {pads} need 2 x {len(axes)} entries")
    before, after = [0] * rank, [0] * rank
    for k, a in enumerate(axes):
        before[a], after[a] = pads[k], pads[k + len(axes)]
    value = cx.scalar(2) or 0.0
    if not any(before) and not any(after):
        cx.finish(x)
        return
    cx.finish(cx.add("pad", [x], {"before": before, "after": after, "value": value}))


@converter("Identity")
def _identity(cx: NodeContext) -> None:
    cx.finish(_source(cx))


def _constant_check(node: Any, attrs: Mapping[str, Any], shapes: Shapes) -> str | None:
    for key in ("sparse_value", "value_string", "value_strings"):
        if key in attrs:
            return key.replace("_", " ")
    return None


@converter("Constant", check=_constant_check)
def _constant(cx: NodeContext) -> None:
    a = cx.attrs
    if "value" in a:
        value = np.asarray(a["value"])
    elif "value_float" in a:
        value = np.asarray(a["value_float"], dtype=np.float32)
    elif "value_floats" in a:
        value = np.asarray(a["value_floats"], dtype=np.float32)
    elif "value_int" in a:
        value = np.asarray(a["value_int"], dtype=np.int64)
    elif "value_ints" in a:
        value = np.asarray(a["value_ints"], dtype=np.int64)
    else:
        raise cx.fail("Constant without a value")
    cx.finish(value)
