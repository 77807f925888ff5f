"""Convolutions of small images and their input gradients as GEMMs whose columns run across
images.

Where it sits: variants of `conv2d` and `conv2d_grad_input` (compiler/codegen/emitters/
__init__.py tries VARIANTS before conv.py's defaults) for plain NCHW training of deep layers,
whose images are a few pixels (resnet18's 7x7 and 14x14). Per image the GEMM there has only
P = 49 or 196 columns, yet every call packs all of W (512 x 4608 at layer4: 9.4 MB, packed 16
times per kernel); its columns were a third padding. Here the images are one column axis
q = (image, pixel), cut into chunks of at most ACROSS_COLUMNS:

  conv2d       for each chunk:  for each block of rows (c, ky, kx) of im2col(x):
                                  C[o, q] (+)= W[:, rows] @ im2col(x)[rows, q]   (a tile)
                                y[n, o, p] = C[o, q] (+ bias)  (each image's columns)
               tasks: chunks, each packing W once
  grad input   for each chunk:  D[o, q] = dy[n, o, p]        (staged: rows across images)
                                for each block of rows (c, ky, kx) of W^T:
                                  col = W^T[rows, :] @ D       (library GEMM)
                                  dx[n] += col2im(col)         (each image's columns)
               tasks: dx's channels, whose rows of W^T they multiply and whose dx elements
               only they add into; no flipped copy of W

W is packed once per chunk (twice per kernel at layer4) and the GEMM's columns are whole
micro-panels but for the last.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.contraction import View
from compiler.codegen.emitters.conv import TILE_BYTES, _ceil_div, _Conv
from compiler.codegen.epilogue import emit_box
from compiler.codegen.kernel_builder import KernelBuilder
from ir.graph import Node

ACROSS_PIXELS = 256
"""Images of at most this many output pixels run across images (resnet18: layer3 and 4)..."""
ACROSS_MIN_ROWS = 576
"""...with at least this many rows of W^T (64 channels x 3x3): every task stages the chunk's
dy, which is cheap only against enough rows multiplied by it (1x1 projections stay)..."""
ACROSS_MIN_WEIGHTS = 1 << 17
"""...and at least this many weights (512 KiB in f32): repacking a smaller W per image costs
little, and conv.py's vector gathers beat the scalar col2im (cifar's 64 x 64 x 3x3 stays)."""
ACROSS_COLUMNS = 256
"""Columns of one chunk: its staged dy (channels x columns) stays in L2 beside the col tile."""

Segment = Callable[[ir.Value, ir.Value, ir.Value, ir.Value], None]
"""body(n, p_lo, p_hi, offset): image n's pixels [p_lo, p_hi) at chunk column `offset`."""


def accepts(node: Node) -> bool:
    """Ungrouped, plain NCHW convolutions (or input gradients) of small images in batches, with
    enough weights that repacking them per image costs (see the constants)."""
    if node.op not in ("conv2d", "conv2d_grad_input") or node.attrs.get("groups", 1) != 1:
        return False
    first = node.operands[0]
    if Addr.of(node.type).layout or Addr.of(first.type).layout:
        return False
    out = node.type if node.op == "conv2d" else first.type  # the convolution's output
    pixels = int(out.shape[2]) * int(out.shape[3])
    shape = [int(d) for d in node.operands[1].type.shape]
    rows = math.prod(shape[1:])
    return (pixels <= ACROSS_PIXELS and rows >= ACROSS_MIN_ROWS
            and rows * shape[0] >= ACROSS_MIN_WEIGHTS and int(node.type.shape[0]) > 1)


