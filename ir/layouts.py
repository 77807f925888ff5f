"""Physical layouts: how the elements of a value sit in memory.

Where it sits: the vocabulary of the layout pass (compiler/passes/layout.py), of codegen (which
addresses every element through these formulas) and of the runtime (which translates parameters
between the user's logical order and the physical one). A TensorType's `layout` tag names one:

  ""                   logical row-major: NCHW for images, [out, in] for dense weights
  "nhwc"               [N, H, W, C]
  "nchw8c", "nchw16c"  blocked: [N, C/b, H, W, b] (b channels innermost, one vector's worth)
  "flat_<L>_<C>x<H>x<W>"  a flatten of an <L> value: the same bytes, so feature j sits at
                       the physical position of its (c, h, w)
  "cols_<L>_<C>x<H>x<W>"  a dense weight (or its gradient, or its optimizer state) whose
                       columns follow that physical order: W'[k, phys(j)] = W[k, j]
Flatten stays free in every layout: it is a view, and the dense weight after it is permuted
instead of the activation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATION_LAYOUTS = ("", "nhwc", "nchw8c", "nchw16c")
LAYOUT_CHOICES = ("auto", "nchw", *ACTIVATION_LAYOUTS[1:])
"""What the commands' `--layout` takes: "nchw" is the plain layout (the layout pass's ""), "auto"
what compile(..., layout="auto") chooses on this host."""


def block_of(layout: str) -> int:
    """Channels per block of a blocked layout (0 when not blocked)."""
    if layout.startswith("nchw") and layout.endswith("c") and layout[4:-1].isdigit():
        return int(layout[4:-1])
    return 0


@dataclass(frozen=True)
class Flat:
    """The physical flatten order of a [C, H, W] sample in `layout`."""

    layout: str
    c: int
    h: int
    w: int

    def tag(self, kind: str) -> str:
        return f"{kind}_{self.layout}_{self.c}x{self.h}x{self.w}"

    def physical_index(self) -> np.ndarray:
        """phys[j] = physical position of logical feature j = c*H*W + h*W + w."""
        j = np.arange(self.c * self.h * self.w).reshape(self.c, self.h, self.w)
        return to_physical(j[None], self.layout).reshape(-1).argsort()  # a batch of one

    def describe(self) -> str:
        return describe(self.layout)


def parse_flat(tag: str) -> tuple[str, Flat] | None:
    """("flat" | "cols", Flat) for a flat/cols tag, else None."""
    parts = tag.split("_")
    if len(parts) != 3 or parts[0] not in ("flat", "cols"):
        return None
    dims = parts[2].split("x")
    if len(dims) != 3 or not all(d.isdigit() for d in dims):
        return None
    c, h, w = (int(d) for d in dims)
    return parts[0], Flat(parts[1], c, h, w)


def describe(layout: str) -> str:
    if layout == "":
        return "NCHW (plain)"
    if layout == "nhwc":
        return "NHWC"
    b = block_of(layout)
    return f"NCHW{b}c (blocked, {b} channels per block)" if b else layout


def to_physical(x: np.ndarray, layout: str) -> np.ndarray:
    """A logical [N, C, H, W] array rearranged into `layout`'s memory order (a copy)."""
    if layout == "":
        return np.ascontiguousarray(x)
    if layout == "nhwc":
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    b = block_of(layout)
    n, c, h, w = x.shape
    return np.ascontiguousarray(x.reshape(n, c // b, b, h, w).transpose(0, 1, 3, 4, 2))


def to_logical(x: np.ndarray, layout: str, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of to_physical: `x` holds `layout`'s memory order of logical `shape`."""
    n, c, h, w = shape
    flat = np.asarray(x).reshape(-1)
    if layout == "":
        return flat.reshape(shape).copy()
    if layout == "nhwc":
        return np.ascontiguousarray(flat.reshape(n, h, w, c).transpose(0, 3, 1, 2))
    b = block_of(layout)
    return np.ascontiguousarray(flat.reshape(n, c // b, h, w, b).transpose(0, 1, 4, 2, 3)
                                .reshape(shape))


def weight_to_physical(w: np.ndarray, tag: str) -> np.ndarray:
    """W'[k, phys(j)] = W[k, j] for a `cols_...` tag (identity for any other tag)."""
    parsed = parse_flat(tag)
    if parsed is None:
        return np.ascontiguousarray(w)
    _, flat = parsed
    k = w.shape[0]
    return to_physical(w.reshape(k, flat.c, flat.h, flat.w), flat.layout).reshape(k, -1)


def weight_to_logical(w: np.ndarray, tag: str) -> np.ndarray:
    parsed = parse_flat(tag)
    if parsed is None:
        return np.array(w)
    _, flat = parsed
    k = w.shape[0]
    return to_logical(w, flat.layout, (k, flat.c, flat.h, flat.w)).reshape(k, -1)


def offset_terms(layout: str, shape: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """The physical axes of a 4-D value as (logical axis, size, element stride), outer first.

    A blocked layout splits the channel axis into an outer axis of size C/b (stride counted in
    blocks) and an inner one of size b: the logical channel is outer*b + inner.
    """
    n, c, h, w = shape
    if layout == "":
        return [(0, n, c * h * w), (1, c, h * w), (2, h, w), (3, w, 1)]
    if layout == "nhwc":
        return [(0, n, h * w * c), (2, h, w * c), (3, w, c), (1, c, 1)]
    b = block_of(layout)
    return [(0, n, c * h * w), (1, c // b, h * w * b), (2, h, w * b), (3, w, b), (1, b, 1)]


def element_offset(layout: str, shape: tuple[int, ...], index: tuple[int, ...]) -> int:
    """Physical element offset of a logical (n, c, h, w) index (tests and the runtime)."""
    n, c, h, w = index
    _, cc, hh, ww = shape
    if layout == "":
        return ((n * cc + c) * hh + h) * ww + w
    if layout == "nhwc":
        return ((n * hh + h) * ww + w) * cc + c
    b = block_of(layout)
    return (((n * (cc // b) + c // b) * hh + h) * ww + w) * b + c % b


def weight_panels_tag(width: int) -> str:
    """The tag of a conv weight [O, I, KH, KW] stored as panels of `width` output channels:
    Wp[o // width][i][ky][kx][o % width] (the direct convolution's packed operand, made once
    by compiler/passes/pack_conv_weights.py instead of on every call)."""
    return f"oihw{width}o"


def weight_panels_of(tag: str) -> int:
    """The panel width of a weight_panels_tag (0 for any other tag)."""
    if tag.startswith("oihw") and tag.endswith("o") and tag[4:-1].isdigit():
        return int(tag[4:-1])
    return 0


def weight_to_panels(w: np.ndarray, width: int) -> np.ndarray:
    """A logical [O, I, KH, KW] weight in weight_panels_tag(width)'s memory order (a copy);
    O must be a multiple of `width`."""
    return np.ascontiguousarray(panels_of(w, width)).reshape(w.shape)


def panels_of(w: np.ndarray, width: int) -> np.ndarray:
    """A logical [O, ...] weight seen as its panels, [O / width, rest, width] (a view, no
    copy): the order weight_to_panels stores, for writing panels into a buffer in one pass."""
    return w.reshape(w.shape[0] // width, width, -1).transpose(0, 2, 1)
