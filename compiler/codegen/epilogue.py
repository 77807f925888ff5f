"""The sweep: one loop nest over a region of a kernel's output domain that evaluates a chain of
elementwise ops per element and stores what must be stored.

Where it sits: the epilogue of every kernel (after its anchor op has written its raw result, the
sweep applies activations, residual adds, gradients of activations, optimizer updates) and the
whole body of elementwise kernels.

The loops run over the domain's *physical* axes (for NHWC the channel is innermost; a blocked
layout splits the channel into an outer and an inner axis), so every same-layout operand is read
contiguously; operands that broadcast (a bias [C,1,1], a per-channel batchnorm parameter, a
scalar) get stride 0 along the axes they do not vary on. Adjacent axes merge when every operand
allows it, so the innermost loop is long and unit-stride and LLVM vectorizes it. All loads of an
element happen before any store, so in-place updates (w <- w - lr * g) are safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeAlias

import llvmlite.ir as ir

from compiler.codegen.context import KernelContext
from compiler.codegen.expr import CHANNEL_OPERANDS, EXPR, SHAPE_ONLY, ExprEnv
from compiler.codegen.kernel_builder import KernelBuilder
from ir.errors import CompileError
from ir.graph import Node
from ir.layouts import block_of, offset_terms

Bound: TypeAlias = ir.Value | int


def broadcast_strides(shape: tuple[int, ...], domain: tuple[int, ...]) -> list[int]:
    """Element strides of a row-major `shape` read at a `domain` index (0 = broadcast)."""
    strides = [0] * len(domain)
    step = 1
    for i in range(1, len(shape) + 1):
        d = shape[-i]
        if d != 1 or domain[-i] == 1:  # a size-1 axis of the domain: any stride will do, and
            strides[-i] = step         # the contiguous one lets it merge with its neighbours
        step *= d
    return strides


@dataclass(frozen=True)
class Axis:
    """One physical axis of the domain (several, once merged)."""

    logical: tuple[int, ...]  # the logical axes it spans
    size: int
    domain_stride: int
    strides: tuple[tuple[str, int], ...]  # (operand, element stride)
    part: str = "whole"  # "outer" / "inner" for the two halves of a blocked channel axis

    def stride(self, name: str) -> int:
        return dict(self.strides)[name]


def operand_shape(ctx: KernelContext, nodes: list[Node], name: str,
                  rank: int) -> tuple[int, ...]:
    """The shape `name` is read with: its own, or [1, C, 1, 1] for a per-channel operand."""
    shape = tuple(int(d) for d in ctx.value(name).type.shape) or (1,)
    for node in nodes:
        channel = CHANNEL_OPERANDS.get(node.op, frozenset())
        for i, v in enumerate(node.operands):
            if v.name == name and i in channel and rank > 2:
                return (1, shape[0]) + (1,) * (rank - 2)
    return shape


def physical_axes(ctx: KernelContext, nodes: list[Node], loads: Sequence[str]) -> list[Axis]:
    """The domain's physical axes, outer first, with every operand's stride along each."""
    dtype = nodes[-1].type
    shape = tuple(int(d) for d in dtype.shape) or (1,)
    layout = dtype.layout if len(shape) == 4 and not dtype.layout.startswith(("flat", "cols")) \
        else ""
    if layout:
        terms = offset_terms(layout, shape)
    else:
        rowmajor = broadcast_strides(shape, shape)
        terms = [(d, shape[d], rowmajor[d]) for d in range(len(shape))]
    block = block_of(layout)
    seen: set[int] = set()
    axes = []
    for logical, size, stride in terms:
        part = "whole"
        if block and logical == 1:
            part = "inner" if 1 in seen else "outer"
        seen.add(logical)
        axes.append(Axis((logical,), size, stride, (), part))
    per = {v: _operand_strides(ctx, nodes, v, shape, dtype.layout, axes, block) for v in loads}
    return [replace(a, strides=tuple((v, per[v][i]) for v in loads)) for i, a in enumerate(axes)]


def _operand_strides(ctx: KernelContext, nodes: list[Node], name: str, shape: tuple[int, ...],
                     layout: str, axes: list[Axis], block: int) -> list[int]:
    vtype = ctx.value(name).type
    own = tuple(int(d) for d in vtype.shape) or (1,)
    if own == shape and vtype.layout == layout:
        return [a.domain_stride for a in axes]
    if vtype.layout and not (len(own) < len(shape) or own != shape):
        raise CompileError(f"%{name} ({vtype}) cannot be read in the layout of "
                           f"%{nodes[-1].name} ({nodes[-1].type})")
    logical = broadcast_strides(operand_shape(ctx, nodes, name, len(shape)), shape)
    if layout.startswith(("flat", "cols")) and len(shape) == 2 and logical[1]:
        raise CompileError(f"%{name} varies along features that %{nodes[-1].name} holds in "
                           "permuted order")
    return [logical[a.logical[0]] * (block if a.part == "outer" else 1) for a in axes]


def _mergeable(outer: Axis, inner: Axis) -> bool:
    if outer.part != "whole" or inner.part != "whole":
        return False
    if outer.domain_stride != inner.domain_stride * inner.size:
        return False
    return all(o == inner.stride(v) * inner.size for v, o in outer.strides)


def _merge(outer: Axis, inner: Axis) -> Axis:
    return Axis(outer.logical + inner.logical, outer.size * inner.size, inner.domain_stride,
                inner.strides)


def merge_all(axes: list[Axis]) -> list[Axis]:
    """The axes with neighbours merged where every operand's strides allow, and axes of size 1
    dropped (index 0 adds nothing): a batch of 1 in front of a blocked channel axis, which
    does not merge, would otherwise be the outermost axis and leave one task at batch 1."""
    out: list[Axis] = []
    for axis in [a for a in axes if a.size != 1] or axes[:1]:
        if out and _mergeable(out[-1], axis):
            out[-1] = _merge(out[-1], axis)
        else:
            out.append(axis)
    return out


def external_operands(ctx: KernelContext, nodes: list[Node], raw: str | None = None) -> list[str]:
    """Values the sweep loads: operands not computed inside the kernel (constants excluded);
    the raw anchor's own operands are its loops' business, not the sweep's."""
    computed = {n.name for n in nodes}
    out: list[str] = []
    for node in nodes:
        if node.name == raw:
            continue
        skip = SHAPE_ONLY.get(node.op, frozenset())
        for i, v in enumerate(node.operands):
            if i in skip or v.name in computed or ctx.is_const(v.name) or v.name in out:
                continue
            out.append(v.name)
    return out


