"""Pooling kernels and their gradients: one plane (n, c) per iteration, parallel over planes.

Semantics follow runtime/ref_ops*.py exactly: padding counts as -inf for max and as excluded or
included (count_include_pad) for the average, ceil_mode windows never count their overhang, and
the max gradient goes to the first maximum of the window (a later element wins only if strictly
greater, or NaN), as PyTorch does.
"""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.emitters.base import Emitter, numel
from compiler.codegen.kb import KernelBuilder


class _Window(Emitter):
    """Shared geometry: x is the pooled input [N,C,H,W], y the pooled output [N,C,Ho,Wo]."""

    per_task_epilogue = True
    x_name: str
    y_shape: tuple[int, ...]
    x_shape: tuple[int, ...]

    def geometry(self) -> None:
        a = self.ctx.anchor.attrs
        self.kh, self.kw = a["kernel"]
        self.sh, self.sw = a["stride"]
        self.pt, self.pl, self.pb, self.pr = a["pad"]
        self.dh, self.dw = a["dilation"]
        n, c, self.h, self.w = self.x_shape
        self.ho, self.wo = self.y_shape[2], self.y_shape[3]
        self.planes = n * c
        self.channels = c
        self.ctx.ntasks = self.tasks_for(self.planes, numel(self.y_shape) * self.kh * self.kw)

    def plane_loop(self, kb: KernelBuilder, task: ir.Value):  # type: ignore[no-untyped-def]
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.planes)
        return kb.loop(lo, hi, name="plane")

    def window(self, kb: KernelBuilder, oy: ir.Value, ox: ir.Value, visit) -> None:  # type: ignore[no-untyped-def]
        """Calls visit(iy, ix, in_bounds, in_padded) for every window position, in row order."""
        for ky in range(self.kh):
            iy = kb.add(kb.mul(oy, self.sh), ky * self.dh - self.pt)
            for kx in range(self.kw):
                ix = kb.add(kb.mul(ox, self.sw), kx * self.dw - self.pl)
                inside = kb.b.and_(kb.in_range(iy, 0, self.h), kb.in_range(ix, 0, self.w))
                padded = kb.b.and_(kb.in_range(iy, -self.pt, self.h + self.pb),
                                   kb.in_range(ix, -self.pl, self.w + self.pr))
                visit(ky * self.kw + kx, iy, ix, inside, padded)

    def tiled(self) -> bool:
        """Windows that tile the input exactly (no padding, stride = kernel, no dilation):
        every input element is in exactly one window, so no bounds checks are needed and a
        gradient can be written rather than accumulated."""
        a = self.ctx.anchor.attrs
        return (tuple(a["pad"]) == (0, 0, 0, 0) and tuple(a["stride"]) == tuple(a["kernel"])
                and tuple(a["dilation"]) == (1, 1) and self.h == self.ho * self.kh
                and self.w == self.wo * self.kw)

    def tiled_window(self, kb: KernelBuilder, x: ir.Value, base: ir.Value, oy: ir.Value,
                     ox: ir.Value) -> list[tuple[ir.Value, ir.Value]]:
        """(offset, value) of each element of window (oy, ox), in row order."""
        out = []
        for ky in range(self.kh):
            row = kb.add(base, kb.mul(kb.add(kb.mul(oy, self.kh), ky), self.w))
            for kx in range(self.kw):
                at = kb.add(row, kb.add(kb.mul(ox, self.kw), kx))
                out.append((at, kb.load(x, at)))
        return out

    def plane_epilogue(self, kb: KernelBuilder, plane: ir.Value) -> None:
        if self.epilogue is not None and self.epilogue.needed:
            n = kb.b.sdiv(plane, kb.i64(self.channels), name="n")
            c = kb.b.srem(plane, kb.i64(self.channels), name="c")
            self.epilogue.emit_fixed(kb, [n, c])


