"""The max-pool gradient: each window's output gradient goes to the window's first maximum.

Where it sits: the emitter of `maxpool2d_grad` (compiler/codegen/emitters/__init__.py finds it
here), beside the forward pools of window.py whose geometry it shares. Semantics follow
runtime/ref_ops*.py: the first maximum of a window (a later element wins only if strictly
greater, or NaN) receives dy; overlapping windows add up. Tasks split the planes (plain
layouts) or the images, so no two tasks write one dx element.

Three paths:
  tiled windows (stride = kernel, no padding)  each dx element written once, no zeroing
  plain planes                                a vector of L output pixels of one row at a time,
      for the columns whose windows' reads stay inside the input row: every window position
      is one load of L*s input columns (s = stride) shuffled down to L, the argmax is kept per
      lane, then each window row's gradients are summed in registers and added into dx with
      one read-modify-write (dy in the lanes that hit, zeros between them); window rows in the
      padding never win
  everything else (row ends, other layouts)   one output pixel at a time, scalar
The vector path is exact and race-free: within one window position the L lanes hold distinct
columns (s >= 1 apart), and the rows and vectors run one after another, so windows that
overlap (kernel > stride) still add every contribution.
"""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.base import numel
from compiler.codegen.emitters.window import UNROLL_WINDOW, _Window, first_max
from compiler.codegen.kernel_builder import I32, KernelBuilder

MAX_VECTOR_STRIDE = 4
"""Wider strides load L*s columns to use L of them: beyond this the scalar path is cheaper."""


