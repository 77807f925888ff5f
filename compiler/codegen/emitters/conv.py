"""Convolutions and their gradients as implicit GEMMs (no im2col buffer): each kernel module
carries the pack functions that gather the virtual im2col matrix straight from the tensor,
zero outside the input (padding) or, for the input gradient of a strided convolution, where no
window lands."""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.emitters.contraction import EMITTERS, Contraction, Implicit, Strided
from compiler.codegen.kb import KernelBuilder


class _Conv(Contraction):
    def geometry(self, x_shape, w_shape, attrs) -> None:  # type: ignore[no-untyped-def]
        self.nb, self.cin, self.h, self.w = (int(d) for d in x_shape)
        self.cout, self.cg, self.kh, self.kw = (int(d) for d in w_shape)
        self.groups = attrs["groups"]
        self.og = self.cout // self.groups
        self.sh, self.sw = attrs["stride"]
        self.pt, self.pl, _, _ = attrs["pad"]
        self.dh, self.dw = attrs["dilation"]
        self.khw = self.kh * self.kw

    def split(self, kb: KernelBuilder, value: ir.Value, size: int) -> tuple[ir.Value, ir.Value]:
        return kb.b.sdiv(value, kb.i64(size)), kb.b.srem(value, kb.i64(size))

    def gather_x(self, kb: KernelBuilder, x: ir.Value, image: ir.Value, channel: ir.Value,
                 oy: ir.Value, ox: ir.Value, ky: ir.Value, kx: ir.Value) -> ir.Value:
        """x[image, channel, oy*s + ky*d - pt, ox*s + kx*d - pl], 0 in the padding."""
        iy = kb.add(kb.add(kb.mul(oy, self.sh), kb.mul(ky, self.dh)), -self.pt)
        ix = kb.add(kb.add(kb.mul(ox, self.sw), kb.mul(kx, self.dw)), -self.pl)
        inside = kb.b.and_(kb.in_range(iy, 0, self.h), kb.in_range(ix, 0, self.w))
        slot = kb.var(self.ty, name="x")
        kb.b.store(ir.Constant(self.ty, 0.0), slot)
        with kb.if_(inside):
            plane = kb.add(kb.mul(image, self.cin), channel)
            at = kb.add(kb.mul(kb.add(kb.mul(plane, self.h), iy), self.w), ix)
            kb.b.store(kb.load(x, at), slot)
        return kb.b.load(slot)


