"""Re-batching an ONNX model exported at a fixed batch: the constant Reshape shapes that carry
the exported batch, scaled to the new one.

Where it sits: a helper of compiler/frontend/onnx/importer.py. compile(batch=B) on a model with
fixed input shapes imports it again with the data inputs at B (compiler/driver/pipelines.py
`rebatched`). Shape arithmetic computed from Shape(x) folds anew by itself; but an exporter
that knew every shape folded it already, so a Reshape may read a constant such as
[1, 2, 24, 28, 28] (ShuffleNet's channel shuffle at batch 1) or [32, 4, 32] (attention heads:
32 tokens, batch 1 x 4 heads). Where the batch sits in such a target follows from the input's
shapes at both batches: row-major order keeps the batch in the target dimension that starts
where the input's batch axis starts.

    input 32x1x128 at the export, 32x8x128 now; target [32, 4, 32] -> [32, 32, 32]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ir.graph import Value


@dataclass(frozen=True)
class Exported:
    """What the import at the file's batch saw: every ONNX value's shape, and every 1-D integer
    constant (a Reshape target folded anew from Shape(x) differs from it, and is right as it
    is; one equal to it is the exporter's own constant)."""

    shapes: Mapping[str, tuple[int, ...]]
    integers: Mapping[str, tuple[int, ...]]

    @classmethod
    def of(cls, env: Mapping[str, Value | np.ndarray]) -> Exported:
        shapes = {name: tuple(int(d) for d in v.type.shape) for name, v in env.items()
                  if isinstance(v, Value) and v.type.is_concrete}
        integers = {name: tuple(int(i) for i in a) for name, a in env.items()
                    if isinstance(a, np.ndarray) and a.ndim == 1 and a.dtype.kind in "iu"}
        return cls(shapes, integers)


def rebatched_target(target: Sequence[int], before: Sequence[int], now: Sequence[int],
                     allowzero: bool, exported_batch: int) -> list[int] | None:
    """Reshape's constant `target` for an input that was `before` at the export and is `now`
    (one axis changed: the batch); None when the target needs no change (the batch is not
    involved, or a 0 or -1 carries it already). Raises ValueError when the batch's place in
    the target is lost or ambiguous."""
    changed = [i for i, (b, n) in enumerate(zip(before, now, strict=False)) if b != n]
    if len(before) != len(now) or len(changed) != 1:
        return None
    axis = changed[0]
    if axis < len(target) and target[axis] == 0 and not allowzero:
        return None  # "copy this dimension": it copies the new batch
    shapes = f"{'x'.join(map(str, before))} (now {'x'.join(map(str, now))})"
    if before[axis] != exported_batch:
        raise ValueError(f"its input {shapes} holds the batch merged into another dimension, "
                         f"and its constant shape {list(target)} does not say where")
    resolved = _resolved(target, before, allowzero)
    j = _batch_dimension(resolved, before, axis)
    if j is None:
        raise ValueError(f"its constant shape {list(target)} pins the exported batch of its "
                         f"input {shapes}: no dimension of it can take the batch, or several")
    if target[j] == -1:
        return None  # inferred again from the new element count
    scaled = list(target)
    scaled[j] = resolved[j] // before[axis] * now[axis]
    return scaled


def _batch_dimension(target: Sequence[int], before: Sequence[int], axis: int) -> int | None:
    """The target dimension that holds the input's batch axis: one that starts where the
    batch starts (the batch its outer factor) or one that ends where it ends (its inner
    factor). The outermost batch (axis 0) is the outer factor of the first dimension that can
    hold it; a batch of 1 further in is ambiguous when both fit ([L, 1, E] -> [L, 4, E/4] is
    [L, N*4, E/4] in attention, [L*N, 4, E/4] just as well): None then."""
    size = before[axis]
    starts = [j for j in range(len(target)) if target[j] % size == 0
              and math.prod(target[:j]) == math.prod(before[:axis])]
    ends = [j for j in range(len(target)) if target[j] % size == 0
            and math.prod(target[: j + 1]) == math.prod(before[: axis + 1])]
    if axis == 0 and starts:
        return starts[0]
    candidates = set(starts[:1] + ends[-1:])
    return candidates.pop() if len(candidates) == 1 else None


def _resolved(target: Sequence[int], before: Sequence[int], allowzero: bool) -> list[int]:
    """The target as the export read it: 0 copied from the input, -1 inferred."""
    dims = [before[i] if t == 0 and not allowzero and i < len(before) else t
            for i, t in enumerate(target)]
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        dims = [math.prod(before) // known if d == -1 and known else d for d in dims]
    return dims
