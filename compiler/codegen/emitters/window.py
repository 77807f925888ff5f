"""Pooling kernels and their gradients, one (n, c) plane at a time, in any layout.

Semantics follow runtime/ref_ops*.py exactly: padding counts as -inf for max and as excluded or
included (count_include_pad) for the average, ceil_mode windows never count their overhang, and
the max gradient goes to the first maximum of the window (a later element wins only if strictly
greater, or NaN), as PyTorch does (that gradient's kernel: maxpool_grad.py). Elements are
addressed through compiler/codegen/addr.py, so the same loops serve NCHW, NHWC and blocked
layouts. Tasks split the planes (plain layouts) or the images (other layouts, whose planes are
interleaved in memory); each task's epilogue sweeps what it wrote.
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.base import Emitter
from compiler.codegen.kernel_builder import KernelBuilder

Body = Callable[[ir.Value, ir.Value], None]
Visit = Callable[[ir.Value, ir.Value, ir.Value, ir.Value, ir.Value], None]
"""visit(k, iy, ix, in_bounds, in_padded): one window position (k = ky * kw + kx)."""
UNROLL_WINDOW = 64
"""Windows with more positions than this run as loops, not unrolled code."""


class _Window(Emitter):
    """Shared geometry: x is the pooled input [N,C,H,W], y the pooled output [N,C,Ho,Wo]."""

    per_task_epilogue = True
    x_type: object
    y_type: object

    def geometry(self, x: Addr, y: Addr) -> None:
        a = self.ctx.anchor.attrs
        self.ax, self.ay = x, y
        self.kh, self.kw = a["kernel"]
        self.sh, self.sw = a["stride"]
        self.pt, self.pl, self.pb, self.pr = a["pad"]
        self.dh, self.dw = a["dilation"]
        self.n, self.channels, self.h, self.w = x.n, x.c, x.h, x.w
        self.ho, self.wo = y.h, y.w
        self.plain = x.layout == "" and y.layout == ""
        self.units = self.n * self.channels if self.plain else self.n
        work = self.n * self.channels * self.ho * self.wo * self.kh * self.kw
        self.ctx.ntasks = self.tasks_for(self.units, work)

    def planes(self, kb: KernelBuilder, task: ir.Value, body: Body) -> None:
        """body(n, c) for every plane of this task, then the task's epilogue."""
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.units)
        epilogue = self.epilogue if self.epilogue is not None and self.epilogue.needed else None
        with kb.loop(lo, hi, name="unit") as unit:
            if self.plain:
                n = kb.b.sdiv(unit, kb.i64(self.channels), name="n")
                c = kb.b.srem(unit, kb.i64(self.channels), name="c")
                body(n, c)
                prefix = [n, c]
            else:
                with kb.loop(0, self.channels, name="c") as c:
                    body(unit, c)
                prefix = [unit]
            if epilogue is not None:
                epilogue.emit_fixed(kb, prefix)

    def window(self, kb: KernelBuilder, oy: ir.Value, ox: ir.Value, visit: Visit) -> None:
        """Calls visit(k, iy, ix, in_bounds, in_padded) for every window position, in order:
        unrolled for small windows, as loops beyond UNROLL_WINDOW positions (a 60x80 window
        unrolled is minutes of LLVM time for no speed)."""
        if self.kh * self.kw > UNROLL_WINDOW:
            with kb.loop(0, self.kh, name="ky") as ky, kb.loop(0, self.kw, name="kx") as kx:
                self._visit(kb, oy, ox, ky, kx, visit)
            return
        for ky in range(self.kh):
            for kx in range(self.kw):
                self._visit(kb, oy, ox, ky, kx, visit)

    def _visit(self, kb: KernelBuilder, oy: ir.Value, ox: ir.Value, ky: ir.Value | int,
               kx: ir.Value | int, visit: Visit) -> None:
        iy = kb.add(kb.mul(oy, self.sh), kb.add(kb.mul(ky, self.dh), -self.pt))
        ix = kb.add(kb.mul(ox, self.sw), kb.add(kb.mul(kx, self.dw), -self.pl))
        inside = kb.b.and_(kb.in_range(iy, 0, self.h), kb.in_range(ix, 0, self.w))
        padded = kb.b.and_(kb.in_range(iy, -self.pt, self.h + self.pb),
                           kb.in_range(ix, -self.pl, self.w + self.pr))
        visit(kb.add(kb.mul(ky, self.kw), kx), iy, ix, inside, padded)

    def tiled(self) -> bool:
        """Windows that tile the input exactly (no padding, stride = kernel, no dilation):
        every input element is in exactly one window, so no bounds checks are needed and a
        gradient can be written rather than accumulated."""
        a = self.ctx.anchor.attrs
        return (self.kh * self.kw <= UNROLL_WINDOW and tuple(a["pad"]) == (0, 0, 0, 0)
                and tuple(a["stride"]) == tuple(a["kernel"])
                and tuple(a["dilation"]) == (1, 1) and self.h == self.ho * self.kh
                and self.w == self.wo * self.kw)

    def x_at(self, kb: KernelBuilder, base: ir.Value, iy: ir.Value, ix: ir.Value) -> ir.Value:
        return kb.add(base, kb.add(kb.mul(iy, self.ax.row), kb.mul(ix, self.ax.col)))

    def y_at(self, kb: KernelBuilder, base: ir.Value, oy: ir.Value, ox: ir.Value) -> ir.Value:
        return kb.add(base, kb.add(kb.mul(oy, self.ay.row), kb.mul(ox, self.ay.col)))

    def tiled_window(self, kb: KernelBuilder, x: ir.Value, base: ir.Value, oy: ir.Value,
                     ox: ir.Value) -> list[tuple[ir.Value, ir.Value]]:
        """(offset, value) of each element of window (oy, ox), in row order."""
        out = []
        for ky in range(self.kh):
            iy = kb.add(kb.mul(oy, self.kh), ky)
            for kx in range(self.kw):
                at = self.x_at(kb, base, iy, kb.add(kb.mul(ox, self.kw), kx))
                out.append((at, kb.load(x, at)))
        return out

    def zero_plane(self, kb: KernelBuilder, ptr: ir.Value, base: ir.Value, ty: ir.Type) -> None:
        with kb.loop(0, self.h, name="zy") as iy, kb.loop(0, self.w, name="zx") as ix:
            kb.store(ir.Constant(ty, 0.0), ptr, self.x_at(kb, base, iy, ix))


