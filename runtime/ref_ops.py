"""Numpy semantics of the forward ops: the oracle every JIT kernel is tested against.

Where it sits: the reference interpreter (runtime/reference.py) looks ops up in REF by name.
Written for obviousness, not speed: windows are sums over kernel offsets of strided slices, so
each formula can be read against its docstring in ir/ops_forward.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ir.errors import RuntimeInputError
from ir.types import TensorType

Array = np.ndarray
RefFn = Callable[[Sequence[Array], Mapping[str, Any], TensorType], Array]
REF: dict[str, RefFn] = {}


def ref(name: str) -> Callable[[RefFn], RefFn]:
    def register(fn: RefFn) -> RefFn:
        REF[name] = fn
        return fn

    return register


# ---------------------------------------------------------------- windows

def window_slices(
    x: Array, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
    out_hw: Sequence[int],
) -> list[tuple[int, int, Array]]:
    """(ky, kx, slice) for each kernel offset: slice[n,c,oy,ox] = x[n,c,oy*s+ky*d, ox*s+kx*d].

    `x` must already be padded so that every window lies inside it.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    out = []
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            rows = slice(y0, y0 + sh * (ho - 1) + 1, sh)
            cols = slice(x0, x0 + sw * (wo - 1) + 1, sw)
            out.append((ky, kx, x[:, :, rows, cols]))
    return out


def pad_for_windows(
    x: Array, pad: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
    dilation: Sequence[int], out_hw: Sequence[int], fill: float,
) -> Array:
    """Pads [top, left, bottom, right] and, for ceil_mode windows, enough extra on the far side."""
    top, left, bottom, right = pad
    need_h = (out_hw[0] - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
    need_w = (out_hw[1] - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
    extra_h = max(0, need_h - (x.shape[2] + top + bottom))
    extra_w = max(0, need_w - (x.shape[3] + left + right))
    widths = ((0, 0), (0, 0), (top, bottom + extra_h), (left, right + extra_w))
    return np.pad(x, widths, constant_values=fill)


@ref("conv2d")
def conv2d(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    """y[n,o] = sum over kernel offsets (ky,kx) of W[o,:,ky,kx] @ (x shifted by the offset)."""
    x, w = xs[0], xs[1]
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    g = a["groups"]
    ho, wo = out.shape[2], out.shape[3]
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
    hw = out.shape[2:]
    xp = pad_for_windows(x, a["pad"], a["kernel"], a["stride"], a["dilation"], hw, -np.inf)
    slices = [s for _, _, s in window_slices(xp, a["kernel"], a["stride"], a["dilation"], hw)]
    return np.maximum.reduce(slices)


def avg_divisor(x: Array, a: Mapping[str, Any], hw: Sequence[int]) -> Array:
    """Per-window divisor [1,1,Ho,Wo] of avgpool2d (PyTorch's rule): the window's positions
    inside the input, or inside input + padding when count_include_pad; never the ceil_mode
    overhang."""
    k, s, d, pad = a["kernel"], a["stride"], a["dilation"], a["pad"]
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    counted = np.pad(ones, ((0, 0), (0, 0), (pad[0], pad[2]), (pad[1], pad[3])),
                     constant_values=1.0 if a["count_include_pad"] else 0.0)
    mask = pad_for_windows(counted, (0, 0, 0, 0), k, s, d, hw, 0.0)
    return sum(p for _, _, p in window_slices(mask, k, s, d, hw))  # type: ignore[return-value]


@ref("avgpool2d")
def avgpool2d(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    (x,) = xs
    hw = out.shape[2:]
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
    left = xs[0].T if a["transpose_a"] else xs[0]
    right = xs[1].T if a["transpose_b"] else xs[1]
    return left @ right


@ref("flatten")
@ref("reshape")
def reshape(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return xs[0].reshape(out.shape)


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
}
_BINARY: dict[str, Callable[[Array, Array], Array]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
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


def channel_view(v: Array, rank: int) -> Array:
    """A per-channel vector [C] shaped to broadcast over axis 1 of a rank-`rank` tensor."""
    return v.reshape((1, -1) + (1,) * (rank - 2))


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
    return np.full(out.shape, a["value"], dtype=np.float64 if a["dtype"] == "f64" else np.float32)


# ---------------------------------------------------------------- losses

def check_labels(labels: Array, classes: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise RuntimeInputError(f"label {int(bad)} is outside the {classes} classes [0, {classes})")


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


def _load_more_semantics() -> None:
    """Imports every runtime/ref_ops_*.py (backward, training, ... ops register into REF)."""
    import importlib
    import pkgutil

    import runtime

    for info in sorted(pkgutil.iter_modules(runtime.__path__), key=lambda i: i.name):
        if info.name.startswith("ref_ops_"):
            importlib.import_module(f"runtime.{info.name}")


_load_more_semantics()