class MaxPool(_Window):
    def prepare(self) -> None:
        node = self.ctx.anchor
        self.x_shape = tuple(int(d) for d in node.operands[0].type.shape)
        self.y_shape = tuple(int(d) for d in node.type.shape)
        self.ctx.touch(node.operands[0].name, node.name)
        self.geometry()

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        x, y = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        ty = self.ctx.elem_type(node.name)
        best = kb.var(ty, name="best")
        tiled = self.tiled()
        with self.plane_loop(kb, task) as plane:
            xin = kb.mul(plane, self.h * self.w)
            yout = kb.mul(plane, self.ho * self.wo)
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                if tiled:
                    m = None
                    for _, v in self.tiled_window(kb, x, xin, oy, ox):
                        m = v if m is None else _max(kb, v, m)
                    kb.store(m, y, kb.add(yout, kb.add(kb.mul(oy, self.wo), ox)))
                else:
                    self._general_window(kb, x, xin, oy, ox, best, ty)
                    kb.store(kb.b.load(best), y,
                             kb.add(yout, kb.add(kb.mul(oy, self.wo), ox)))
            self.plane_epilogue(kb, plane)

    def _general_window(self, kb: KernelBuilder, x: ir.Value, xin: ir.Value, oy: ir.Value,
                        ox: ir.Value, best: ir.Value, ty: ir.Type) -> None:
        """Max over a window with padding or overlap: bounds checked element by element."""
        kb.b.store(ir.Constant(ty, float("-inf")), best)

        def visit(k, iy, ix, inside, padded):  # type: ignore[no-untyped-def]
            with kb.if_(inside):
                v = kb.load(x, kb.add(xin, kb.add(kb.mul(iy, self.w), ix)))
                kb.b.store(_max(kb, v, kb.b.load(best)), best)

        self.window(kb, oy, ox, visit)


def _max(kb: KernelBuilder, v: ir.Value, cur: ir.Value) -> ir.Value:
    """max with numpy's NaN rule, keeping the earlier value on ties."""
    better = kb.b.or_(kb.b.fcmp_ordered(">", v, cur), kb.b.fcmp_unordered("uno", v, v))
    return kb.b.select(better, v, cur)


class AvgPool(_Window):
    def prepare(self) -> None:
        node = self.ctx.anchor
        self.x_shape = tuple(int(d) for d in node.operands[0].type.shape)
        self.y_shape = tuple(int(d) for d in node.type.shape)
        self.ctx.touch(node.operands[0].name, node.name)
        self.geometry()

    def divisor(self, kb: KernelBuilder, oy: ir.Value, ox: ir.Value, ty: ir.Type) -> ir.Value:
        include_pad = self.ctx.anchor.attrs["count_include_pad"]
        count = kb.var(ty, ir.Constant(ty, 0.0), name="count")

        def visit(k, iy, ix, inside, padded):  # type: ignore[no-untyped-def]
            counted = padded if include_pad else inside
            kb.b.store(kb.b.fadd(kb.b.load(count), kb.b.uitofp(counted, ty)), count)

        self.window(kb, oy, ox, visit)
        return kb.b.load(count)

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        x, y = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        ty = self.ctx.elem_type(node.name)
        total = kb.var(ty, name="total")
        with self.plane_loop(kb, task) as plane:
            xin = kb.mul(plane, self.h * self.w)
            yout = kb.mul(plane, self.ho * self.wo)
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                kb.b.store(ir.Constant(ty, 0.0), total)

                def visit(k, iy, ix, inside, padded):  # type: ignore[no-untyped-def]
                    with kb.if_(inside):
                        v = kb.load(x, kb.add(xin, kb.add(kb.mul(iy, self.w), ix)))
                        kb.b.store(kb.b.fadd(kb.b.load(total), v), total)

                self.window(kb, oy, ox, visit)
                mean = kb.b.fdiv(kb.b.load(total), self.divisor(kb, oy, ox, ty))
                kb.store(mean, y, kb.add(yout, kb.add(kb.mul(oy, self.wo), ox)))
            self.plane_epilogue(kb, plane)