class _Across(_Conv):
    """The column axis q = (image, pixel) of the convolution's output, in chunks."""

    width: int
    block: int

    def extra_workspace(self) -> int:
        """Per thread: `block` rows of a chunk (an im2col tile, or W^T dy) and og more (the
        forward's accumulator, or the gradient's staged dy)."""
        return (self.block + self.og) * self.width * self.itemsize

    def chunk_width(self, chunks: int) -> int:
        """Columns per chunk for at least `chunks` chunks of at most ACROSS_COLUMNS: equal,
        in whole micro-panels."""
        total = self.nb * self.p
        count = max(chunks, _ceil_div(total, ACROSS_COLUMNS))
        return _ceil_div(_ceil_div(total, count), self.nr) * self.nr

    def segments(self, kb: KernelBuilder, q0: ir.Value, q1: ir.Value, body: Segment) -> None:
        """body(n, p_lo, p_hi, offset) for each image whose pixels chunk [q0, q1) holds."""
        first = kb.b.sdiv(q0, kb.i64(self.p))
        last = kb.b.sdiv(kb.sub(q1, 1), kb.i64(self.p))
        with kb.loop(first, kb.add(last, 1), name="sn") as n:
            base = kb.mul(n, self.p)
            lo = kb.max(kb.sub(q0, base), 0)
            hi = kb.min(kb.sub(q1, base), self.p)
            body(n, lo, hi, kb.sub(kb.add(base, lo), q0))


class Conv2dAcross(_Across):
    """y = W @ im2col(x) with x's images side by side as GEMM columns."""

    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        self.geometry(Addr.of(x.type), w.type.shape, Addr.of(node.type), node.attrs)
        self.has_bias = len(node.operands) == 3
        total = self.nb * self.p
        self.width = self.chunk_width(min(self.nb, self.ctx.gen.target.threads))
        kc = self.ctx.gen.target.blocking(self.dtype)[1]
        self.block = min(self.kcol, max(kc, TILE_BYTES // (self.itemsize * self.width)
                                        // kc * kc))
        self.m, self.n, self.k = self.og, total, self.kcol

    def column_chunks(self) -> int:
        return _ceil_div(self.nb * self.p, self.width)

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        x, w, y = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                             node.name))
        total = self.nb * self.p
        per = _ceil_div(total, self.chunks)  # one chunk per task, or all in one task
        a = kb.mul(chunk, per)
        b = kb.min(kb.add(a, per), total)
        tile = self.scratch(kb, ws)
        acc = kb.gep(tile, self.block * self.width, name="acc")
        with kb.loop(a, b, step=self.width, name="q0") as q0:
            q1 = kb.min(kb.add(q0, self.width), b)
            with kb.loop(0, self.kcol, step=self.block, name="r0") as r0:
                r1 = kb.min(kb.add(r0, self.block), self.kcol)

                def gather(n: ir.Value, lo: ir.Value, hi: ir.Value, at: ir.Value) -> None:
                    self.im2col(kb, kb.gep(x, kb.mul(n, self.ax.image)), kb.i64(0),
                                kb.gep(tile, at), r0, r1, lo, hi, self.width)

                self.segments(kb, q0, q1, gather)
                later = kb.b.zext(kb.b.icmp_signed(">", r0, kb.i64(0)), kb.i64(0).type)
                self.gemm(kb, self.og, kb.sub(q1, q0), kb.sub(r1, r0),
                          View(kb.gep(w, r0), self.kcol, 1), View(tile, self.width, 1), acc,
                          self.width, later, 0, kb.sub(q1, q0), ws, b_in_place=True)
            self.segments(kb, q0, q1, lambda n, lo, hi, at: self.store(kb, acc, y, n, lo, hi,
                                                                         at))
        if self.chunks == 1:
            self.epilogue_for(kb, [])

    def store(self, kb: KernelBuilder, acc: ir.Value, y: ir.Value, n: ir.Value, lo: ir.Value,
              hi: ir.Value, at: ir.Value) -> None:
        """y[n, o, lo:hi] = acc[o, at:] (+ bias[o]), then (split chunks) the epilogue there."""
        bias = self.ctx.ptr(self.ctx.anchor.operands[2].name) if self.has_bias else None
        out = kb.gep(y, kb.mul(n, self.ay.image))
        src = kb.gep(acc, kb.sub(at, lo))
        with kb.loop(0, self.og, name="yo") as o:
            b = kb.load(bias, o) if bias is not None else None
            with kb.loop(lo, hi, name="yp") as p:
                v = kb.load(src, kb.add(kb.mul(o, self.width), p))
                kb.store(v if b is None else kb.b.fadd(v, b), out, kb.add(kb.mul(o, self.p), p))
        if self.chunks > 1 and self.epilogue is not None and self.epilogue.needed:
            emit_box(self.epilogue, kb, self.region_groups(),
                     [(n, kb.add(n, 1)), (0, self.og), (lo, hi)])


