"""The JIT driver: plans each entry point, generates its LLVM module and hands the machine code
(from the compile cache when possible) to the runtime.

Where it sits: the second step of the driver, after compiler/driver/pipelines.py; called by
compiler/driver/network.py (EntryCompiler, for a JITNetwork), by the ONNX backend and tests
(compile_graph, for a GraphProgram) and by `netc compile`/`dump --stage`. It hands
runtime/jit/ a CompiledEntry per entry point. The cache key is the planned netc IR with its
memory plan, the codegen target (vector width, threads) and the codegen version, so anything
that changes the machine code changes the key.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from compiler.codegen.target import CodegenTarget
from compiler.driver.pipelines import CODEGEN, run_passes
from compiler.driver.services import services_table
from compiler.passes import PassContext, internal_error
from compiler.passes.plan_memory import persistent_layout
from ir.errors import CompileError, NetcError
from ir.graph import Graph, Value
from ir.memory import ALIGN, align
from ir.printer import print_graph
from ir.schedule import MemoryPlan
from runtime.guard import output_values
from runtime.jit.cache import ModuleSink, compile_program, host
from runtime.jit.call import CompiledEntry, Slot
from runtime.jit.pool import Pool, thread_count
from runtime.jit.program import GraphProgram
from runtime.network import CompiledGraphs

if TYPE_CHECKING:
    from compiler.codegen.module import Generated


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


def host_target(threads: int | None = None) -> CodegenTarget:
    """What code is generated for: this CPU's triple and vector width, the native pool's
    threads (or `threads`), and whether kernels count their cycles (NETC_PROFILE); part of
    every cache key."""
    import os

    found = host()
    profile = os.environ.get("NETC_PROFILE", "") not in ("", "0")
    return CodegenTarget(found.triple, found.vector_bits, threads or _pool_threads(), profile)


_POOL_THREADS: list[int] = []


def _pool_threads() -> int:
    """The native pool's thread count, asked once: Pool.get() may wait while another thread
    compiles or loads the pool."""
    if not _POOL_THREADS:
        _POOL_THREADS.append(Pool.get().threads)
    return _POOL_THREADS[0]


def prepare() -> None:
    """Starts, on a thread of its own, what every JIT network needs and does not depend on the
    model (LLVM, the native pool, the f32 library) while the caller lowers the model. An error
    here (say a bad NETC_VECTOR_BITS) is not lost: the compile asks for the same again and
    raises it."""
    threading.Thread(target=_prepare, name="netc-prepare", daemon=True).start()


def _prepare() -> None:
    with contextlib.suppress(Exception):  # raised again, where it belongs, by the compile
        # The library starts with the threads the pool is asked for, before the pool exists
        # (starting it compiles it too, on a cold start); a pool that started fewer threads
        # makes another target, whose library compile_entry waits for.
        services(host_target(thread_count()))
        host_target()


def services(target: CodegenTarget) -> int:
    """The address of the services table every entry receives (args[1]): the thread pool and
    the library (compiler/driver/services.py); the f32 library starts compiling in the
    background, and compile_entry waits for what an entry uses."""
    return services_table(target, CODEGEN_VERSION).address


def _library_dtypes(planned: Graph) -> set[str]:
    """The element types whose library functions (GEMM, packers) the entry's kernels may call:
    those of its values."""
    return {v.type.dtype for v in planned.values()}


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


def plan(graph: Graph, layout: dict[str, int], outputs: bool = True) -> Graph:
    """fuse + plan-memory, with the network's persistent layout. `outputs` (the JIT's plan):
    the results get a region of their own that the runtime allocates fresh for each call and
    hands back, so they are never copied out of the arena; without it (bundles, whose C API
    reads results from the arena, and the backward segments, which share one arena) they stay
    in scratch."""
    return run_passes(graph, CODEGEN,
                      PassContext(options={"persistent": layout, "outputs": outputs}))


@dataclass
class Stages:
    """How one entry of a network compiled (EntryCompiler.stages): seconds planning it, seconds
    per cache stage, whether the cache hit."""

    passes: float
    cache: dict[str, float]
    hit: bool


def entry_symbol(entry: str) -> str:
    """The native function an entry point compiles to (what the cache and the loader look up)."""
    return ENTRY_SYMBOL.get(entry, f"netc_{entry}")


def _memory_plan(planned: Graph) -> MemoryPlan:
    if planned.plan is None:
        raise CompileError(f"@{planned.name} has no memory plan: plan() it first")
    return planned.plan


def generate_entry(planned: Graph, entry: str, target: CodegenTarget,
                   sink: ModuleSink | None = None) -> tuple[Generated, list[tuple[str, str]]]:
    """The LLVM of one entry point of a planned graph: what codegen made, and (symbol, text) of
    every module, the kernels' first and the entry's own last (what `netc dump --stage` shows
    and the cache compiles). `sink`, if given, receives each kernel module as soon as it is
    generated (the compile cache's ModuleSink: LLVM compiles it meanwhile)."""
    from compiler.codegen.module import generate  # not imported on a warm start

    symbol = entry_symbol(entry)
    on_module = None if sink is None else (lambda m: sink(m.symbol, m.text))
    generated = generate(planned, target, symbol, _memory_plan(planned).workspace_offset,
                         on_module)
    modules = [(m.symbol, m.text) for m in generated.modules]
    modules.append((symbol, generated.entry_text))
    return generated, modules


def compile_entry(planned: Graph, entry: str, target: CodegenTarget) -> CompiledEntry:
    """Machine code for one entry point of a planned graph (see `plan`), from the compile
    cache when an identical one was compiled before. An exception that is not a NetcError
    (a bug in codegen) becomes an internal compiler error naming the node and writing the
    planned graph's input IR."""
    try:
        return _compile_entry(planned, entry, target)
    except NetcError:
        raise
    except Exception as err:
        raise internal_error(f"codegen of '{entry}'", err, print_graph(planned),
                             "netc dump {path} --stage llvm") from err


def _compile_entry(planned: Graph, entry: str, target: CodegenTarget) -> CompiledEntry:
    memory = _memory_plan(planned)
    symbol = entry_symbol(entry)
    key_text = "\n".join([CODEGEN_VERSION, target.describe(), symbol, print_graph(planned),
                          memory.table()])
    workspace_offset = memory.workspace_offset

    def build(sink: ModuleSink) -> tuple[list[tuple[str, str]], dict]:
        generated, modules = generate_entry(planned, entry, target, sink)
        return modules, {"workspace": generated.workspace_bytes,
                         "kernels": [asdict(k) for k in generated.kernels]}

    loaded, info = compile_program(key_text, f"{planned.name}-{entry}", build)
    services_table(target, CODEGEN_VERSION).wait(_library_dtypes(planned))
    externals = [v.name for v in planned.inputs if v.role in ("input", "label")]
    workspace = int(info.meta.get("workspace", 0))
    return CompiledEntry(
        name=entry, address=loaded.address(symbol),
        arena_bytes=workspace_offset + workspace + ALIGN, workspace_bytes=workspace,
        externals=externals,
        outputs=[_slot(planned, v) for v in planned.outputs],
        loss=_slot(planned, planned.loss) if planned.loss is not None else None,
        output_bytes=memory.output_bytes, output_values=output_values(memory),
        info=info, kernels=list(info.meta.get("kernels", [])),
        profile_offset=workspace_offset if target.profile else None,
    )


def result_slots(planned: Graph) -> tuple[list[Slot], Slot | None]:
    """Where a planned entry's outputs and loss land after a call: what an ahead-of-time
    bundle's C wrapper (compiler/bundle/) reads, as CompiledEntry does for the JIT."""
    loss = _slot(planned, planned.loss) if planned.loss is not None else None
    return [_slot(planned, v) for v in planned.outputs], loss


def _slot(graph: Graph, value: Value) -> Slot:
    alloc = _memory_plan(graph).resolve(value.name)
    shape = tuple(int(d) for d in value.type.shape)
    if alloc.region == "input":  # a result that is (a view of) an input: read the caller's array
        externals = [v.name for v in graph.inputs if v.role in ("input", "label")]
        return Slot("input", externals.index(alloc.value), shape, value.type.dtype)
    if alloc.region == "output":
        return Slot("output", alloc.offset, shape, value.type.dtype)
    region = "persistent" if alloc.region in ("param", "state") else "scratch"
    return Slot(region, alloc.offset, shape, value.type.dtype)


class EntryCompiler:
    """Compiles a network's entries on demand: the `compiler` a JITNetwork is built with
    (runtime/jit/network.py's EntrySource). Every entry shares the persistent layout of the
    primary graph (which holds every parameter and state tensor); `stages` records how long
    each entry took to compile and whether the cache hit."""

    def __init__(self, graphs: CompiledGraphs) -> None:
        self.graphs = graphs
        self.layout, self.persistent_bytes = shared_layout([graphs.primary])
        self.target = host_target()
        self.services = services(self.target)
        self.stages: dict[str, Stages] = {}

    def __call__(self, entry: str) -> CompiledEntry:
        start = time.perf_counter()
        graph = self.graphs.get(entry)
        if graph is None:
            raise CompileError(f"this network has no '{entry}' entry")
        planned = plan(graph, self.layout)
        passes = time.perf_counter() - start
        compiled = compile_entry(planned, entry, self.target)
        self.stages[entry] = Stages(passes, dict(compiled.info.timings), compiled.info.hit)
        return compiled


def compile_graph(graph: Graph, entry: str = "forward") -> GraphProgram:
    """A lowered graph (concrete shapes) as one native call of the given entry kind: params and
    state get a persistent region of their own, every other input is external. Guard mode
    (NETC_GUARD set now) works as for a network."""
    layout, total = shared_layout([graph])
    target = host_target()
    planned = plan(graph, layout)
    compiled = compile_entry(planned, entry, target)
    return GraphProgram(planned, compiled, layout, total, services(target))
