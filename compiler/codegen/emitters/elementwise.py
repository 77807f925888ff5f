"""Elementwise kernels: a chain of pointwise ops (activations, arithmetic, optimizer updates,
batchnorm in inference form, dropout masks) evaluated in one loop over the merged domain."""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.context import KernelContext
from compiler.codegen.emitters.base import Emitter
from compiler.codegen.epilogue import Sweep
from compiler.codegen.kernel_builder import KernelBuilder


class ElementwiseEmitter(Emitter):
    def __init__(self, ctx: KernelContext) -> None:
        self.sweep = Sweep(ctx, ctx.nodes)
        super().__init__(ctx)

    def prepare(self) -> None:
        outer = self.sweep.outer_size()
        self.ctx.ntasks = self.tasks_for(outer, self.sweep.numel())

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.sweep.outer_size())
        self.sweep.emit_chunk(kb, lo, hi)
