"""Numpy semantics of the backward ops (ir/ops_grad.py): the oracle for gradient kernels.

Where it sits: registered into runtime/ref_ops.REF. Window gradients scatter with the same
`window_slices` the forward ops gather with, so forward and backward read as mirror images.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ir.types import TensorType
from runtime.ref_ops import (
    Array,
    avg_divisor,
    channel_view,
    pad_for_windows,
    ref,
    window_slices,
)
from runtime.ref_ops_nn import softmax


def _crop(xp: Array, pad: Sequence[int], h: int, w: int) -> Array:
    return xp[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w]


@ref("conv2d_grad_input")
def conv2d_grad_input(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, w = xs
    n, o, ho, wo = dy.shape
    _, cg, kh, kw = w.shape
    g = a["groups"]
    shape = out.concrete_shape()
    h, wd = shape[2:]
    dxp = np.zeros_like(pad_for_windows(np.zeros(shape, dy.dtype), a["pad"], (kh, kw),
                                        a["stride"], a["dilation"], (ho, wo), 0.0))
    dyg = dy.reshape(n, g, o // g, ho, wo)
    wg = w.reshape(g, o // g, cg, kh, kw)
    for ky, kx, region in window_slices(dxp, (kh, kw), a["stride"], a["dilation"], (ho, wo)):
        contrib = np.einsum("ngohw,goc->ngchw", dyg, wg[:, :, :, ky, kx])
        region += contrib.reshape(n, g * cg, ho, wo)  # a view into dxp: scatter-add
    return _crop(dxp, a["pad"], h, wd)


@ref("conv2d_grad_weight")
def conv2d_grad_weight(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, x = xs
    n, o, ho, wo = dy.shape
    c = x.shape[1]
    g = a["groups"]
    kh, kw = a["kernel"]
    xp = pad_for_windows(x, a["pad"], (kh, kw), a["stride"], a["dilation"], (ho, wo), 0.0)
    dyg = dy.reshape(n, g, o // g, ho, wo)
    dw = np.zeros((g, o // g, c // g, kh, kw), dtype=dy.dtype)
    for ky, kx, patch in window_slices(xp, (kh, kw), a["stride"], a["dilation"], (ho, wo)):
        dw[:, :, :, ky, kx] = np.einsum("ngohw,ngchw->goc", dyg,
                                        patch.reshape(n, g, c // g, ho, wo))
    return dw.reshape(o, c // g, kh, kw)


@ref("maxpool2d_grad")
def maxpool2d_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    """Routes dy to the first maximum of each window, scanning the window row by row
    (PyTorch's rule: a later element wins only if strictly greater, or NaN)."""
    dy, x = xs
    k, s, d = a["kernel"], a["stride"], a["dilation"]
    hw = dy.shape[2:]
    xp = pad_for_windows(x, a["pad"], k, s, d, hw, -np.inf)
    slices = window_slices(xp, k, s, d, hw)
    best = slices[0][2].copy()
    arg = np.zeros(best.shape, dtype=np.int64)
    for i, (_, _, patch) in enumerate(slices[1:], start=1):
        better = (patch > best) | np.isnan(patch)
        best = np.where(better, patch, best)
        arg = np.where(better, i, arg)
    dxp = np.zeros_like(xp)
    for i, (_, _, region) in enumerate(window_slices(dxp, k, s, d, hw)):
        region += np.where(arg == i, dy, 0)
    return _crop(dxp, a["pad"], x.shape[2], x.shape[3])


@ref("avgpool2d_grad")
def avgpool2d_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    (dy,) = xs
    k, s, d = a["kernel"], a["stride"], a["dilation"]
    hw = dy.shape[2:]
    x0 = np.zeros(out.concrete_shape(), dtype=dy.dtype)
    share = dy / avg_divisor(x0, a, hw)
    dxp = pad_for_windows(x0, a["pad"], k, s, d, hw, 0.0)
    for _, _, region in window_slices(dxp, k, s, d, hw):
        region += share
    return _crop(dxp, a["pad"], x0.shape[2], x0.shape[3])


@ref("reduce_sum")
def reduce_sum(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return np.asarray(xs[0].sum(axis=tuple(a["axes"]), keepdims=a["keepdims"]))


@ref("slice")
def slice_(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    index = [slice(None)] * xs[0].ndim
    index[a["axis"]] = slice(a["start"], a["stop"])
    return xs[0][tuple(index)]


@ref("relu_grad")
def relu_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, y = xs
    return np.where(y > 0, dy, 0).astype(dy.dtype)


@ref("sigmoid_grad")
def sigmoid_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, y = xs
    return dy * y * (1 - y)


@ref("tanh_grad")
def tanh_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, y = xs
    return dy * (1 - y * y)


@ref("leaky_relu_grad")
def leaky_relu_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, x = xs
    return np.where(x > 0, dy, dy * dy.dtype.type(a["alpha"]))


@ref("clip_grad")
def clip_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, x = xs
    return np.where((x >= a["min"]) & (x <= a["max"]), dy, 0).astype(dy.dtype)


@ref("softmax_grad")
def softmax_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, y = xs
    return y * (dy - (dy * y).sum(axis=a["axis"], keepdims=True))


@ref("log_softmax_grad")
def log_softmax_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, y = xs
    return dy - np.exp(y) * dy.sum(axis=a["axis"], keepdims=True)


@ref("softmax_cross_entropy_grad")
def softmax_cross_entropy_grad(xs: Sequence[Array], a: Mapping[str, Any],
                               out: TensorType) -> Array:
    logits, labels, dloss = xs
    p = softmax([logits], {"axis": 1}, out)
    p[np.arange(len(labels)), labels] -= 1
    return p * (dloss / len(labels))


@ref("mse_grad")
def mse_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    pred, target, dloss = xs
    return 2 * (pred - target) * (dloss / pred.size)


def _stat_axes(x: Array) -> tuple[int, ...]:
    return (0,) if x.ndim == 2 else (0, 2, 3)


@ref("batch_mean")
def batch_mean(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return xs[0].mean(axis=_stat_axes(xs[0]))


@ref("batch_var")
def batch_var(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    x, mean = xs
    centered = x - channel_view(mean, x.ndim)
    return (centered * centered).mean(axis=_stat_axes(x))


def _inv_std(var: Array, eps: float) -> Array:
    return 1.0 / np.sqrt(var + var.dtype.type(eps))


@ref("batchnorm_grad_input")
def batchnorm_grad_input(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, scale, var = xs
    return dy * channel_view(scale * _inv_std(var, a["eps"]), dy.ndim)


@ref("batchnorm_grad_scale")
def batchnorm_grad_scale(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, x, mean, var = xs
    xhat = (x - channel_view(mean, x.ndim)) * channel_view(_inv_std(var, a["eps"]), x.ndim)
    return (dy * xhat).sum(axis=_stat_axes(x))


@ref("batchnorm_grad_var")
def batchnorm_grad_var(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dy, x, scale, mean, var = xs
    s = (dy * channel_view(scale, x.ndim) * (x - channel_view(mean, x.ndim))).sum(
        axis=_stat_axes(x))
    return s * -0.5 * _inv_std(var, a["eps"]) ** 3


def _per_channel_count(x: Array) -> int:
    return x.size // x.shape[1]


@ref("batch_var_grad")
def batch_var_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dvar, x, mean = xs
    r = x.ndim
    return channel_view(dvar, r) * 2 * (x - channel_view(mean, r)) / _per_channel_count(x)


@ref("batch_mean_grad")
def batch_mean_grad(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    dmean, x = xs
    return np.broadcast_to(channel_view(dmean, x.ndim) / _per_channel_count(x), x.shape).copy()


@ref("broadcast_to")
def broadcast_to(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return np.broadcast_to(xs[0], out.concrete_shape()).copy()