class Conv2dGradInputAcross(_Across):
    """dx = col2im(W^T dy) with dy's images side by side as GEMM columns."""

    def setup(self) -> None:
        node = self.ctx.anchor
        dy, w = node.operands
        self.geometry(Addr.of(node.type), w.type.shape, Addr.of(dy.type), node.attrs)
        total = self.nb * self.p
        self.width = self.chunk_width(1)
        self.block = min(self.kcol, max(self.mr, TILE_BYTES // (self.itemsize * self.width)
                                        // self.mr * self.mr))
        self.m, self.n, self.k = self.kcol, total, self.og

    def column_chunks(self) -> int:
        """Tasks split dx's channels (their rows of W^T): each packs only its rows of W, and
        chunks of whole channels never add into one dx element."""
        return max(1, min(2 * self.ctx.gen.target.threads, self.cg))

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        dy, w, dx = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                               node.name))
        c0 = kb.b.sdiv(kb.mul(chunk, self.cg), kb.i64(self.chunks), name="c0")
        c1 = kb.b.sdiv(kb.mul(kb.add(chunk, 1), self.cg), kb.i64(self.chunks), name="c1")
        plane = self.h * self.w
        with kb.loop(0, self.nb, name="zn") as n, kb.loop(kb.mul(c0, plane), kb.mul(c1, plane),
                                                          name="z") as i:
            kb.store(ir.Constant(self.ty, 0.0), dx, kb.add(kb.mul(n, self.ax.image), i))
        staged = self.scratch(kb, ws)
        col = kb.gep(staged, self.og * self.width, name="col")
        columns = self.nb * self.p
        with kb.loop(0, columns, step=self.width, name="q0") as q0:
            q1 = kb.min(kb.add(q0, self.width), columns)
            self.segments(kb, q0, q1, lambda n, lo, hi, at: self.stage(kb, dy, staged, n, lo,
                                                                          hi, at))
            rows = (kb.mul(c0, self.khw), kb.mul(c1, self.khw))
            with kb.loop(rows[0], rows[1], step=self.block, name="r0") as r0:
                r1 = kb.min(kb.add(r0, self.block), rows[1])
                a = View(kb.gep(w, r0), 1, self.kcol)  # A[(c, ky, kx), o] = W[o, c, ky, kx]
                self.gemm(kb, kb.sub(r1, r0), kb.sub(q1, q0), self.og, a,
                          View(staged, self.width, 1), col, self.width, 0, 0, kb.sub(q1, q0),
                          ws, b_in_place=True)

                def scatter(n: ir.Value, lo: ir.Value, hi: ir.Value, at: ir.Value) -> None:
                    self.col2im(kb, kb.gep(col, at), kb.gep(dx, kb.mul(n, self.ax.image)),
                                self.ax, kb.i64(0), (r0, r1), lo, hi, self.width)

                self.segments(kb, q0, q1, scatter)
        self.sweep(kb, c0, c1)

    def stage(self, kb: KernelBuilder, dy: ir.Value, staged: ir.Value, n: ir.Value,
              lo: ir.Value, hi: ir.Value, at: ir.Value) -> None:
        """staged[o, at + p - lo] = dy[n, o, p] for p in [lo, hi): image n's part of a chunk."""
        src = kb.gep(dy, kb.add(kb.mul(n, self.ay.image), lo))
        dst = kb.gep(staged, at)
        with kb.loop(0, self.og, name="so") as o, kb.loop(0, kb.sub(hi, lo), name="sp") as p:
            kb.store(kb.load(src, kb.add(kb.mul(o, self.p), p)), dst,
                     kb.add(kb.mul(o, self.width), p))

    def sweep(self, kb: KernelBuilder, c0: ir.Value, c1: ir.Value) -> None:
        """The epilogue over what this task wrote: channels [c0, c1) of every image."""
        if self.epilogue is None or not self.epilogue.needed:
            return
        if self.chunks == 1:
            with kb.loop(0, self.nb, name="en") as n:
                self.epilogue_for(kb, [n])
            return
        emit_box(self.epilogue, kb, self.region_groups(),
                 [(0, self.nb), (c0, c1), (0, self.h * self.w)])


VARIANTS = {"conv2d": [(accepts, Conv2dAcross)],
            "conv2d_grad_input": [(accepts, Conv2dGradInputAcross)]}