class MaxPoolGrad(_Window):
    def prepare(self) -> None:
        node = self.ctx.anchor
        dy, x = node.operands
        self.x_shape = tuple(int(d) for d in x.type.shape)
        self.y_shape = tuple(int(d) for d in dy.type.shape)
        self.ctx.touch(dy.name, x.name, node.name)
        self.geometry()

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        dy, x, dx = (self.ctx.ptr(v) for v in (node.operands[0].name, node.operands[1].name,
                                                 node.name))
        ty = self.ctx.elem_type(node.name)
        best = kb.var(ty, name="best")
        where = kb.var(kb.i64(0).type, name="argmax")
        if self.tiled():
            self._tiled_grad(kb, task, dy, x, dx, ty)
            return
        with self.plane_loop(kb, task) as plane:
            base = kb.mul(plane, self.h * self.w)
            gbase = kb.mul(plane, self.ho * self.wo)
            with kb.loop(0, self.h * self.w, name="z") as z:
                kb.store(ir.Constant(ty, 0.0), dx, kb.add(base, z))
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                kb.b.store(ir.Constant(ty, float("-inf")), best)
                kb.b.store(kb.i64(-1), where)

                def visit(k, iy, ix, inside, padded):  # type: ignore[no-untyped-def]
                    with kb.if_(inside):
                        at = kb.add(kb.mul(iy, self.w), ix)
                        v = kb.load(x, kb.add(base, at))
                        cur = kb.b.load(best)
                        first = kb.b.icmp_signed("<", kb.b.load(where), kb.i64(0))
                        better = kb.b.or_(kb.b.or_(kb.b.fcmp_ordered(">", v, cur),
                                                   kb.b.fcmp_unordered("uno", v, v)), first)
                        kb.b.store(kb.b.select(better, v, cur), best)
                        kb.b.store(kb.b.select(better, at, kb.b.load(where)), where)

                self.window(kb, oy, ox, visit)
                arg = kb.b.load(where)
                with kb.if_(kb.b.icmp_signed(">=", arg, kb.i64(0))):
                    g = kb.load(dy, kb.add(gbase, kb.add(kb.mul(oy, self.wo), ox)))
                    slot = kb.add(base, arg)
                    kb.store(kb.b.fadd(kb.load(dx, slot), g), dx, slot)
            self.plane_epilogue(kb, plane)


    def _tiled_grad(self, kb: KernelBuilder, task: ir.Value, dy: ir.Value, x: ir.Value,
                    dx: ir.Value, ty: ir.Type) -> None:
        """Each input element gets its window's dy if it is the window's first maximum, else 0:
        written once, no zeroing pass, no read-modify-write."""
        zero = ir.Constant(ty, 0.0)
        with self.plane_loop(kb, task) as plane:
            base = kb.mul(plane, self.h * self.w)
            gbase = kb.mul(plane, self.ho * self.wo)
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                window = self.tiled_window(kb, x, base, oy, ox)
                best, arg = window[0][1], kb.i64(0)
                for i, (_, v) in enumerate(window[1:], start=1):
                    better = kb.b.or_(kb.b.fcmp_ordered(">", v, best),
                                      kb.b.fcmp_unordered("uno", v, v))
                    best = kb.b.select(better, v, best)
                    arg = kb.b.select(better, kb.i64(i), arg)
                g = kb.load(dy, kb.add(gbase, kb.add(kb.mul(oy, self.wo), ox)))
                for i, (at, _) in enumerate(window):
                    hit = kb.b.icmp_signed("==", arg, kb.i64(i))
                    kb.store(kb.b.select(hit, g, zero), dx, at)
            self.plane_epilogue(kb, plane)


class AvgPoolGrad(AvgPool):
    def prepare(self) -> None:
        node = self.ctx.anchor
        (dy,) = node.operands
        self.x_shape = tuple(int(d) for d in node.type.shape)
        self.y_shape = tuple(int(d) for d in dy.type.shape)
        self.ctx.touch(dy.name, node.name)
        self.geometry()

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        dy, dx = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        ty = self.ctx.elem_type(node.name)
        with self.plane_loop(kb, task) as plane:
            base = kb.mul(plane, self.h * self.w)
            gbase = kb.mul(plane, self.ho * self.wo)
            with kb.loop(0, self.h * self.w, name="z") as z:
                kb.store(ir.Constant(ty, 0.0), dx, kb.add(base, z))
            with kb.loop(0, self.ho, name="oy") as oy, kb.loop(0, self.wo, name="ox") as ox:
                g = kb.load(dy, kb.add(gbase, kb.add(kb.mul(oy, self.wo), ox)))
                share = kb.b.fdiv(g, self.divisor(kb, oy, ox, ty))

                def visit(k, iy, ix, inside, padded):  # type: ignore[no-untyped-def]
                    with kb.if_(inside):
                        slot = kb.add(base, kb.add(kb.mul(iy, self.w), ix))
                        kb.store(kb.b.fadd(kb.load(dx, slot), share), dx, slot)

                self.window(kb, oy, ox, visit)
            self.plane_epilogue(kb, plane)


EMITTERS = {"maxpool2d": MaxPool, "avgpool2d": AvgPool, "maxpool2d_grad": MaxPoolGrad,
            "avgpool2d_grad": AvgPoolGrad}
