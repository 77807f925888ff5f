"""What a bundle holds, described once: its tensors, its entries and where their results land.

Where it sits: after compiler/driver/network.py has built a JIT network for the model (the
same lowering, initial values and persistent layout as `compiler.compile`), `describe` plans
and generates every entry for the bundle's target with the JIT driver's own functions and
records what the C wrapper needs: each entry's symbol, arena size, external inputs and result
slots (the call convention of runtime/jit/call.py), and the table of parameters and state in
the persistent region. csource.py, header.py and weights.py write from this description, and
its JSON form (`manifest`) is what runtime/bundle.py reads back.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from compiler.bundle.target import BundleTarget
from compiler.codegen.target import CodegenTarget
from compiler.driver.jit import entry_symbol, generate_entry, plan, result_slots
from ir.errors import CompileError
from ir.graph import Graph, Value
from ir.memory import ALIGN
from ir.ops_sequence import index_bounds
from ir.printer import print_graph
from runtime.jit.call import Slot
from runtime.jit.network import JITNetwork

C_TYPES = {"f32": "float", "f64": "double", "i64": "int64_t"}
ENTRIES = ("forward", "grads", "train")


@dataclass(frozen=True)
class Tensor:
    """A named tensor of the C API: kind "input" | "label" | "output" | "param" | "state";
    offset: bytes into the persistent region (params, state), or floats into the gradient
    buffer of loss_and_grads (`grad_offset`, params only)."""

    name: str
    kind: str
    shape: tuple[int, ...]
    dtype: str
    offset: int = 0
    grad_offset: int = 0

    @property
    def count(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def c_type(self) -> str:
        return C_TYPES[self.dtype]


@dataclass
class Entry:
    """One entry point as the C wrapper calls it (runtime/jit/call.py's convention)."""

    name: str
    symbol: str
    arena_bytes: int
    externals: list[str]
    outputs: list[Slot]
    loss: Slot | None
    modules: list[tuple[str, str]] = field(repr=False)


@dataclass
class BundleSpec:
    """Everything the bundle's files are written from."""

    name: str
    """The C identifier every API name starts with (the model's name, made an identifier)."""
    model: str
    batch: int
    target: str
    threads: int
    inputs: list[Tensor]
    labels: list[Tensor]
    output: Tensor
    params: list[Tensor]
    state: list[Tensor]
    persistent_bytes: int
    entries: dict[str, Entry]
    index_bounds: dict[str, int]
    """Inputs and labels read as indices -> their exclusive upper bound (checked before calls)."""
    graphs: dict[str, str]
    """Each entry's lowered graph as text IR (what runtime/bundle.py checks arrays against)."""

    @property
    def train(self) -> bool:
        return "train" in self.entries

    @property
    def arena_bytes(self) -> int:
        return max(e.arena_bytes for e in self.entries.values())

    @property
    def param_floats(self) -> int:
        return sum(p.count for p in self.params)

    @property
    def model_id(self) -> int:
        """64 bits of a hash of what a weights file must match: the tensors, their types and
        offsets, the region's size. A weights file of another model (or of the same model
        trained with another optimizer, whose state differs) carries another id."""
        text = json.dumps([self.model, self.persistent_bytes,
                           [asdict(t) for t in (*self.params, *self.state)]], sort_keys=True)
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")

    def manifest(self) -> dict[str, Any]:
        """The JSON form runtime/bundle.py reads (no LLVM text)."""
        return {"format": 1, "name": self.name, "model": self.model, "batch": self.batch,
                "target": self.target, "threads": self.threads, "train": self.train,
                "tensors": [asdict(t) for t in (*self.params, *self.state)],
                "graphs": self.graphs,
                "library": f"lib{self.name}.so", "weights": f"{self.name}.weights"}


def c_identifier(text: str) -> str:
    """`text` as a C identifier: other characters become '_', a leading digit gets 'm'."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", text) or "model"
    return f"m{ident}" if ident[0].isdigit() else ident


def describe(net: JITNetwork, target: BundleTarget, threads: int) -> BundleSpec:
    """The bundle of a JIT network (plain layout: parameters as in net.params) for `target`."""
    if net.layouts:
        raise CompileError("bundles store parameters in PyTorch's order: build with the plain "
                           "layout")
    graphs = net.graphs
    primary = graphs.primary
    layout = net.compiler.layout
    codegen = CodegenTarget(target.triple, target.vector_bits, threads, False)
    entries = {}
    for name in ENTRIES:
        graph = graphs.get(name) if graphs.has(name) else None
        if graph is not None:
            entries[name] = _entry(plan(graph, layout, outputs=False), name, codegen)
    params = _persistent(primary.params, "param", layout)
    offset = 0
    for i, p in enumerate(params):
        params[i] = Tensor(p.name, p.kind, p.shape, p.dtype, p.offset, offset)
        offset += p.count
    forward = graphs.forward
    return BundleSpec(
        name=c_identifier(primary.name), model=primary.name, batch=net.batch,
        target=target.name, threads=threads,
        inputs=_tensors(primary.inputs_with_role("input"), "input"),
        labels=_tensors(primary.inputs_with_role("label"), "label"),
        output=_tensors([forward.outputs[0]], "output")[0],
        params=params, state=_persistent(primary.inputs_with_role("state"), "state", layout),
        persistent_bytes=net.compiler.persistent_bytes, entries=entries,
        index_bounds={**index_bounds(primary), **_label_bounds(primary)},
        graphs={name: print_graph(g) for name in ENTRIES
                if graphs.has(name) and (g := graphs.get(name)) is not None})


def _entry(planned: Graph, name: str, codegen: CodegenTarget) -> Entry:
    generated, modules = generate_entry(planned, name, codegen)
    outputs, loss = result_slots(planned)
    memory = planned.plan
    if memory is None:
        raise CompileError(f"@{planned.name} has no memory plan")
    return Entry(name, entry_symbol(name), memory.workspace_offset + generated.workspace_bytes
                 + ALIGN, [v.name for v in planned.inputs if v.role in ("input", "label")],
                 outputs, loss, modules)


def _tensors(values: list[Value], kind: str) -> list[Tensor]:
    out = []
    for v in values:
        if v.type.dtype not in C_TYPES:
            raise CompileError(f"{kind} '{v.name}' is {v.type.dtype}: bundles take "
                               f"{', '.join(C_TYPES)} tensors")
        out.append(Tensor(v.name, kind, tuple(int(d) for d in v.type.shape), v.type.dtype))
    return out


def _persistent(values: list[Value], kind: str, layout: dict[str, int]) -> list[Tensor]:
    return [Tensor(t.name, kind, t.shape, t.dtype, layout[t.name])
            for t in _tensors(values, kind)]


def _label_bounds(graph: Graph) -> dict[str, int]:
    """Integer labels index the logits: each must be a class of the loss's input."""
    loss = graph.loss
    if loss is None or loss.node is None:
        return {}
    classes = int(loss.node.operands[0].type.shape[1])
    return {v.name: classes for v in graph.inputs_with_role("label")
            if v.type.dtype == "i64"}
