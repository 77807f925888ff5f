"""Emitters: one per kind of anchor op, each writing a kernel's loop nest.

Where it sits: compiler/codegen/module.py asks `make_emitter(ctx)` for the kernel's emitter; the
emitter declares in its constructor what it touches (ctx.touch), its parallel task count and
its workspace, and writes the body in `emit(kb, task, thread)`. Anchors that are not pointwise
write their raw result first; the kernel's epilogue (a Sweep) then runs over the same region.
"""

from __future__ import annotations

from collections.abc import Callable

from compiler.codegen.context import KernelContext
from compiler.codegen.emitters.base import Emitter
from ir.errors import CompileError
from ir.extensions import load_modules
from ir.graph import Node
from ir.ops import POINTWISE


def emitter_table() -> dict[str, type[Emitter]]:
    """op -> emitter class, collected from every module of this package (its EMITTERS)."""
    table: dict[str, type[Emitter]] = {}
    for module in load_modules(__name__):
        table.update(getattr(module, "EMITTERS", {}))
    return table


def variant_table() -> dict[str, list[tuple[Callable[[Node], bool], type[Emitter]]]]:
    """op -> (predicate, emitter class) pairs tried before the op's default emitter, collected
    from every module's VARIANTS: the choice among kernels for one op by its attributes (a
    depthwise convolution) belongs to codegen, not to the op table."""
    table: dict[str, list[tuple[Callable[[Node], bool], type[Emitter]]]] = {}
    for module in load_modules(__name__):
        for op, variants in getattr(module, "VARIANTS", {}).items():
            table.setdefault(op, []).extend(variants)
    return table


def make_emitter(ctx: KernelContext) -> Emitter:
    from compiler.codegen.emitters.elementwise import ElementwiseEmitter

    op = ctx.anchor.op
    if op in POINTWISE:
        return ElementwiseEmitter(ctx)
    for accepts, variant in variant_table().get(op, []):
        if accepts(ctx.anchor):
            return variant(ctx)
    cls = emitter_table().get(op)
    if cls is None:
        raise CompileError(f"codegen has no kernel for op '{op}' (%{ctx.anchor.name})")
    return cls(ctx)


__all__ = ["Emitter", "make_emitter"]
