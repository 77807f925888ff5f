"""Numpy semantics of the training-only ops (ir/ops_train.py): optimizer updates, running
statistics, the step counter and dropout masks.

Where it sits: registered into runtime/ref_ops.REF. The update formulas are written to match
torch.optim.SGD / torch.optim.Adam term by term.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ir.types import TensorType
from runtime.ref_ops import Array, ref

_MASK64 = (1 << 64) - 1


def _t(x: Array, v: float) -> Any:
    return x.dtype.type(v)


@ref("sgd_step")
def sgd_step(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    w, g = xs
    return w - _t(w, a["lr"]) * (g + _t(w, a["weight_decay"]) * w)


@ref("sgd_momentum_buf")
def sgd_momentum_buf(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    buf, g, w = xs
    return _t(w, a["momentum"]) * buf + (g + _t(w, a["weight_decay"]) * w)


@ref("sgd_momentum_step")
def sgd_momentum_step(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    w, g, buf = xs
    if a["nesterov"]:
        direction = (g + _t(w, a["weight_decay"]) * w) + _t(w, a["momentum"]) * buf
    else:
        direction = buf
    return w - _t(w, a["lr"]) * direction


@ref("adam_m")
def adam_m(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    m, g, w = xs
    b1 = a["beta1"]
    return _t(w, b1) * m + _t(w, 1 - b1) * (g + _t(w, a["weight_decay"]) * w)


@ref("adam_v")
def adam_v(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    v, g, w = xs
    b2 = a["beta2"]
    d = g + _t(w, a["weight_decay"]) * w
    return _t(w, b2) * v + _t(w, 1 - b2) * d * d


@ref("adam_step")
def adam_step(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    w, m, v, step = xs
    t = int(step) + 1
    c1 = 1.0 - a["beta1"] ** t
    c2 = 1.0 - a["beta2"] ** t
    denom = np.sqrt(v / _t(w, c2)) + _t(w, a["eps"])
    return w - _t(w, a["lr"]) * (m / _t(w, c1)) / denom


@ref("ema_update")
def ema_update(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    running, stat, x = xs
    if a["unbiased"]:
        count = x.size // x.shape[1]
        stat = stat * _t(stat, count / max(count - 1, 1))
    mom = a["momentum"]
    return _t(running, 1 - mom) * running + _t(running, mom) * stat


@ref("increment")
def increment(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    return np.asarray(xs[0] + 1, dtype=np.int64)


def splitmix64(z: Array) -> Array:
    """The splitmix64 finalizer on uint64 arrays (wrapping arithmetic)."""
    z = z + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def dropout_keep(seed: int, step: int, numel: int, rate: float) -> Array:
    """Boolean keep-mask: element i of step s keeps when its uniform draw is >= rate."""
    with np.errstate(over="ignore"):
        counter = np.uint64(step) * np.uint64(numel) + np.arange(numel, dtype=np.uint64)
        key = np.uint64((seed * 0x2545F4914F6CDD1D) & _MASK64)
        bits = splitmix64(counter ^ key)
    u = (bits >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    return u >= rate


@ref("dropout_mask")
def dropout_mask(xs: Sequence[Array], a: Mapping[str, Any], out: TensorType) -> Array:
    (step,) = xs
    numel = out.numel()
    keep = dropout_keep(a["seed"], int(step), numel, a["rate"])
    dtype = np.float64 if a["dtype"] == "f64" else np.float32
    scale = 1.0 / (1.0 - a["rate"])
    return np.where(keep, scale, 0.0).astype(dtype).reshape(out.concrete_shape())
