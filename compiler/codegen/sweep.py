"""The sweep: one loop nest over a region of a kernel's output domain that evaluates a chain of
elementwise ops per element and stores what must be stored.

Where it sits: the epilogue of every kernel (after its anchor op has written its raw result, the
sweep applies bias-free activations, residual adds, gradients of activations, optimizer updates)
and the whole body of elementwise kernels. Operands broadcast into the domain with numpy's rules
(stride 0 along broadcast axes); adjacent axes are merged when every operand allows it, so the
innermost loop is long and unit-stride and LLVM vectorizes it. All loads of an element happen
before any store, so in-place updates (w <- w - lr * g) are safe.
"""

from __future__ import annotations

from dataclasses import dataclass

import llvmlite.ir as ir

from compiler.codegen.context import KernelContext
from compiler.codegen.expr import CHANNEL_OPERANDS, EXPR, SHAPE_ONLY, ExprEnv
from compiler.codegen.kb import KernelBuilder
from ir.graph import Node


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


@dataclass
class Axis:
    size: int
    strides: dict[str, int]  # operand name -> element stride along this (merged) axis
    domain_stride: int


def operand_shape(ctx: KernelContext, nodes: list[Node], name: str,
                  domain: tuple[int, ...]) -> tuple[int, ...]:
    """The shape `name` is read with: its own, or [1, C, 1, 1] for a per-channel operand."""
    shape = tuple(int(d) for d in ctx.value(name).type.shape) or (1,)
    for node in nodes:
        channel = CHANNEL_OPERANDS.get(node.op, frozenset())
        for i, v in enumerate(node.operands):
            if v.name == name and i in channel and len(domain) > 2:
                return (1, shape[0]) + (1,) * (len(domain) - 2)
    return shape


def operand_strides(ctx: KernelContext, nodes: list[Node], loads: list[str],
                    domain: tuple[int, ...]) -> dict[str, list[int]]:
    return {v: broadcast_strides(operand_shape(ctx, nodes, v, domain), domain) for v in loads}


def merged_axes(ctx: KernelContext, nodes: list[Node], loads: list[str],
                first: int = 0) -> list[Axis]:
    """Axes first.. of the domain, adjacent ones merged where every operand is contiguous or
    broadcast across the pair."""
    domain = tuple(int(d) for d in nodes[-1].type.shape) or (1,)
    per_operand = operand_strides(ctx, nodes, loads, domain)
    dstrides = broadcast_strides(domain, domain)
    axes: list[Axis] = []
    for d in range(first, len(domain)):
        axis = Axis(domain[d], {v: s[d] for v, s in per_operand.items()}, dstrides[d])
        if axes and _mergeable(axes[-1], axis):
            prev = axes[-1]
            axes[-1] = Axis(prev.size * axis.size, axis.strides, axis.domain_stride)
        else:
            axes.append(axis)
    return axes


