"""The JIT driver: plans each entry point, generates its LLVM module and hands the machine code
(from the compile cache when possible) to the runtime.

Where it sits: between compiler/build.py and runtime/jit_network.py. The cache key is the planned
netc IR with its memory plan, the codegen target (vector width, threads) and the codegen
version, so anything that changes the machine code changes the key.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import asdict, dataclass

from compiler.codegen.library import LIBRARY_VERSION, SERVICES, library_module
from compiler.codegen.module import generate
from compiler.codegen.target import CodegenTarget
from compiler.passes import PassContext
from compiler.passes.plan_memory import align, persistent_layout
from compiler.pipeline import lower
from ir.graph import Graph, Value
from ir.printer import print_graph
from runtime.jit.cache import compile_program
from runtime.jit.engine import LLVM_LOCK, Engine
from runtime.jit.pool import NATIVE_LOCK, Pool
from runtime.jit_network import CompiledEntry, Slot
from runtime.network import CompiledGraphs


def _codegen_fingerprint() -> str:
    """A hash of codegen's own source: any change to how code is generated changes every
    cache key, so a cache can never serve machine code from an older code generator."""
    import hashlib
    from pathlib import Path

    import compiler.codegen

    h = hashlib.sha256()
    root = Path(compiler.codegen.__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


CODEGEN_VERSION = f"netc-codegen-{_codegen_fingerprint()}"
ENTRY_SYMBOL = {"forward": "netc_forward", "grads": "netc_loss_and_grads",
                "train": "netc_train_step"}


def host_target() -> CodegenTarget:
    import os

    engine = Engine.get()
    profile = os.environ.get("NETC_PROFILE", "") not in ("", "0")
    return CodegenTarget(engine.host.triple, engine.host.vector_bits, Pool.get().threads,
                         profile)


_SERVICES: dict[CodegenTarget, ctypes.Array] = {}  # type: ignore[type-arg]


def services(target: CodegenTarget) -> ctypes.Array:  # type: ignore[type-arg]
    """The services table every entry receives (args[1]): the thread pool and the library,
    compiled once per process (and cached on disk across processes)."""
    with LLVM_LOCK:  # compiled once even when two threads compile their first network at once
        return _services(target)


def _services(target: CodegenTarget) -> ctypes.Array:  # type: ignore[type-arg]
    if target not in _SERVICES:
        # Keyed by a description, not the text: a warm start never builds the library's IR.
        key = f"{LIBRARY_VERSION} {CODEGEN_VERSION} {target.describe()}"
        loaded, _ = compile_program(key, "netc_library", lambda: (
            [("netc_library", library_module(target))], {}))
        table = (ctypes.c_void_p * len(SERVICES))()
        table[0] = Pool.get().parallel_for
        for i, name in enumerate(SERVICES[1:], start=1):
            table[i] = loaded.address(f"netc_{name}")
        _SERVICES[target] = table
    return _SERVICES[target]


def shared_layout(graphs: list[Graph]) -> tuple[dict[str, int], int]:
    """Offsets of every parameter and state tensor in the network's persistent region."""
    seen: dict[str, Value] = {}
    for g in graphs:
        for v in g.inputs_with_role("param", "state"):
            seen.setdefault(v.name, v)
    values = list(seen.values())
    layout = persistent_layout(values)
    total = max((layout[v.name] + align(v.type.nbytes()) for v in values), default=0)
    return layout, total


def plan(graph: Graph, layout: dict[str, int]) -> Graph:
    """fuse + plan-memory, with the network's persistent layout."""
    ctx = PassContext(options={"persistent": layout})
    return lower(graph, "train", ctx, passes=("fuse", "plan-memory"), verify_each=False)


@dataclass
class Stages:
    """Timings of one entry's compile, for `netc compile`."""

    passes: float
    cache: dict[str, float]
    hit: bool


def compile_entry(planned: Graph, entry: str, target: CodegenTarget) -> CompiledEntry:
    assert planned.plan is not None
    symbol = ENTRY_SYMBOL.get(entry, f"netc_{entry}")
    key_text = "\n".join([CODEGEN_VERSION, target.describe(), symbol, print_graph(planned),
                          planned.plan.table()])
    workspace_offset = align(planned.plan.scratch_bytes)

    def build() -> tuple[list[tuple[str, str]], dict]:  # type: ignore[type-arg]
        generated = generate(planned, target, symbol, workspace_offset)
        modules = [(m.symbol, m.text) for m in generated.modules]
        modules.append((symbol, generated.entry_text))
        return modules, {"workspace": generated.workspace_bytes,
                         "kernels": [asdict(k) for k in generated.kernels]}

    loaded, info = compile_program(key_text, f"{planned.name}-{entry}", build)
    externals = [v.name for v in planned.inputs if v.role in ("input", "label")]
    return CompiledEntry(
        name=entry, address=loaded.address(symbol),
        arena_bytes=workspace_offset + int(info.meta.get("workspace", 0)) + 64,
        externals=externals,
        outputs=[_slot(planned, v) for v in planned.outputs],
        loss=_slot(planned, planned.loss) if planned.loss is not None else None,
        info=info, kernels=list(info.meta.get("kernels", [])),
        profile_offset=workspace_offset if target.profile else None,
    )


