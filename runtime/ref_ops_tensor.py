"""Numpy semantics of the tensor ops of ir/ops_tensor.py: transpose, pad, mean and max.

Where it sits: registered into runtime/ref_ops.REF; the oracle for the kernels of
compiler/codegen/emitters/tensor.py and for the ONNX conformance run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ir.types import TensorType
from runtime.ref_ops import Array, ref


@ref("transpose")
def transpose(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return np.ascontiguousarray(np.transpose(xs[0], a["perm"]))


@ref("pad")
def pad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    """Crops the negative counts first, then pads the positive ones with `value`."""
    x = xs[0]
    crop = tuple(slice(max(-lo, 0), x.shape[i] - max(-hi, 0))
                 for i, (lo, hi) in enumerate(zip(a["before"], a["after"], strict=True)))
    widths = [(max(lo, 0), max(hi, 0)) for lo, hi in zip(a["before"], a["after"], strict=True)]
    return np.pad(x[crop], widths, constant_values=x.dtype.type(a["value"]))


@ref("reduce_mean")
def reduce_mean(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x = xs[0]
    return np.asarray(x.mean(axis=tuple(a["axes"]), keepdims=a["keepdims"]), dtype=x.dtype)


@ref("reduce_max")
def reduce_max(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x = xs[0]
    return np.asarray(np.max(x, axis=tuple(a["axes"]), keepdims=a["keepdims"], initial=-np.inf),
                      dtype=x.dtype)


@ref("max_mask")
def max_mask(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x, y = xs
    return (x == y).astype(x.dtype)