def first_max(kb: KernelBuilder, v: ir.Value, best: ir.Value) -> ir.Value:
    """Whether v replaces the running maximum: strictly greater, or NaN (numpy's NaN rule; ties
    keep the earlier value). The pool's forward and its gradient must agree on it."""
    return kb.b.or_(kb.b.fcmp_ordered(">", v, best), kb.b.fcmp_unordered("uno", v, v))


def _max(kb: KernelBuilder, v: ir.Value, cur: ir.Value) -> ir.Value:
    """max with numpy's NaN rule, keeping the earlier value on ties."""
    return kb.b.select(first_max(kb, v, cur), v, cur)


class MaxPool(_Window):
    def prepare(self) -> None:
        node = self.ctx.anchor
        self.ctx.touch(node.operands[0].name, node.name)
        self.geometry(Addr.of(node.operands[0].type), Addr.of(node.type))
        block = self.ax.block
        self.vector = bool(block) and self.ay.block == block and (
            self.epilogue is None or not self.epilogue.needed)
        if self.vector:  # tasks over (image, channel block), not images: both cores at batch 1
            self.units = self.n * self.channels // block
            work = self.n * self.channels * self.ho * self.wo * self.kh * self.kw
            self.ctx.ntasks = self.tasks_for(self.units, work)

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        x, y = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        ty = self.ctx.elem_type(node.name)
        if self.vector:
            self._blocks(kb, task, x, y, ty)
            return
        best = kb.var(ty, name="best")
        tiled = self.tiled()

        def plane(n: ir.Value, c: ir.Value) -> None:
            xb, yb = self.ax.plane(kb, n, c), self.ay.plane(kb, n, c)
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                if tiled:
                    m = None
                    for _, v in self.tiled_window(kb, x, xb, oy, ox):
                        m = v if m is None else _max(kb, v, m)
                    kb.store(m, y, self.y_at(kb, yb, oy, ox))
                else:
                    kb.b.store(ir.Constant(ty, float("-inf")), best)

                    def visit(k, iy, ix, inside, padded):
                        with kb.if_(inside):
                            v = kb.load(x, self.x_at(kb, xb, iy, ix))
                            kb.b.store(_max(kb, v, kb.b.load(best)), best)

                    self.window(kb, oy, ox, visit)
                    kb.store(kb.b.load(best), y, self.y_at(kb, yb, oy, ox))

        self.planes(kb, task, plane)


    def _blocks(self, kb: KernelBuilder, task: ir.Value, x: ir.Value, y: ir.Value,
                ty: ir.Type) -> None:
        """NCHW<b>c in and out: a pixel's b channels are one vector, so each window position
        is one vector load and max (the plane walk reads every b-th element)."""
        b = self.ax.block
        vty = ir.VectorType(ty, b)
        best = kb.var(vty, name="best")
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.units)
        with kb.loop(lo, hi, name="nb") as nb:
            xb = kb.mul(nb, self.h * self.w * b)  # (image, block) planes are consecutive
            yb = kb.mul(nb, self.ho * self.wo * b)
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                kb.b.store(kb.const(vty, float("-inf")), best)

                def visit(k: ir.Value, iy: ir.Value, ix: ir.Value, inside: ir.Value,
                          padded: ir.Value) -> None:
                    with kb.if_(inside):
                        v = kb.vload(x, self.x_at(kb, xb, iy, ix), vty)
                        kb.b.store(_max(kb, v, kb.b.load(best)), best)

                self.window(kb, oy, ox, visit)
                kb.vstore(kb.b.load(best), y, self.y_at(kb, yb, oy, ox))


