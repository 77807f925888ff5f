"""Convolutions and their gradients as GEMMs over small im2col tiles, in any layout.

Per image, a tile of the im2col matrix (rows (c, ky, kx), a range of output pixels: 256 KB, or
up to 512 pixels for many rows, see tile_limit) is written into the thread's workspace with row
copies (each row is a shifted slice of an input row, zero in the padding), then multiplied by
the library GEMM. The whole im2col matrix of a batch is never built.
  conv2d       y[n] = W[g] @ im2col(x[n])                 tasks: images x pixel chunks
  grad input   col = W[g]^T @ dy[n], added back into dx   tasks: images x channel chunks
  grad weight  dW[g] += dy[n] @ im2col(x[n])^T            tasks: chunks of dW's columns or rows
                                                           (conv_grad_weight.py)
Layouts (compiler/codegen/addr.py): im2col and col2im address elements as plane + h*row + w*col,
so they read and write NCHW, NHWC and NCHW<b>c alike. The GEMM writes its result in the output's
layout by choosing the orientation: C[O, pixels] for NCHW (rows of channels), C[pixels, O] for
NHWC (rows of pixels), and one C[pixels, b] per channel block for NCHW<b>c.
Plain batches of small images with large weights (resnet18's layer3 and 4 in training) run the
variants of conv_across.py instead, whose GEMM columns span images.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.contraction import Contraction, Int, View
from compiler.codegen.kernel_builder import KernelBuilder
from ir.errors import CompileError
from ir.types import Dim

TILE_BYTES = 256 * 1024
"""An im2col tile this size stays in L2 whole (see tile_limit)."""
TILE_COLUMNS = 512
"""Pixels of one im2col tile at most: its slabs of KC = 256 rows stay in L2 (512 KiB in f32)."""
TILE_MAX_BYTES = 4 * 1024 * 1024
"""The whole tile at most (per thread): deep layers' tiles hold thousands of rows."""
UNROLL_ROW_VECTORS = 16
"""Output rows up to this many vectors wide are gathered by unrolled vector copies."""


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _scaled(kb: KernelBuilder, index: Int, factor: int) -> Int:
    """index * factor, folded to a Python int when the index is one (one group: offset 0)."""
    return index * factor if isinstance(index, int) else kb.mul(index, factor)


