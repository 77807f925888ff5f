"""Kernels of the embedding lookup and its gradient (ir/ops_sequence.py).

- embedding copies one table row per id, parallel over the ids: out[i, :] = table[ids[i], :];
- embedding_grad zeroes the table gradient, then adds each dy row into row ids[i]; one task,
  since two equal ids add into the same row.
An id outside the table never reaches memory: the runtime refuses such inputs before native
code runs (runtime/network.py), and the kernels still test each id, writing a zero row for the
lookup and skipping it in the scatter, so a bug upstream costs a wrong value, never a stray
read or write.
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir

from compiler.codegen.emitters.base import Emitter, numel
from compiler.codegen.kernel_builder import KernelBuilder


class _Rows(Emitter):
    """Shared: the table's row count and width, the number of ids."""

    rows: int
    dim: int
    count: int

    def ids(self) -> str:
        return self.ctx.anchor.operands[1].name

    def for_each_id(self, kb: KernelBuilder, lo: ir.Value, hi: ir.Value,
                    inside: Callable[[ir.Value, ir.Value], None],
                    outside: Callable[[ir.Value], None] | None) -> None:
        """Calls inside(i, row) for each id i in [lo, hi) that names a row, outside(i) else."""
        with kb.loop(lo, hi, name="i") as i:
            row = self.ctx.load(kb, self.ids(), i)
            valid = kb.in_range(row, 0, self.rows)
            if outside is None:
                with kb.if_(valid):
                    inside(i, row)
                return
            with kb.b.if_else(valid) as (then, otherwise):
                with then:
                    inside(i, row)
                with otherwise:
                    outside(i)


class Embedding(_Rows):
    def prepare(self) -> None:
        node = self.ctx.anchor
        table, ids = node.operands
        self.rows, self.dim = (int(d) for d in table.type.shape)
        self.count = numel(ids.type.shape)
        self.ctx.touch(table.name, ids.name, node.name)
        self.ctx.ntasks = self.tasks_for(self.count, self.count * self.dim)

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        table, out = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        zero = ir.Constant(self.ctx.elem_type(node.name), 0.0)

        def copy(i: ir.Value, row: ir.Value) -> None:
            src, dst = kb.mul(row, self.dim), kb.mul(i, self.dim)
            with kb.loop(0, self.dim, name="d") as d:
                kb.store(kb.load(table, kb.add(src, d)), out, kb.add(dst, d))

        def clear(i: ir.Value) -> None:
            dst = kb.mul(i, self.dim)
            with kb.loop(0, self.dim, name="z") as d:
                kb.store(zero, out, kb.add(dst, d))

        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.count)
        self.for_each_id(kb, lo, hi, copy, clear)
        self.epilogue_for(kb, [])


class EmbeddingGrad(_Rows):
    def prepare(self) -> None:
        node = self.ctx.anchor
        dy, ids = node.operands
        self.rows, self.dim = node.attrs["rows"], int(dy.type.shape[-1])
        self.count = numel(ids.type.shape)
        self.ctx.touch(dy.name, ids.name, node.name)
        self.ctx.ntasks = 1

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        dy, out = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        zero = ir.Constant(self.ctx.elem_type(node.name), 0.0)
        with kb.loop(0, self.rows * self.dim, name="z") as j:
            kb.store(zero, out, j)

        def scatter(i: ir.Value, row: ir.Value) -> None:
            src, dst = kb.mul(i, self.dim), kb.mul(row, self.dim)
            with kb.loop(0, self.dim, name="d") as d:
                at = kb.add(dst, d)
                kb.store(kb.b.fadd(kb.load(out, at), kb.load(dy, kb.add(src, d))), out, at)

        self.for_each_id(kb, kb.i64(0), kb.i64(self.count), scatter, None)
        self.epilogue_for(kb, [])


EMITTERS = {"embedding": Embedding, "embedding_grad": EmbeddingGrad}