class AvgPool(_Window):
    def prepare(self) -> None:
        node = self.ctx.anchor
        self.ctx.touch(node.operands[0].name, node.name)
        self.geometry(Addr.of(node.operands[0].type), Addr.of(node.type))

    def divisor(self, kb: KernelBuilder, oy: ir.Value, ox: ir.Value, ty: ir.Type) -> ir.Value:
        include_pad = self.ctx.anchor.attrs["count_include_pad"]
        count = kb.var(ty, ir.Constant(ty, 0.0), name="count")

        def visit(k, iy, ix, inside, padded):
            counted = padded if include_pad else inside
            kb.b.store(kb.b.fadd(kb.b.load(count), kb.b.uitofp(counted, ty)), count)

        self.window(kb, oy, ox, visit)
        return kb.b.load(count)

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        x, y = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        ty = self.ctx.elem_type(node.name)
        total = kb.var(ty, name="total")

        def plane(n: ir.Value, c: ir.Value) -> None:
            xb, yb = self.ax.plane(kb, n, c), self.ay.plane(kb, n, c)
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                kb.b.store(ir.Constant(ty, 0.0), total)

                def visit(k, iy, ix, inside, padded):
                    with kb.if_(inside):
                        v = kb.load(x, self.x_at(kb, xb, iy, ix))
                        kb.b.store(kb.b.fadd(kb.b.load(total), v), total)

                self.window(kb, oy, ox, visit)
                mean = kb.b.fdiv(kb.b.load(total), self.divisor(kb, oy, ox, ty))
                kb.store(mean, y, self.y_at(kb, yb, oy, ox))

        self.planes(kb, task, plane)


class AvgPoolGrad(AvgPool):
    def prepare(self) -> None:
        node = self.ctx.anchor
        (dy,) = node.operands
        self.ctx.touch(dy.name, node.name)
        self.geometry(Addr.of(node.type), Addr.of(dy.type))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        dy, dx = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        ty = self.ctx.elem_type(node.name)

        def plane(n: ir.Value, c: ir.Value) -> None:
            xb, gb = self.ax.plane(kb, n, c), self.ay.plane(kb, n, c)
            self.zero_plane(kb, dx, xb, ty)
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                g = kb.load(dy, self.y_at(kb, gb, oy, ox))
                share = kb.b.fdiv(g, self.divisor(kb, oy, ox, ty))

                def visit(k, iy, ix, inside, padded):
                    with kb.if_(inside):
                        slot = self.x_at(kb, xb, iy, ix)
                        kb.store(kb.b.fadd(kb.load(dx, slot), share), dx, slot)

                self.window(kb, oy, ox, visit)

        self.planes(kb, task, plane)


EMITTERS = {"maxpool2d": MaxPool, "avgpool2d": AvgPool, "avgpool2d_grad": AvgPoolGrad}
"""maxpool2d_grad: compiler/codegen/emitters/maxpool_grad.py."""
