"""Numpy semantics of the sequence-model ops of ir/ops_sequence.py: erf, embedding and the
scatter-add that is its gradient.

Where it sits: registered into runtime/ref_ops.REF; the oracle for the erf formula of
compiler/codegen/expr.py and the kernels of compiler/codegen/emitters/embedding.py. numpy has
no erf, so it is math.erf element by element (correctly rounded to double): slow, and obvious.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ir.errors import RuntimeInputError
from ir.types import TensorType
from runtime.ref_ops import Array, ref

_ERF = np.frompyfunc(math.erf, 1, 1)


@ref("erf")
def erf(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x = xs[0]
    return np.asarray(_ERF(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)


def check_ids(ids: Array, rows: int) -> None:
    """Refuses an id outside [0, rows) (the runtime checks graph inputs before this)."""
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        bad = int(ids[(ids < 0) | (ids >= rows)][0])
        raise RuntimeInputError(f"id {bad} is outside the {rows} rows [0, {rows}) of the table")


@ref("embedding")
def embedding(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    table, ids = xs
    check_ids(ids, table.shape[0])
    return np.ascontiguousarray(table[ids])


@ref("embedding_grad")
def embedding_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, ids = xs
    check_ids(ids, a["rows"])
    grad = np.zeros((a["rows"], dy.shape[-1]), dtype=dy.dtype)
    np.add.at(grad, ids.reshape(-1), dy.reshape(-1, dy.shape[-1]))
    return grad
