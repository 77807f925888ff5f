"""Convolutions of plain NCHW images, and the input gradients of stride-1 ones, as direct
kernels over the flat pixel axis of the zero-padded image: no im2col tile, no packing.

Where it sits: variants of `conv2d` and `conv2d_grad_input` (compiler/codegen/emitters/
__init__.py tries VARIANTS before conv.py's defaults) for the plain-layout convolutions of
training on images of more than conv_across.ACROSS_PIXELS pixels (resnet18's stem, layer1
and 2). conv.py's GEMM there has only 64 or 128 rows (the output channels): every im2col
element it writes and every B panel it reads serve few FMAs, and it ran at ~60% of peak where
the library GEMM of many rows reaches ~75%. Here: ~82% of one core's peak at resnet18's
layer1 shape (one thread, one image: 1.70-1.76 ms against conv.py's 1.90-2.02 ms).

Output pixel (oy, ox) is column q = oy*Wp + ox of the padded image P (Hp x Wp per channel, a
copy of the rows the task reads, zero outside the image); its tap (ky, kx) reads P[c][q +
ky*dh*Wp + kx*dw]. With stride s, P holds each channel as phase planes, P[c][(a, b)][i][j] =
the padded image's element (i*s + a, j*s + b) (space to depth), and tap (ky, kx) reads plane
(ky*dh % s, kx*dw % s) at q + (ky*dh // s)*Wp + kx*dw // s: consecutive output pixels again
read consecutive elements, and no work is wasted on the pixels the stride skips (only the
planes some tap reads are filled). So for one channel and tap, NR consecutive columns read one
contiguous run of P, and a register tile of MR output channels x NR columns is the GEMM
micro-kernel with its B row loaded straight from P (two vectors; 8 x 3 vectors where 12-row
panels would leave a remainder, see register_tile) and its A column the MR weights broadcast
from W itself at fixed offsets (stride 1 shown):
  acc[r][v] += W[o0 + r, c, ky, kx] * P[c][q0 + v*L + ky*dh*Wp + kx*dw]
over c (a loop, in blocks that keep the tile's rows of P in L1) and the taps (unrolled). The
Wp - Wo columns at each row's end are computed and dropped (3% at 56 pixels, 7% at 28).
Tiles land in a staging block T[o][q] of a band of columns, copied into y (with the bias)
while it is in cache; the epilogue then sweeps the task's rows as in conv.py.

The input gradient of a stride-1 convolution is the convolution of dy with W transposed and
rotated by 180 degrees: the same tile reads W[o, c, kh-1-ky, kw-1-kx] at fixed offsets (its
rows are dx's channels, 9 weights apart), with no flipped copy of W.
"""

from __future__ import annotations

from typing import NamedTuple

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.conv import _ceil_div, _Conv, flipped_convolution
from compiler.codegen.emitters.conv_across import ACROSS_PIXELS
from compiler.codegen.kernel_builder import KernelBuilder
from ir.graph import Node

MIN_DEPTH = 64
"""Terms summed into one output at least: fewer do not pay for the staging copy (MobileNet's
3-channel 3x3 stride-2 stem, 27 terms, measured 8% slower than conv.py's GEMM)."""
BAND_BYTES = 128 * 1024
"""The staging block of one band (output channels x columns) at most: it stays in L2 until
copied out."""
L1_SOURCE_BYTES = 32 * 1024
"""The rows of P one register tile reads over a block of channels (kh rows of NR + kw - 1
columns each), at most: they stay in L1 while every output-channel panel reads them."""


class WeightAddress(NamedTuple):
    """W[row, channel, tap] at w + row*row_stride + channel*channel_stride + taps[tap]: the
    forward's W[o, c, ky, kx], or the input gradient's W[o, c, kh-1-ky, kw-1-kx] with rows
    the input channels c and channels the output channels o."""

    row_stride: int
    channel_stride: int
    taps: list[int]