class Sweep:
    """Evaluates `nodes` over a region. `raw` names a node whose value is loaded, not computed
    (the anchor of a contraction, window or row op, already written by its own loops)."""

    def __init__(self, ctx: KernelContext, nodes: list[Node], raw: str | None = None) -> None:
        self.ctx = ctx
        self.nodes = nodes
        self.raw = raw
        self.stores = [n.name for n in nodes if n.name in ctx.group.stores and n.name != raw]
        self.loads = external_operands(ctx, nodes, raw)
        ctx.touch(*self.loads, *self.stores)
        if raw is not None:
            ctx.touch(raw)
        self.axes = physical_axes(ctx, nodes, [*self.loads, *self.stores,
                                               *([raw] if raw else [])])

    @property
    def needed(self) -> bool:
        return bool(self.stores)

    def numel(self) -> int:
        total = 1
        for d in self.nodes[-1].type.shape:
            total *= int(d)
        return total

    # ------------------------------------------------------------ regions

    def outer_size(self) -> int:
        return merge_all(self.axes)[0].size

    def emit_chunk(self, kb: KernelBuilder, lo: ir.Value, hi: ir.Value) -> None:
        """Positions [lo, hi) of the outermost axis of the fully merged domain."""
        axes = merge_all(self.axes)
        ranges: list[tuple[Bound, Bound]] = [(0, a.size) for a in axes]
        ranges[0] = (lo, hi)
        self._nest(kb, axes, ranges)

    def emit_fixed(self, kb: KernelBuilder, prefix: list[ir.Value]) -> None:
        """The sub-domain whose leading logical axes are fixed to `prefix`."""
        self.emit_box(kb, [[d] for d in range(len(prefix))],
                      [(i, kb.add(i, 1)) for i in prefix])

    def box_supported(self, groups: list[list[int]]) -> bool:
        try:
            self._box_axes(None, groups, [(0, 1)] * len(groups))
        except _NoBox:
            return False
        return True

    def emit_box(self, kb: KernelBuilder, groups: list[list[int]],
                 ranges: list[tuple[Bound, Bound]]) -> None:
        """The box whose logical axis groups (e.g. [[0], [1], [2, 3]]) take `ranges`; a group
        of several axes is their merged (row-major) range; unlisted axes are whole. A range on
        a blocked channel axis must be whole blocks."""
        axes, box = self._box_axes(kb, groups, ranges)
        self._nest(kb, axes, box)

    def _box_axes(self, kb: KernelBuilder | None, groups: list[list[int]],
                  ranges: list[tuple[Bound, Bound]]
                  ) -> tuple[list[Axis], list[tuple[Bound, Bound]]]:
        axes = list(self.axes)
        box: list[tuple[Bound, Bound] | None] = [None] * len(axes)
        for group, (lo, hi) in zip(groups, ranges, strict=True):
            at = [i for i, a in enumerate(axes) if set(a.logical) <= set(group)]
            block = next((a.size for a in axes if a.part == "inner"), 0)
            if len(group) == 1 and len(at) == 2 and block:  # a blocked channel: whole blocks
                outer = next(i for i in at if axes[i].part == "outer")
                box[outer] = (_div(kb, lo, block), _div(kb, hi, block))
                continue
            if not at or at != list(range(at[0], at[0] + len(at))):
                raise _NoBox
            merged = axes[at[0]]
            for i in at[1:]:
                if not _mergeable(merged, axes[i]):
                    raise _NoBox
                merged = _merge(merged, axes[i])
            axes[at[0]:at[-1] + 1] = [merged]
            box[at[0]:at[-1] + 1] = [(lo, hi)]
        full = [r if r is not None else (0, a.size) for a, r in zip(axes, box, strict=True)]
        return _merge_full(axes, full, box)

    # ------------------------------------------------------------ loops and elements

    def _nest(self, kb: KernelBuilder, axes: list[Axis],
              ranges: list[tuple[Bound, Bound]]) -> None:
        def loop(depth: int, lin: list[tuple[ir.Value, int]],
                 offs: dict[str, list[tuple[ir.Value, int]]]) -> None:
            if depth == len(axes):
                self._element(kb, lin, offs)
                return
            axis = axes[depth]
            lo, hi = ranges[depth]
            with kb.loop(lo, hi, name=f"e{depth}") as i:
                loop(depth + 1, [*lin, (i, axis.domain_stride)],
                     {v: [*o, (i, axis.stride(v))] for v, o in offs.items()})

        names = [v for v, _ in self.axes[0].strides] if self.axes else []
        loop(0, [], {v: [] for v in names})

    def _element(self, kb: KernelBuilder, lin_terms: list[tuple[ir.Value, int]],
                 offsets: dict[str, list[tuple[ir.Value, int]]]) -> None:
        ctx = self.ctx
        linear = kb.affine(lin_terms)
        loaded: dict[str, ir.Value] = {}
        values: dict[str, ir.Value] = {}

        def operand(name: str) -> ir.Value:
            if name in values:
                return values[name]
            if ctx.is_const(name):
                return ctx.load(kb, name, 0)
            if name not in loaded:
                loaded[name] = kb.load(ctx.ptr(name), kb.affine(offsets[name]), name=name)
            return loaded[name]

        for node in self.nodes:
            if node.name == self.raw:
                values[node.name] = kb.load(ctx.ptr(node.name), linear, name=node.name)
                continue
            skip = SHAPE_ONLY.get(node.op, frozenset())
            args = [operand(v.name) for i, v in enumerate(node.operands) if i not in skip]
            values[node.name] = EXPR[node.op](kb, args, node.attrs, ExprEnv(node, linear))
        for name in self.stores:
            kb.store(values[name], ctx.ptr(name), linear)


