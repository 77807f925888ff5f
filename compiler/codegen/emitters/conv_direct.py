"""Direct convolutions vectorized over output channels, for outputs in a channel-contiguous
layout (blocked NCHW<b>c, NHWC): the approach of ONNX Runtime's MLAS NCHWc kernels.

Where it sits: compiler/codegen/emitters/__init__.py picks this emitter over conv.py's im2col
GEMM for an ungrouped conv2d whose output keeps runs of channels contiguous (`accepts`); the
layout pass decides which values get such a layout. conv.py's GEMM writes a blocked output as
one C[pixels, b] per block, a GEMM only b columns wide that packs the whole im2col tile for
every block (resnet18 at batch 1 ran 4.5x slower in nchw16c than in NCHW); here no im2col
exists at all.

The source is read as S[icb][Hp][Wp][cb], which is every input layout at once: blocked
(cb = the block), plain NCHW (cb = 1, icb = the channel) and NHWC (cb = C, one icb). With
padding, S is a zero-padded copy of the rows a task reads, in the thread's workspace; without,
S is the input itself (a 1x1 convolution is a plain GEMM over the image, no copy, no im2col).
The weights are read as panels Wp[k][G] of G output channels, k = (ic, ky, kx): either a
weight the runtime packed once (@oihw<G>o, compiler/passes/pack_conv_weights.py, after the
batchnorm fold; the kernel reads it as it is), or, for a plain weight (bundles, training
graphs), packed per task and group of 2 vectors by the library's strided packer (Wp[k][NR], the
GEMM's B panel; resnet18 repacked its 47 MB of weights on every call this way). Then a register
tile of T output pixels of one row x 2 vectors accumulates
  acc[t][v] += S[icb][oy*sh + ky*dh][(ox0 + t)*sw + kx*dw][icl] * Wp[(ic, ky, kx)][v]
over icb and icl (loops, icl unrolled up to 8 channels) and ky, kx (innermost, unrolled): the
packed panel is read front to back as one stream; one broadcast per pixel and channel, 2*T
FMAs per two weight loads. The bias initializes the accumulators, which are stored once, as whole
vectors, into the output. The fused epilogue (bias, batchnorm, activation, residual add) runs
on the accumulators in registers before that store when its ops allow
(compiler/codegen/vector_epilogue.py), and the raw convolution is then not stored at all unless
a later kernel reads it; otherwise the
epilogue sweeps exactly what the task wrote, as in conv.py. Strided convolutions compute only
the output pixels (no wasted work). A pointwise convolution (1x1, stride 1, unpadded) reads
its pixels as one run, so its tiles run across rows (7x7 images: tiles of 10 pixels, not 7),
and a projection over many pixels takes tiles of 4 vectors x 6 pixels (POINTWISE_VECTORS).
Tasks: channel-group chunks x output-row (or pointwise tile) chunks, so both cores work at
batch 1 (deep layers, few pixels and many channels, split channels; early ones rows), the split
that leaves the busiest thread the least work; the images of a batch are a loop inside each
task, so weights are not packed once per image.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.contraction import Contraction, Int
from compiler.codegen.kernel_builder import KernelBuilder
from compiler.codegen.library import pack_type
from compiler.codegen.vector_epilogue import VectorEpilogue
from ir.graph import Node
from ir.layouts import block_of, weight_panels_of

GROUP_VECTORS = 2
"""Output-channel vectors of one register tile (the GEMM micro-kernel's NR / lanes)."""
POINTWISE_VECTORS = 4
"""Output-channel vectors of a projection's register tile (a pointwise convolution to fewer
channels than it reads), over half as many pixels (the same accumulators): each pixel's
broadcast serves twice the FMAs, each weight row half; it pays where the source's traffic
outweighs the weights' (576->96, 576->160, 1152->192 and 1152->320 layers at batch 8 on one
thread: 5-11% less time; expansions such as 192->1152 and 7x7 images at batch 1, weight-bound,
took up to 9% more)."""
POINTWISE_MIN_PIXELS = 392
"""Output pixels (all images) from which a projection takes POINTWISE_VECTORS: 7x7 at batch 8,
not 14x14 at batch 1 (no gain there)."""
TASKS_PER_THREAD = 2
"""Tasks per thread and image: enough for the pool to even out a thread held up by another
process (column_chunks takes up to twice as many when they split the work more evenly)."""
MIN_RUN = 4
"""The shortest run of contiguous output channels worth a vector (f64 on 256-bit vectors)."""
UNROLL_CHANNELS = 8
"""Source channel blocks up to this wide are unrolled in the inner loop; wider ones (16c, NHWC)
loop at run time. Unrolling 16 channels took resnet18's cold load + compile + first forward
from 4.3 s to 6.7 s, for no speed the A/B runs could tell from their noise."""
WIDEST_VECTOR_BITS = 512
"""The widest vectors any target has: a packed weight's panels hold whole vectors of every
width (see panel_width)."""
UNROLL_TAPS = 64
"""Unrolled taps x unrolled channels of one step of the channel loop, at most: a 3x3 kernel over
a 16c source (its channels a run-time loop) or a 7x7 one over a plain source unroll fully."""
LINE = 64
"""Bytes of a cache line."""



def _run(a: Addr) -> int:
    """How many channels of one pixel sit next to each other in memory in layout `a`."""
    if a.layout == "nhwc":
        return a.c
    return a.block or 1


def accepts(node: Node) -> bool:
    """An ungrouped 2-D convolution whose output keeps runs of channels contiguous."""
    if node.op != "conv2d" or node.attrs.get("groups", 1) != 1 or node.type.rank != 4:
        return False
    out = node.type
    if out.dtype not in ("f32", "f64") or not (out.layout == "nhwc" or block_of(out.layout)):
        return False
    run = _run(Addr.of(out))
    return run >= MIN_RUN and run % MIN_RUN == 0


def is_pointwise(w_shape: Any, attrs: Mapping[str, Any]) -> bool:
    """A 1x1 convolution of stride 1 without padding: its pixels are one run in the source
    and in the output."""
    return (tuple(int(d) for d in w_shape[2:]) == (1, 1) and tuple(attrs["stride"]) == (1, 1)
            and not any(attrs["pad"]))


def group_vectors(w_shape: Any, attrs: Mapping[str, Any], pixels: int) -> int:
    """Output-channel vectors of one register tile for a weight of `w_shape` over `pixels`
    output pixels."""
    projection = is_pointwise(w_shape, attrs) and int(w_shape[0]) < int(w_shape[1])
    return (POINTWISE_VECTORS if projection and pixels >= POINTWISE_MIN_PIXELS
            else GROUP_VECTORS)


def panel_width(node: Node) -> int:
    """The panel width pack-conv-weights packs `node`'s weight in (0 when `node` does not run
    here): the largest power of two up to a register tile of the widest vectors that divides
    the output channels. Every vector of every target's register tile then sits in one panel
    (its width divides the output's run, which divides the output channels), so one packed
    weight serves both vector widths."""
    if not accepts(node):
        return 0
    lanes = WIDEST_VECTOR_BITS // (32 if node.type.dtype == "f32" else 64)
    w_shape, (n, _, h, w) = node.operands[1].type.shape, node.type.shape
    gv = group_vectors(w_shape, node.attrs, int(n) * int(h) * int(w))
    return _pow2_divisor(int(w_shape[0]), gv * lanes)


class Panels(NamedTuple):
    """Where a register tile's weights are: vector v's row k at bases[v] + k*stride."""

    bases: list[ir.Value]
    stride: int


class Tile(NamedTuple):
    """One register tile: image n, output channels [o0, o0 + nv*vec), row oy, columns
    [ox0, ox0 + width)."""

    n: ir.Value
    o0: ir.Value
    nv: int
    oy: ir.Value
    ox0: Int
    width: int


def _parts(sizes: list[int], parts: int) -> list[int]:
    """The work of the `parts` parts split() makes of units of these sizes (part i: units
    [i*n // parts, (i+1)*n // parts))."""
    n = len(sizes)
    return [sum(sizes[i * n // parts:(i + 1) * n // parts]) for i in range(parts)]


def _makespan(units: list[int], cc: int, lines: int, rc: int, threads: int) -> int:
    """The busiest thread's work (channel vectors x lines) when the pool hands the cc x rc
    tasks, in task order, each to the thread that frees up first."""
    loads = [0] * threads
    for u in _parts(units, cc):
        for r in _parts([1] * lines, rc):
            loads[loads.index(min(loads))] += u * r
    return max(loads)


def _pow2_divisor(n: int, cap: int) -> int:
    v = cap
    while v > 1 and n % v:
        v //= 2
    return v


class DirectConv2d(Contraction):
    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        self.ax, self.ay = Addr.of(x.type), Addr.of(node.type)
        self.prepacked = weight_panels_of(w.type.layout)
        """The panel width of a weight packed once by the runtime (0: pack per call)."""
        self.geometry(w.type.shape, node.attrs)
        self.nb = self.ay.n  # images are a loop inside every task (see task())
        self.has_bias = len(node.operands) == 3
        self.m, self.n, self.k = self.cout, self.ho * self.wo, self.kcol

    def geometry(self, w_shape: Any, attrs: Mapping[str, Any]) -> None:
        target = self.ctx.gen.target
        lanes = target.lanes(self.dtype)
        self.cout, self.cin, self.kh, self.kw = (int(d) for d in w_shape)
        self.khw, self.kcol = self.kh * self.kw, self.cin * self.kh * self.kw
        self.sh, self.sw = attrs["stride"]
        self.dh, self.dw = attrs["dilation"]
        self.pt, self.pl, self.pb, self.pr = attrs["pad"]
        self.ho, self.wo = self.ay.h, self.ay.w
        self.vec = _pow2_divisor(_run(self.ay), lanes)
        # a weight packed per call takes the library packer's panels, GROUP_VECTORS wide
        pixels = self.ay.n * self.ay.h * self.ay.w
        self.gv = group_vectors(w_shape, attrs, pixels) if self.prepacked else GROUP_VECTORS
        self.group = self.gv * self.vec  # output channels of one register tile
        self.groups_n = -(-self.cout // self.group)
        # tasks split channels in whole layout blocks: a task's epilogue sweeps whole blocks
        # (f64 on 256-bit vectors: groups of 8 channels, blocks of 16)
        self.per_unit = max(1, (self.ay.block or 1) // self.group)
        self.units = -(-self.groups_n // self.per_unit)
        self.channel_chunks = self.row_chunks = 1  # column_chunks() splits parallel kernels
        self.padded = any((self.pt, self.pl, self.pb, self.pr))
        self.cb = _run(self.ax) if self.ax.layout else 1
        self.icb = self.cin // self.cb
        self.hp = (self.ho - 1) * self.sh + (self.kh - 1) * self.dh + 1
        self.wp = (self.wo - 1) * self.sw + (self.kw - 1) * self.dw + 1
        if not self.padded:
            self.hp, self.wp = self.ax.h, self.ax.w
        mr = target.micro_tile(self.dtype)[0]
        self.flat = is_pointwise(w_shape, attrs)
        """A register tile runs across rows (a 7-pixel row filled half the registers and
        re-read the weights once per row)."""
        if self.flat:
            # as few tiles as the accumulators allow, of even widths: 49 pixels as 4 x 10 + 9,
            # not 4 x 12 + 1 (one pixel's FMA chain waits out the latency at every weight row)
            mr = mr * GROUP_VECTORS // self.gv
            pixels = self.ho * self.wo
            self.tile = -(-pixels // -(-pixels // mr))
        else:
            self.tile = next((t for t in range(mr, mr // 2 - 1, -1) if self.wo % t == 0),
                             min(mr, self.wo))
        self.lines = -(-self.ho * self.wo // self.tile) if self.flat else self.ho
        """The units tasks split (rows; for a flat tile, its tiles)."""

    # ------------------------------------------------------------ tasks and scratch

    def prepare(self) -> None:
        super().prepare()
        self.gemm_bytes = 0  # no library GEMM: only its packer, whose output is ours
        self.ctx.workspace = self.extra_workspace()
        self.vector_epilogue = VectorEpilogue.of(self.ctx, self.epilogue, self.ay)

    def source_elems(self) -> int:
        return self.icb * self.hp * self.wp * self.cb if self.padded else 0

    def packed_elems(self) -> int:
        if self.prepacked:
            return 0
        return self.kcol * self.ctx.gen.target.micro_tile(self.dtype)[1]

    def extra_workspace(self) -> int:
        return (self.source_elems() + self.packed_elems() + 2 * self.vec) * self.itemsize

    def column_chunks(self) -> int:
        """Channel chunks x line chunks, the split whose busiest thread has the least work
        (on a tie, the one nearest TASKS_PER_THREAD tasks a thread): a fixed 4 x 1 split of
        efficientnet's 6-group layers at batch 1 gave one thread 4 groups' work, the other 2."""
        threads = self.ctx.gen.target.threads
        want = TASKS_PER_THREAD * threads
        cap = 2 * want
        units = [sum(self.group_width(g) for g in range(u, min(u + self.per_unit, self.groups_n)))
                 for u in range(0, self.groups_n, self.per_unit)]
        best = min((_makespan(units, cc, self.lines, rc, threads), abs(cc * rc - want),
                    -cc * rc, cc, rc)
                   for cc in range(1, min(cap, self.units) + 1)
                   for rc in range(1, min(cap // cc, self.lines) + 1))
        self.channel_chunks, self.row_chunks = best[3], best[4]
        return self.channel_chunks * self.row_chunks

    def group_width(self, g: int) -> int:
        """Vectors of channel group g (the last one may hold fewer)."""
        return min(self.gv, (self.cout - g * self.group) // self.vec)

    def split(self, kb: KernelBuilder, chunk: ir.Value) -> tuple[ir.Value, ...]:
        """(first group, end group, first line, end line) of a task (lines: rows, or tiles
        of a flat schedule)."""
        if self.chunks == 1:
            return kb.i64(0), kb.i64(self.groups_n), kb.i64(0), kb.i64(self.lines)
        cc, rc = self.channel_chunks, self.row_chunks
        ci = kb.b.sdiv(chunk, kb.i64(rc), name="cchunk")
        ri = kb.b.srem(chunk, kb.i64(rc), name="rchunk")

        def part(i: ir.Value, parts: int, total: int) -> tuple[ir.Value, ir.Value]:
            return (kb.b.sdiv(kb.mul(i, total), kb.i64(parts)),
                    kb.b.sdiv(kb.mul(kb.add(i, 1), total), kb.i64(parts)))

        u0, u1 = part(ci, cc, self.units)
        return (kb.mul(u0, self.per_unit), kb.min(kb.mul(u1, self.per_unit), self.groups_n),
                *part(ri, rc, self.lines))

    # ------------------------------------------------------------ the task

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        """Every image of the batch inside the task: its weights are packed once per channel
        group (group outer) unless refilling the padded source per group would move more
        bytes than repacking the weights per image (image outer)."""
        node = self.ctx.anchor
        x, w, y = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                             node.name))
        bias = self.ctx.ptr(node.operands[2].name) if self.has_bias else None
        g0, g1, r0, r1 = self.split(kb, chunk)
        base = self.scratch(kb, ws)
        packed = kb.gep(base, self.source_elems(), name="packed")

        def source(n: ir.Value) -> ir.Value:
            x_img = kb.gep(x, kb.mul(n, self.ax.image))
            return self.fill(kb, x_img, base, r0, r1) if self.padded else x_img

        def groups(body: Callable[[ir.Value, int], None]) -> None:
            full = self.cout // self.group
            with kb.loop(g0, kb.min(g1, full), name="og") as g:
                body(kb.mul(g, self.group), self.gv)
            if self.cout % self.group:  # a last group of fewer vectors (cout: whole vectors)
                with kb.if_(kb.lt(full, g1)):
                    body(kb.i64(full * self.group), (self.cout % self.group) // self.vec)

        def rows(n: ir.Value, src: ir.Value, o0: ir.Value, nv: int, panels: Panels) -> None:
            self.rows(kb, bias, src, panels, y, n, o0, nv, r0, r1)

        if self.group_outer():
            def per_group(o0: ir.Value, nv: int) -> None:
                panels = self.panels(kb, w, packed, o0, nv)
                with kb.loop(0, self.nb, name="n") as n:
                    rows(n, source(n), o0, nv, panels)

            groups(per_group)
        else:
            with kb.loop(0, self.nb, name="n") as n:
                src = source(n)

                def per_image(o0: ir.Value, nv: int) -> None:
                    rows(n, src, o0, nv, self.panels(kb, w, packed, o0, nv))

                groups(per_image)
        if self.vector_epilogue is not None:
            return
        self.channel_bounds = (kb.mul(g0, self.group), kb.min(kb.mul(g1, self.group), self.cout))
        unit, pixels = (self.tile, self.ho * self.wo) if self.flat else (self.wo, None)
        lo, hi = kb.mul(r0, unit), kb.mul(r1, unit)
        self.task_epilogue(kb, image, lo, hi if pixels is None else kb.min(hi, pixels))

    def group_outer(self) -> bool:
        """Pack each group's weights once and refill the source per group and image, unless
        the refills move more elements than repacking per image would (weights packed by the
        runtime: than reading the task's panels again per image, from beyond L2 when they are
        big; the same count). One image fills its source once for all the task's groups
        (resnet18's layer4 at batch 1 refilled its 166 KB padded source for each of them)."""
        if not self.padded:
            return True
        if self.nb == 1:
            return False
        groups = -(-self.units // self.channel_chunks) * self.per_unit
        return groups * self.source_elems() <= self.kcol * self.cout

    def fill(self, kb: KernelBuilder, x_img: ir.Value, dst: ir.Value, r0: ir.Value,
             r1: ir.Value) -> ir.Value:
        """dst = S: the padded rows output rows [r0, r1) read, zero outside the image."""
        a, cb = self.ax, self.cb
        i0 = kb.mul(r0, self.sh)
        i1 = kb.add(kb.mul(kb.sub(r1, 1), self.sh), (self.kh - 1) * self.dh + 1)
        plane = self.hp * self.wp * cb
        with kb.loop(0, self.icb, name="sc") as c, kb.loop(i0, i1, name="si") as i:
            row = kb.gep(dst, kb.add(kb.mul(c, plane), kb.mul(i, self.wp * cb)))
            iy = kb.sub(i, self.pt)
            inside = kb.in_range(iy, 0, a.h)
            # an image row of one channel block is contiguous in every layout (row = W*cb):
            # zeros, one straight copy, zeros, each a loop LLVM vectorizes
            first = max(0, -self.pl)  # the first image column inside P
            lo = max(0, self.pl) * cb
            count = max(0, min(a.w, self.wp - self.pl) - first) * cb
            src = kb.gep(x_img, kb.add(a.channel(kb, kb.mul(c, cb)),
                                       kb.add(kb.mul(iy, a.row), first * cb - lo)))
            kb.padded_row(row, inside, src, (lo, lo + count), self.wp * cb, self.ty)
        return dst

    def rows(self, kb: KernelBuilder, bias: ir.Value | None, src: ir.Value, panels: Panels,
             y: ir.Value, n: ir.Value, o0: ir.Value, nv: int, r0: ir.Value,
             r1: ir.Value) -> None:
        """Output channels [o0, o0 + nv*vec) of rows [r0, r1) of image n, tile by tile."""
        if self.flat:
            self.flat_tiles(kb, bias, src, panels, y, n, o0, nv, r0, r1)
            return
        whole = self.wo // self.tile * self.tile
        with kb.loop(r0, r1, name="oy") as oy:
            with kb.loop(0, whole, step=self.tile, name="ox") as ox:
                tile = Tile(n, o0, nv, oy, ox, self.tile)
                self.register_tile(kb, bias, src, panels, y, tile)
            if whole < self.wo:
                self.register_tile(kb, bias, src, panels, y,
                                   Tile(n, o0, nv, oy, whole, self.wo - whole))

    def flat_tiles(self, kb: KernelBuilder, bias: ir.Value | None, src: ir.Value,
                   panels: Panels, y: ir.Value, n: ir.Value, o0: ir.Value, nv: int,
                   t0: ir.Value, t1: ir.Value) -> None:
        """Tiles [t0, t1) of the pixels of image n read as one run (a flat schedule): the
        tile at q = t * tile covers pixels [q, q + tile); the last one, narrower, is the
        remainder."""
        pixels = self.ho * self.wo
        whole = pixels // self.tile
        with kb.loop(t0, kb.min(t1, whole), name="oq") as t:
            tile = Tile(n, o0, nv, kb.i64(0), kb.mul(t, self.tile), self.tile)
            self.register_tile(kb, bias, src, panels, y, tile)
        if pixels % self.tile:
            with kb.if_(kb.lt(whole, t1)):
                tile = Tile(n, o0, nv, kb.i64(0), whole * self.tile, pixels % self.tile)
                self.register_tile(kb, bias, src, panels, y, tile)

    def panels(self, kb: KernelBuilder, w: ir.Value, packed: ir.Value, o0: ir.Value,
               nv: int) -> Panels:
        """The panels of output channels [o0, o0 + nv*vec): in the runtime's packed weight
        (vector v in panel c // P at column c % P, c = o0 + v*vec), or packed here now."""
        if not self.prepacked:
            self.pack(kb, w, packed, o0, nv * self.vec)
            nr = self.ctx.gen.target.micro_tile(self.dtype)[1]
            return Panels([kb.gep(packed, v * self.vec) for v in range(nv)], nr)
        p = self.prepacked
        def column(c: ir.Value) -> ir.Value:
            at = kb.add(kb.mul(kb.b.udiv(c, kb.i64(p)), self.kcol * p), kb.b.urem(c, kb.i64(p)))
            return kb.gep(w, at, name="panel")

        if p % self.group == 0:  # the whole group in one panel: one pointer, fixed offsets
            first = column(o0)
            bases = [kb.gep(first, v * self.vec) for v in range(nv)]
        else:
            bases = [column(kb.add(o0, v * self.vec)) for v in range(nv)]
        with kb.loop(0, self.kcol, name="pf") as k:  # into L2 at full speed, as a pack would
            for base in bases:
                self.prefetch(kb, base, kb.mul(k, p), self.vec)
        return Panels(bases, p)

    def pack(self, kb: KernelBuilder, w: ir.Value, packed: ir.Value, o0: ir.Value,
             count: int) -> None:
        """packed[k][NR] = W[o0 + j, k] for j < count (zero beyond), k = (ic, ky, kx)."""
        view = kb.var(ir.ArrayType(ir.IntType(64), 3), name="w.view")
        for i, v in enumerate((kb.gep(w, kb.mul(o0, self.kcol)), 1, self.kcol)):
            kb.b.store(self._i64(kb, v), kb.b.gep(view, [kb.i64(0), kb.i64(i)]))
        fn = self._service(kb, f"pack_b_strided_{self.dtype}", pack_type(self.ty))
        kb.b.call(fn, [kb.b.bitcast(view, ir.IntType(8).as_pointer()), packed, kb.i64(0),
                       kb.i64(self.kcol), kb.i64(0), kb.i64(count)])

    def register_tile(self, kb: KernelBuilder, bias: ir.Value | None, src: ir.Value,
                      panels: Panels, y: ir.Value, tile: Tile) -> None:
        """y[n, o0 + v*vec, oy, ox0 + t] = bias + the sum, for t < width, v < nv (then the
        epilogue, in registers when it can)."""
        n, o0, nv, oy, ox0, width = tile
        stride = panels.stride
        vty = ir.VectorType(self.ty, self.vec)
        init = [kb.vload(bias, kb.add(o0, v * self.vec), vty) if bias is not None
                else kb.const(vty, 0.0) for v in range(nv)]
        acc = [[kb.var(vty, name=f"acc{t}.{v}") for v in range(nv)] for t in range(width)]
        for t in range(width):
            for v in range(nv):
                kb.b.store(init[v], acc[t][v])
        cb, plane = self.cb, self.hp * self.wp * self.cb
        corner = kb.add(kb.mul(oy, self.sh * self.wp * cb), kb.mul(ox0, self.sw * cb))
        with kb.loop(0, self.icb, name="ic") as ic:
            block = kb.gep(src, kb.add(corner, kb.mul(ic, plane)))
            weights = [kb.gep(b, kb.mul(ic, cb * self.khw * stride)) for b in panels.bases]

            def channel(icl: Int) -> None:
                firsts = [kb.gep(p, kb.mul(icl, self.khw * stride)) for p in weights]
                self.channel_taps(kb, kb.gep(block, icl), firsts, acc, stride)

            if cb <= UNROLL_CHANNELS:
                for icl in range(cb):
                    channel(icl)
            else:
                with kb.loop(0, cb, name="icl") as icl:
                    channel(icl)
        self.store_tile(kb, y, tile, [[kb.b.load(a) for a in row] for row in acc])

    def channel_taps(self, kb: KernelBuilder, s: ir.Value, wk: list[ir.Value],
                     acc: list[list[ir.Value]], stride: int) -> None:
        """acc[t][v] += S[ky, t*sw + kx, icl] * Wp[(icl, ky, kx), v] over the taps of one
        source channel (s: its element at the tile's corner; wk[v]: vector v's first weight
        row of the channel, its rows `stride` apart). The taps are innermost, so each panel is
        read as one forward stream (k = (ic, ky, kx) is its row order); a plain source unrolls
        them all, so pixel t + 1 at tap kx reuses pixel t's broadcast at kx + 1."""
        vty = ir.VectorType(self.ty, self.vec)
        cb = self.cb

        def step(ky: Int, kx: Int) -> None:
            row = kb.mul(kb.add(kb.mul(ky, self.kw), kx), stride)
            wv = [kb.vload(p, row, vty) for p in wk]
            at = kb.mul(kb.add(kb.mul(ky, self.dh * self.wp), kb.mul(kx, self.dw)), cb)
            for t, row in enumerate(acc):
                xs = kb.splat(kb.load(s, kb.add(at, t * self.sw * cb)), vty)
                for v, slot in enumerate(row):
                    kb.b.store(kb.fma(xs, wv[v], kb.b.load(slot)), slot)

        unrolled = cb if cb <= UNROLL_CHANNELS else 1
        if unrolled * self.khw <= UNROLL_TAPS:
            for ky in range(self.kh):
                for kx in range(self.kw):
                    step(ky, kx)
            return
        with kb.loop(0, self.kh, name="ky") as ky:
            if unrolled * self.kw <= UNROLL_TAPS:
                for kx in range(self.kw):
                    step(ky, kx)
            else:
                with kb.loop(0, self.kw, name="kx") as kx:
                    step(ky, kx)

    def prefetch(self, kb: KernelBuilder, base: ir.Value, at: Int, count: int) -> None:
        """Asks for the cache lines of base[at : at + count] (for reading, into every level)."""
        for line in range(0, count * self.itemsize, LINE):
            kb.prefetch(kb.gep(base, kb.add(at, line // self.itemsize)))

    def store_tile(self, kb: KernelBuilder, y: ir.Value, tile: Tile,
                   acc: list[list[ir.Value]]) -> None:
        for v in range(tile.nv):
            for t in range(tile.width):
                oy, ox = tile.oy, kb.add(tile.ox0, t)
                if self.flat:  # pixel q of the run is (q // wo, q % wo)
                    oy, ox = kb.b.udiv(ox, kb.i64(self.wo)), kb.b.urem(ox, kb.i64(self.wo))
                at = (tile.n, kb.add(tile.o0, v * self.vec), oy, ox)
                if self.vector_epilogue is not None:
                    self.vector_epilogue.emit(kb, at, acc[t][v])
                else:
                    kb.vstore(acc[t][v], y, self.ay_at(kb, at))

    def ay_at(self, kb: KernelBuilder, at: tuple[Int, ...]) -> ir.Value:
        n, c, oy, ox = at
        a = self.ay
        return kb.add(kb.add(kb.mul(n, a.image), a.channel(kb, c)),
                      kb.add(kb.mul(oy, a.row), kb.mul(ox, a.col)))

    # ------------------------------------------------------------ epilogue

    def region_groups(self) -> list[list[int]]:
        return [[0], [1], [2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list[tuple[Int, Int]]:
        c_lo, c_hi = self.channel_bounds
        return [(0, self.nb), (c_lo, c_hi), (lo, hi)]


VARIANTS = {"conv2d": [(accepts, DirectConv2d)]}
"""Chosen over conv.py's im2col GEMM when `accepts` holds."""
