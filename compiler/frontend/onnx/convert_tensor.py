"""ONNX converters of shape and data-movement ops: Reshape, Flatten, Squeeze, Unsqueeze,
Transpose, Concat, Pad, Identity, Constant.

Where it sits: registers into compiler/frontend/onnx/registry.CONVERTERS. Reshapes of every kind
become `reshape`/`flatten` views (zero bytes moved); the batch dimension N must survive them
(a -1 or a 0 that stands for it keeps it symbolic). On constants these ops are folded with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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


# ---------------------------------------------------------------- Resize (nearest, integer)

_ORIGIN = {
    "half_pixel": lambda i, s, n, m: (i + 0.5) / s - 0.5,
    "pytorch_half_pixel": lambda i, s, n, m: (i + 0.5) / s - 0.5 if m > 1 else 0 * i,
    "asymmetric": lambda i, s, n, m: i / s,
    "tf_half_pixel_for_nn": lambda i, s, n, m: (i + 0.5) / s,
    "align_corners": lambda i, s, n, m: i * (n - 1) / (m - 1) if m > 1 else 0 * i,
}
_ROUND: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "round_prefer_floor": lambda x: np.ceil(x - 0.5),
    "round_prefer_ceil": lambda x: np.floor(x + 0.5),
    "floor": np.floor,
    "ceil": np.ceil,
}


def _resize_scales(cx: NodeContext, shape: Sequence[Dim]) -> list[int]:
    """Integer scale per axis from Resize's scales or sizes (axes attribute honoured)."""
    rank = len(shape)
    axes = [a % rank for a in cx.attrs.get("axes", range(rank))]
    given = cx.static(2) if cx.has(2) else None
    sizes = cx.ints(3) if cx.has(3) else None
    factors = [1] * rank
    for k, axis in enumerate(axes):
        size = shape[axis]
        if given is not None and given.size:
            factor = float(given.reshape(-1)[k])
        elif sizes is not None:
            factor = sizes[k] / int(size) if isinstance(size, int) else float("nan")
        else:
            raise cx.fail("Resize needs scales or sizes")
        if factor != int(factor) or factor < 1 or (factor > 1 and size == BATCH):
            raise cx.fail(f"scale {factor} on axis {axis}: netc resizes by integer factors "
                          "(nearest-neighbour upsampling) only")
        factors[axis] = int(factor)
    return factors


@converter("Resize", static=(1, 2, 3))
def _resize(cx: NodeContext) -> None:
    """Nearest-neighbour upsampling by integer factors, where ONNX's index map picks input
    i // s for output i: each scaled axis is viewed as [n, 1], broadcast to [n, s] and viewed
    back as [n * s] (views, one copying kernel; its gradient sums the s copies)."""
    x = cx.value(0)
    mode = cx.attrs.get("mode", "nearest")
    if mode != "nearest":
        raise cx.fail(f"mode={mode}: netc imports nearest-neighbour Resize only")
    factors = _resize_scales(cx, x.type.shape)
    origin = _ORIGIN.get(cx.attrs.get("coordinate_transformation_mode", "half_pixel"))
    rounding = _ROUND.get(cx.attrs.get("nearest_mode", "round_prefer_floor"))
    if origin is None or rounding is None:
        raise cx.fail("unknown coordinate_transformation_mode or nearest_mode")
    for axis, s in enumerate(factors):
        n = x.type.shape[axis]
        if s == 1 or not isinstance(n, int):
            continue
        i = np.arange(n * s)
        picked = np.clip(rounding(origin(i, s, n, n * s)), 0, n - 1)
        if not np.array_equal(picked, i // s):
            raise cx.fail(f"the nearest index map on axis {axis} is not i // {s}")
    if all(s == 1 for s in factors):
        cx.finish(x)
        return
    split = tuple(d for axis, n in enumerate(x.type.shape)
                  for d in ((n, 1) if factors[axis] > 1 else (n,)))
    wide = tuple(d for axis, n in enumerate(x.type.shape)
                 for d in ((n, factors[axis]) if factors[axis] > 1 else (n,)))
    out = tuple(n * s if isinstance(n, int) else n for n, s in zip(x.type.shape, factors,
                                                                    strict=True))
    column = cx.add("reshape", [x], {"shape": split}, part="split")
    repeated = cx.add("broadcast_to", [column], {"shape": wide}, part="repeat")
    cx.finish(cx.add("reshape", [repeated], {"shape": out}))
