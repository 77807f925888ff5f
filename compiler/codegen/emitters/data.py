"""Data movement kernels: concat (the forward) and slice (its gradient)."""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.emitters.base import Emitter, numel
from compiler.codegen.kernel_builder import KernelBuilder


class Concat(Emitter):
    """out[o, offset_k + j] = x_k[o, j] over the [outer, axis*inner] view of each operand."""

    def prepare(self) -> None:
        node = self.ctx.anchor
        shape = tuple(int(d) for d in node.type.shape)
        axis = node.attrs["axis"] % len(shape)
        self.outer = numel(shape[:axis])
        self.inner = numel(shape[axis + 1:])
        self.row = shape[axis] * self.inner
        self.parts = [(v.name, int(v.type.shape[axis]) * self.inner) for v in node.operands]
        self.ctx.touch(*(v.name for v in node.operands), node.name)
        self.ctx.ntasks = 1

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        out = self.ctx.ptr(self.ctx.anchor.name)
        with kb.loop(0, self.outer, name="o") as o:
            offset = 0
            for name, width in self.parts:
                src = self.ctx.ptr(name)
                with kb.loop(0, width, name="j") as j:
                    v = kb.load(src, kb.add(kb.mul(o, width), j))
                    kb.store(v, out, kb.add(kb.mul(o, self.row), kb.add(j, offset)))
                offset += width
        self.epilogue_for(kb, [])


class Slice(Emitter):
    def prepare(self) -> None:
        node = self.ctx.anchor
        x = node.operands[0]
        shape = tuple(int(d) for d in x.type.shape)
        axis = node.attrs["axis"] % len(shape)
        self.outer = numel(shape[:axis])
        self.inner = numel(shape[axis + 1:])
        self.src_row = shape[axis] * self.inner
        self.width = (node.attrs["stop"] - node.attrs["start"]) * self.inner
        self.start = node.attrs["start"] * self.inner
        self.ctx.touch(x.name, node.name)
        self.ctx.ntasks = 1

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        src, out = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        with kb.loop(0, self.outer, name="o") as o, kb.loop(0, self.width, name="j") as j:
            v = kb.load(src, kb.add(kb.mul(o, self.src_row), kb.add(j, self.start)))
            kb.store(v, out, kb.add(kb.mul(o, self.width), j))
        self.epilogue_for(kb, [])


EMITTERS = {"concat": Concat, "slice": Slice}
