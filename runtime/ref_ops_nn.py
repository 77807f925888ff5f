"""Numpy semantics of the forward (nn) ops of ir/ops_nn.py: the oracle every JIT kernel is
tested against.

Where it sits: registered into runtime/ref_ops.REF. Written for obviousness, not speed: windows
are sums over kernel offsets of strided slices, so each formula can be read against its
docstring in ir/ops_nn.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ir.types import TensorType
from runtime.ref_ops import (
    REF,
    Array,
    avg_divisor,
    channel_view,
    check_labels,
    pad_for_windows,
    ref,
    window_slices,
)


@ref("conv2d")
def conv2d(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    """y[n,o] = sum over kernel offsets (ky,kx) of W[o,:,ky,kx] @ (x shifted by the offset)."""
    x, w = xs[0], xs[1]
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    g = a["groups"]
    ho, wo = out.concrete_shape()[2], out.concrete_shape()[3]
    xp = pad_for_windows(x, a["pad"], (kh, kw), a["stride"], a["dilation"], (ho, wo), 0.0)
    wg = w.reshape(g, o // g, cg, kh, kw)
    y = np.zeros((n, g, o // g, ho * wo), dtype=x.dtype)
    for ky, kx, patch in window_slices(xp, (kh, kw), a["stride"], a["dilation"], (ho, wo)):
        # (g, O/g, C/g) @ (n, g, C/g, Ho*Wo) -> (n, g, O/g, Ho*Wo)
        y += np.matmul(wg[:, :, :, ky, kx], patch.reshape(n, g, cg, ho * wo))
    y = y.reshape(n, o, ho, wo)
    if len(xs) == 3:
        y = y + xs[2].reshape(1, o, 1, 1)
    return y


@ref("maxpool2d")
def maxpool2d(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    (x,) = xs
    hw = out.concrete_shape()[2:]
    xp = pad_for_windows(x, a["pad"], a["kernel"], a["stride"], a["dilation"], hw, -np.inf)
    slices = [s for _, _, s in window_slices(xp, a["kernel"], a["stride"], a["dilation"], hw)]
    return np.maximum.reduce(slices)


@ref("avgpool2d")
def avgpool2d(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    (x,) = xs
    hw = out.concrete_shape()[2:]
    xp = pad_for_windows(x, a["pad"], a["kernel"], a["stride"], a["dilation"], hw, 0.0)
    total = sum(p for _, _, p in window_slices(xp, a["kernel"], a["stride"], a["dilation"], hw))
    return total / avg_divisor(x, a, hw)


@ref("global_avgpool")
def global_avgpool(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return xs[0].mean(axis=(2, 3), keepdims=True)


@ref("global_maxpool")
def global_maxpool(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return xs[0].max(axis=(2, 3), keepdims=True)


# ---------------------------------------------------------------- contractions and views

@ref("dense")
def dense(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    y = xs[0] @ xs[1].T
    return y + xs[2] if len(xs) == 3 else y


@ref("matmul")
def matmul(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    left = np.swapaxes(xs[0], -1, -2) if a["transpose_a"] else xs[0]
    right = np.swapaxes(xs[1], -1, -2) if a["transpose_b"] else xs[1]
    return left @ right


@ref("flatten")
@ref("reshape")
def reshape(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return xs[0].reshape(out.concrete_shape())


# ---------------------------------------------------------------- elementwise

def _sigmoid(x: Array) -> Array:
    # Split by sign so exp never overflows: the stable form every framework uses.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


_UNARY: dict[str, Callable[[Array], Array]] = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "neg": np.negative,
    "abs": np.abs,
}
_BINARY: dict[str, Callable[[Array, Array], Array]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum, "pow": np.power,
}


def _register_unary(name: str, fn: Callable[[Array], Array]) -> None:
    REF[name] = lambda xs, a, out: fn(xs[0])


def _register_binary(name: str, fn: Callable[[Array, Array], Array]) -> None:
    REF[name] = lambda xs, a, out: fn(xs[0], xs[1])


for _name, _fn in _UNARY.items():
    _register_unary(_name, _fn)
for _name, _bfn in _BINARY.items():
    _register_binary(_name, _bfn)


@ref("leaky_relu")
def leaky_relu(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x = xs[0]
    return np.where(x > 0, x, x * x.dtype.type(a["alpha"]))


@ref("clip")
def clip(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return np.clip(xs[0], a["min"], a["max"]).astype(xs[0].dtype)


@ref("dropout")
def dropout(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return xs[0]  # inference form: identity


# ---------------------------------------------------------------- normalizations

@ref("softmax")
def softmax(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x = xs[0]
    e = np.exp(x - x.max(axis=a["axis"], keepdims=True))
    return e / e.sum(axis=a["axis"], keepdims=True)


@ref("log_softmax")
def log_softmax(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x = xs[0]
    shifted = x - x.max(axis=a["axis"], keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=a["axis"], keepdims=True))


@ref("batchnorm")
def batchnorm(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x, scale, shift, mean, var = xs
    r = x.ndim
    inv = 1.0 / np.sqrt(var + x.dtype.type(a["eps"]))
    return (x - channel_view(mean, r)) * channel_view(inv * scale, r) + channel_view(shift, r)


# ---------------------------------------------------------------- data

@ref("concat")
def concat(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return np.concatenate(xs, axis=a["axis"])


@ref("const")
def const(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return np.full(out.concrete_shape(), a["value"],
                   dtype=np.float64 if a["dtype"] == "f64" else np.float32)


# ---------------------------------------------------------------- losses

@ref("softmax_cross_entropy")
def softmax_cross_entropy(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    logits, labels = xs
    check_labels(labels, logits.shape[1])
    logp = log_softmax([logits], {"axis": 1}, out)
    return np.asarray(-logp[np.arange(len(labels)), labels].mean(), dtype=logits.dtype)


@ref("mse")
def mse(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    diff = xs[0] - xs[1]
    return np.asarray((diff * diff).mean(), dtype=xs[0].dtype)