class MaxPoolGrad(_Window):
    def prepare(self) -> None:
        node = self.ctx.anchor
        dy, x = node.operands
        self.ctx.touch(dy.name, x.name, node.name)
        self.geometry(Addr.of(x.type), Addr.of(dy.type))
        self.adx = Addr.of(node.type)
        self.plain = self.plain and self.adx.layout == ""
        self.units = self.n * self.channels if self.plain else self.n
        self.ctx.ntasks = self.tasks_for(self.units, numel(x.type.shape) * 4)
        self.lanes = self.ctx.gen.target.lanes(node.type.dtype)
        self.cols = self._columns()

    def _columns(self) -> tuple[int, int]:
        """Output columns [a, b) that vectors of L lanes cover with every load (L*s input
        columns from a window's first) inside the input row; an empty range when the vector
        path does not apply."""
        if (not self.plain or self.tiled() or self.kh * self.kw > UNROLL_WINDOW
                or self.sw > MAX_VECTOR_STRIDE):
            return 0, 0
        col_lo = -(-self.pl // self.sw)
        # a vector starting at column b reads input columns up to (b + L)*s + (kw-1)*dw - pl - 1
        col_hi = min(self.wo, (self.w + self.pl - (self.kw - 1) * self.dw) // self.sw)
        if col_hi - col_lo < self.lanes:
            return 0, 0
        return col_lo, col_hi

    def dx_at(self, kb: KernelBuilder, base: ir.Value, iy: ir.Value, ix: ir.Value) -> ir.Value:
        return kb.add(base, kb.add(kb.mul(iy, self.adx.row), kb.mul(ix, self.adx.col)))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        dy, x, dx = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                                 node.name))
        ty = self.ctx.elem_type(node.name)
        tiled = self.tiled()

        def plane(n: ir.Value, c: ir.Value) -> None:
            xb, gb, db = (a.plane(kb, n, c) for a in (self.ax, self.ay, self.adx))
            if tiled:
                self._tiled_plane(kb, dy, x, dx, xb, gb, db, ty)
                return
            with kb.loop(0, self.h, name="zy") as iy, kb.loop(0, self.w, name="zx") as ix:
                kb.store(ir.Constant(ty, 0.0), dx, self.dx_at(kb, db, iy, ix))
            with kb.loop(0, self.ho, name="oy") as oy:
                self._row(kb, (dy, x, dx), (xb, gb, db), oy, ty)

        self.planes(kb, task, plane)

    def _row(self, kb: KernelBuilder, ptrs: tuple[ir.Value, ...], bases: tuple[ir.Value, ...],
             oy: ir.Value, ty: ir.Type) -> None:
        """Output row oy: vectors over the columns whose windows' reads stay in the input row,
        scalar windows at the ends."""
        col_lo, col_hi = self.cols

        def scalar(lo: ir.Value | int, hi: ir.Value | int) -> None:
            with kb.loop(lo, hi, name="ox") as ox:
                self._scalar_window(kb, ptrs, bases, oy, ox, ty)

        if col_hi <= col_lo:
            scalar(0, self.wo)
            return
        scalar(0, col_lo)
        with kb.loop(col_lo, col_hi, step=self.lanes, name="ov") as ov:
            self._vector_windows(kb, ptrs, bases, oy, ov, ty)
        scalar(col_hi, self.wo)

    def _vector_windows(self, kb: KernelBuilder, ptrs: tuple[ir.Value, ...],
                        bases: tuple[ir.Value, ...], oy: ir.Value, ov: ir.Value,
                        ty: ir.Type) -> None:
        """The L windows from column ov (the last vector of a row starts at col_hi - L and
        leaves the lanes an earlier vector already did without a gradient). Window rows
        outside the image (padding) are read from a row inside and never win; their dx row
        is not touched."""
        dy, x, dx = ptrs
        xb, gb, db = bases
        lanes, s = self.lanes, self.sw
        vty = ir.VectorType(ty, lanes)
        ity = ir.VectorType(I32, lanes)
        start = kb.min(ov, self.cols[1] - lanes)
        rows = [kb.add(kb.mul(oy, self.sh), ky * self.dh - self.pt) for ky in range(self.kh)]
        inside = [kb.in_range(iy, 0, self.h) for iy in rows]
        x0 = kb.add(kb.mul(start, s), -self.pl)  # the input column of lane 0's window
        best = kb.const(vty, float("-inf"))
        arg = ir.Constant(ity, [-1] * lanes)
        for k in range(self.kh * self.kw):
            ky, kx = divmod(k, self.kw)
            iy = kb.min(kb.max(rows[ky], 0), self.h - 1)
            v = kb.strided_vload(x, self.x_at(kb, xb, iy, kb.add(x0, kx * self.dw)), ty, lanes, s)
            first = kb.b.icmp_signed("<", arg, ir.Constant(ity, [0] * lanes))
            better = kb.b.or_(first_max(kb, v, best), first)
            better = kb.b.select(inside[ky], better, ir.Constant(better.type, [0] * lanes))
            best = kb.b.select(better, v, best)
            arg = kb.b.select(better, ir.Constant(ity, [k] * lanes), arg)
        g = kb.vload(dy, self.y_at(kb, gb, oy, start), vty)
        done = kb.b.trunc(kb.sub(ov, start), I32)  # lanes below this were an earlier vector's
        fresh = kb.b.icmp_signed(">=", ir.Constant(ity, list(range(lanes))), kb.splat(done, ity))
        g = kb.b.select(fresh, g, kb.const(vty, 0.0))
        for ky in range(self.kh):
            with kb.if_(inside[ky]):
                self._add_row(kb, dx, self.dx_at(kb, db, rows[ky], x0), g, arg, ky, ty)

    def _add_row(self, kb: KernelBuilder, dx: ir.Value, at: ir.Value, g: ir.Value,
                 arg: ir.Value, ky: int, ty: ir.Type) -> None:
        """dx[at + j] += the gradients of window row ky, whose kw positions land at columns
        kx*dw + lane*s: summed in registers first, then one L*s-wide and one (kw-1)*dw-wide
        read-modify-write (overlapping stores one column apart stalled every load after)."""
        lanes, s = self.lanes, self.sw
        span = lanes * s + (self.kw - 1) * self.dw
        zero = kb.const(g.type, 0.0)
        parts = []
        for kx in range(self.kw):
            hit = kb.b.icmp_signed("==", arg, ir.Constant(arg.type, [ky * self.kw + kx] * lanes))
            shift = kx * self.dw
            mask = [(j - shift) // s if j >= shift and (j - shift) % s == 0
                    and (j - shift) // s < lanes else lanes for j in range(span)]
            parts.append(kb.b.shuffle_vector(kb.b.select(hit, g, zero), zero,
                                             ir.Constant(ir.VectorType(I32, span), mask)))
        total = parts[0]
        for part in parts[1:]:
            total = kb.b.fadd(total, part)
        for lo, hi in ((0, lanes * s), (lanes * s, span)):
            if hi <= lo:
                continue
            piece = kb.b.shuffle_vector(total, total,
                                        ir.Constant(ir.VectorType(I32, hi - lo),
                                                    list(range(lo, hi))))
            kb.vstore(kb.b.fadd(kb.vload(dx, kb.add(at, lo), piece.type), piece), dx,
                      kb.add(at, lo))

    def _scalar_window(self, kb: KernelBuilder, ptrs: tuple[ir.Value, ...],
                       bases: tuple[ir.Value, ...], oy: ir.Value, ox: ir.Value,
                       ty: ir.Type) -> None:
        """One window, bounds-checked: dy added to dx at its first maximum."""
        dy, x, dx = ptrs
        xb, gb, db = bases
        best = kb.var(ty, name="best")
        where = kb.var(kb.i64(0).type, name="argmax")
        kb.b.store(ir.Constant(ty, float("-inf")), best)
        kb.b.store(kb.i64(-1), where)

        def visit(k: ir.Value, iy: ir.Value, ix: ir.Value, inside: ir.Value,
                  padded: ir.Value) -> None:
            with kb.if_(inside):
                v = kb.load(x, self.x_at(kb, xb, iy, ix))
                cur = kb.b.load(best)
                first = kb.b.icmp_signed("<", kb.b.load(where), kb.i64(0))
                better = kb.b.or_(first_max(kb, v, cur), first)
                kb.b.store(kb.b.select(better, v, cur), best)
                at = self.dx_at(kb, db, iy, ix)
                kb.b.store(kb.b.select(better, at, kb.b.load(where)), where)

        self.window(kb, oy, ox, visit)
        arg = kb.b.load(where)
        with kb.if_(kb.b.icmp_signed(">=", arg, kb.i64(0))):
            g = kb.load(dy, self.y_at(kb, gb, oy, ox))
            kb.store(kb.b.fadd(kb.load(dx, arg), g), dx, arg)

    def _tiled_plane(self, kb: KernelBuilder, dy: ir.Value, x: ir.Value, dx: ir.Value,
                     xb: ir.Value, gb: ir.Value, db: ir.Value, ty: ir.Type) -> None:
        """Each input element gets its window's dy if it is the window's first maximum, else 0:
        written once, no zeroing pass, no read-modify-write."""
        zero = ir.Constant(ty, 0.0)
        with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
            window = self.tiled_window(kb, x, xb, oy, ox)
            best, arg = window[0][1], kb.i64(0)
            for i, (_, v) in enumerate(window[1:], start=1):
                better = first_max(kb, v, best)
                best = kb.b.select(better, v, best)
                arg = kb.b.select(better, kb.i64(i), arg)
            g = kb.load(dy, self.y_at(kb, gb, oy, ox))
            for i in range(self.kh * self.kw):
                ky, kx = divmod(i, self.kw)
                at = self.dx_at(kb, db, kb.add(kb.mul(oy, self.kh), ky),
                                kb.add(kb.mul(ox, self.kw), kx))
                hit = kb.b.icmp_signed("==", arg, kb.i64(i))
                kb.store(kb.b.select(hit, g, zero), dx, at)


EMITTERS = {"maxpool2d_grad": MaxPoolGrad}
