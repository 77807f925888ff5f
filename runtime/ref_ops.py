"""The reference interpreter's op table REF and the helpers its semantics share.

Where it sits: the reference interpreter (runtime/reference.py) looks ops up in REF by name. The
semantics themselves live in the runtime/ref_ops_<family>.py files (nn, grad, tensor, train),
one per family of ir/ops_<family>.py, loaded below. Written for obviousness, not speed: windows
are sums over kernel offsets of strided slices, so each formula can be read against its op's
docstring.
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


def avg_divisor(x: Array, a: Mapping[str, Any], hw: Sequence[int]) -> Array:
    """Per-window divisor [1,1,Ho,Wo] of avgpool2d (PyTorch's rule): the window's positions
    inside the input, or inside input + padding when count_include_pad; never the ceil_mode
    overhang."""
    k, s, d, pad = a["kernel"], a["stride"], a["dilation"], a["pad"]
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    counted = np.pad(ones, ((0, 0), (0, 0), (pad[0], pad[2]), (pad[1], pad[3])),
                     constant_values=1.0 if a["count_include_pad"] else 0.0)
    mask = pad_for_windows(counted, (0, 0, 0, 0), k, s, d, hw, 0.0)
    # sum() of arrays is an array; typeshed's sum() also allows its int start (0) as the result
    return sum(p for _, _, p in window_slices(mask, k, s, d, hw))  # type: ignore[return-value]


def channel_view(v: Array, rank: int) -> Array:
    """A per-channel vector [C] shaped to broadcast over axis 1 of a rank-`rank` tensor."""
    return v.reshape((1, -1) + (1,) * (rank - 2))


def check_labels(labels: Array, classes: int) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise RuntimeInputError(f"label {int(bad)} is outside the {classes} classes [0, {classes})")


def _load_more_semantics() -> None:
    """Imports every runtime/ref_ops_*.py (backward, training, ... ops register into REF)."""
    from ir.extensions import load_modules

    load_modules("runtime", "ref_ops_")


_load_more_semantics()
