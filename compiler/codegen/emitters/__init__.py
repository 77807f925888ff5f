"""Emitters: one per kind of anchor op, each writing a kernel's loop nest.

Where it sits: compiler/codegen/module.py asks `make_emitter(ctx)` for the kernel's emitter; the
emitter declares in its constructor what it touches (ctx.touch), its parallel task count and
its workspace, and writes the body in `emit(kb, task, thread)`. Anchors that are not pointwise
write their raw result first; the kernel's epilogue (a Sweep) then runs over the same region.
"""

from __future__ import annotations

from compiler.codegen.context import KernelContext
from compiler.codegen.emitters.base import Emitter
from ir.errors import CompileError
from ir.ops import CONTRACTION, POINTWISE


def make_emitter(ctx: KernelContext) -> Emitter:
    from compiler.codegen.emitters import contraction, data, elementwise, reduce, rows, window

    op = ctx.anchor.op
    if op in POINTWISE:
        return elementwise.ElementwiseEmitter(ctx)
    if op in CONTRACTION:
        return contraction.make(ctx)
    table = {**window.EMITTERS, **reduce.EMITTERS, **rows.EMITTERS, **data.EMITTERS}
    cls = table.get(op)
    if cls is None:
        raise CompileError(f"codegen has no kernel for op '{op}' (%{ctx.anchor.name})")
    return cls(ctx)  # type: ignore[no-any-return]


__all__ = ["Emitter", "make_emitter"]
