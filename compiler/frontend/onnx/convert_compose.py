"""ONNX converters of ops netc imports as compositions of its own ops: Slice and Split on data
(crops), LayerNormalization, HardSigmoid and HardSwish; and Gather, a crop at constant indices
or an embedding lookup at indices known only at run time.

Where it sits: registers into compiler/frontend/onnx/registry.CONVERTERS. Each op here has an
exact formulation in IR ops that already have a reference, a gradient rule and a kernel, so it
needs none of its own, and fusion merges the pointwise steps into one kernel:
- Slice with step 1 and Split keep a box of their input: `pad` with negative counts (a crop),
  whose gradient is the opposite pad;
- LayerNormalization(x) = (x - mean) / sqrt(var + eps) * scale + bias over the trailing axes,
  as reduce_mean, sub, mul, add, sqrt, div (PyTorch's own decomposition);
- HardSigmoid(x) = clip(alpha x + beta, 0, 1), HardSwish(x) = x HardSigmoid(x) with 1/6, 1/2.
The normalization and the activations are compiler/frontend/compose.py's, shared with the
model-description layers of the same names.
On constant inputs Slice (any step) is folded at import (fold.py) before it reaches these.
"""

from __future__ import annotations

import numpy as np

from compiler.frontend import compose
from compiler.frontend.compose import Emit
from compiler.frontend.onnx.importer import NodeContext
from compiler.frontend.onnx.registry import converter
from ir.graph import Value
from ir.types import BATCH, Dim, format_shape


def _crop(cx: NodeContext, x: Value, box: dict[int, tuple[int, int]], part: str | None) -> Value:
    """x restricted to [start, end) on each axis of `box` (a pad with negative counts)."""
    rank = x.type.rank
    before, after = [0] * rank, [0] * rank
    for axis, (start, end) in box.items():
        size = x.type.shape[axis]
        if size == BATCH:
            raise cx.fail(f"slicing the batch axis of {format_shape(x.type.shape)} is not "
                          "supported (netc compiles the batch as a whole)")
        if not 0 <= start < end <= int(size):
            raise cx.fail(f"empty or out-of-range slice [{start}, {end}) of axis {axis} "
                          f"(size {size})")
        before[axis], after[axis] = -start, -(int(size) - end)
    if not any(before) and not any(after):
        return x
    return cx.add("pad", [x], {"before": before, "after": after, "value": 0.0}, part=part)


def _clamp(index: int, size: int) -> int:
    """An ONNX start/end index (negative counts from the end) clamped to [0, size]."""
    if index < 0:
        index += size
    return min(max(index, 0), size)


