"""Re-batching an ONNX model exported at a fixed batch: the constant Reshape shapes that carry
the exported batch, scaled to the new one.

Where it sits: a helper of compiler/frontend/onnx/importer.py. compile(batch=B) on a model with
fixed input shapes imports it again with the data inputs at B (compiler/driver/pipelines.py
`rebatched`). Shape arithmetic computed from Shape(x) folds anew by itself; but an exporter
that knew every shape folded it already, so a Reshape may read a constant such as
[1, 2, 24, 28, 28] (ShuffleNet's channel shuffle at batch 1) or [32, 4, 32] (attention heads:
32 tokens, batch 1 x 4 heads). Where the batch sits in such a target follows from the input's
shapes at both batches: row-major order keeps the batch in a target dimension that starts (or
ends) where the input's batch starts (or ends).

    input 32x1x128 at the export, 32x8x128 now; target [32, 4, 32] -> [32, 32, 32]

Where a batch of 1 lies on a boundary of the target, both neighbours fit ([32, 1, 128] ->
[32, 4, 32] is [32, N*4, 32] in PyTorch's attention, but [32*N, 4, 32] just as well by the
shapes). Reimport then tries the readings in order until the whole model imports per sample:
every value's shape differs from its export in at most the one axis that holds the batch
(`Exported.mixed`). The wrong reading of attention heads mixes the samples (scores of shape
[4, 32N, 32N]) and is refused so.
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

    def mixed(self, env: Mapping[str, Value | np.ndarray], outputs: Sequence[str],
              batch: int | str | None) -> str | None:
        """What shows a re-import reading its Reshapes wrongly, or None: a value whose shape
        differs from the export's in more than one axis (samples mixed: the batch in two
        places), or an output that kept the exported `batch` in its leading axis."""
        for name, v in env.items():
            before = self.shapes.get(name)
            if not isinstance(v, Value) or before is None or not v.type.is_concrete:
                continue
            now = tuple(int(d) for d in v.type.shape)
            if len(now) != len(before):
                continue
            changed = [i for i, (a, b) in enumerate(zip(now, before, strict=True)) if a != b]
            pinned = name in outputs and now and now[0] == batch and 0 not in changed
            if len(changed) > 1 or pinned:
                shown = "x".join(map(str, now))
                return f"'{name}' {shown} (exported {'x'.join(map(str, before))})"
        return None


def rebatched_targets(target: Sequence[int], before: Sequence[int], now: Sequence[int],
                      allowzero: bool, exported_batch: int) -> list[list[int] | None]:
    """The readings of Reshape's constant `target` for an input that was `before` at the export
    and is `now` (one axis changed: the batch), the likeliest first; None for a target that
    needs no change (the batch is not involved, or a 0 or -1 carries it already). Several
    readings when the batch can sit in several dimensions of the target; raises ValueError when
    it fits none."""
    changed = [i for i, (b, n) in enumerate(zip(before, now, strict=False)) if b != n]
    if len(before) != len(now) or len(changed) != 1:
        return [None]
    axis = changed[0]
    if axis < len(target) and target[axis] == 0 and not allowzero:
        return [None]  # "copy this dimension": it copies the new batch
    resolved = _resolved(target, before, allowzero)
    new_batch = now[axis] * exported_batch // before[axis]
    readings: list[list[int] | None] = []
    for j in _batch_dimensions(resolved, before, axis, exported_batch):
        scaled = None if target[j] == -1 else [
            t // exported_batch * new_batch if i == j else t for i, t in enumerate(target)]
        if scaled not in readings:
            readings.append(scaled)
    if not readings:
        shapes = f"{'x'.join(map(str, before))} (now {'x'.join(map(str, now))})"
        raise ValueError(f"its constant shape {list(target)} pins the exported batch of its "
                         f"input {shapes}: no dimension of it can take the batch")
    return readings


def _batch_dimensions(target: Sequence[int], before: Sequence[int], axis: int,
                      batch: int) -> list[int]:
    """The target dimensions that can hold the input's batch, the likeliest first. In row-major
    order the batch is a digit of the element index: the outer factor of its axis, or (an axis
    that merged it with another dimension, as [L, N*heads, d] does) possibly the inner one. The
    digit lands in the target dimension that starts where it starts (its outer factor: the
    first such, as PyTorch's view(L, N*heads, d) puts it) or ends where it ends (its inner
    factor, as view(L*N, E) does); which of these a model meant, only the rest of the model
    tells (Reimport tries them in this order)."""
    if before[axis] % batch:
        return []
    outer = math.prod(before[:axis])
    spans = [outer]
    if before[axis] != batch:  # merged with another dimension: the batch may be its inner part
        spans.append(outer * before[axis] // batch)
    found: list[int] = []
    for lo in spans:
        starts = [j for j in range(len(target)) if target[j] % batch == 0
                  and math.prod(target[:j]) == lo]
        ends = [j for j in range(len(target)) if target[j] % batch == 0
                and math.prod(target[: j + 1]) == lo * batch]
        found += [j for j in starts[:1] + ends[::-1] if j not in found]
    return found


def _resolved(target: Sequence[int], before: Sequence[int], allowzero: bool) -> list[int]:
    """The target as the export read it: 0 copied from the input, -1 inferred."""
    dims = [before[i] if t == 0 and not allowzero and i < len(before) else t
            for i, t in enumerate(target)]
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        dims = [math.prod(before) // known if d == -1 and known else d for d in dims]
    return dims