def flipped_convolution(w_shape: Sequence[Dim],
                        attrs: Mapping[str, Any]) -> tuple[tuple[int, ...], dict[str, Any]]:
    """The weight shape and attributes of the stride-1 convolution of dy whose result is the
    input gradient: W transposed per group and rotated by 180 degrees, padding (k-1)*d - p."""
    cout, cg, kh, kw = (int(d) for d in w_shape)
    groups = attrs["groups"]
    dh, dw = attrs["dilation"]
    pt, pl, pb, pr = attrs["pad"]
    flipped = {"stride": [1, 1], "dilation": [dh, dw], "groups": groups,
               "pad": [(kh - 1) * dh - pt, (kw - 1) * dw - pl, (kh - 1) * dh - pb,
                       (kw - 1) * dw - pr]}
    return (cg * groups, cout // groups, kh, kw), flipped


class _Conv(Contraction):
    def geometry(self, x: Addr, w_shape: Sequence[Dim], y: Addr,
                 attrs: Mapping[str, Any]) -> None:
        self.lanes = self.ctx.gen.target.lanes(self.ctx.anchor.type.dtype)
        self.ax, self.ay = x, y
        self.nb, self.cin, self.h, self.w = x.n, x.c, x.h, x.w
        self.cout, self.cg, self.kh, self.kw = (int(d) for d in w_shape)
        self.ho, self.wo = y.h, y.w
        self.groups = attrs["groups"]
        self.og = self.cout // self.groups
        self.sh, self.sw = attrs["stride"]
        self.pt, self.pl, _, _ = attrs["pad"]
        self.dh, self.dw = attrs["dilation"]
        self.khw = self.kh * self.kw
        self.kcol = self.cg * self.khw  # rows of one group's im2col matrix
        self.p = self.ho * self.wo

    def tile_limit(self, rows: int) -> int:
        """The most pixels an im2col tile (rows x pixels) holds, in whole micro-panels: all
        that fit in TILE_BYTES, or the image's pixels up to TILE_COLUMNS within
        TILE_MAX_BYTES, whichever is more; at least one panel. Every GEMM call packs all of W
        again, so tiles of many rows are as wide as the GEMM's reads of them stay in L2
        (KC-row slabs), not as the whole tile fits there: resnet18's layer2 at 256 KiB tiles
        packed its 590 KB of W 200 times per kernel, 32 pixels at a time."""
        panel = self.nr
        fits = TILE_BYTES // (self.itemsize * rows) // panel * panel
        wide = min(TILE_COLUMNS, _ceil_div(self.p, panel) * panel,
                   TILE_MAX_BYTES // (self.itemsize * rows) // panel * panel)
        return max(panel, fits, wide)

    def pixel_chunk(self, rows: int, span: int | None = None) -> int:
        """Pixels per im2col tile for a loop over `span` pixels (default: the image): as few
        tiles as the limit allows, of equal width in whole micro-panels. An unequal split
        left a narrow last tile that packed all of W for a few panels (cifar conv2 at batch
        1: tiles of 224 + 32 pixels per task; now 128 + 128)."""
        limit = self.tile_limit(rows)
        span = self.p if span is None else span
        tiles = max(1, _ceil_div(span, limit))
        return min(limit, _ceil_div(_ceil_div(span, tiles), self.nr) * self.nr)

    # The thread's scratch (after the GEMM's packing buffers): the im2col tile, then (fast
    # gather) a zero-padded copy of the image, then whatever a subclass adds. Each part has
    # `lanes` elements of slack: the fast gather writes and reads whole vectors.

    def tile_elems(self) -> int:
        return self.kcol * self.tile_limit(self.kcol) + self.lanes

    def fast_gather(self) -> bool:
        """Stride-1 convolutions of plain NCHW images gather each im2col row segment as whole
        vectors from a zero-padded copy of the image, with no bounds checks."""
        return self.ax.layout == "" and (self.sh, self.sw) == (1, 1)

    def padded_dims(self) -> tuple[int, int]:
        """Rows and columns of the padded image: exactly what the windows cover."""
        return self.ho + (self.kh - 1) * self.dh, self.wo + (self.kw - 1) * self.dw

    def padded_elems(self) -> int:
        if not self.fast_gather():
            return 0
        hp, wp = self.padded_dims()
        return self.cin * hp * wp + self.lanes

    def extra_workspace(self) -> int:
        return (self.tile_elems() + self.padded_elems()) * self.itemsize

    def scratch_part(self, kb: KernelBuilder, ws: ir.Value, elems: int, name: str) -> ir.Value:
        return kb.gep(self.scratch(kb, ws), elems, name=name)

    def source(self, kb: KernelBuilder, x_img: ir.Value, ws: ir.Value,
               channels: tuple[Int, Int] | None = None,
               rows: tuple[Int, Int] | None = None) -> ir.Value:
        """What gather() reads: the zero-padded copy of the image (fast gather), else x_img.
        Only `channels` and padded `rows` are copied when given: what this task's gathers
        read (each task of a batch-1 convolution, or of a weight gradient, needs a part)."""
        if not self.fast_gather():
            return x_img
        xp = self.scratch_part(kb, ws, self.tile_elems(), "padded")
        hp, wp = self.padded_dims()
        lo, hi = min(max(self.pl, 0), wp), min(max(self.pl + self.w, 0), wp)
        zero = ir.Constant(self.ty, 0.0)
        c0, c1 = channels or (0, self.cin)
        i0, i1 = rows or (0, hp)
        with kb.loop(c0, c1, name="pc") as c, kb.loop(i0, i1, name="pi") as i:
            dst = kb.gep(xp, kb.mul(kb.add(kb.mul(c, hp), i), wp))
            iy = kb.sub(i, self.pt)
            with kb.b.if_else(kb.in_range(iy, 0, self.h)) as (inside, outside):
                with inside:
                    src = kb.gep(x_img, kb.add(kb.mul(c, self.h * self.w),
                                               kb.add(kb.mul(iy, self.w), -self.pl)))
                    with kb.loop(0, lo, name="pz0") as j:
                        kb.store(zero, dst, j)
                    with kb.loop(lo, hi, name="pcp") as j:
                        kb.store(kb.load(src, j), dst, j)
                    with kb.loop(hi, wp, name="pz1") as j:
                        kb.store(zero, dst, j)
                with outside, kb.loop(0, wp, name="pz") as j:
                    kb.store(zero, dst, j)
        return xp

    def gather(self, kb: KernelBuilder, src: ir.Value, channel0: ir.Value, col: ir.Value,
               r0: ir.Value | int, r1: ir.Value | int, p0: ir.Value, p1: ir.Value) -> None:
        """col[r - r0, p - p0] = the im2col matrix of the image, from source()'s result."""
        if not self.fast_gather():
            self.im2col(kb, src, channel0, col, r0, r1, p0, p1)
            return
        hp, wp = self.padded_dims()
        vty = ir.VectorType(self.ty, self.lanes)
        width = kb.sub(p1, p0)
        with kb.loop(r0, r1, name="r") as r:
            c = kb.b.sdiv(r, kb.i64(self.khw), name="c")
            rem = kb.b.srem(r, kb.i64(self.khw))
            ky = kb.b.sdiv(rem, kb.i64(self.kw), name="ky")
            kx = kb.b.srem(rem, kb.i64(self.kw), name="kx")
            plane = kb.gep(src, kb.add(kb.mul(kb.add(channel0, c), hp * wp),
                                       kb.add(kb.mul(ky, self.dh * wp), kb.mul(kx, self.dw))))
            row = kb.gep(col, kb.sub(kb.b.mul(kb.sub(r, r0), width), p0))

            def copy(oy: ir.Value, row0: ir.Value, lo: ir.Value, hi: ir.Value) -> None:
                # whole vectors: the overshoot lands where the next segment (or the slack)
                # is written later, and reads stay inside the padded copy's slack. A whole
                # output row (all but a task's first and last) is a fixed run of vectors,
                # unrolled: the loop's control cost as much as the copies for rows of 28.
                dst = kb.gep(row, kb.add(row0, lo))
                seg = kb.gep(plane, kb.add(kb.mul(oy, wp), lo))

                def move(v: ir.Value | int) -> None:
                    kb.vstore(kb.vload(seg, v, vty), dst, v)

                def loop() -> None:
                    with kb.loop(0, kb.sub(hi, lo), step=self.lanes, name="v") as v:
                        move(v)

                if self.wo > UNROLL_ROW_VECTORS * self.lanes:
                    loop()
                    return
                whole = kb.b.and_(kb.b.icmp_signed("==", lo, kb.i64(0)),
                                  kb.b.icmp_signed("==", hi, kb.i64(self.wo)))
                with kb.b.if_else(whole) as (unrolled, partial):
                    with unrolled:
                        for v in range(0, self.wo, self.lanes):
                            move(v)
                    with partial:
                        loop()

            self._pixel_rows(kb, p0, p1, copy)

    # ------------------------------------------------------------ im2col / col2im

    def _row_geometry(self, kb: KernelBuilder, r: ir.Value) -> tuple[ir.Value, ...]:
        """For im2col row r = (c, ky, kx): c, the row/column offsets of the window, and the
        range [ox_lo, ox_hi) of output columns whose input column is inside the image."""
        c = kb.b.sdiv(r, kb.i64(self.khw), name="c")
        rem = kb.b.srem(r, kb.i64(self.khw))
        ky = kb.b.sdiv(rem, kb.i64(self.kw), name="ky")
        kx = kb.b.srem(rem, kb.i64(self.kw), name="kx")
        yoff = kb.add(kb.mul(ky, self.dh), -self.pt)
        xoff = kb.add(kb.mul(kx, self.dw), -self.pl)
        neg = kb.b.icmp_signed("<", xoff, kb.i64(0))
        ox_lo = kb.b.select(neg, kb.b.sdiv(kb.add(kb.b.neg(xoff), self.sw - 1),
                                           kb.i64(self.sw)), kb.i64(0))
        room = kb.sub(self.w, xoff)
        ox_hi = kb.b.select(kb.b.icmp_signed(">", room, kb.i64(0)),
                            kb.min(kb.b.sdiv(kb.add(room, self.sw - 1), kb.i64(self.sw)),
                                   self.wo), kb.i64(0))
        return c, yoff, xoff, ox_lo, ox_hi

    def _pixel_rows(self, kb: KernelBuilder, p0: ir.Value, p1: ir.Value,
                    body: Callable[[ir.Value, ir.Value, ir.Value, ir.Value], None]) -> None:
        """body(oy, row0, a, b): output row oy and its columns [a, b) inside pixels [p0, p1)."""
        first = kb.b.sdiv(p0, kb.i64(self.wo))
        last = kb.b.sdiv(kb.sub(p1, 1), kb.i64(self.wo))
        with kb.loop(first, kb.add(last, 1), name="oy") as oy:
            row0 = kb.mul(oy, self.wo)
            body(oy, row0, kb.max(kb.sub(p0, row0), 0), kb.min(kb.sub(p1, row0), self.wo))

    def im2col(self, kb: KernelBuilder, x_img: ir.Value, channel0: ir.Value, col: ir.Value,
               r0: ir.Value | int, r1: ir.Value | int, p0: ir.Value, p1: ir.Value,
               ld: Int | None = None) -> None:
        """col[r - r0, p - p0] = x[channel0 + c, oy*s + ky*d - pt, ox*s + kx*d - pl] (0 outside);
        col's rows are `ld` apart (default: the pixel count p1 - p0)."""
        a = self.ax
        width = kb.sub(p1, p0) if ld is None else kb.i64(ld)
        zero = ir.Constant(self.ty, 0.0)
        with kb.loop(r0, r1, name="r") as r:
            c, yoff, xoff, ox_lo, ox_hi = self._row_geometry(kb, r)
            plane = kb.gep(x_img, a.channel(kb, kb.add(channel0, c)))
            row = kb.gep(col, kb.b.mul(kb.sub(r, r0), width))

            def copy(oy: ir.Value, row0: ir.Value, lo0: ir.Value, hi0: ir.Value) -> None:
                iy = kb.add(kb.mul(oy, self.sh), yoff)
                dst = kb.gep(row, kb.sub(row0, p0))
                inside = kb.in_range(iy, 0, self.h)
                lo = kb.b.select(inside, kb.min(kb.max(ox_lo, lo0), hi0), hi0)
                hi = kb.max(kb.min(ox_hi, hi0), lo)
                src = kb.gep(plane, kb.add(kb.mul(iy, a.row), kb.mul(xoff, a.col)))
                with kb.loop(lo0, lo, name="z0") as ox:
                    kb.store(zero, dst, ox)
                start = self._strided_vectors(kb, src, dst, xoff, lo, hi)
                with kb.loop(start, hi, name="cp") as ox:
                    kb.store(kb.load(src, kb.mul(ox, self.sw * a.col)), dst, ox)
                with kb.loop(hi, hi0, name="z1") as ox:
                    kb.store(zero, dst, ox)

            self._pixel_rows(kb, p0, p1, copy)

    def _strided_vectors(self, kb: KernelBuilder, src: ir.Value, dst: ir.Value,
                         xoff: ir.Value, lo: ir.Value, hi: ir.Value) -> ir.Value:
        """dst[ox] = src[ox * s] for whole vectors of columns from lo, where the image's
        columns are contiguous and the stride s > 1: one load of L*s columns shuffled down to
        L (a stride-2 stem gathers 15 M elements per step). Returns where the scalar copy
        goes on. Every vector's last column read, (ox + L)*s - 1, is inside the image row."""
        s, lanes = self.sw, self.lanes
        if self.ax.col != 1 or s == 1:
            return lo
        room = kb.b.sdiv(kb.sub(self.w, xoff), kb.i64(s))  # columns whose L*s reads fit
        count = kb.b.sdiv(kb.max(kb.sub(kb.min(hi, room), lo), 0), kb.i64(lanes))
        end = kb.add(lo, kb.mul(count, lanes))
        with kb.loop(lo, end, step=lanes, name="cv") as ox:
            kb.vstore(kb.strided_vload(src, kb.mul(ox, s), self.ty, lanes, s), dst, ox)
        return end

    def col2im(self, kb: KernelBuilder, col: ir.Value, dx_img: ir.Value, a: Addr,
               channel0: ir.Value, rows: tuple[Int, Int], p0: ir.Value, p1: ir.Value,
               ld: Int | None = None) -> None:
        """dx[channel0 + c, iy, ix] += col[r - rows[0], p - p0] for the im2col rows r in
        `rows` and every in-image window position; col's rows are `ld` apart (default: the
        pixel count p1 - p0)."""
        width = kb.sub(p1, p0) if ld is None else ld
        with kb.loop(rows[0], rows[1], name="r") as r:
            c, yoff, xoff, ox_lo, ox_hi = self._row_geometry(kb, r)
            plane = kb.gep(dx_img, a.channel(kb, kb.add(channel0, c)))
            row = kb.gep(col, kb.b.mul(kb.sub(r, rows[0]), kb.i64(width)))

            def scatter(oy: ir.Value, row0: ir.Value, lo0: ir.Value, hi0: ir.Value) -> None:
                iy = kb.add(kb.mul(oy, self.sh), yoff)
                src = kb.gep(row, kb.sub(row0, p0))
                lo = kb.min(kb.max(ox_lo, lo0), hi0)
                hi = kb.max(kb.min(ox_hi, hi0), lo)
                dst = kb.gep(plane, kb.add(kb.mul(iy, a.row), kb.mul(xoff, a.col)))
                with kb.if_(kb.in_range(iy, 0, self.h)), kb.loop(lo, hi, name="sc") as ox:
                    at = kb.mul(ox, self.sw * a.col)
                    kb.store(kb.b.fadd(kb.load(dst, at), kb.load(src, ox)), dst, at)

            self._pixel_rows(kb, p0, p1, scatter)

    def pixel_loop(self, kb: KernelBuilder, lo: ir.Value | int, hi: ir.Value | int, chunk: int,
                   body: Callable[[ir.Value, ir.Value], None]) -> None:
        with kb.loop(lo, hi, step=chunk, name="p0") as p0:
            body(p0, kb.min(kb.add(p0, chunk), hi))

    def blocks(self, a: Addr, first: Int, count: int) -> list[tuple[Int, int]]:
        """(first channel, channels) of the runs of `count` channels from `first` that are
        contiguous rows of a GEMM operand in layout `a`: one run, or one per block. `first`
        is a runtime group offset only in plain and NHWC layouts: the layout pass keeps the
        values of grouped convolutions out of blocked layouts."""
        b = a.block
        if not b:
            return [(first, count)]
        if not isinstance(first, int):
            raise CompileError(f"grouped convolution %{self.ctx.anchor.name} cannot run in the "
                               f"blocked layout {a.layout}")
        return [(c, b) for c in range(first, first + count, b)]

    @contextlib.contextmanager
    def group_loop(self, kb: KernelBuilder) -> Iterator[Int]:
        """The groups as a runtime loop: a kernel's code has the same size for 2 groups or
        960 (unrolled, MobileNet v2 emitted 960 GEMM calls for one layer). One group yields
        the immediate 0, so ungrouped kernels are exactly what they were."""
        if self.groups == 1:
            yield 0
            return
        with kb.loop(0, self.groups, name="g") as g:
            yield g

    def dy_view(self, kb: KernelBuilder, dy_img: ir.Value, a: Addr, o0: Int, o_count: int,
                p0: ir.Value) -> View:
        """dy[n][o0:o0+count, p0:] as a matrix (rows: channels, columns: pixels); in a blocked
        layout `count` is at most one block."""
        if a.layout == "":
            return View(kb.gep(dy_img, kb.add(_scaled(kb, o0, self.p), p0)), self.p, 1)
        if a.layout == "nhwc":
            return View(kb.gep(dy_img, kb.add(kb.mul(p0, a.c), o0)), 1, a.c)
        b = a.block
        return View(kb.gep(dy_img, kb.add((o0 // b) * self.p * b, kb.mul(p0, b))), 1, b)


    # ------------------------------------------------------------ y = W * x, tiled

    def conv_task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value,
                  x: ir.Value, w: ir.Value, y: ir.Value) -> None:
        """One image's pixel chunk of a convolution (W as [cout, cg, kh, kw]): im2col tiles
        multiplied into y, bias first, then the task's epilogue."""
        lo, hi = self.columns(kb, chunk)
        col = self.scratch(kb, ws)
        panels = _ceil_div(self.p, self.nr)
        tile = self.pixel_chunk(self.kcol, _ceil_div(panels, self.chunks) * self.nr)
        out = kb.gep(y, kb.mul(image, self.ay.image))
        if self.has_bias:
            self._bias(kb, out, lo, hi)
        first = kb.b.sdiv(lo, kb.i64(self.wo))
        last = kb.b.sdiv(kb.sub(hi, 1), kb.i64(self.wo))  # hi > lo: a task has pixels
        rows = (first, kb.min(kb.add(last, 1 + (self.kh - 1) * self.dh), self.padded_dims()[0]))
        src = self.source(kb, kb.gep(x, kb.mul(image, self.ax.image)), ws, rows=rows)
        with self.group_loop(kb) as g:
            def body(p0: ir.Value, p1: ir.Value) -> None:
                self.gather(kb, src, kb.i64(_scaled(kb, g, self.cg)), col, 0, self.kcol, p0, p1)
                self._multiply(kb, w, col, out, g, p0, kb.sub(p1, p0), ws)

            self.pixel_loop(kb, lo, hi, tile, body)
        self.task_epilogue(kb, image, lo, hi)

    def _multiply(self, kb: KernelBuilder, w: ir.Value, col: ir.Value, out: ir.Value, g: Int,
                  p0: ir.Value, width: ir.Value, ws: ir.Value) -> None:
        """y[n][group g's channels, p0:p0+width] (+)= W[g] @ col, in the output's layout."""
        acc = int(self.has_bias)
        a = self.ay
        if a.layout == "":
            c = kb.gep(out, kb.add(_scaled(kb, g, self.og * self.p), p0))
            wv = View(kb.gep(w, _scaled(kb, g, self.og * self.kcol)), self.kcol, 1)
            self.gemm(kb, self.og, width, self.kcol, wv, View(col, width, 1), c, self.p, acc,
                      0, width, ws, b_in_place=True)
            return
        for o0, count in self.blocks(a, _scaled(kb, g, self.og), self.og):
            # C[pixels, channels] = col^T @ W^T
            wt = View(kb.gep(w, _scaled(kb, o0, self.kcol)), 1, self.kcol)
            if a.layout == "nhwc":
                c, ldc = kb.gep(out, kb.add(kb.mul(p0, a.c), o0)), a.c
            else:
                c, ldc = kb.gep(out, kb.add((o0 // a.block) * self.p * a.block,
                                            kb.mul(p0, a.block))), a.block
            self.gemm(kb, width, count, self.kcol, View(col, 1, width), wt, c, ldc, acc, 0,
                      count, ws)

    def _bias(self, kb: KernelBuilder, out: ir.Value, lo: ir.Value, hi: ir.Value) -> None:
        bias = self.ctx.ptr(self.ctx.anchor.operands[2].name)
        a = self.ay
        with kb.loop(0, self.cout, name="bo") as o, kb.loop(lo, hi, name="bp") as p:
            h, w_ = kb.b.sdiv(p, kb.i64(self.wo)), kb.b.srem(p, kb.i64(self.wo))
            at = kb.add(a.channel(kb, o), kb.add(kb.mul(h, a.row), kb.mul(w_, a.col)))
            kb.store(kb.load(bias, o), out, at)

    def region_groups(self) -> list[list[int]]:
        return [[0], [1], [2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list[tuple[Int, Int]]:
        return [(image, kb.add(image, 1)), (0, self.cout), (lo, hi)]


class Conv2d(_Conv):
    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        self.geometry(Addr.of(x.type), w.type.shape, Addr.of(node.type), node.attrs)
        self.m, self.n, self.k = self.og, self.p, self.kcol
        self.images = self.nb
        self.has_bias = len(node.operands) == 3

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        x, w, y = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                             node.name))
        self.conv_task(kb, image, chunk, ws, x, w, y)

class Conv2dGradInput(_Conv):
    """dx[n] = the gradient of conv2d with respect to its input, two ways.

    Stride 1: a convolution of dy with the flipped, transposed kernel (W'[c, o, ky, kx] =
    W[o, c, kh-1-ky, kw-1-kx], padding (k-1)*d - p), computed like the forward: im2col tiles
    of dy gathered and multiplied straight into dx; tasks split images x pixel chunks.
    Other strides: col = W^T dy[n] per pixel tile, added back into dx (col2im); tasks split
    the input channels, whose writes never overlap.
    """

    def setup(self) -> None:
        node = self.ctx.anchor
        dy, w = node.operands
        self.adx = Addr.of(node.type)
        self.ady = Addr.of(dy.type)
        self.images = int(node.type.shape[0])
        self.as_conv = tuple(node.attrs["stride"]) == (1, 1)
        if self.as_conv:
            shape, flipped = flipped_convolution(w.type.shape, node.attrs)
            self.geometry(self.ady, shape, self.adx, flipped)
            self.m, self.n, self.k = self.og, self.p, self.kcol
            return
        self.geometry(self.adx, w.type.shape, self.ady, node.attrs)
        self.m, self.n, self.k = self.cg, self.h * self.w, self.og

    def extra_workspace(self) -> int:
        weights = self.cout * self.kcol * self.itemsize if self.as_conv else 0
        return super().extra_workspace() + weights

    def padded_elems(self) -> int:
        return super().padded_elems() if self.as_conv else 0

    def column_chunks(self) -> int:
        if self.as_conv:
            return super().column_chunks()
        if self.groups > 1 or self.adx.layout:
            return 1
        threads = self.ctx.gen.target.threads
        want = max(1, (2 * threads + self.images - 1) // self.images)
        return max(1, min(want, self.cg))

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        dy, w, dx = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                               node.name))
        if self.as_conv:
            flipped = self.scratch_part(kb, ws, self.tile_elems() + self.padded_elems(),
                                        "flipped")
            self._flip(kb, w, flipped)
            self.conv_task(kb, image, chunk, ws, dy, flipped, dx)
            return
        c0 = kb.b.sdiv(kb.mul(chunk, self.cg), kb.i64(self.chunks), name="c0")
        c1 = kb.b.sdiv(kb.mul(kb.add(chunk, 1), self.cg), kb.i64(self.chunks), name="c1")
        col = self.scratch(kb, ws)
        tile = self.pixel_chunk(self.kcol)
        dx_img = kb.gep(dx, kb.mul(image, self.adx.image))
        dy_img = kb.gep(dy, kb.mul(image, self.ady.image))
        rows = kb.mul(kb.sub(c1, c0), self.khw)
        with self.group_loop(kb) as g:
            first = kb.add(c0, _scaled(kb, g, self.cg))
            self._zero(kb, dx_img, first, kb.add(c1, _scaled(kb, g, self.cg)))

            def body(p0: ir.Value, p1: ir.Value) -> None:
                width = kb.sub(p1, p0)
                # col[(c, ky, kx), p] = sum_o W[g*Og + o, c, ky, kx] dy[n, g*Og + o, p]
                for i, (o0, count) in enumerate(self.blocks(self.ady, _scaled(kb, g, self.og),
                                                             self.og)):
                    a = View(kb.gep(w, kb.add(_scaled(kb, o0, self.kcol), kb.mul(c0, self.khw))), 1,
                             self.kcol)
                    b = self.dy_view(kb, dy_img, self.ady, o0, count, p0)
                    self.gemm(kb, rows, width, count, a, b, col, width, int(i > 0), 0, width,
                              ws)
                self.col2im(kb, col, dx_img, self.adx, first, (0, rows), p0, p1)

            self.pixel_loop(kb, 0, self.p, tile, body)
        self.task_epilogue(kb, image, c0, c1)

    def _flip(self, kb: KernelBuilder, w: ir.Value, dst: ir.Value) -> None:
        """dst[c, o, r] = W[g*og' + o, c - g*cg', khw-1-r]: the kernel transposed per group and
        rotated by 180 degrees (here cout/og/cg are the flipped convolution's: og = the
        original group's input channels, cg = its output channels)."""
        orig_og, orig_cg = self.cg, self.og  # the original convolution's per-group counts
        with kb.loop(0, self.cout, name="fc") as c, kb.loop(0, orig_og, name="fo") as o:
            g = kb.b.sdiv(c, kb.i64(orig_cg))
            src_row = kb.add(kb.mul(kb.add(kb.mul(g, orig_og), o), orig_cg * self.khw),
                             kb.mul(kb.sub(c, kb.mul(g, orig_cg)), self.khw))
            dst_row = kb.mul(kb.add(kb.mul(c, orig_og), o), self.khw)
            with kb.loop(0, self.khw, name="fr") as r:
                value = kb.load(w, kb.add(src_row, kb.sub(self.khw - 1, r)))
                kb.store(value, dst, kb.add(dst_row, r))

    def _zero(self, kb: KernelBuilder, dx_img: ir.Value, c_lo: ir.Value, c_hi: ir.Value) -> None:
        a = self.adx
        with kb.loop(c_lo, c_hi, name="zc") as c, kb.loop(0, self.h, name="zy") as y, \
                kb.loop(0, self.w, name="zx") as x:
            at = kb.add(a.channel(kb, c), kb.add(kb.mul(y, a.row), kb.mul(x, a.col)))
            kb.store(ir.Constant(self.ty, 0.0), dx_img, at)

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list[tuple[Int, Int]]:
        if self.as_conv:
            return super().region(kb, image, lo, hi)
        return [(image, kb.add(image, 1)), (lo, hi), (0, self.h * self.w)]


EMITTERS = {"conv2d": Conv2d, "conv2d_grad_input": Conv2dGradInput}
"""conv2d_grad_weight: compiler/codegen/emitters/conv_grad_weight.py."""