def _slot(graph: Graph, value: Value) -> Slot:
    assert graph.plan is not None
    alloc = graph.plan.resolve(value.name)
    shape = tuple(int(d) for d in value.type.shape)
    if alloc.region == "input":  # a result that is (a view of) an input: read the caller's array
        externals = [v.name for v in graph.inputs if v.role in ("input", "label")]
        return Slot("input", externals.index(alloc.value), shape, value.type.dtype)
    region = "persistent" if alloc.region in ("param", "state") else "scratch"
    return Slot(region, alloc.offset, shape, value.type.dtype)


class EntryCompiler:
    """Compiles a network's entries on demand (what JITNetwork calls)."""

    def __init__(self, graphs: CompiledGraphs, layout: dict[str, int]) -> None:
        self.graphs = graphs
        self.layout = layout
        self.target = host_target()
        self.stages: dict[str, Stages] = {}

    def __call__(self, entry: str) -> CompiledEntry:
        start = time.perf_counter()
        graph = self.graphs.get(entry)
        assert graph is not None
        planned = plan(graph, self.layout)
        passes = time.perf_counter() - start
        compiled = compile_entry(planned, entry, self.target)
        self.stages[entry] = Stages(passes, dict(compiled.info.timings), compiled.info.hit)
        return compiled


class GraphProgram:
    """Any concrete graph compiled as one native call (tests, `netc run` on IR files, the ONNX
    backend): params and state get a persistent region of their own, every other input is
    external. Guard mode (NETC_GUARD set when it is built) works as for JITNetwork: canaries
    around every buffer, poison in scratch values, checked after each call."""

    def __init__(self, graph: Graph, symbol: str = "forward") -> None:
        import numpy as np

        from runtime.guard import guard_bytes
        from runtime.jit_network import aligned_bytes

        self.graph = graph
        self.guard = guard_bytes()
        layout, total = shared_layout([graph])
        self.persistent = aligned_bytes(max(total, 64) + self.guard)
        self.layout = layout
        target = host_target()
        self.table = services(target)
        self.planned = plan(graph, layout)
        self.compiled = compile_entry(self.planned, symbol, target)
        self.arena = aligned_bytes(self.compiled.arena_bytes + self.guard)
        self._np = np

    def __call__(self, feeds: dict) -> tuple[list, object]:  # type: ignore[type-arg]
        np = self._np
        from ir.types import NUMPY_DTYPE

        for v in self.graph.inputs_with_role("param", "state"):
            view = np.ndarray(tuple(int(d) for d in v.type.shape),
                              dtype=NUMPY_DTYPE[v.type.dtype], buffer=self.persistent,
                              offset=self.layout[v.name])
            view[...] = feeds[v.name]
        arrays = [np.ascontiguousarray(feeds[name], dtype=NUMPY_DTYPE[
            self.graph.value(name).type.dtype]) for name in self.compiled.externals]
        checks = self._arm_guards(arrays) if self.guard else []
        args = (ctypes.c_void_p * (3 + len(arrays)))()
        args[0] = self.arena.ctypes.data
        args[1] = ctypes.addressof(self.table)
        args[2] = self.persistent.ctypes.data
        for i, a in enumerate(arrays):
            args[3 + i] = a.ctypes.data
        with NATIVE_LOCK:
            ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self.compiled.address)(args)
        for check in checks:
            check.check(f"program '{self.graph.name}'")
        outs = [self._read(s, arrays) for s in self.compiled.outputs]
        loss = (self._read(self.compiled.loss, arrays) if self.compiled.loss is not None
                else None)
        return outs, loss

    def _arm_guards(self, arrays: list) -> list:  # type: ignore[type-arg]
        """Guard mode: each input replaced (in place in `arrays`) by a copy between guards;
        canaries around the parameters and the arena's values, poison in the scratch."""
        from runtime.guard import GuardedBuffer, arena_values, guarded_copy

        checks = []
        for i, name in enumerate(self.compiled.externals):
            arrays[i], check = guarded_copy(arrays[i], self.guard, name)
            checks.append(check)
        params = [(self.layout[v.name], self.layout[v.name] + v.type.nbytes(), f"%{v.name}")
                  for v in self.graph.inputs_with_role("param", "state")]
        region = GuardedBuffer(self.persistent, params, "persistent region")
        assert self.planned.plan is not None
        arena = GuardedBuffer(self.arena, arena_values(
            self.planned.plan, int(self.compiled.info.meta.get("workspace", 0))), "arena")
        region.arm()
        arena.arm(poison=True)
        return [*checks, region, arena]

    def _read(self, slot: Slot, arrays: list):  # type: ignore[no-untyped-def,type-arg]
        from ir.types import NUMPY_DTYPE

        if slot.region == "input":
            return arrays[slot.offset].reshape(slot.shape).copy()
        buffer = self.persistent if slot.region == "persistent" else self.arena
        return self._np.ndarray(slot.shape, dtype=NUMPY_DTYPE[slot.dtype], buffer=buffer,
                                offset=slot.offset).copy()
