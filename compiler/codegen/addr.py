"""Element addresses of 4-D values in their physical layout.

Where it sits: every emitter that walks images by (n, c, h, w) (pools, reductions, im2col and
col2im of the convolutions) addresses elements through this, so one loop nest serves plain
NCHW, NHWC and blocked NCHW<b>c: in each, element (n, c, h, w) is at
plane(n, c) + h * row + w * col.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import llvmlite.ir as ir

from compiler.codegen.kernel_builder import KernelBuilder
from ir.layouts import block_of
from ir.types import TensorType

Index: TypeAlias = ir.Value | int


@dataclass(frozen=True)
class Addr:
    layout: str
    n: int
    c: int
    h: int
    w: int

    @staticmethod
    def of(t: TensorType) -> Addr:
        n, c, h, w = (int(d) for d in t.shape)
        layout = t.layout if t.layout in ("nhwc",) or block_of(t.layout) else ""
        return Addr(layout, n, c, h, w)

    @property
    def block(self) -> int:
        return block_of(self.layout)

    @property
    def image(self) -> int:
        return self.c * self.h * self.w

    @property
    def row(self) -> int:
        if self.layout == "nhwc":
            return self.w * self.c
        return self.w * (self.block or 1)

    @property
    def col(self) -> int:
        if self.layout == "nhwc":
            return self.c
        return self.block or 1

    def channel(self, kb: KernelBuilder, c: Index) -> ir.Value:
        """Offset of channel c within an image."""
        if self.layout == "":
            return kb.mul(c, self.h * self.w)
        if self.layout == "nhwc":
            return kb.i64(c)
        b = self.block
        outer = kb.b.sdiv(kb.i64(c), kb.i64(b)) if not isinstance(c, int) else kb.i64(c // b)
        inner = kb.b.srem(kb.i64(c), kb.i64(b)) if not isinstance(c, int) else kb.i64(c % b)
        return kb.add(kb.mul(outer, self.h * self.w * b), inner)

    def plane(self, kb: KernelBuilder, n: Index, c: Index) -> ir.Value:
        return kb.add(kb.mul(n, self.image), self.channel(kb, c))

    def at(self, kb: KernelBuilder, n: Index, c: Index, h: Index, w: Index) -> ir.Value:
        return kb.add(self.plane(kb, n, c), kb.add(kb.mul(h, self.row), kb.mul(w, self.col)))
