"""Kernels of the tensor ops (ir/ops_tensor.py): transpose, constant pad, mean and max.

Each is a loop nest over the output in row-major order, parallel over the outermost output axis
when the kernel has no epilogue (an epilogue sweeps the whole output after the anchor):
- transpose writes the output contiguously and reads the input with permuted strides;
- pad walks output rows: rows outside the input are filled, the others are filled left and
  right and copied in the middle (unit stride), a negative count crops;
- reduce_mean / reduce_max keep one scalar accumulator per output element and run the reduced
  axes inside it (NaN wins the maximum, as in numpy).
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir

from compiler.codegen.emitters.base import Emitter, numel
from compiler.codegen.kernel_builder import KernelBuilder

REASSOC = ("reassoc", "nsz")
Terms = list[tuple[ir.Value, int]]


def row_major_strides(shape: tuple[int, ...]) -> list[int]:
    strides, step = [0] * len(shape), 1
    for i in range(len(shape) - 1, -1, -1):
        strides[i] = step
        step *= shape[i]
    return strides


class _OutputNest(Emitter):
    """Shared: the output shape, the task split over its first axis, the operand's name."""

    out_shape: tuple[int, ...]

    def split(self, work: int) -> None:
        node = self.ctx.anchor
        self.out_shape = tuple(int(d) for d in node.type.shape)
        self.ctx.touch(node.operands[0].name, node.name)
        outer = self.out_shape[0] if self.out_shape else 1
        self.ctx.ntasks = self.tasks_for(outer, work)

    def outer_range(self, kb: KernelBuilder, task: ir.Value) -> tuple[ir.Value, ir.Value]:
        return self.chunk(kb, task, self.ctx.ntasks, self.out_shape[0])

    def source(self) -> str:
        return self.ctx.anchor.operands[0].name


class Transpose(_OutputNest):
    """out[i0, ..., ik] = x[j] with j_perm[d] = i_d: contiguous stores, permuted loads."""

    def prepare(self) -> None:
        self.split(numel(self.ctx.anchor.type.shape))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        perm = self.ctx.anchor.attrs["perm"]
        x_shape = tuple(int(d) for d in self.ctx.anchor.operands[0].type.shape)
        x_strides = row_major_strides(x_shape)
        src_strides = [x_strides[p] for p in perm]
        out_strides = row_major_strides(self.out_shape)
        out = self.ctx.ptr(self.ctx.anchor.name)
        if not self.out_shape:
            kb.store(self.ctx.load(kb, self.source(), 0), out, 0)
            self.epilogue_for(kb, [])
            return

        def nest(depth: int, src: Terms, dst: Terms) -> None:
            if depth == len(self.out_shape):
                value = self.ctx.load(kb, self.source(), kb.affine(src))
                kb.store(value, out, kb.affine(dst))
                return
            lo, hi = self.outer_range(kb, task) if depth == 0 else (0, self.out_shape[depth])
            with kb.loop(lo, hi, name=f"t{depth}") as i:
                nest(depth + 1, [*src, (i, src_strides[depth])],
                     [*dst, (i, out_strides[depth])])

        nest(0, [], [])
        self.epilogue_for(kb, [])


class Pad(_OutputNest):
    """out = value outside x (shifted by `before`), x inside; negative counts crop."""

    def prepare(self) -> None:
        self.split(numel(self.ctx.anchor.type.shape))
        if len(self.out_shape) < 2:
            self.ctx.ntasks = 1  # one row: nothing to split

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        before = list(node.attrs["before"])
        self.x_shape = tuple(int(d) for d in node.operands[0].type.shape)
        ty = self.ctx.elem_type(node.name)
        self.fill = ir.Constant(ty, node.attrs["value"])
        self.x_strides = row_major_strides(self.x_shape)
        self.out_strides = row_major_strides(self.out_shape)
        self.before = before
        out = self.ctx.ptr(node.name)
        if not self.out_shape:
            kb.store(self.ctx.load(kb, self.source(), 0), out, 0)
        elif numel(self.x_shape) == 0:
            lo, hi = self.outer_range(kb, task)
            width = numel(self.out_shape[1:])
            with kb.loop(kb.mul(lo, width), kb.mul(hi, width), name="z") as z:
                kb.store(self.fill, out, z)
        else:
            self._rows(kb, task, out, 0, [], [], None)
        self.epilogue_for(kb, [])

    def _rows(self, kb: KernelBuilder, task: ir.Value, out: ir.Value, depth: int, src: Terms,
              dst: Terms, inside: ir.Value | None) -> None:
        """Loops over the leading axes; `inside` says whether the row so far lies within x."""
        last = len(self.out_shape) - 1
        if depth == last:
            self._row(kb, out, src, dst, inside)
            return
        lo, hi = self.outer_range(kb, task) if depth == 0 else (0, self.out_shape[depth])
        with kb.loop(lo, hi, name=f"p{depth}") as i:
            j = kb.sub(i, self.before[depth])
            here = kb.in_range(j, 0, self.x_shape[depth])
            both = here if inside is None else kb.b.and_(inside, here)
            self._rows(kb, task, out, depth + 1, [*src, (j, self.x_strides[depth])],
                       [*dst, (i, self.out_strides[depth])], both)

    def _row(self, kb: KernelBuilder, out: ir.Value, src: Terms, dst: Terms,
             inside: ir.Value | None) -> None:
        width, shift = self.out_shape[-1], self.before[-1]
        start = max(shift, 0)
        stop = max(min(self.x_shape[-1] + shift, width), start)
        base = kb.affine(dst)

        def fill(lo: int, hi: int) -> None:
            with kb.loop(lo, hi, name="f") as j:
                kb.store(self.fill, out, kb.add(base, j))

        def copy() -> None:
            fill(0, start)
            src_base = kb.affine(src)
            with kb.loop(start, stop, name="c") as j:
                value = self.ctx.load(kb, self.source(), kb.add(src_base, kb.sub(j, shift)))
                kb.store(value, out, kb.add(base, j))
            fill(stop, width)

        if inside is None:
            copy()
            return
        with kb.b.if_else(inside) as (then, otherwise):
            with then:
                copy()
            with otherwise:
                fill(0, width)