class _NoBox(Exception):
    pass


def _div(kb: KernelBuilder | None, value: Bound, by: int) -> Bound:
    if isinstance(value, int):
        return value // by
    assert kb is not None
    return kb.b.sdiv(value, kb.i64(by))


def _merge_full(axes: list[Axis], full: list[tuple[Bound, Bound]],
                box: list[tuple[Bound, Bound] | None]
                ) -> tuple[list[Axis], list[tuple[Bound, Bound]]]:
    """Merges neighbours that both run whole (fewer, longer loops)."""
    out_axes: list[Axis] = []
    out_ranges: list[tuple[Bound, Bound]] = []
    whole_flags: list[bool] = []
    for axis, rng, given in zip(axes, full, box, strict=True):
        whole = given is None
        if out_axes and whole and whole_flags[-1] and _mergeable(out_axes[-1], axis):
            out_axes[-1] = _merge(out_axes[-1], axis)
            out_ranges[-1] = (0, out_axes[-1].size)
            continue
        out_axes.append(axis)
        out_ranges.append(rng)
        whole_flags.append(whole)
    return out_axes, out_ranges


def box_supported(sweep: Sweep, groups: list[list[int]]) -> bool:
    return sweep.box_supported(groups)


def emit_box(sweep: Sweep, kb: KernelBuilder, groups: list[list[int]],
             ranges: list[tuple[Bound, Bound]]) -> None:
    sweep.emit_box(kb, groups, ranges)
