"""Row operations along one axis: softmax, log_softmax and their gradients; the losses
(softmax cross-entropy with integer labels, MSE) and the cross-entropy gradient.

A tensor is seen as [outer, axis, inner]; each (outer, inner) pair is one row read with stride
`inner`. Softmax subtracts the row maximum before exponentiating; the cross-entropy uses
log-sum-exp the same way, so large logits never overflow.
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir

from compiler.codegen import vmath
from compiler.codegen.emitters.base import Emitter, numel
from compiler.codegen.kernel_builder import KernelBuilder

REASSOC = ("reassoc", "nsz")


def _split(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    axis %= len(shape)
    return numel(shape[:axis]), shape[axis], numel(shape[axis + 1:])


class _RowOp(Emitter):
    """Helpers for row reductions: max, sum of exp, sums of products."""

    def row_max(self, kb: KernelBuilder, ptr: ir.Value, base: ir.Value, length: int,
                stride: int, ty: ir.Type) -> ir.Value:
        acc = kb.var(ty, ir.Constant(ty, float("-inf")), name="rowmax")
        with kb.loop(0, length, name="j") as j:
            v = kb.load(ptr, kb.add(base, kb.mul(j, stride)))
            cur = kb.b.load(acc)
            kb.b.store(kb.b.select(kb.b.fcmp_ordered(">", v, cur), v, cur), acc)
        return kb.b.load(acc)

    def row_sum(self, kb: KernelBuilder, length: int, ty: ir.Type,
                term: Callable[[ir.Value], ir.Value]) -> ir.Value:
        acc = kb.var(ty, ir.Constant(ty, 0.0), name="rowsum")
        with kb.loop(0, length, name="j") as j:
            kb.b.store(kb.b.fadd(kb.b.load(acc), term(j), flags=REASSOC), acc)
        return kb.b.load(acc)


class Softmax(_RowOp):
    """softmax, log_softmax, softmax_grad, log_softmax_grad."""

    per_task_epilogue = False

    def prepare(self) -> None:
        node = self.ctx.anchor
        shape = tuple(int(d) for d in node.type.shape)
        self.outer, self.length, self.inner = _split(shape, node.attrs["axis"])
        self.ctx.touch(*(v.name for v in node.operands), node.name)
        self.ctx.ntasks = self.tasks_for(self.outer, 5 * numel(shape))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.outer)
        with kb.loop(lo, hi, name="o") as o, kb.loop(0, self.inner, name="q") as q:
            base = kb.add(kb.mul(o, self.length * self.inner), q)
            self._row(kb, base)
        self.epilogue_for(kb, [])

    def _row(self, kb: KernelBuilder, base: ir.Value) -> None:
        node = self.ctx.anchor
        ty = self.ctx.elem_type(node.name)
        out = self.ctx.ptr(node.name)
        args = [self.ctx.ptr(v.name) for v in node.operands]
        stride = self.inner

        def at(j: ir.Value) -> ir.Value:
            return kb.add(base, kb.mul(j, stride))

        if len(args) == 1:  # softmax, log_softmax; their gradients read (dy, y)
            (x,) = args
            m = self.row_max(kb, x, base, self.length, stride, ty)
            total = self.row_sum(kb, self.length, ty, lambda j: vmath.exp(
                kb, kb.b.fsub(kb.load(x, at(j)), m)))
            log_total = kb.intrinsic("log", ty, [total])
            with kb.loop(0, self.length, name="j") as j:
                shifted = kb.b.fsub(kb.load(x, at(j)), m)
                if node.op == "softmax":
                    value = kb.b.fdiv(vmath.exp(kb, shifted), total)
                else:
                    value = kb.b.fsub(shifted, log_total)
                kb.store(value, out, at(j))
            return
        dy, y = args
        if node.op == "softmax_grad":
            dot = self.row_sum(kb, self.length, ty, lambda j: kb.b.fmul(kb.load(dy, at(j)),
                                                                         kb.load(y, at(j))))
            with kb.loop(0, self.length, name="j") as j:
                value = kb.b.fmul(kb.load(y, at(j)), kb.b.fsub(kb.load(dy, at(j)), dot))
                kb.store(value, out, at(j))
            return
        total = self.row_sum(kb, self.length, ty, lambda j: kb.load(dy, at(j)))
        with kb.loop(0, self.length, name="j") as j:
            p = vmath.exp(kb, kb.load(y, at(j)))
            kb.store(kb.b.fsub(kb.load(dy, at(j)), kb.b.fmul(p, total)), out, at(j))


class CrossEntropy(_RowOp):
    """softmax_cross_entropy (a scalar) and its gradient [N, C]."""

    def prepare(self) -> None:
        node = self.ctx.anchor
        logits = node.operands[0]
        self.n, self.c = (int(d) for d in logits.type.shape)
        self.ctx.touch(*(v.name for v in node.operands), node.name)
        self.ctx.ntasks = 1

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        ty = self.ctx.elem_type(node.name)
        x = self.ctx.ptr(node.operands[0].name)
        labels = self.ctx.ptr(node.operands[1].name)
        out = self.ctx.ptr(node.name)
        total = kb.var(ty, ir.Constant(ty, 0.0), name="total")
        scale = None
        if node.op == "softmax_cross_entropy_grad":
            dloss = self.ctx.load(kb, node.operands[2].name, 0)
            scale = kb.b.fdiv(dloss, ir.Constant(ty, float(self.n)))
        with kb.loop(0, self.n, name="r") as r:
            base = kb.mul(r, self.c)
            m = self.row_max(kb, x, base, self.c, 1, ty)
            sumexp = self.row_sum(kb, self.c, ty, lambda j: vmath.exp(
                kb, kb.b.fsub(kb.load(x, kb.add(base, j)), m)))
            label = kb.load(labels, r)
            if scale is None:
                picked = kb.b.fsub(kb.load(x, kb.add(base, label)), m)
                nll = kb.b.fsub(kb.intrinsic("log", ty, [sumexp]), picked)
                kb.b.store(kb.b.fadd(kb.b.load(total), nll), total)
            else:
                with kb.loop(0, self.c, name="j") as j:
                    p = kb.b.fdiv(vmath.exp(kb, kb.b.fsub(kb.load(x, kb.add(base, j)), m)), sumexp)
                    hit = kb.b.icmp_signed("==", j, label)
                    p = kb.b.select(hit, kb.b.fsub(p, ir.Constant(ty, 1.0)), p)
                    kb.store(kb.b.fmul(p, scale), out, kb.add(base, j))
        if scale is None:
            kb.store(kb.b.fdiv(kb.b.load(total), ir.Constant(ty, float(self.n))), out, 0)
        self.epilogue_for(kb, [])


class MeanSquaredError(_RowOp):
    def prepare(self) -> None:
        node = self.ctx.anchor
        self.count = numel(tuple(int(d) for d in node.operands[0].type.shape))
        self.ctx.touch(*(v.name for v in node.operands), node.name)
        self.ctx.ntasks = 1

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        ty = self.ctx.elem_type(node.name)
        pred, target = (self.ctx.ptr(v.name) for v in node.operands)

        def term(j: ir.Value) -> ir.Value:
            d = kb.b.fsub(kb.load(pred, j), kb.load(target, j))
            return kb.b.fmul(d, d)

        total = self.row_sum(kb, self.count, ty, term)
        kb.store(kb.b.fdiv(total, ir.Constant(ty, float(self.count))), self.ctx.ptr(node.name), 0)
        self.epilogue_for(kb, [])


EMITTERS = {"softmax": Softmax, "log_softmax": Softmax, "softmax_grad": Softmax,
            "log_softmax_grad": Softmax, "softmax_cross_entropy": CrossEntropy,
            "softmax_cross_entropy_grad": CrossEntropy, "mse": MeanSquaredError}