def accepts(node: Node) -> bool:
    """An ungrouped plain-NCHW convolution of any stride, or the input gradient of one of
    stride 1, with a kernel wider than 1x1 (a 1x1 convolution's conv.py GEMM measured faster:
    it has no taps to share a load of P) and at least MIN_DEPTH terms per output, whose
    output images have more than ACROSS_PIXELS pixels (smaller ones run across images)."""
    if node.op not in ("conv2d", "conv2d_grad_input") or node.attrs.get("groups", 1) != 1:
        return False
    cout, cin, kh, kw = (int(d) for d in node.operands[1].type.shape)
    depth = (cin if node.op == "conv2d" else cout) * kh * kw
    if kh * kw == 1 or depth < MIN_DEPTH:
        return False
    if node.type.dtype not in ("f32", "f64") or node.type.rank != 4:
        return False
    if node.op == "conv2d_grad_input" and tuple(node.attrs["stride"]) != (1, 1):
        return False
    first = node.operands[0]
    if Addr.of(node.type).layout or Addr.of(first.type).layout:
        return False
    out = node.type if node.op == "conv2d" else first.type  # the convolution's output
    return int(out.shape[2]) * int(out.shape[3]) > ACROSS_PIXELS


class _Flat(_Conv):
    """The tiles, bands and staging shared by the forward and the input gradient; setup()
    gives the geometry (as a stride-1 convolution of ax into ay) and self.weights."""

    weights: WeightAddress

    def finish_setup(self) -> None:
        target = self.ctx.gen.target
        self.lanes = target.lanes(self.dtype)
        self.rows_mr, self.cols_nr = self.register_tile(*target.micro_tile(self.dtype))
        # phase planes: rows and columns of each, then the (a, b) planes some tap reads
        self.hp = self.ho + (self.kh - 1) * self.dh // self.sh
        self.wp = self.wo + (self.kw - 1) * self.dw // self.sw
        self.phases = sorted({(ky * self.dh % self.sh, kx * self.dw % self.sw)
                              for ky in range(self.kh) for kx in range(self.kw)})
        self.m, self.n, self.k = self.og, self.p, self.kcol
        # columns of one band: whole tiles, the staging block within BAND_BYTES
        tiles = max(1, BAND_BYTES // (self.itemsize * self.og * self.cols_nr))
        self.band = tiles * self.cols_nr
        # channels of one block: a tile's rows of P (about kh rows of NR + kw - 1 columns)
        # in L1
        per_channel = self.kh * (self.cols_nr + (self.kw - 1) * self.dw) * self.itemsize
        limit = max(1, L1_SOURCE_BYTES // per_channel)
        blocks = _ceil_div(self.cg, limit)
        self.channel_block = _ceil_div(self.cg, blocks)

    def register_tile(self, mr: int, nr: int) -> tuple[int, int]:
        """(rows, columns) of the register tile: the GEMM micro-kernel's MR x NR, or, where
        its rows leave a remainder panel and the output channels are whole panels of
        2*MR/3 rows, that many rows x 3/2 NR columns (as many accumulators): 64 channels
        are 8 x 8 instead of 5 x 12 + 4."""
        if self.og % mr == 0 or (2 * mr) % 3 or self.og % (2 * mr // 3):
            return mr, nr
        return 2 * mr // 3, 3 * nr // 2

    def prepare(self) -> None:
        super().prepare()
        self.gemm_bytes = 0  # no library GEMM: the scratch is the staging block and P
        self.ctx.workspace = self.extra_workspace()

    def tile_elems(self) -> int:
        """The staging block (source() places P after it)."""
        return self.og * self.band + self.lanes

    def padded_elems(self) -> int:
        """P, with a tile's columns of slack: the last tile of a task reads past its end."""
        return self.cin * self.channel_plane() + self.cols_nr + self.lanes

    def channel_plane(self) -> int:
        """Elements of one channel's phase planes in P."""
        return len(self.phases) * self.hp * self.wp

    def tap_offsets(self) -> list[int]:
        """Where tap (ky, kx) of column q reads P[c], from q: its phase plane, then the plane's
        row and column (ky*dh // sh, kx*dw // sw)."""
        plane = self.hp * self.wp
        offsets = []
        for ky in range(self.kh):
            for kx in range(self.kw):
                phase = self.phases.index((ky * self.dh % self.sh, kx * self.dw % self.sw))
                offsets.append(phase * plane + ky * self.dh // self.sh * self.wp
                               + kx * self.dw // self.sw)
        return offsets

    def fill(self, kb: KernelBuilder, x_img: ir.Value, dst: ir.Value, r0: ir.Value,
             r1: ir.Value) -> ir.Value:
        """dst = P for output rows [r0, r1): P[c][(a, b)][i][j] = x[c, i*sh + a - pt,
        j*sw + b - pl], zero outside the image (with stride 1, the zero-padded image)."""
        a_ = self.ax
        plane = self.hp * self.wp
        i1 = kb.add(r1, (self.kh - 1) * self.dh // self.sh)
        for p, (a, b) in enumerate(self.phases):
            # columns j whose image column j*sw + b - pl is inside: [lo, hi)
            lo = min(max(0, _ceil_div(self.pl - b, self.sw)), self.wp)
            hi = min(max(lo, _ceil_div(self.w + self.pl - b, self.sw)), self.wp)
            with kb.loop(0, self.cin, name="fc") as c, kb.loop(r0, i1, name="fi") as i:
                row = kb.gep(dst, kb.add(kb.mul(c, self.channel_plane()),
                                         kb.add(p * plane, kb.mul(i, self.wp))))
                iy = kb.add(kb.mul(i, self.sh), a - self.pt)
                src = kb.gep(x_img, kb.add(a_.channel(kb, c),
                                           kb.add(kb.mul(iy, a_.row), b - self.pl)))
                kb.padded_row(row, kb.in_range(iy, 0, self.h), src, (lo, hi), self.wp, self.ty,
                              self.sw)
        return dst

    def extra_workspace(self) -> int:
        return (self.tile_elems() + self.padded_elems()) * self.itemsize

    def flat_task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value,
                  x: ir.Value, w: ir.Value, y: ir.Value, bias: ir.Value | None) -> None:
        """Output rows [r0, r1) of one image: P filled, then band after band of columns
        computed into the staging block and copied into y."""
        r0, r1 = self.columns(kb, chunk, self.ho, 1)
        stage = self.scratch(kb, ws)
        padded = self.scratch_part(kb, ws, self.tile_elems(), "padded")
        src = self.fill(kb, kb.gep(x, kb.mul(image, self.ax.image)), padded, r0, r1)
        out = kb.gep(y, kb.mul(image, self.ay.image))
        q_first = kb.mul(r0, self.wp)
        q_end = kb.add(kb.mul(kb.sub(r1, 1), self.wp), self.wo)
        with kb.loop(q_first, q_end, step=self.band, name="band") as q0:
            q1 = kb.min(kb.add(q0, self.band), q_end)
            with kb.loop(0, self.cg, step=self.channel_block, name="cblk") as c0:
                c1 = kb.min(kb.add(c0, self.channel_block), self.cg)
                with kb.loop(q0, q1, step=self.cols_nr, name="qt") as qt:
                    self.panels(kb, src, w, stage, q0, qt, c0, c1)
            self.copy_out(kb, stage, out, bias, q0, q1)
        self.task_epilogue(kb, image, kb.mul(r0, self.wo), kb.mul(r1, self.wo))

    def panels(self, kb: KernelBuilder, src: ir.Value, w: ir.Value, stage: ir.Value,
               q0: ir.Value, qt: ir.Value, c0: ir.Value, c1: ir.Value) -> None:
        """Every output-channel panel of the tile at column qt over channels [c0, c1)."""
        full = self.og // self.rows_mr * self.rows_mr
        with kb.loop(0, full, step=self.rows_mr, name="opanel") as o0:
            self.tile(kb, src, w, stage, q0, qt, o0, self.rows_mr, c0, c1)
        if full < self.og:
            self.tile(kb, src, w, stage, q0, qt, kb.i64(full), self.og - full, c0, c1)

    def tile(self, kb: KernelBuilder, src: ir.Value, w: ir.Value, stage: ir.Value,
             q0: ir.Value, qt: ir.Value, o0: ir.Value, rows: int, c0: ir.Value,
             c1: ir.Value) -> None:
        """stage[o0 + r][qt - q0 + j] (+)= the sum over channels [c0, c1) and every tap, for
        r < rows and j < NR (the first channel block stores, later ones add)."""
        vty = ir.VectorType(self.ty, self.lanes)
        nv = self.cols_nr // self.lanes
        ldt = self.band
        corner = kb.gep(stage, kb.add(kb.mul(o0, ldt), kb.sub(qt, q0)))
        later = kb.b.icmp_signed(">", c0, kb.i64(0))
        zero = kb.const(vty, 0.0)
        acc = [[kb.var(vty, name=f"acc{r}.{v}") for v in range(nv)] for r in range(rows)]
        for r in range(rows):
            for v in range(nv):
                old = kb.vload(corner, r * ldt + v * self.lanes, vty)
                kb.b.store(kb.b.select(later, old, zero), acc[r][v])
        plane = self.channel_plane()
        taps = self.tap_offsets()
        wa = self.weights
        w_rows = kb.gep(w, kb.mul(o0, wa.row_stride))
        with kb.loop(c0, c1, name="c") as c:
            s = kb.gep(src, kb.add(kb.mul(c, plane), qt))
            wc = kb.gep(w_rows, kb.mul(c, wa.channel_stride))
            for t, at in enumerate(taps):
                b = [kb.vload(s, at + v * self.lanes, vty) for v in range(nv)]
                for r in range(rows):
                    a = kb.splat(kb.load(wc, r * wa.row_stride + wa.taps[t]), vty)
                    for v in range(nv):
                        kb.b.store(kb.fma(a, b[v], kb.b.load(acc[r][v])), acc[r][v])
        for r in range(rows):
            for v in range(nv):
                kb.vstore(kb.b.load(acc[r][v]), corner, r * ldt + v * self.lanes)

    def copy_out(self, kb: KernelBuilder, stage: ir.Value, out: ir.Value,
                 bias: ir.Value | None, q0: ir.Value, q1: ir.Value) -> None:
        """y[o, oy, ox] = stage[o][oy*Wp + ox - q0] (+ bias[o]) for the band's in-image
        columns (ox < Wo)."""
        first = kb.b.sdiv(q0, kb.i64(self.wp))
        last = kb.b.sdiv(kb.sub(q1, 1), kb.i64(self.wp))
        with kb.loop(0, self.og, name="yo") as o:
            b = kb.load(bias, o) if bias is not None else None
            row_t = kb.gep(stage, kb.mul(o, self.band))
            plane = kb.gep(out, kb.mul(o, self.p))
            with kb.loop(first, kb.add(last, 1), name="yr") as oy:
                base = kb.mul(oy, self.wp)
                lo = kb.max(kb.sub(q0, base), 0)
                hi = kb.min(kb.sub(q1, base), self.wo)
                src = kb.gep(row_t, kb.sub(base, q0))
                dst = kb.gep(plane, kb.mul(oy, self.wo))
                with kb.loop(lo, hi, name="yx") as ox:
                    v = kb.load(src, ox)
                    kb.store(v if b is None else kb.b.fadd(v, b), dst, ox)

    def column_chunks(self) -> int:
        """Chunks of output rows per image: about two tasks per thread in all."""
        threads = self.ctx.gen.target.threads
        want = max(1, (2 * threads + self.images - 1) // self.images)
        return max(1, min(want, self.ho))


class Conv2dFlat(_Flat):
    """y = conv2d(x, W) (+ bias), stride 1."""

    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        self.geometry(Addr.of(x.type), w.type.shape, Addr.of(node.type), node.attrs)
        self.images = self.nb
        self.has_bias = len(node.operands) == 3
        self.weights = WeightAddress(self.kcol, self.khw, list(range(self.khw)))
        self.finish_setup()

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        x, w, y = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                             node.name))
        bias = self.ctx.ptr(node.operands[2].name) if self.has_bias else None
        self.flat_task(kb, image, chunk, ws, x, w, y, bias)


class Conv2dGradInputFlat(_Flat):
    """dx = the convolution of dy with W transposed and rotated (stride 1)."""

    def setup(self) -> None:
        node = self.ctx.anchor
        dy, w = node.operands
        shape, flipped = flipped_convolution(w.type.shape, node.attrs)
        self.geometry(Addr.of(dy.type), shape, Addr.of(node.type), flipped)
        self.images = self.nb
        cin, khw = shape[0], shape[2] * shape[3]
        self.weights = WeightAddress(khw, cin * khw, [khw - 1 - t for t in range(khw)])
        self.finish_setup()

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        node = self.ctx.anchor
        dy, w, dx = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                               node.name))
        self.flat_task(kb, image, chunk, ws, dy, w, dx, None)


VARIANTS = {"conv2d": [(accepts, Conv2dFlat)],
            "conv2d_grad_input": [(accepts, Conv2dGradInputFlat)]}
"""Chosen over conv.py's im2col GEMM when `accepts` holds."""
