"""The emitter base class: task splitting and the epilogue sweep every emitter shares."""

from __future__ import annotations

from collections.abc import Sequence

import llvmlite.ir as ir

from compiler.codegen.context import KernelContext
from compiler.codegen.epilogue import Sweep
from compiler.codegen.kernel_builder import KernelBuilder
from ir.ops import OPS, POINTWISE
from ir.types import Dim

SERIAL_WORK = 1 << 15
"""Kernels doing less work than this (in flops or elements) run on the calling thread: handing
them to the pool would cost more than it saves."""


def numel(shape: Sequence[Dim]) -> int:
    total = 1
    for d in shape:
        total *= int(d)
    return total


class Emitter:
    per_task_epilogue = False
    """True when emit() runs the epilogue over exactly the region each task wrote."""

    def __init__(self, ctx: KernelContext) -> None:
        self.ctx = ctx
        anchor = ctx.anchor
        ctx.flops = sum(OPS[n.op].flop_count([v.type for v in n.operands], n.type, n.attrs)
                        for n in ctx.nodes)
        self.epilogue = (Sweep(ctx, ctx.nodes, raw=anchor.name)
                         if len(ctx.nodes) > 1 and anchor.op not in POINTWISE else None)
        self.prepare()
        if self.epilogue is not None and not self.per_task_epilogue:
            ctx.ntasks = 1  # the epilogue sweeps the whole output after the anchor finished

    def prepare(self) -> None:
        """Touch operands and outputs, set ctx.ntasks / ctx.workspace."""

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ helpers

    def tasks_for(self, items: int, work: int) -> int:
        """Parallel tasks for `items` independent pieces doing `work` in total."""
        threads = self.ctx.gen.target.threads
        if threads <= 1 or work < SERIAL_WORK or items <= 1:
            return 1
        return min(items, threads * 4)

    @staticmethod
    def chunk(kb: KernelBuilder, task: ir.Value, ntasks: int,
              items: int) -> tuple[ir.Value, ir.Value]:
        """[lo, hi) of `items` for `task` out of `ntasks` (balanced)."""
        if ntasks <= 1:
            return kb.i64(0), kb.i64(items)
        lo = kb.b.sdiv(kb.mul(task, items), kb.i64(ntasks), name="lo")
        hi = kb.b.sdiv(kb.mul(kb.add(task, 1), items), kb.i64(ntasks), name="hi")
        return lo, hi

    def epilogue_for(self, kb: KernelBuilder, prefix: list[ir.Value]) -> None:
        """Runs the epilogue over the sub-domain fixed by `prefix` (leading indices)."""
        if self.epilogue is not None and self.epilogue.needed:
            self.epilogue.emit_fixed(kb, prefix)
