"""A kernel's fused epilogue evaluated on one vector of channels in registers, before the store.

Where it sits: kernels that compute an output vector of channels at a time (the direct
convolutions of compiler/codegen/emitters/conv_direct.py, the depthwise channel schedule of
emitters/depthwise.py) hand each finished vector here instead of storing it and letting the
epilogue sweep (compiler/codegen/epilogue.py) read it back: the bias, batchnorm, activation,
residual add or gate is applied while the value is in a register, only the values the kernel
group must store are written, and the raw anchor is not stored at all unless a later kernel
reads it. The sweep's own analysis (its physical axes and each operand's strides) says where
every operand element lies; float32 exp (in exp, sigmoid, tanh) is compiler/codegen/vmath.py's.
"""

from __future__ import annotations

from typing import TypeAlias

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.context import KernelContext
from compiler.codegen.epilogue import Axis, Sweep
from compiler.codegen.expr import EXPR, SHAPE_ONLY, ExprEnv
from compiler.codegen.kernel_builder import KernelBuilder

Int: TypeAlias = ir.Value | int
Element: TypeAlias = tuple[Int, Int, Int, Int]
"""(n, c, h, w): the first element of a vector of channels c .. c + lanes - 1."""

VECTOR_OPS = frozenset({
    "add", "sub", "mul", "div", "neg", "abs", "maximum", "minimum", "pow", "relu", "leaky_relu",
    "sigmoid", "tanh", "exp", "log", "sqrt", "clip", "dropout", "broadcast_to", "batchnorm"})
"""Epilogue ops whose formulas (compiler/codegen/expr.py) are the same on a vector of channels
(no element index, no scalar-only call)."""


def lane_axis(axes: list[Axis]) -> Axis | None:
    """The physical axis along which the channels of one vector lie (unit stride)."""
    for a in axes:
        if a.logical == (1,) and a.part in ("whole", "inner"):
            return a if a.domain_stride == 1 else None
    return None


class VectorEpilogue:
    def __init__(self, ctx: KernelContext, sweep: Sweep, out: Addr, lane: Axis) -> None:
        self.ctx, self.sweep, self.out, self.lane = ctx, sweep, out, lane
        members = ctx.members
        anchor = ctx.anchor
        self.store_raw = (any(u.name not in members for u in ctx.graph.users(anchor.result))
                          or anchor.name in {v.name for v in ctx.graph.result_values()})

    @staticmethod
    def of(ctx: KernelContext, sweep: Sweep | None, out: Addr) -> VectorEpilogue | None:
        """The vector epilogue of a kernel whose anchor writes `out`, or None when its sweep
        must run instead: an op that is not a vector formula, a domain other than the
        anchor's, or an operand that is neither contiguous nor constant along the vector."""
        if sweep is None or not sweep.needed:
            return None
        anchor, last = ctx.anchor.type, ctx.nodes[-1].type
        if (last.shape, last.layout) != (anchor.shape, anchor.layout):
            return None
        if any(n.op not in VECTOR_OPS for n in ctx.nodes[1:]):
            return None
        lane = lane_axis(sweep.axes)
        if lane is None or any(lane.stride(v) not in (0, 1) for v in sweep.loads) \
                or any(lane.stride(v) != 1 for v in sweep.stores):
            return None
        return VectorEpilogue(ctx, sweep, out, lane)

    def emit(self, kb: KernelBuilder, at: Element, raw: ir.Value) -> None:
        """The epilogue on the vector `raw` of the anchor at element `at`."""
        ctx, sweep = self.ctx, self.sweep
        vty = raw.type
        values: dict[str, ir.Value] = {ctx.anchor.name: raw}

        def offset(name: str) -> ir.Value:
            return kb.affine([(self.index(kb, a, at), a.stride(name)) for a in sweep.axes])

        def operand(name: str) -> ir.Value:
            if name in values:
                return values[name]
            if ctx.is_const(name):
                value = ctx.load(kb, name, 0)
            elif self.lane.stride(name) == 1:
                value = kb.vload(ctx.ptr(name), offset(name), vty)
            else:
                value = kb.load(ctx.ptr(name), offset(name))
            values[name] = value if isinstance(value.type, ir.VectorType) else kb.splat(value,
                                                                                       vty)
            return values[name]

        for node in ctx.nodes[1:]:
            skip = SHAPE_ONLY.get(node.op, frozenset())
            args = [operand(v.name) for i, v in enumerate(node.operands) if i not in skip]
            values[node.name] = EXPR[node.op](kb, args, node.attrs, ExprEnv(node))
        for name in sweep.stores:
            kb.vstore(values[name], ctx.ptr(name), offset(name))
        if self.store_raw:
            kb.vstore(raw, ctx.ptr(ctx.anchor.name), offset(ctx.anchor.name))

    def index(self, kb: KernelBuilder, axis: Axis, at: Element) -> Int:
        """The index of element `at` along one physical axis of the epilogue's domain."""
        (logical,) = axis.logical
        index = at[logical]
        block = self.out.block
        if logical != 1 or axis.part == "whole":
            return index
        outer = axis.part == "outer"
        if isinstance(index, int):
            return index // block if outer else index % block
        return kb.b.sdiv(index, kb.i64(block)) if outer else kb.b.srem(index, kb.i64(block))
