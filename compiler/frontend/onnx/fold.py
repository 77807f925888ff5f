"""Import-time folding of the shape arithmetic exporters write.

Where it sits: the importer (compiler/frontend/onnx/importer.py) asks `fold(node, inputs)` before
converting a node. PyTorch's exporter computes reshape targets, split sizes and scales at run
time from `Shape` (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Shape -> Slice -> Cast ->
Sqrt, ...). netc compiles static shapes, so every such chain has a known value: when every input
of a node is a constant (an initializer, a Constant node, a folded node) or the node is `Shape`
of a value whose shape is known, the node is evaluated here with numpy and its outputs become
constants. Nothing of it reaches the IR.

Semantics follow the ONNX operator definitions (opset 13-21); integer division truncates toward
zero as ONNX specifies, `Mod` follows the sign of the divisor unless `fmod=1`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

Fold = Callable[[Sequence[np.ndarray | None], Mapping[str, Any]], list[np.ndarray]]
FOLDS: dict[str, Fold] = {}

ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
               7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
               13: np.uint64}
"""TensorProto element types -> numpy (the ones a shape computation may use)."""


def folds(*op_types: str) -> Callable[[Fold], Fold]:
    def register(fn: Fold) -> Fold:
        for op_type in op_types:
            FOLDS[op_type] = fn
        return fn

    return register


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ValueError(f"axis {axis} out of range for rank {rank}")
    return axis % max(rank, 1)


def _ints(array: np.ndarray | None) -> list[int]:
    return [] if array is None else [int(v) for v in np.asarray(array).reshape(-1)]


# ---------------------------------------------------------------- shapes and indexing

@folds("Shape")
def _shape(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    shape = np.asarray(xs[0].shape if xs[0] is not None else (), dtype=np.int64)
    rank = len(shape)
    start = int(a.get("start", 0))
    end = int(a.get("end", rank))
    start, end = (min(max(v + rank if v < 0 else v, 0), rank) for v in (start, end))
    return [shape[start:end]]


@folds("Size")
def _size(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    return [np.asarray(np.asarray(xs[0]).size, dtype=np.int64)]


@folds("Gather")
def _gather(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    data, indices = np.asarray(xs[0]), np.asarray(xs[1]).astype(np.int64)
    axis = _axis(int(a.get("axis", 0)), data.ndim)
    size = data.shape[axis]
    if np.any((indices < -size) | (indices >= size)):
        raise ValueError(f"Gather index out of range for a dimension of {size}")
    return [np.take(data, np.where(indices < 0, indices + size, indices), axis=axis)]


@folds("Slice")
def _slice(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    data = np.asarray(xs[0])
    starts, ends = _ints(xs[1]), _ints(xs[2])
    axes = _ints(xs[3]) if len(xs) > 3 and xs[3] is not None else list(range(len(starts)))
    steps = _ints(xs[4]) if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ValueError("Slice's starts, ends, axes and steps differ in length")
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        if step == 0:
            raise ValueError("Slice step 0")
        index[_axis(axis, data.ndim)] = slice(start, end, step)
    return [data[tuple(index)]]


@folds("Concat")
def _concat(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    parts = [np.asarray(x) for x in xs if x is not None]
    axis = _axis(int(a["axis"]), parts[0].ndim)
    return [np.concatenate(parts, axis=axis)]


@folds("Squeeze")
def _squeeze(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    data = np.asarray(xs[0])
    axes = _ints(xs[1]) if len(xs) > 1 and xs[1] is not None else a.get("axes")
    if axes is None:
        return [data.squeeze()]
    return [data.squeeze(axis=tuple(_axis(int(ax), data.ndim) for ax in axes))]


@folds("Unsqueeze")
def _unsqueeze(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    data = np.asarray(xs[0])
    axes = _ints(xs[1]) if len(xs) > 1 and xs[1] is not None else list(a.get("axes", []))
    rank = data.ndim + len(axes)
    return [np.expand_dims(data, tuple(sorted(_axis(int(ax), rank) for ax in axes)))]


@folds("Reshape")
def _reshape(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    data, target = np.asarray(xs[0]), _ints(xs[1])
    if not a.get("allowzero", 0):
        target = [data.shape[i] if t == 0 else t for i, t in enumerate(target)]
    return [data.reshape(target)]


@folds("Expand")
def _expand(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    data, shape = np.asarray(xs[0]), _ints(xs[1])
    return [np.broadcast_to(data, np.broadcast_shapes(data.shape, tuple(shape))).copy()]


@folds("Transpose")
def _transpose(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    perm = a.get("perm")
    return [np.ascontiguousarray(np.transpose(np.asarray(xs[0]), perm))]


@folds("Identity")
def _identity(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    return [np.asarray(xs[0])]


# ---------------------------------------------------------------- making tensors

@folds("ConstantOfShape")
def _constant_of_shape(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    value = a.get("value")
    fill = np.zeros(1, dtype=np.float32) if value is None else np.asarray(value).reshape(-1)
    return [np.full(tuple(_ints(xs[0])), fill[0], dtype=fill.dtype)]


@folds("Range")
def _range(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    start, limit, delta = (np.asarray(x).reshape(()) for x in xs[:3])
    if delta == 0:
        raise ValueError("Range with delta 0")
    dtype = np.result_type(start, limit, delta)
    count = max(int(np.ceil((limit - start) / delta)), 0)  # ONNX's own definition
    return [(start + delta * np.arange(count)).astype(dtype)]


@folds("Cast")
def _cast(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    to = int(a["to"])
    if to not in ONNX_DTYPES:
        raise ValueError(f"Cast to element type {to}")
    return [np.asarray(xs[0]).astype(ONNX_DTYPES[to])]


# ---------------------------------------------------------------- arithmetic and logic

def _same_kind(a: np.ndarray, b: np.ndarray) -> np.dtype[Any]:
    return np.result_type(a, b)


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dtype = _same_kind(a, b)
    if dtype.kind in "iu":
        if np.any(b == 0):
            raise ValueError("integer division by zero")
        return (np.trunc(a / b)).astype(dtype)  # ONNX: truncation toward zero
    return np.divide(a, b).astype(dtype)


_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _divide,
    "Pow": np.power, "Max": np.maximum, "Min": np.minimum,
}


@folds(*_ARITHMETIC)
def _arithmetic(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    fn = _ARITHMETIC[a["__op__"]]
    arrays = [np.asarray(x) for x in xs if x is not None]
    result = arrays[0]
    for other in arrays[1:]:
        result = np.asarray(fn(result, other)).astype(_same_kind(result, other))
    return [result]


@folds("Mod")
def _mod(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    x, y = np.asarray(xs[0]), np.asarray(xs[1])
    if np.result_type(x, y).kind in "iu" and np.any(y == 0):
        raise ValueError("integer modulo by zero")
    out = np.fmod(x, y) if a.get("fmod", 0) else np.mod(x, y)
    return [np.asarray(out).astype(np.result_type(x, y))]


_UNARY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Neg": np.negative, "Abs": np.abs, "Sqrt": np.sqrt, "Floor": np.floor, "Ceil": np.ceil,
    "Reciprocal": np.reciprocal, "Not": np.logical_not, "Exp": np.exp, "Log": np.log,
}


@folds(*_UNARY)
def _unary(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    x = np.asarray(xs[0])
    return [np.asarray(_UNARY[a["__op__"]](x)).astype(x.dtype)]


_COMPARE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Equal": np.equal, "Less": np.less, "Greater": np.greater,
    "LessOrEqual": np.less_equal, "GreaterOrEqual": np.greater_equal,
    "And": np.logical_and, "Or": np.logical_or,
}


@folds(*_COMPARE)
def _compare(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    return [np.asarray(_COMPARE[a["__op__"]](np.asarray(xs[0]), np.asarray(xs[1])))]


@folds("Where")
def _where(xs: Sequence[np.ndarray | None], a: Mapping[str, Any]) -> list[np.ndarray]:
    cond, x, y = (np.asarray(v) for v in xs[:3])
    return [np.where(cond.astype(bool), x, y).astype(np.result_type(x, y))]


def fold(op_type: str, inputs: Sequence[np.ndarray | None],
         attrs: Mapping[str, Any]) -> list[np.ndarray]:
    """The outputs of `op_type` on constant inputs (None: an absent optional input)."""
    return FOLDS[op_type](inputs, {**attrs, "__op__": op_type})
