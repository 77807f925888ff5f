"""Reductions: sums over axes (bias gradients), global pools, batch statistics and the
per-channel reductions of batchnorm's gradient.

Two loop orders, chosen by layout: when the innermost axis is kept (e.g. the bias gradient of a
dense layer, a sum over the batch), rows are added into the output vector (unit stride, LLVM
vectorizes across the row); otherwise each output element owns a scalar accumulator and the
reduced axes run inside it (unit stride along the innermost reduced axis). Accumulations are
marked reassociable so LLVM may vectorize them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import llvmlite.ir as ir

from compiler.codegen.addr import Addr
from compiler.codegen.emitters.base import Emitter, numel
from compiler.codegen.epilogue import Bound, box_supported, broadcast_strides, emit_box
from compiler.codegen.kernel_builder import KernelBuilder
from ir.ops import OPS
from ir.types import TensorType

REASSOC = ("reassoc", "nsz")
Terms: TypeAlias = list[tuple[ir.Value, int]]
"""(loop index, stride) pairs whose sum is a flat offset (KernelBuilder.affine)."""


class ReduceSum(Emitter):
    """out[kept] = sum over `axes` of x, for reduce_sum, global_avgpool and global_maxpool.
    Tasks split the first kept axis; each task's epilogue (e.g. the bias update riding on a
    bias gradient) covers exactly the outputs it reduced."""

    per_task_epilogue = True

    def prepare(self) -> None:
        node = self.ctx.anchor
        x = node.operands[0]
        self.shape = tuple(int(d) for d in x.type.shape)
        rank = len(self.shape)
        if node.op == "reduce_sum":
            self.axes = sorted({a % rank for a in node.attrs["axes"]})
        else:
            self.axes = [2, 3]
        self.kept = [d for d in range(rank) if d not in self.axes]
        self.combine = "max" if node.op == "global_maxpool" else "sum"
        self.scale = 1.0
        if node.op == "global_avgpool":
            self.scale = 1.0 / (self.shape[2] * self.shape[3])
        self.ctx.touch(x.name, node.name)
        self.rows_order = bool(self.kept) and self.kept[-1] == rank - 1 and self.combine == "sum"
        outer = self.shape[self.kept[0]] if self.kept else 1
        self.ctx.ntasks = self.tasks_for(outer, numel(self.shape)) if not self.rows_order else 1
        self.blocks = self._channel_blocks(x.type)
        if self.blocks:  # a global pool over blocked planes: one vector per channel block
            self.ctx.ntasks = self.tasks_for(self.shape[0] * self.blocks, numel(self.shape))
        if self.epilogue is not None and self.ctx.ntasks > 1:
            rest = list(range(1, len(self.kept)))
            if not box_supported(self.epilogue, [[0]] + ([rest] if rest else [])):
                self.ctx.ntasks = 1

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        x, out = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.name)
        ty = self.ctx.elem_type(node.name)
        strides = broadcast_strides(self.shape, self.shape)
        out_shape = [self.shape[d] for d in self.kept]
        out_strides = broadcast_strides(tuple(out_shape), tuple(out_shape)) if out_shape else []
        if self.rows_order:
            self._rows(kb, x, out, ty, strides, out_strides)
            self.epilogue_for(kb, [])
            return
        if self.blocks:
            self._blocked_planes(kb, task, x, out, ty, Addr.of(node.operands[0].type))
        elif len(self.shape) == 4 and Addr.of(node.operands[0].type).layout:
            self._laid_out(kb, task, x, out, ty, Addr.of(node.operands[0].type))
        else:
            self._scalar(kb, task, x, out, ty, strides, out_strides)
        if self.epilogue is None or not self.epilogue.needed:
            return
        if self.ctx.ntasks == 1 or not self.kept:
            self.epilogue_for(kb, [])
            return
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.shape[self.kept[0]])
        rest = list(range(1, len(self.kept)))
        groups = [[0]] + ([rest] if rest else [])
        ranges = [(lo, hi)] + ([(0, numel([self.shape[d] for d in self.kept[1:]]))] if rest
                               else [])
        if box_supported(self.epilogue, groups):
            emit_box(self.epilogue, kb, groups, ranges)
        else:
            raise AssertionError("reduce epilogue must sweep its own outputs")

    def _channel_blocks(self, t: TensorType) -> int:
        """Channel blocks of a global pool over an NCHW<b>c input without an epilogue (whose
        tasks would split the batch, not the blocks); 0 for every other reduction."""
        if self.axes != [2, 3] or len(self.shape) != 4 or (
                self.epilogue is not None and self.epilogue.needed):
            return 0
        block = Addr.of(t).block
        return self.shape[1] // block if block and self.shape[1] % block == 0 else 0

    def _blocked_planes(self, kb: KernelBuilder, task: ir.Value, x: ir.Value, out: ir.Value,
                        ty: ir.Type, ax: Addr) -> None:
        """out[n, c] over an NCHW<b>c input: a pixel's b channels are one contiguous vector,
        so each (image, block) task adds whole vectors (the scalar plane walk reads every
        b-th element). The [N, C, 1, 1] result has the same bytes in any layout."""
        b = ax.block
        vty = ir.VectorType(ty, b)
        acc = kb.var(vty, name="acc")
        init = float("-inf") if self.combine == "max" else 0.0
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.shape[0] * self.blocks)
        with kb.loop(lo, hi, name="nb") as nb:
            kb.b.store(kb.const(vty, init), acc)
            base = kb.mul(nb, ax.h * ax.w * b)  # image n, block cb: planes are consecutive
            with kb.loop(0, ax.h * ax.w, name="p") as p:
                self._accumulate(kb, acc, kb.vload(x, kb.add(base, kb.mul(p, b)), vty))
            value = kb.b.load(acc)
            if self.scale != 1.0:
                value = kb.b.fmul(value, kb.const(vty, self.scale))
            kb.vstore(value, out, kb.mul(nb, b))

    def _accumulate(self, kb: KernelBuilder, acc: ir.Value, v: ir.Value) -> None:
        """acc = max(acc, v) (NaN wins) or acc + v, scalars or vectors alike."""
        cur = kb.b.load(acc)
        if self.combine == "max":
            better = kb.b.or_(kb.b.fcmp_ordered(">", v, cur), kb.b.fcmp_unordered("uno", v, v))
            kb.b.store(kb.b.select(better, v, cur), acc)
        else:
            kb.b.store(kb.b.fadd(cur, v, flags=REASSOC), acc)

    def _laid_out(self, kb: KernelBuilder, task: ir.Value, x: ir.Value, out: ir.Value,
                  ty: ir.Type, ax: Addr) -> None:
        """A 4-D input in NHWC or blocked layout: sums over (n, h, w) per channel (a bias
        gradient) or over (h, w) per (n, c) plane (a global pool), addressed by layout."""
        acc = kb.var(ty, name="acc")
        init = float("-inf") if self.combine == "max" else 0.0
        per_channel = self.axes == [0, 2, 3]
        outer = self.shape[1] if per_channel else self.shape[0]
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, outer)

        def reduce(n_range: tuple[Bound, Bound], c: ir.Value, n_fixed: ir.Value | None
                   ) -> ir.Value:
            kb.b.store(ir.Constant(ty, init), acc)
            with kb.loop(*n_range, name="n") as n:
                nn = n if n_fixed is None else n_fixed
                with kb.loop(0, self.shape[2], name="h") as h, \
                        kb.loop(0, self.shape[3], name="w") as w:
                    self._accumulate(kb, acc, kb.load(x, ax.at(kb, nn, c, h, w)))
            value = kb.b.load(acc)
            return kb.b.fmul(value, ir.Constant(ty, self.scale)) if self.scale != 1.0 else value

        if per_channel:
            with kb.loop(lo, hi, name="c") as c:
                kb.store(reduce((0, self.shape[0]), c, None), out, c)
            return
        with kb.loop(lo, hi, name="n0") as n0, kb.loop(0, self.shape[1], name="c") as c:
            kb.store(reduce((0, 1), c, n0), out, kb.add(kb.mul(n0, self.shape[1]), c))

    def _rows(self, kb: KernelBuilder, x: ir.Value, out: ir.Value, ty: ir.Type,
              strides: list[int], out_strides: list[int]) -> None:
        total = numel([self.shape[d] for d in self.kept])
        with kb.loop(0, total, name="z") as z:
            kb.store(ir.Constant(ty, 0.0), out, z)
        self._nest(kb, list(range(len(self.shape))), [], [], strides, out_strides,
                   lambda xi, oi: kb.store(
                       kb.b.fadd(kb.load(out, oi), kb.load(x, xi)), out, oi))
        if self.scale != 1.0:
            with kb.loop(0, total, name="s") as s:
                kb.store(kb.b.fmul(kb.load(out, s), ir.Constant(ty, self.scale)), out, s)

    def _nest(self, kb: KernelBuilder, dims: list[int], x_terms: Terms, o_terms: Terms,
              strides: list[int], out_strides: list[int],
              body: Callable[[ir.Value, ir.Value], None]) -> None:
        if not dims:
            body(kb.affine(x_terms), kb.affine(o_terms))
            return
        d = dims[0]
        with kb.loop(0, self.shape[d], name=f"d{d}") as i:
            o = list(o_terms)
            if d in self.kept:
                o.append((i, out_strides[self.kept.index(d)]))
            self._nest(kb, dims[1:], [*x_terms, (i, strides[d])], o, strides, out_strides, body)

    def _scalar(self, kb: KernelBuilder, task: ir.Value, x: ir.Value, out: ir.Value,
                ty: ir.Type, strides: list[int], out_strides: list[int]) -> None:
        acc = kb.var(ty, name="acc")
        init = float("-inf") if self.combine == "max" else 0.0

        def reduced(x_terms: Terms, o_index: ir.Value) -> None:
            kb.b.store(ir.Constant(ty, init), acc)
            self._inner(kb, self.axes, x_terms, strides, x, acc, ty)
            value = kb.b.load(acc)
            if self.scale != 1.0:
                value = kb.b.fmul(value, ir.Constant(ty, self.scale))
            kb.store(value, out, o_index)

        self._kept_nest(kb, task, 0, [], [], strides, out_strides, reduced)

    def _kept_nest(self, kb: KernelBuilder, task: ir.Value, depth: int, x_terms: Terms,
                   o_terms: Terms, strides: list[int], out_strides: list[int],
                   body: Callable[[Terms, ir.Value], None]) -> None:
        if depth == len(self.kept):
            body(x_terms, kb.affine(o_terms))
            return
        d = self.kept[depth]
        lo, hi = (self.chunk(kb, task, self.ctx.ntasks, self.shape[d]) if depth == 0
                  else (0, self.shape[d]))
        with kb.loop(lo, hi, name=f"k{d}") as i:
            self._kept_nest(kb, task, depth + 1, [*x_terms, (i, strides[d])],
                            [*o_terms, (i, out_strides[depth])], strides, out_strides, body)

    def _inner(self, kb: KernelBuilder, dims: list[int], x_terms: Terms, strides: list[int],
               x: ir.Value, acc: ir.Value, ty: ir.Type) -> None:
        if not dims:
            self._accumulate(kb, acc, kb.load(x, kb.affine(x_terms)))
            return
        d = dims[0]
        with kb.loop(0, self.shape[d], name=f"r{d}") as i:
            self._inner(kb, dims[1:], [*x_terms, (i, strides[d])], strides, x, acc, ty)


class ChannelReduce(Emitter):
    """Per-channel reductions over N (and H, W) of an expression of the operands:
    batch_mean, batch_var, batchnorm_grad_scale, batchnorm_grad_var. Tasks split the
    channels; each task's epilogue covers its channels."""

    per_task_epilogue = True

    def prepare(self) -> None:
        node = self.ctx.anchor
        x = node.operands[OPS[node.op].operands.index("x")]
        self.shape = tuple(int(d) for d in x.type.shape)
        self.n, self.c = self.shape[0], self.shape[1]
        self.hw = numel(self.shape[2:])
        self.ctx.touch(*(v.name for v in node.operands), node.name)
        self.ctx.ntasks = self.tasks_for(self.c, numel(self.shape))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        ty = self.ctx.elem_type(node.name)
        acc = kb.var(ty, name="acc")
        lo, hi = self.chunk(kb, task, self.ctx.ntasks, self.c)
        with kb.loop(lo, hi, name="c") as c:
            per = self._per_channel(kb, c, ty)
            kb.b.store(ir.Constant(ty, 0.0), acc)
            with kb.loop(0, self.n, name="n") as n, kb.loop(0, self.hw, name="p") as p:
                term = self._term(kb, self._at(kb, n, c, p), per, ty)
                kb.b.store(kb.b.fadd(kb.b.load(acc), term, flags=REASSOC), acc)
            kb.store(self._finish(kb, kb.b.load(acc), per, ty), self.ctx.ptr(node.name), c)
        if self.epilogue is not None and self.epilogue.needed:
            emit_box(self.epilogue, kb, [[0]], [(lo, hi)])

    def _at(self, kb: KernelBuilder, n: ir.Value, c: ir.Value, p: ir.Value) -> dict[str, ir.Value]:
        """Offsets of element (n, c, pixel p) in each full-size operand's own layout."""
        out = {}
        for v in self.ctx.anchor.operands:
            if v.type.rank < 2 or v.name in out:
                continue
            if v.type.rank == 4:
                a = Addr.of(v.type)
                h, w = kb.b.sdiv(p, kb.i64(a.w)), kb.b.srem(p, kb.i64(a.w))
                out[v.name] = a.at(kb, n, c, h, w)
            else:
                out[v.name] = kb.add(kb.mul(n, self.c), c)
        return out

    def _op(self, kb: KernelBuilder, i: int, at: dict[str, ir.Value] | ir.Value) -> ir.Value:
        name = self.ctx.anchor.operands[i].name
        index = at[name] if isinstance(at, dict) else at
        return kb.load(self.ctx.ptr(name), index)

    def _per_channel(self, kb: KernelBuilder, c: ir.Value, ty: ir.Type) -> dict[str, ir.Value]:
        node = self.ctx.anchor
        eps = node.attrs.get("eps", 0.0)
        one = ir.Constant(ty, 1.0)
        op = OPS[node.op]
        per = {role: self._op(kb, i, c) for i, role in enumerate(op.operands)
               if role in op.per_channel}
        if "var" in per:
            per["inv"] = kb.b.fdiv(one, kb.intrinsic("sqrt", ty, [
                kb.b.fadd(per["var"], ir.Constant(ty, eps))]))
        return per

    def _term(self, kb: KernelBuilder, at: dict[str, ir.Value], per: dict[str, ir.Value],
              ty: ir.Type) -> ir.Value:
        op = self.ctx.anchor.op
        if op == "batch_mean":
            return self._op(kb, 0, at)
        if op == "batch_var":
            d = kb.b.fsub(self._op(kb, 0, at), per["mean"])
            return kb.b.fmul(d, d)
        dy = self._op(kb, 0, at)
        centered = kb.b.fsub(self._op(kb, 1, at), per["mean"])
        if op == "batchnorm_grad_scale":
            return kb.b.fmul(dy, centered)
        return kb.b.fmul(dy, centered)  # batchnorm_grad_var: scale applied at the end

    def _finish(self, kb: KernelBuilder, total: ir.Value, per: dict[str, ir.Value],
                ty: ir.Type) -> ir.Value:
        op = self.ctx.anchor.op
        count = ir.Constant(ty, float(self.n * self.hw))
        if op == "batchnorm_grad_scale":
            return kb.b.fmul(total, per["inv"])
        if op == "batchnorm_grad_var":
            inv = per["inv"]
            cube = kb.b.fmul(kb.b.fmul(inv, inv), inv)
            return kb.b.fmul(kb.b.fmul(kb.b.fmul(total, per["scale"]), cube),
                             ir.Constant(ty, -0.5))
        return kb.b.fdiv(total, count)  # batch_mean, batch_var: the statistic is a mean


EMITTERS = {"reduce_sum": ReduceSum, "global_avgpool": ReduceSum, "global_maxpool": ReduceSum,
            "batch_mean": ChannelReduce, "batch_var": ChannelReduce,
            "batchnorm_grad_scale": ChannelReduce, "batchnorm_grad_var": ChannelReduce}