@converter("Slice", static=(1, 2, 3, 4))
def _slice(cx: NodeContext) -> None:
    x = cx.value(0)
    rank = x.type.rank
    starts, ends = cx.ints(1) or [], cx.ints(2) or []
    axes = cx.ints(3) or list(range(len(starts)))
    steps = cx.ints(4) or [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise cx.fail("starts, ends, axes and steps differ in length")
    box: dict[int, tuple[int, int]] = {}
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        if step != 1:
            raise cx.fail(f"step {step} on computed data: netc slices data with step 1")
        if not -rank <= axis < rank:
            raise cx.fail(f"axis {axis} out of range for rank {rank}")
        axis %= rank
        size = x.type.shape[axis]
        if size == BATCH:
            if start in (0, -(2**63)) and end >= 2**31:  # the whole batch: nothing to cut
                continue
            raise cx.fail("slicing the batch axis is not supported")
        box[axis] = (_clamp(start, int(size)), _clamp(end, int(size)))
    cx.finish(_crop(cx, x, box, None))


def _split_sizes(cx: NodeContext, size: int) -> list[int]:
    outputs = len(cx.node.output)
    if cx.has(1):
        sizes = cx.ints(1) or []
    elif "split" in cx.attrs:  # opset < 13
        sizes = [int(s) for s in cx.attrs["split"]]
    else:
        count = int(cx.attrs.get("num_outputs", outputs))
        chunk = -(-size // count)
        sizes = [min(chunk, size - i * chunk) for i in range(count)]
    if len(sizes) != outputs or sum(sizes) != size or any(s <= 0 for s in sizes):
        raise cx.fail(f"split sizes {sizes} do not cut a dimension of {size} into "
                      f"{outputs} outputs")
    return sizes


def _axis_attr(cx: NodeContext, x: Value) -> tuple[int, Dim]:
    """The node's `axis` attribute (default 0) normalized for x's rank, and x's size there."""
    rank = x.type.rank
    axis = int(cx.attrs.get("axis", 0))
    if not -rank <= axis < rank:
        raise cx.fail(f"axis {axis} out of range for rank {rank}")
    axis %= rank
    return axis, x.type.shape[axis]


@converter("Split", static=(1,), outputs=64)
def _split(cx: NodeContext) -> None:
    x = cx.value(0)
    axis, size = _axis_attr(cx, x)
    if size == BATCH:
        raise cx.fail("splitting the batch axis is not supported")
    start = 0
    for i, length in enumerate(_split_sizes(cx, int(size))):
        cx.set_output(_crop(cx, x, {axis: (start, start + length)}, f"part{i}"), i)
        start += length


def _trailing_axes(cx: NodeContext, x: Value) -> list[int]:
    rank = x.type.rank
    axis = int(cx.attrs.get("axis", -1))
    if not -rank <= axis < rank:
        raise cx.fail(f"axis {axis} out of range for rank {rank}")
    axes = list(range(axis % rank, rank))
    if any(x.type.shape[a] == BATCH for a in axes):
        raise cx.fail("normalizing over the batch axis is not supported")
    return axes


def emitter(cx: NodeContext) -> Emit:
    """The node's way of adding the intermediate ops of a composition (compiler/frontend/
    compose.py): `<layer>.<part>`, the result renamed to the layer by cx.finish."""
    return lambda op, operands, attrs, part: cx.add(op, operands, attrs, part=part)


@converter("LayerNormalization", outputs=3)
def _layer_norm(cx: NodeContext) -> None:
    x = cx.value(0)
    emit = emitter(cx)
    shift = cx.parameter(2, "param") if cx.has(2) else None
    y, mean, _, std = compose.layer_norm(emit, x, _trailing_axes(cx, x),
                                      cx.attrs.get("epsilon", 1e-5), cx.parameter(1, "param"),
                                      shift)
    cx.finish(y)
    if len(cx.node.output) > 1:  # the statistics, in the kept-dims shape ONNX gives them
        cx.set_output(mean, 1)
    if len(cx.node.output) > 2:
        cx.set_output(emit("div", [compose.scalar(emit, x, 1.0, "one"), std], {}, "inv_std"), 2)


@converter("HardSigmoid")
def _hardsigmoid(cx: NodeContext) -> None:
    cx.finish(compose.hard_sigmoid(emitter(cx), cx.value(0), cx.attrs.get("alpha", 0.2),
                                   cx.attrs.get("beta", 0.5)))


@converter("HardSwish")
def _hardswish(cx: NodeContext) -> None:
    cx.finish(compose.hard_swish(emitter(cx), cx.value(0)))


@converter("Gather")
def _gather(cx: NodeContext) -> None:
    """Gather at constant indices (what exporters write to pick q, k, v apart, or to reorder
    channels): each run of consecutive indices is a crop, the runs are concatenated along the
    axis, and a view gives the indices' shape. Gather along axis 0 of a 2-D table at indices
    known only at run time (an int64 graph input) is an embedding lookup."""
    if not isinstance(cx.importer.env.get(cx.node.input[1]), np.ndarray):
        _embedding(cx)
        return
    x = cx.value(0)
    axis, size = _axis_attr(cx, x)
    indices = cx.static(1)
    if indices is None:
        raise cx.fail("Gather needs its indices (input 1)")
    if size == BATCH:
        raise cx.fail("gathering along the batch axis is not supported")
    flat = [int(i) for i in indices.reshape(-1)]
    if not flat or any(not -int(size) <= i < int(size) for i in flat):
        raise cx.fail(f"indices {flat[:8]} out of range for a dimension of {size}")
    runs = _runs([i % int(size) for i in flat])
    pieces = [_crop(cx, x, {axis: run}, f"run{k}") for k, run in enumerate(runs)]
    joined = pieces[0] if len(pieces) == 1 else cx.add("concat", pieces, {"axis": axis},
                                                         part="joined")
    shape = (*x.type.shape[:axis], *indices.shape, *x.type.shape[axis + 1:])
    if shape == joined.type.shape:
        cx.finish(joined)
        return
    cx.finish(cx.add("reshape", [joined], {"shape": shape}))


def _embedding(cx: NodeContext) -> None:
    ids = cx.importer.env.get(cx.node.input[1])
    if not isinstance(ids, Value) or ids.type.dtype != "i64":
        raise cx.fail("indices known only at run time must be an int64 tensor")
    table = cx.parameter(0, "param")
    if table.type.rank != 2 or int(cx.attrs.get("axis", 0)) not in (0, -2):
        raise cx.fail(f"indices known only at run time: netc looks up rows (axis 0) of a 2-D "
                      f"table, got axis {cx.attrs.get('axis', 0)} of {table.type}")
    cx.finish(cx.add("embedding", [table, ids]))


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """[start, end) ranges of consecutive indices, in order: [0, 1, 3] -> [(0, 2), (3, 4)]."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs
