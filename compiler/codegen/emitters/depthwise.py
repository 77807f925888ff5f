"""Depthwise convolutions (one filter per channel) and their gradients as direct vector loops.

Where it sits: compiler/codegen/emitters/__init__.py picks these emitters over conv.py's GEMM
ones for conv2d, conv2d_grad_input and conv2d_grad_weight when `is_depthwise(node)` (groups ==
input channels == output channels). A depthwise layer is a few multiply-adds per output element;
as a GEMM it is one 1 x khw x pixels product per channel, all call overhead and packing.

All three run one computation over a zero-padded copy P of a source image:
  out[c, oy, ox] = sum_{ky,kx} w[c, ky, kx] * P[c, oy*sh + ky*dh, ox*sw + kx*dw]
  conv2d       source x, P[pt + i, pl + j] = x[i, j], strides (sh, sw)
  grad input   source dy, P[(kh-1)dh - pt + i*sh, (kw-1)dw - pl + j*sw] = dy[i, j] (zeros
               between), stride 1, the kernel rotated by 180 degrees: the transposed
               convolution as a plain one (a stride-s layer pays s*s multiplies per useful one)
  grad weight  dw[c, ky, kx] = sum_{n,oy,ox} dy[n, c, oy, ox] * P[c, oy*sh + ky*dh, ...], P of x
Two schedules, by layout:
  plane    (any layout not channel-contiguous, e.g. NCHW): one channel at a time; P has rows of
           pitch Wq and the outputs sit on a grid of pitch Wg chosen so that output q = oy*Wg +
           ox reads P[sw*q + tap offset]: one vector loop over all pixels of the plane (rows of
           7 pixels still fill vectors), a few junk columns per row computed and dropped.
  channel  (NHWC, NCHW<b>c): vectors of V channels (contiguous in both layouts), P as
           [Hp][Wq][V]; every load and store is a whole vector, no tails.
Tasks are (image, channel chunk) for conv2d and grad input (the epilogue sweeps what a task
wrote, as conv.py's do, or, in the channel schedule, runs on each result vector in registers:
compiler/codegen/vector_epilogue.py) and channel chunks for grad weight, which sums over the
images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.contraction import Contraction, Int
from compiler.codegen.kernel_builder import I32, KernelBuilder
from compiler.codegen.vector_epilogue import VectorEpilogue
from ir.graph import Node

UNROLL_TAPS = 64
"""Kernels with more taps than this loop over them at run time instead of unrolling."""
TASKS_PER_THREAD = 4
"""Channel chunks per thread and image: enough to even out the threads' shares."""
TILE = 8
"""Output pixels of a row the channel schedule computes at once (one accumulator each): enough
independent FMA chains to hide the FMA latency, few enough to leave registers for the loads
(16 vector registers on AVX2)."""

Tap = Callable[[Int, Int, Int], None]
"""body(t, ky, kx) for one kernel tap t = ky * kw + kx."""


def is_depthwise(node: Node) -> bool:
    """A convolution (or its gradient) with one input and one output channel per group."""
    groups = node.attrs.get("groups", 1)
    if node.op == "conv2d":
        cin, cout = int(node.operands[0].type.shape[1]), int(node.type.shape[1])
    elif node.op == "conv2d_grad_input":
        cin, cout = int(node.type.shape[1]), int(node.operands[0].type.shape[1])
    else:  # conv2d_grad_weight: dy, x
        cin, cout = int(node.operands[1].type.shape[1]), int(node.operands[0].type.shape[1])
    return groups > 1 and groups == cin == cout


def _contiguous_channels(a: Addr) -> int:
    """How many channels of one pixel sit next to each other in memory in layout `a`."""
    if a.layout == "nhwc":
        return a.c
    return a.block or 1


def _vector_channels(lanes: int, *addrs: Addr) -> int:
    """The widest power of two <= lanes that divides every layout's contiguous channel run
    (1: use the plane schedule)."""
    v = lanes
    while v > 1 and any(_contiguous_channels(a) % v for a in addrs):
        v //= 2
    return v


def _row_tile(width: int) -> int:
    """Output pixels of one row tile: a divisor of the row between TILE/2 and TILE when there
    is one (no short remainder tile), else TILE."""
    return next((t for t in range(TILE, TILE // 2 - 1, -1) if width % t == 0),
                min(TILE, width))


@dataclass(frozen=True)
class Placement:
    """Where source element (i, j) lands in P: (offset + i * step) per axis."""

    offset: tuple[int, int]
    step: tuple[int, int]


class _Depthwise(Contraction):
    """The shared machinery; setup() of a subclass calls geometry()."""

    flip = False
    """True when tap t reads the weight's tap khw-1-t (the kernel rotated by 180 degrees)."""

    def geometry(self, src: Addr, out: Addr, kernel: tuple[int, int],
                 stride: tuple[int, int], dilation: tuple[int, int], place: Placement,
                 vector_addrs: tuple[Addr, ...]) -> None:
        """src: what P is filled from; out: the grid the loops run over (the result, or dy
        for the weight gradient)."""
        self.lanes = self.ctx.gen.target.lanes(self.ctx.anchor.type.dtype)
        self.sa, self.oa, self.place = src, out, place
        self.channels, self.nb = out.c, out.n
        self.kh, self.kw = kernel
        self.khw = self.kh * self.kw
        self.sh, self.sw = stride
        self.dh, self.dw = dilation
        self.ho, self.wo = out.h, out.w
        self.hp = (self.ho - 1) * self.sh + (self.kh - 1) * self.dh + 1
        wq = (self.wo - 1) * self.sw + (self.kw - 1) * self.dw + 1
        self.vec = _vector_channels(self.lanes, *vector_addrs)
        if self.vec > 1:
            self.wq, self.wg, self.p_elems = wq, self.wo, self.hp * wq * self.vec
            self.tile = _row_tile(self.wo)
            self.unit = max(self.vec, self.oa.block)
            self.q_end = 0
            return
        # the plane schedule: sh * Wq = sw * Wg, so output q = oy*Wg + ox reads P[sw*q + ..]
        while (self.sh * wq) % self.sw or self.sh * wq // self.sw < self.wo:
            wq += 1
        self.wq, self.wg, self.unit = wq, self.sh * wq // self.sw, 1
        total = (self.ho - 1) * self.wg + self.wo
        self.q_end = -(-total // self.lanes) * self.lanes
        last_read = self.sw * (self.q_end - 1) + (self.kh - 1) * self.dh * wq \
            + (self.kw - 1) * self.dw
        self.p_elems = max(self.hp * wq, last_read + 1)

    # ------------------------------------------------------------ tasks and scratch

    def prepare(self) -> None:
        super().prepare()
        self.gemm_bytes = 0  # no library GEMM: no packing buffers, no services table
        self.ctx.uses_services = False
        self.ctx.workspace = self.extra_workspace()
        # the channel schedule's result vectors take the epilogue in registers when it can
        self.vector_epilogue = (VectorEpilogue.of(self.ctx, self.epilogue, self.oa)
                                if self.vec > 1 and self.ctx.anchor.op != "conv2d_grad_weight"
                                else None)

    def extra_workspace(self) -> int:
        return (self.p_elems + self.q_end + 2 * self.khw * self.lanes) * self.itemsize

    def column_chunks(self) -> int:
        threads = self.ctx.gen.target.threads
        want = max(1, -(-TASKS_PER_THREAD * threads // self.images))
        return max(1, min(want, self.channels // self.unit))

    def channel_range(self, kb: KernelBuilder, chunk: ir.Value) -> tuple[ir.Value, ir.Value]:
        """[lo, hi) of the channels of a chunk, in whole units (a block, a vector)."""
        units = self.channels // self.unit
        lo = kb.b.sdiv(kb.mul(chunk, units), kb.i64(self.chunks))
        hi = kb.b.sdiv(kb.mul(kb.add(chunk, 1), units), kb.i64(self.chunks))
        return kb.mul(lo, self.unit, name="c_lo"), kb.mul(hi, self.unit, name="c_hi")

    def parts(self, kb: KernelBuilder, ws: ir.Value) -> tuple[ir.Value, ir.Value, ir.Value]:
        """The thread's P, output grid (plane schedule) and packed weights / accumulators."""
        base = self.scratch(kb, ws)
        grid = kb.gep(base, self.p_elems, name="grid")
        return base, grid, kb.gep(grid, self.q_end, name="packed")

    def vty(self, lanes: int) -> ir.VectorType:
        return ir.VectorType(self.ty, lanes)

    # ------------------------------------------------------------ building blocks

    def taps(self, kb: KernelBuilder, body: Tap) -> None:
        """body(t, ky, kx) for every tap: unrolled for small kernels, a loop for big ones."""
        if self.khw > UNROLL_TAPS:
            with kb.loop(0, self.khw, name="t") as t:
                body(t, kb.b.sdiv(t, kb.i64(self.kw)), kb.b.srem(t, kb.i64(self.kw)))
            return
        for t in range(self.khw):
            body(t, t // self.kw, t % self.kw)

    def weight_tap(self, kb: KernelBuilder, t: Int) -> Int:
        """The weight tap that tap t multiplies."""
        if not self.flip:
            return t
        return self.khw - 1 - t if isinstance(t, int) else kb.sub(self.khw - 1, t)

    def tap_offset(self, kb: KernelBuilder, ky: Int, kx: Int) -> ir.Value:
        """Offset in P (in pixels) of tap (ky, kx) from the window's corner."""
        return kb.add(kb.mul(ky, self.dh * self.wq), kb.mul(kx, self.dw))

    def fill(self, kb: KernelBuilder, p: ir.Value, src_img: ir.Value, c: ir.Value) -> None:
        """P = the source image's channel c (plane schedule) or channels c..c+V (channel
        schedule) at their placements, zeros elsewhere."""
        a, (oy, ox), (sy, sx) = self.sa, self.place.offset, self.place.step
        rows = self._span(oy, sy, a.h, self.hp)
        cols = self._span(ox, sx, a.w, self.wq)
        self._zero(kb, p, (oy + rows[0], oy + rows[1]), (ox + cols[0], ox + cols[1]))
        base = kb.gep(src_img, a.channel(kb, c))
        with kb.loop(*rows, name="fi") as i, kb.loop(*cols, name="fj") as j:
            at = kb.add(kb.mul(kb.add(kb.mul(i, sy), oy), self.wq), kb.add(kb.mul(j, sx), ox))
            src_at = kb.add(kb.mul(i, a.row), kb.mul(j, a.col))
            if self.vec > 1:
                kb.vstore(kb.vload(base, src_at, self.vty(self.vec)), p, kb.mul(at, self.vec))
            else:
                kb.store(kb.load(base, src_at), p, at)

    def _zero(self, kb: KernelBuilder, p: ir.Value, rows: tuple[int, int],
              cols: tuple[int, int]) -> None:
        """Zeros where the fill writes nothing. A unit-step fill of the channel schedule covers
        the rectangle rows x cols of P, so only its border is cleared (clearing all of P first
        wrote a 112x112 plane twice); otherwise all of P is."""
        zero = ir.Constant(self.ty, 0.0)

        def clear(lo: Int, hi: Int) -> None:
            with kb.loop(lo, hi, name="pz") as i:
                kb.store(zero, p, i)

        unit = self.place.step == (1, 1) and self.vec > 1
        if not unit or rows[0] >= rows[1] or cols[0] >= cols[1]:
            clear(0, self.p_elems)
            return
        pitch, v = self.wq * self.vec, self.vec
        clear(0, rows[0] * pitch)
        with kb.loop(*rows, name="pr") as r:
            line = kb.mul(r, pitch)
            clear(line, kb.add(line, cols[0] * v))
            clear(kb.add(line, cols[1] * v), kb.add(line, pitch))
        clear(rows[1] * pitch, self.p_elems)

    @staticmethod
    def _span(offset: int, step: int, size: int, room: int) -> tuple[int, int]:
        """Source indices i in [0, size) whose placement offset + i*step lies in [0, room)."""
        lo = max(0, -(offset // step))
        hi = min(size, (room - 1 - offset) // step + 1)
        return lo, max(lo, hi)

    def strided(self, kb: KernelBuilder, p: ir.Value, at: ir.Value, lanes: int) -> ir.Value:
        """P[at + sw*l] for l < lanes: one load of the span, then a shuffle for sw > 1."""
        if self.sw == 1:
            return kb.vload(p, at, self.vty(lanes))
        span = kb.vload(p, at, self.vty((lanes - 1) * self.sw + 1))
        mask = ir.Constant(ir.VectorType(I32, lanes), [self.sw * i for i in range(lanes)])
        return kb.b.shuffle_vector(span, ir.Constant(span.type, ir.Undefined), mask)

    def channel_weights(self, kb: KernelBuilder, w: ir.Value, c: ir.Value,
                        packed: ir.Value) -> None:
        """packed[t*V + i] = w[c + i, tap t] (rotated for the input gradient)."""
        with kb.loop(0, self.khw, name="wt") as t, kb.loop(0, self.vec, name="wi") as i:
            src = kb.add(kb.mul(kb.add(c, i), self.khw), self.weight_tap(kb, t))
            kb.store(kb.load(w, src), packed, kb.add(kb.mul(t, self.vec), i))

    def out_at(self, kb: KernelBuilder, c: ir.Value, oy: Int, ox: Int) -> ir.Value:
        a = self.oa
        return kb.add(a.channel(kb, c), kb.add(kb.mul(oy, a.row), kb.mul(ox, a.col)))

    # ------------------------------------------------------------ conv2d and grad input

    def convolve(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value,
                 src: ir.Value, w: ir.Value, out: ir.Value, bias: ir.Value | None) -> None:
        """out[image, chunk's channels] = the direct convolution, then the task's epilogue."""
        c_lo, c_hi = self.channel_range(kb, chunk)
        src_img = kb.gep(src, kb.mul(image, self.sa.image))
        out_img = kb.gep(out, kb.mul(image, self.oa.image))
        p, grid, packed = self.parts(kb, ws)
        step = self.vec if self.vec > 1 else 1
        with kb.loop(c_lo, c_hi, step=step, name="c") as c:
            self.fill(kb, p, src_img, c)
            if self.vec > 1:
                self._channel_conv(kb, p, w, (image, c), packed, out_img, bias)
            else:
                self._plane_conv(kb, p, w, c, grid, out_img, bias)
        if self.vector_epilogue is None:
            self.task_epilogue(kb, image, c_lo, c_hi)

    def _plane_conv(self, kb: KernelBuilder, p: ir.Value, w: ir.Value, c: ir.Value,
                    grid: ir.Value, out_img: ir.Value, bias: ir.Value | None) -> None:
        vty = self.vty(self.lanes)
        acc = kb.var(vty, name="acc")
        init = kb.splat(kb.load(bias, c), vty) if bias is not None else kb.const(vty, 0.0)
        wrow = kb.gep(w, kb.mul(c, self.khw))
        with kb.loop(0, self.q_end, step=self.lanes, name="q") as q:
            kb.b.store(init, acc)
            corner = kb.mul(q, self.sw)

            def tap(t: Int, ky: Int, kx: Int) -> None:
                weight = kb.splat(kb.load(wrow, self.weight_tap(kb, t)), vty)
                x = self.strided(kb, p, kb.add(corner, self.tap_offset(kb, ky, kx)), self.lanes)
                kb.b.store(kb.fma(weight, x, kb.b.load(acc)), acc)

            self.taps(kb, tap)
            kb.vstore(kb.b.load(acc), grid, q)
        with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
            value = kb.load(grid, kb.add(kb.mul(oy, self.wg), ox))
            kb.store(value, out_img, self.out_at(kb, c, oy, ox))

    def _channel_conv(self, kb: KernelBuilder, p: ir.Value, w: ir.Value,
                      where: tuple[ir.Value, ir.Value], packed: ir.Value, out_img: ir.Value,
                      bias: ir.Value | None) -> None:
        """Channels c .. c+V of image n, every output pixel, a row tile of pixels at a time."""
        n, c = where
        self.channel_weights(kb, w, c, packed)
        vty = self.vty(self.vec)
        init = kb.vload(bias, c, vty) if bias is not None else kb.const(vty, 0.0)
        whole = self.wo // self.tile * self.tile
        with kb.loop(0, self.ho, name="oy") as oy:
            with kb.loop(0, whole, step=self.tile, name="ox") as ox:
                self._channel_tile(kb, p, packed, init, (n, c, oy, ox), self.tile, out_img)
            if whole < self.wo:
                self._channel_tile(kb, p, packed, init, (n, c, oy, whole), self.wo - whole,
                                   out_img)

    def _channel_tile(self, kb: KernelBuilder, p: ir.Value, packed: ir.Value, init: ir.Value,
                      at: tuple[ir.Value, ir.Value, ir.Value, Int], width: int,
                      out_img: ir.Value) -> None:
        """Output pixels ox0 .. ox0+width of row oy: one accumulator each, so `width` FMA
        chains run side by side (one chain waits out the FMA latency at every tap) and, at
        stride 1, neighbouring pixels share the loads of P (LLVM merges the equal loads)."""
        n, c, oy, ox0 = at
        vty = self.vty(self.vec)
        acc = [kb.var(vty, init, name=f"acc{i}") for i in range(width)]
        corner = kb.add(kb.mul(oy, self.sh * self.wq), kb.mul(ox0, self.sw))

        def tap(t: Int, ky: Int, kx: Int) -> None:
            wv = kb.vload(packed, kb.mul(t, self.vec), vty)
            first = kb.add(corner, self.tap_offset(kb, ky, kx))
            for i, slot in enumerate(acc):
                x = kb.vload(p, kb.mul(kb.add(first, i * self.sw), self.vec), vty)
                kb.b.store(kb.fma(wv, x, kb.b.load(slot)), slot)

        self.taps(kb, tap)
        for i, slot in enumerate(acc):
            ox = kb.add(ox0, i)
            if self.vector_epilogue is not None:
                self.vector_epilogue.emit(kb, (n, c, oy, ox), kb.b.load(slot))
            else:
                kb.vstore(kb.b.load(slot), out_img, self.out_at(kb, c, oy, ox))

    def region_groups(self) -> list[list[int]]:
        return [[0], [1], [2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list[tuple[Int, Int]]:
        return [(image, kb.add(image, 1)), (lo, hi), (0, self.ho * self.wo)]


class DepthwiseConv2d(_Depthwise):
    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        a = node.attrs
        xa, ya = Addr.of(x.type), Addr.of(node.type)
        pt, pl, _, _ = a["pad"]
        self.geometry(xa, ya, (int(w.type.shape[2]), int(w.type.shape[3])), tuple(a["stride"]),
                      tuple(a["dilation"]), Placement((pt, pl), (1, 1)), (xa, ya))
        self.images = self.nb
        self.has_bias = len(node.operands) == 3
        self.m, self.n, self.k = self.channels, self.ho * self.wo, self.khw

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        x, w, y = (self.ctx.ptr(name) for name in (node.operands[0].name,
                                                   node.operands[1].name, node.name))
        bias = self.ctx.ptr(node.operands[2].name) if self.has_bias else None
        self.convolve(kb, image, chunk, ws, x, w, y, bias)


class DepthwiseConv2dGradInput(_Depthwise):
    """dx = the convolution of dy (spread out by the stride, padded by (k-1)*d - p) with the
    rotated kernel, at stride 1."""

    flip = True

    def setup(self) -> None:
        node = self.ctx.anchor
        dy, w = node.operands
        a = node.attrs
        dya, dxa = Addr.of(dy.type), Addr.of(node.type)
        kh, kw = int(w.type.shape[2]), int(w.type.shape[3])
        (dh, dw), (pt, pl, _, _) = a["dilation"], a["pad"]
        place = Placement(((kh - 1) * dh - pt, (kw - 1) * dw - pl), tuple(a["stride"]))
        self.geometry(dya, dxa, (kh, kw), (1, 1), (dh, dw), place, (dya, dxa))
        self.images = self.nb
        self.m, self.n, self.k = self.channels, self.ho * self.wo, self.khw

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        dy, w, dx = (self.ctx.ptr(name) for name in (node.operands[0].name,
                                                     node.operands[1].name, node.name))
        self.convolve(kb, image, chunk, ws, dy, w, dx, None)


class DepthwiseConv2dGradWeight(_Depthwise):
    """dw[c, tap] = sum over images and output pixels of dy * the tap's input pixel; one
    accumulator vector per tap, kept in the thread's scratch across images."""

    def setup(self) -> None:
        node = self.ctx.anchor
        dy, x = node.operands
        a = node.attrs
        xa, dya = Addr.of(x.type), Addr.of(dy.type)
        pt, pl, _, _ = a["pad"]
        self.geometry(xa, dya, tuple(a["kernel"]), tuple(a["stride"]), tuple(a["dilation"]),
                      Placement((pt, pl), (1, 1)), (xa, dya))
        self.images = 1
        self.m, self.n, self.k = self.channels, self.khw, self.nb * self.ho * self.wo

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        dy, x, dw = (self.ctx.ptr(name) for name in (node.operands[0].name,
                                                     node.operands[1].name, node.name))
        c_lo, c_hi = self.channel_range(kb, chunk)
        p, grid, acc = self.parts(kb, ws)
        lanes = self.vec if self.vec > 1 else self.lanes
        vty = self.vty(lanes)
        with kb.loop(c_lo, c_hi, step=self.vec, name="c") as c:
            with kb.loop(0, self.khw, name="zt") as t:
                kb.vstore(kb.const(vty, 0.0), acc, kb.mul(t, lanes))
            with kb.loop(0, self.nb, name="n") as n:
                self.fill(kb, p, kb.gep(x, kb.mul(n, self.sa.image)), c)
                dy_img = kb.gep(dy, kb.mul(n, self.oa.image))
                if self.vec > 1:
                    self._channel_sums(kb, p, dy_img, c, acc)
                else:
                    self._plane_sums(kb, p, grid, dy_img, c, acc)
            self._store(kb, acc, dw, c, lanes)
        self.task_epilogue(kb, kb.i64(0), c_lo, c_hi)

    def _plane_sums(self, kb: KernelBuilder, p: ir.Value, grid: ir.Value, dy_img: ir.Value,
                    c: ir.Value, acc: ir.Value) -> None:
        """acc[tap] += dy (on the output grid, zero between rows) * P at the tap."""
        zero = ir.Constant(self.ty, 0.0)
        with kb.loop(0, self.q_end, name="gz") as q:
            kb.store(zero, grid, q)
        with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
            kb.store(kb.load(dy_img, self.out_at(kb, c, oy, ox)), grid,
                     kb.add(kb.mul(oy, self.wg), ox))
        vty = self.vty(self.lanes)
        sum_ = kb.var(vty, name="sum")

        def tap(t: Int, ky: Int, kx: Int) -> None:
            off = self.tap_offset(kb, ky, kx)
            slot = kb.mul(t, self.lanes)
            kb.b.store(kb.vload(acc, slot, vty), sum_)
            with kb.loop(0, self.q_end, step=self.lanes, name="q") as q:
                x = self.strided(kb, p, kb.add(kb.mul(q, self.sw), off), self.lanes)
                kb.b.store(kb.fma(kb.vload(grid, q, vty), x, kb.b.load(sum_)), sum_)
            kb.vstore(kb.b.load(sum_), acc, slot)

        self.taps(kb, tap)

    def _channel_sums(self, kb: KernelBuilder, p: ir.Value, dy_img: ir.Value, c: ir.Value,
                      acc: ir.Value) -> None:
        vty = self.vty(self.vec)
        with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
            d = kb.vload(dy_img, self.out_at(kb, c, oy, ox), vty)
            corner = kb.add(kb.mul(oy, self.sh * self.wq), kb.mul(ox, self.sw))

            def tap(t: Int, ky: Int, kx: Int) -> None:
                x = kb.vload(p, kb.mul(kb.add(corner, self.tap_offset(kb, ky, kx)), self.vec),
                             vty)
                slot = kb.mul(t, self.vec)
                kb.vstore(kb.fma(d, x, kb.vload(acc, slot, vty)), acc, slot)

            self.taps(kb, tap)

    def _store(self, kb: KernelBuilder, acc: ir.Value, dw: ir.Value, c: ir.Value,
               lanes: int) -> None:
        """dw[c + i, t] = acc[t][i] (channel schedule) or the sum of acc[t]'s lanes (plane)."""
        with kb.loop(0, self.khw, name="st") as t:
            slot = kb.gep(acc, kb.mul(t, lanes))
            if self.vec > 1:
                with kb.loop(0, self.vec, name="si") as i:
                    kb.store(kb.load(slot, i), dw, kb.add(kb.mul(kb.add(c, i), self.khw), t))
            else:
                total = kb.load(slot, 0)
                for lane in range(1, lanes):
                    total = kb.b.fadd(total, kb.load(slot, lane))
                kb.store(total, dw, kb.add(kb.mul(c, self.khw), t))

    def region_groups(self) -> list[list[int]]:
        return [[0], [1, 2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list[tuple[Int, Int]]:
        return [(lo, hi), (0, self.khw)]


VARIANTS = {"conv2d": [(is_depthwise, DepthwiseConv2d)],
            "conv2d_grad_input": [(is_depthwise, DepthwiseConv2dGradInput)],
            "conv2d_grad_weight": [(is_depthwise, DepthwiseConv2dGradWeight)]}
"""Emitters chosen over the op's default (conv.py's EMITTERS) when the predicate holds."""
