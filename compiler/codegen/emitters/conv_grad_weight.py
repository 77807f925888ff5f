"""The weight gradient of a convolution as GEMMs over im2col tiles, in any layout.

Where it sits: the emitter of `conv2d_grad_weight` (compiler/codegen/emitters/__init__.py finds
it here), built on conv.py's im2col tiles and geometry (_Conv):
  dW[g] += dy[n] @ im2col(x[n])^T  over every image n and pixel tile
The GEMM's K axis is the pixels, so one call per tile loads and stores the task's block of dW;
tiles are as wide as the task's rows allow. Tasks split dW's columns (the im2col rows each
gathers) or, with few columns, its rows (see Conv2dGradWeight.setup).

An ungrouped weight gradient of a plain-layout dy, with whole NR panels of output channels, a
kernel wider than 1x1 and a dW of at most TRANSPOSED_BYTES (resnet18's stem, layer1 and 2),
runs transposed:
  dW^T[rows, :] += im2col(x[n])[rows, tile] @ dy[n][:, tile]^T   (into the task's scratch)
then dW[:, rows] = that block transposed, once per task. Its GEMM has the im2col rows as M and
the output channels as N: 64 channels are two whole NR panels, where as M they were 5 MR
panels and a remainder, and the rows of a task (whole MR panels) never leave an edge panel
through the tile buffer (resnet18's layer1: 144 = 4.5 panels of 32). Tasks split the rows, so
each gathers only its own rows of im2col (the stem's row split gathered all of it twice).
"""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.contraction import Int, View
from compiler.codegen.emitters.conv import _ceil_div, _Conv, _scaled
from compiler.codegen.kernel_builder import KernelBuilder
from ir.graph import Node

TRANSPOSED_BYTES = 1 << 20
"""dW up to this size runs transposed (its block of dW^T sits in the thread's workspace)."""


def runs_transposed(node: Node, nr: int) -> bool:
    """Whether a conv2d_grad_weight runs as dW^T (see above) with micro-panels NR wide: an
    ungrouped one of a plain-layout dy, its filters whole panels, its dW within
    TRANSPOSED_BYTES, its kernel wider than 1x1 (1x1 projections of 7 to 28 pixels wide
    measured 4-12% slower transposed: their few im2col rows gain nothing)."""
    dy = node.operands[0]
    filters, _, kh, kw = (int(d) for d in node.type.shape)
    return (node.attrs.get("groups", 1) == 1 and not Addr.of(dy.type).layout
            and filters % nr == 0 and kh * kw > 1 and node.type.nbytes() <= TRANSPOSED_BYTES)