class Reduce(Emitter):
    """reduce_mean and reduce_max: one scalar accumulator per output element."""

    def prepare(self) -> None:
        node = self.ctx.anchor
        x = node.operands[0]
        self.shape = tuple(int(d) for d in x.type.shape)
        rank = len(self.shape)
        self.axes = sorted({a % rank for a in node.attrs["axes"]}) if rank else []
        self.kept = [d for d in range(rank) if d not in self.axes]
        self.ctx.touch(x.name, node.name)
        outer = self.shape[self.kept[0]] if self.kept else 1
        self.ctx.ntasks = self.tasks_for(outer, numel(self.shape))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        node = self.ctx.anchor
        ty = self.ctx.elem_type(node.name)
        acc = kb.var(ty, name="acc")
        strides = row_major_strides(self.shape)
        out_strides = row_major_strides(tuple(self.shape[d] for d in self.kept))
        is_max = node.op == "reduce_max"
        count = numel(tuple(self.shape[d] for d in self.axes))
        scale = (1.0 / count if count else float("nan")) if not is_max else 1.0
        out = self.ctx.ptr(node.name)

        def element(x_terms: Terms, o_terms: Terms) -> None:
            kb.b.store(ir.Constant(ty, float("-inf") if is_max else 0.0), acc)
            self._reduced(kb, 0, x_terms, strides, lambda at: self._combine(kb, acc, at, is_max))
            value = kb.b.load(acc)
            if scale != 1.0:
                value = kb.b.fmul(value, ir.Constant(ty, scale))
            kb.store(value, out, kb.affine(o_terms))

        self._kept(kb, task, 0, [], [], strides, out_strides, element)
        self.epilogue_for(kb, [])

    def _combine(self, kb: KernelBuilder, acc: ir.Value, at: ir.Value, is_max: bool) -> None:
        v = self.ctx.load(kb, self.ctx.anchor.operands[0].name, at)
        cur = kb.b.load(acc)
        if is_max:
            better = kb.b.or_(kb.b.fcmp_ordered(">", v, cur), kb.b.fcmp_unordered("uno", v, v))
            kb.b.store(kb.b.select(better, v, cur), acc)
        else:
            kb.b.store(kb.b.fadd(cur, v, flags=REASSOC), acc)

    def _kept(self, kb: KernelBuilder, task: ir.Value, depth: int, x_terms: Terms,
              o_terms: Terms, strides: list[int], out_strides: list[int],
              body: Callable[[Terms, Terms], None]) -> None:
        if depth == len(self.kept):
            body(x_terms, o_terms)
            return
        d = self.kept[depth]
        lo, hi = (self.chunk(kb, task, self.ctx.ntasks, self.shape[d]) if depth == 0
                  else (0, self.shape[d]))
        with kb.loop(lo, hi, name=f"k{d}") as i:
            self._kept(kb, task, depth + 1, [*x_terms, (i, strides[d])],
                       [*o_terms, (i, out_strides[depth])], strides, out_strides, body)

    def _reduced(self, kb: KernelBuilder, depth: int, x_terms: Terms, strides: list[int],
                 visit: Callable[[ir.Value], None]) -> None:
        if depth == len(self.axes):
            visit(kb.affine(x_terms))
            return
        d = self.axes[depth]
        with kb.loop(0, self.shape[d], name=f"r{d}") as i:
            self._reduced(kb, depth + 1, [*x_terms, (i, strides[d])], strides, visit)


EMITTERS = {"transpose": Transpose, "pad": Pad, "reduce_mean": Reduce, "reduce_max": Reduce}