def _mergeable(outer: Axis, inner: Axis) -> bool:
    if outer.domain_stride != inner.domain_stride * inner.size:
        return False
    return all(outer.strides[v] == inner.strides[v] * inner.size for v in outer.strides)


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

    @property
    def needed(self) -> bool:
        return bool(self.stores)

    def numel(self) -> int:
        total = 1
        for d in self.nodes[-1].type.shape:
            total *= int(d)
        return total

    def emit_fixed(self, kb: KernelBuilder, prefix: list[ir.Value]) -> None:
        """Sweeps the sub-domain whose leading axes are fixed to `prefix`; the rest fully."""
        domain = tuple(int(d) for d in self.nodes[-1].type.shape) or (1,)
        base_terms = []
        offsets: dict[str, list[tuple[ir.Value, int]]] = {v: [] for v in self.loads}
        dstrides = broadcast_strides(domain, domain)
        strides = operand_strides(self.ctx, self.nodes, self.loads, domain)
        for d, idx in enumerate(prefix):
            base_terms.append((idx, dstrides[d]))
            for v in offsets:
                offsets[v].append((idx, strides[v][d]))
        axes = merged_axes(self.ctx, self.nodes, self.loads, first=len(prefix))
        self._loops(kb, axes, 0, base_terms, offsets)

    def emit_chunk(self, kb: KernelBuilder, lo: ir.Value, hi: ir.Value) -> None:
        """Sweeps outer-axis positions [lo, hi) of the fully merged domain."""
        axes = merged_axes(self.ctx, self.nodes, self.loads)
        self._loops(kb, axes, 0, [], {v: [] for v in self.loads}, bounds=(lo, hi))

    def outer_size(self) -> int:
        return merged_axes(self.ctx, self.nodes, self.loads)[0].size

    def _loops(self, kb: KernelBuilder, axes: list[Axis], depth: int,
               lin_terms: list[tuple[ir.Value, int]],
               offsets: dict[str, list[tuple[ir.Value, int]]],
               bounds: tuple[ir.Value, ir.Value] | None = None) -> None:
        if depth == len(axes):
            self._element(kb, lin_terms, offsets)
            return
        axis = axes[depth]
        lo, hi = bounds if bounds is not None and depth == 0 else (0, axis.size)
        with kb.loop(lo, hi, name=f"e{depth}") as i:
            terms = [*lin_terms, (i, axis.domain_stride)]
            offs = {v: [*o, (i, axis.strides[v])] for v, o in offsets.items()}
            self._loops(kb, axes, depth + 1, terms, offs)

    def _element(self, kb: KernelBuilder, lin_terms: list[tuple[ir.Value, int]],
                 offsets: dict[str, list[tuple[ir.Value, int]]]) -> None:
        ctx = self.ctx
        linear = kb.affine(lin_terms)
        loaded: dict[str, ir.Value] = {}

        def operand(name: str) -> ir.Value:
            if name in values:
                return values[name]
            if ctx.is_const(name):
                return ctx.load(kb, name, 0)
            if name not in loaded:
                loaded[name] = kb.load(ctx.ptr(name), kb.affine(offsets[name]), name=name)
            return loaded[name]

        values: dict[str, ir.Value] = {}
        for node in self.nodes:
            if node.name == self.raw:
                values[node.name] = kb.load(ctx.ptr(node.name), linear, name=node.name)
                continue
            skip = SHAPE_ONLY.get(node.op, frozenset())
            args = [operand(v.name) for i, v in enumerate(node.operands) if i not in skip]
            values[node.name] = EXPR[node.op](kb, args, node.attrs, ExprEnv(node, linear))
        for name in self.stores:
            kb.store(values[name], ctx.ptr(name), linear)


def _group_axes(ctx: KernelContext, nodes: list[Node], loads: list[str],
                groups: list[list[int]]) -> list[Axis] | None:
    """The domain seen as merged axis groups (e.g. [[0], [1], [2, 3]]), or None when some
    operand cannot be read with one stride across a group."""
    domain = tuple(int(d) for d in nodes[-1].type.shape) or (1,)
    per = operand_strides(ctx, nodes, loads, domain)
    dstrides = broadcast_strides(domain, domain)
    axes = []
    for group in groups:
        merged = None
        for d in group:
            axis = Axis(domain[d], {v: s[d] for v, s in per.items()}, dstrides[d])
            if merged is None:
                merged = axis
            elif _mergeable(merged, axis):
                merged = Axis(merged.size * axis.size, axis.strides, axis.domain_stride)
            else:
                return None
        assert merged is not None
        axes.append(merged)
    return axes


def box_supported(sweep: Sweep, groups: list[list[int]]) -> bool:
    return _group_axes(sweep.ctx, sweep.nodes, sweep.loads, groups) is not None


def emit_box(sweep: Sweep, kb: KernelBuilder, groups: list[list[int]],
             ranges: list[tuple[ir.Value | int, ir.Value | int]]) -> None:
    """Sweeps the box `ranges` of the domain seen as merged axis `groups`."""
    axes = _group_axes(sweep.ctx, sweep.nodes, sweep.loads, groups)
    assert axes is not None, "box_supported() must be checked first"
    operands = sweep.loads

    def nest(depth: int, lin: list, offs: dict) -> None:  # type: ignore[type-arg]
        if depth == len(axes):
            sweep._element(kb, lin, offs)
            return
        axis = axes[depth]
        lo, hi = ranges[depth]
        with kb.loop(lo, hi, name=f"e{depth}") as i:
            nest(depth + 1, [*lin, (i, axis.domain_stride)],
                 {v: [*o, (i, axis.strides[v])] for v, o in offs.items()})

    nest(0, [], {v: [] for v in operands})