class Conv2dGradWeight(_Conv):
    """dW[g] = sum over images of dy[n] @ im2col(x[n])^T; tasks split dW's columns, or (a few
    panels of columns: a stem's 3 x 7 x 7, a 1x1 projection's) its rows, the output channels."""

    def setup(self) -> None:
        node = self.ctx.anchor
        dy, x = node.operands
        self.ady = Addr.of(dy.type)
        self.geometry(Addr.of(x.type), node.type.shape, self.ady, node.attrs)
        self.m, self.n, self.k = self.og, self.kcol, self.nb * self.p
        self.images = 1
        threads = self.ctx.gen.target.threads
        # Unless it runs transposed: under two column panels for each of the 2 * threads
        # tasks, split the rows between the threads: each task then gathers all of im2col
        # (cheap for few rows) but packs only its channels of dy, once, and its GEMM has whole
        # panels (a stem of 48 filters: of 3 x 7 x 7 columns, 37 of 64 per task did work, and
        # each of 4 tasks packed all of dy). A single panel stays one task: two tasks
        # gathering it twice measured slower.
        panels = _ceil_div(self.kcol, self.nr)
        self.transposed = runs_transposed(node, self.nr)
        self.by_channels = (not self.transposed and self.groups == 1
                            and self.ady.layout == ""
                            and 2 <= panels < 4 * threads and self.og >= 2 * self.mr)

    def column_chunks(self) -> int:
        """Split by channels: one task per thread (each gathers all of im2col); transposed:
        whole MR panels of im2col rows, two tasks per thread."""
        if self.transposed:
            threads = self.ctx.gen.target.threads
            return max(1, min(2 * threads, _ceil_div(self.kcol, self.mr)))
        if not self.by_channels:
            return super().column_chunks()
        return max(1, min(self.ctx.gen.target.threads, _ceil_div(self.og, self.mr)))

    def channel_range(self, kb: KernelBuilder, chunk: ir.Value) -> tuple[ir.Value, ir.Value]:
        """[lo, hi) of dW's rows (output channels) for a chunk, in whole micro-panels."""
        return self.columns(kb, chunk, self.og, self.mr)

    def task_rows(self, chunks: int) -> int:
        """The most im2col rows (columns of dW) one of `chunks` tasks gathers."""
        if self.by_channels:
            return self.kcol
        if self.transposed:
            return min(self.kcol, _ceil_div(_ceil_div(self.kcol, self.mr), chunks) * self.mr)
        panels = _ceil_div(self.kcol, self.nr)
        return min(self.kcol, _ceil_div(panels, chunks) * self.nr)

    def tile_elems(self) -> int:
        """Room for a tile of a task's rows, split or not (prepare() sizes the workspace
        before it settles the split): tiles are as wide in pixels as the task's rows allow,
        not all of W's, since every GEMM call loads and stores the task's block of dW once."""
        rows = {self.kcol, self.task_rows(self.column_chunks())}
        return max(r * self.tile_limit(r) for r in rows) + self.lanes

    def block_elems(self) -> int:
        """Room for a transposed task's block of dW^T (its rows x the output channels): all
        of dW, as one task (a serial kernel) has all rows."""
        return self.kcol * self.og if self.transposed else 0

    def extra_workspace(self) -> int:
        return super().extra_workspace() + self.block_elems() * self.itemsize

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        dy, x, dw = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                               node.name))
        if self.by_channels:
            r0, r1 = kb.i64(0), kb.i64(self.kcol)
            lo, hi = self.channel_range(kb, chunk)
        elif self.transposed:
            r0, r1 = self.columns(kb, chunk, self.kcol, self.mr)
            lo, hi = r0, r1
        else:
            r0, r1 = self.columns(kb, chunk)
            lo, hi = r0, r1
        rows = kb.sub(r1, r0)
        col = self.scratch(kb, ws)
        block = kb.gep(col, self.tile_elems() + self.padded_elems(), name="block")
        tile = self.pixel_chunk(self.task_rows(self.chunks))
        with self.group_loop(kb) as g, kb.loop(0, self.nb, name="n") as n:
            # the channels of this task's im2col rows r0..r1 (of group g)
            group_c0 = _scaled(kb, g, self.cg)
            channels = (kb.add(kb.b.sdiv(r0, kb.i64(self.khw)), group_c0),
                        kb.add(kb.b.sdiv(kb.add(r1, self.khw - 1), kb.i64(self.khw)), group_c0))
            src = self.source(kb, kb.gep(x, kb.mul(n, self.ax.image)), ws, channels)
            dy_img = kb.gep(dy, kb.mul(n, self.ady.image))

            def body(p0: ir.Value, p1: ir.Value) -> None:
                self.gather(kb, src, kb.i64(group_c0), col, r0, r1, p0, p1)
                width = kb.sub(p1, p0)
                later = kb.b.zext(kb.b.or_(kb.b.icmp_signed(">", n, kb.i64(0)),
                                           kb.b.icmp_signed(">", p0, kb.i64(0))),
                                  kb.i64(0).type)
                if self.transposed:  # dW^T[j, o] += sum_p col[j, p] dy[o, p]
                    dyt = self.dy_view(kb, dy_img, self.ady, 0, self.og, p0)
                    self.gemm(kb, rows, self.og, width, View(col, width, 1),
                              View(dyt.ptr, dyt.cs, dyt.rs), block, self.og, later, 0,
                              self.og, ws)
                    return
                runs: list[tuple[Int, Int]] = (
                    [(lo, kb.sub(hi, lo))] if self.by_channels
                    else list(self.blocks(self.ady, _scaled(kb, g, self.og), self.og)))
                for o0, count in runs:
                    c = kb.gep(dw, kb.add(_scaled(kb, o0, self.kcol), r0))
                    a = self.dy_view(kb, dy_img, self.ady, o0, count, p0)
                    b = View(col, 1, width)  # B[p, j] = col[j, p]
                    self.gemm(kb, count, rows, width, a, b, c, self.kcol, later, 0, rows, ws)

            self.pixel_loop(kb, 0, self.p, tile, body)
        if self.transposed:
            self.store_transposed(kb, block, dw, r0, r1)
        self.task_epilogue(kb, kb.i64(0), lo, hi)

    def store_transposed(self, kb: KernelBuilder, block: ir.Value, dw: ir.Value,
                         r0: ir.Value, r1: ir.Value) -> None:
        """dW[o, r0 + j] = block[j, o]: the task's columns of dW, from its dW^T block."""
        with kb.loop(0, self.og, name="to") as o, kb.loop(r0, r1, name="tj") as j:
            value = kb.load(block, kb.add(kb.mul(kb.sub(j, r0), self.og), o))
            kb.store(value, dw, kb.add(kb.mul(o, self.kcol), j))

    def region_groups(self) -> list[list[int]]:
        return [[0], [1, 2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list[tuple[Int, Int]]:
        if self.by_channels:
            return [(lo, hi), (0, self.kcol)]
        return [(0, self.cout), (lo, hi)]


EMITTERS = {"conv2d_grad_weight": Conv2dGradWeight}