class Conv2d(_Conv):
    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        self.geometry(x.type.shape, w.type.shape, node.attrs)
        self.ho, self.wo = (int(d) for d in node.type.shape[2:])
        self.m, self.n, self.k = self.og, self.ho * self.wo, self.cg * self.khw
        self.images = self.nb
        self.has_bias = len(node.operands) == 3

    def operand(self, which: str) -> Strided | Implicit:
        node = self.ctx.anchor
        if which == "a":  # W[g*Og + i, :] as a [Og, Cg*kh*kw] matrix
            return Strided(node.operands[1].name, self.k, 1,
                           offset=lambda kb, image, g: kb.i64(g * self.og * self.k))

        def element(kb: KernelBuilder, c: list[ir.Value], kk: ir.Value, j: ir.Value) -> ir.Value:
            x, image, g = c
            ch, r = self.split(kb, kk, self.khw)
            ky, kx = self.split(kb, r, self.kw)
            oy, ox = self.split(kb, j, self.wo)
            return self.gather_x(kb, x, image, kb.add(ch, kb.mul(g, self.cg)), oy, ox, ky, kx)

        return Implicit(node.operands[0].name, element, k_inner=False)

    def c_pointer(self, kb: KernelBuilder, image: ir.Value, group: int) -> tuple[ir.Value, int]:
        y = self.ctx.ptr(self.ctx.anchor.name)
        plane = kb.add(kb.mul(image, self.cout), group * self.og)
        return kb.gep(y, kb.mul(plane, self.n)), self.n

    def bias_value(self, kb: KernelBuilder, i: ir.Value, j: ir.Value, group: int) -> ir.Value:
        return kb.load(self.ctx.ptr(self.ctx.anchor.operands[2].name), kb.add(i, group * self.og))

    def region_groups(self) -> list[list[int]]:
        return [[0], [1], [2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list:  # type: ignore[type-arg]
        return [(image, kb.add(image, 1)), (0, self.cout), (lo, hi)]


class Conv2dGradInput(_Conv):
    def setup(self) -> None:
        node = self.ctx.anchor
        dy, w = node.operands
        self.geometry(node.type.shape, w.type.shape, node.attrs)
        self.ho, self.wo = (int(d) for d in dy.type.shape[2:])
        self.m, self.n, self.k = self.cg, self.h * self.w, self.og * self.khw
        self.images = self.nb

    def operand(self, which: str) -> Implicit:
        node = self.ctx.anchor
        if which == "a":
            def weight(kb: KernelBuilder, c: list[ir.Value], ch: ir.Value,
                       kk: ir.Value) -> ir.Value:
                w, _, g = c
                o, r = self.split(kb, kk, self.khw)
                filt = kb.add(o, kb.mul(g, self.og))
                return kb.load(w, kb.add(kb.mul(kb.add(kb.mul(filt, self.cg), ch), self.khw), r))

            return Implicit(node.operands[1].name, weight, k_inner=True)

        def grad(kb: KernelBuilder, c: list[ir.Value], kk: ir.Value, j: ir.Value) -> ir.Value:
            dy, image, g = c
            o, r = self.split(kb, kk, self.khw)
            ky, kx = self.split(kb, r, self.kw)
            iy, ix = self.split(kb, j, self.w)
            ty = kb.sub(kb.add(iy, self.pt), kb.mul(ky, self.dh))
            tx = kb.sub(kb.add(ix, self.pl), kb.mul(kx, self.dw))
            oy, ry = self.split(kb, ty, self.sh)
            ox, rx = self.split(kb, tx, self.sw)
            ok = kb.b.and_(kb.b.and_(kb.in_range(ty, 0, self.ho * self.sh),
                                     kb.in_range(tx, 0, self.wo * self.sw)),
                           kb.b.and_(kb.b.icmp_signed("==", ry, kb.i64(0)),
                                     kb.b.icmp_signed("==", rx, kb.i64(0))))
            slot = kb.var(self.ty, name="dy")
            kb.b.store(ir.Constant(self.ty, 0.0), slot)
            with kb.if_(ok):
                plane = kb.add(kb.mul(image, self.cout), kb.add(o, kb.mul(g, self.og)))
                at = kb.add(kb.mul(kb.add(kb.mul(plane, self.ho), oy), self.wo), ox)
                kb.b.store(kb.load(dy, at), slot)
            return kb.b.load(slot)

        return Implicit(node.operands[0].name, grad, k_inner=False)

    def c_pointer(self, kb: KernelBuilder, image: ir.Value, group: int) -> tuple[ir.Value, int]:
        dx = self.ctx.ptr(self.ctx.anchor.name)
        plane = kb.add(kb.mul(image, self.cin), group * self.cg)
        return kb.gep(dx, kb.mul(plane, self.n)), self.n

    def region_groups(self) -> list[list[int]]:
        return [[0], [1], [2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list:  # type: ignore[type-arg]
        return [(image, kb.add(image, 1)), (0, self.cin), (lo, hi)]


class Conv2dGradWeight(_Conv):
    def setup(self) -> None:
        node = self.ctx.anchor
        dy, x = node.operands
        self.geometry(x.type.shape, node.type.shape, node.attrs)
        self.ho, self.wo = (int(d) for d in dy.type.shape[2:])
        self.p = self.ho * self.wo
        self.m, self.n, self.k = self.og, self.cg * self.khw, self.nb * self.p
        self.images = 1

    def operand(self, which: str) -> Implicit:
        node = self.ctx.anchor
        if which == "a":
            def grad(kb: KernelBuilder, c: list[ir.Value], o: ir.Value, kk: ir.Value) -> ir.Value:
                dy, _, g = c
                image, p = self.split(kb, kk, self.p)
                plane = kb.add(kb.mul(image, self.cout), kb.add(o, kb.mul(g, self.og)))
                return kb.load(dy, kb.add(kb.mul(plane, self.p), p))

            return Implicit(node.operands[0].name, grad, k_inner=True)

        def patch(kb: KernelBuilder, c: list[ir.Value], kk: ir.Value, j: ir.Value) -> ir.Value:
            x, _, g = c
            image, p = self.split(kb, kk, self.p)
            oy, ox = self.split(kb, p, self.wo)
            ch, r = self.split(kb, j, self.khw)
            ky, kx = self.split(kb, r, self.kw)
            return self.gather_x(kb, x, image, kb.add(ch, kb.mul(g, self.cg)), oy, ox, ky, kx)

        return Implicit(node.operands[1].name, patch, k_inner=True)

    def c_pointer(self, kb: KernelBuilder, image: ir.Value, group: int) -> tuple[ir.Value, int]:
        dw = self.ctx.ptr(self.ctx.anchor.name)
        return kb.gep(dw, group * self.og * self.n), self.n

    def region_groups(self) -> list[list[int]]:
        return [[0], [1, 2, 3]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list:  # type: ignore[type-arg]
        return [(0, self.cout), (lo, hi)]


EMITTERS.update({"conv2d": Conv2d, "conv2d_grad_input": Conv2dGradInput,
                 "conv2d_grad_weight": Conv2dGradWeight})
