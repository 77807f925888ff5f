"""ModuleGen: LLVM modules for one entry point of a planned graph: one module per kernel and
one small entry module that calls them.

Where it sits: the driver of codegen. For each kernel group it asks the kernel's emitter what it
touches and how many parallel tasks it has, then builds a module holding
  @body(i8* noalias buf0, ..., i64 task, i64 thread)   the loop nest (internal)
  @netc_k_<hash>(i8** table, i64 task, i64 thread)     reads its buffer pointers from `table`
The kernel's code does not depend on where its buffers live (the table carries the pointers), and
its symbol is a hash of its text up to names (`canonical_text`), so identical kernels of the
forward, gradient and training entries, of repeated layers, or of two models, are one module:
compiled once, cached once, and compiled in parallel with the others.

The entry module exports `void @<entry>(i8** args)`: it fills each kernel's pointer table and
runs the kernels in order, serial ones by a direct call, parallel ones through the thread pool's
`netc_parallel_for`. args[0] is the scratch arena, args[1] the services table (thread pool and
library entry points, compiler/codegen/library.py), args[2] the persistent region (parameters
and state), args[3 + k] the k-th external input, and after them (when the memory plan has an
output region) the block the call's outputs are written to. Updates that could not be done in
place are copied at the end. Codegen returns text; compiling it is the runtime's job.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import llvmlite.ir as ir

from compiler.codegen.context import BufferKey, KernelContext
from compiler.codegen.emitters import make_emitter
from compiler.codegen.emitters.base import Emitter
from compiler.codegen.kernel_builder import I1, I8P, I64, VOID, KernelBuilder
from compiler.codegen.target import CodegenTarget
from ir.graph import Graph
from ir.memory import align
from ir.safe_names import safe_file_name

log = logging.getLogger("netc.codegen")
"""One line per generated kernel, at DEBUG (NETC_DEBUG=2)."""
KERNEL_FN = ir.FunctionType(VOID, [I8P, I64, I64])
PLACEHOLDER = "netc_kernel"


@dataclass(frozen=True)
class KernelInfo:
    name: str
    kind: str
    symbol: str
    ntasks: int
    flops: int
    workspace: int
    layer: str = ""
    """The user's layer the kernel computes (for a gradient, the layer it differentiates)."""
    ops: str = ""
    """The ops the kernel runs, anchor first (conv2d+relu)."""
    layout: str = ""
    """The anchor result's physical layout (ir/layouts.py; "" is the logical order)."""


@dataclass
class KernelModule:
    symbol: str
    text: str


@dataclass
class Generated:
    entry: str
    entry_text: str
    modules: list[KernelModule]
    kernels: list[KernelInfo]
    workspace_bytes: int
    """Scratch beyond the memory plan: per-thread packing buffers x threads."""


class ModuleGen:
    def __init__(self, graph: Graph, target: CodegenTarget, entry: str,
                 workspace_offset: int,
                 on_module: Callable[[KernelModule], None] | None = None) -> None:
        if graph.kernels is None or graph.plan is None:
            raise ValueError("codegen needs a fused and planned graph")
        self.on_module = on_module
        """Told of each new kernel module as soon as it exists, so the caller can compile it
        while the next one is generated."""
        self.graph = graph
        self.target = target
        self.entry_name = entry
        self.workspace_offset = workspace_offset
        self.external = [v.name for v in graph.inputs if v.role in ("input", "label")]

    def generate(self) -> Generated:
        # the ModuleID line is written unescaped: a NUL or newline in the model's name ends it
        module = ir.Module(name=safe_file_name(f"{self.graph.name}.{self.entry_name}"))
        module.triple = self.target.triple
        entry = ir.Function(module, ir.FunctionType(VOID, [I8P.as_pointer()]), self.entry_name)
        kb = KernelBuilder(module, entry)
        args = entry.args[0]
        args.name = "args"
        bases = {"arena": kb.b.load(args, name="arena"),
                 "persistent": kb.b.load(kb.gep(args, 2), name="persistent"),
                 "services": kb.b.load(kb.gep(args, 1), name="services")}
        if self.graph.plan and self.graph.plan.output_bytes:  # after the external inputs
            bases["output"] = kb.b.load(kb.gep(args, 3 + len(self.external)), name="output")
        services = kb.b.bitcast(bases["services"], I8P.as_pointer())
        pool = kb.b.bitcast(kb.b.load(services, name="parallel_for"),
                            ir.FunctionType(VOID, [I8P, I8P, I64]).as_pointer())
        modules: dict[str, KernelModule] = {}
        infos, workspace = [], 0
        clock = ir.Function(module, ir.FunctionType(I64, []), "llvm.readcyclecounter")
        profile = None
        if self.target.profile:  # cycle counters after the workspace (see Generated)
            profile = kb.b.bitcast(kb.b.gep(bases["arena"], [kb.i64(self.workspace_offset)]),
                                   I64.as_pointer(), name="profile")
        for index, group in enumerate(self.graph.kernels or []):
            started = kb.b.call(clock, []) if profile is not None else None
            ctx = KernelContext(self, group)
            emitter = make_emitter(ctx)
            kmod, keys = self._kernel_module(ctx, emitter)
            if kmod.symbol not in modules and self.on_module is not None:
                self.on_module(kmod)
            modules.setdefault(kmod.symbol, kmod)
            fn = module.globals.get(kmod.symbol) or ir.Function(module, KERNEL_FN, kmod.symbol)
            table = self._table(kb, ctx, keys, bases, args)
            if ctx.ntasks <= 1:
                kb.b.call(fn, [table, kb.i64(0), kb.i64(0)])
            else:
                kb.b.call(pool, [kb.b.bitcast(fn, I8P), table, kb.i64(ctx.ntasks)])
            if profile is not None:
                spent = kb.b.sub(kb.b.call(clock, []), started)
                slot = kb.gep(profile, index)
                kb.b.store(kb.b.add(kb.b.load(slot), spent), slot)
            anchor = ctx.anchor
            infos.append(KernelInfo(group.name, group.kind, kmod.symbol, ctx.ntasks, ctx.flops,
                                    ctx.workspace, anchor.grad_of or anchor.name,
                                    "+".join(n.op for n in ctx.nodes), anchor.type.layout))
            log.debug("kernel %s: %s, %d task(s), %d flops, %d workspace bytes, %s", group.name,
                      group.kind, ctx.ntasks, ctx.flops, ctx.workspace, kmod.symbol)
            workspace = max(workspace, ctx.workspace * self.target.threads)
        self._copies(kb, module, bases)
        kb.b.ret_void()
        if profile is not None:  # the profile counters sit first, the packing buffers after
            workspace += self._profile_bytes()
        return Generated(self.entry_name, str(module), list(modules.values()), infos, workspace)

    # ------------------------------------------------------------ kernels

    def _kernel_module(self, ctx: KernelContext,
                       emitter: Emitter) -> tuple[KernelModule, list[BufferKey]]:
        module = ir.Module(name=ctx.group.name)
        module.triple = self.target.triple
        ctx.module = module
        keys: list[BufferKey] = []
        for name in ctx.touched:
            if ctx.key(name) not in keys:
                keys.append(ctx.key(name))
        first = 1 if ctx.uses_services else 0
        slots = first + len(keys) + (1 if ctx.workspace else 0)
        params = [I8P] * slots + [I64, I64]
        body = ir.Function(module, ir.FunctionType(VOID, params), f"{ctx.group.name}.body")
        body.linkage = "internal"
        if ctx.uses_services:
            body.args[0].name = "services"
            ctx.services = body.args[0]
        for i, key in enumerate(keys):
            body.args[first + i].add_attribute("noalias")
            body.args[first + i].name = "|".join(n for n in ctx.touched if ctx.key(n) == key)
        if ctx.workspace:
            body.args[first + len(keys)].name = "workspace"
            body.args[first + len(keys)].add_attribute("noalias")
            ctx.ws_ptr = body.args[first + len(keys)]
        task, thread = body.args[-2], body.args[-1]
        task.name, thread.name = "task", "thread"
        kb = KernelBuilder(module, body)
        for name in ctx.touched:
            raw = body.args[first + keys.index(ctx.key(name))]
            ctx.ptrs[name] = kb.b.bitcast(raw, ctx.elem_type(name).as_pointer(), name=name)
        emitter.emit(kb, task, thread)
        kb.b.ret_void()
        self._wrapper(module, body, slots)
        text = str(module)
        symbol = "netc_k_" + hashlib.sha256(canonical_text(text).encode()).hexdigest()[:20]
        return KernelModule(symbol, text.replace(f'@"{PLACEHOLDER}"', f'@"{symbol}"')), keys

    @staticmethod
    def _wrapper(module: ir.Module, body: ir.Function, slots: int) -> None:
        fn = ir.Function(module, KERNEL_FN, PLACEHOLDER)
        kb = KernelBuilder(module, fn)
        table = kb.b.bitcast(fn.args[0], I8P.as_pointer(), name="table")
        ptrs = [kb.b.load(kb.gep(table, i)) for i in range(slots)]
        kb.b.call(body, [*ptrs, fn.args[1], fn.args[2]])
        kb.b.ret_void()

    def _table(self, kb: KernelBuilder, ctx: KernelContext, keys: list[BufferKey],
               bases: dict[str, ir.Value], args: ir.Value) -> ir.Value:
        """The kernel's pointer table, on the entry's stack."""
        first = 1 if ctx.uses_services else 0
        slots = first + len(keys) + (1 if ctx.workspace else 0)
        table = kb.var(ir.ArrayType(I8P, max(slots, 1)), name=f"{ctx.group.name}.table")
        pointers = [bases["services"]] if ctx.uses_services else []
        for kind, where in keys:
            if kind == "input":
                pointers.append(kb.b.load(kb.gep(args, 3 + where), name=f"input{where}"))
            else:
                pointers.append(kb.b.gep(bases[kind], [kb.i64(where)]))
        if ctx.workspace:
            offset = self.workspace_offset + (self._profile_bytes() if self.target.profile else 0)
            pointers.append(kb.b.gep(bases["arena"], [kb.i64(offset)], name="workspace"))
        for i, ptr in enumerate(pointers):
            kb.b.store(ptr, kb.b.gep(table, [kb.i64(0), kb.i64(i)]))
        return kb.b.bitcast(table, I8P)

    def _profile_bytes(self) -> int:
        return align(8 * len(self.graph.kernels or []))

    def _copies(self, kb: KernelBuilder, module: ir.Module, bases: dict[str, ir.Value]) -> None:
        """Updates that could not be written in place: memcpy into the target at the end."""
        plan = self.graph.plan
        assert plan is not None
        if not plan.copies:
            return
        memcpy = ir.Function(module, ir.FunctionType(VOID, [I8P, I8P, I64, I1]),
                             "llvm.memcpy.p0.p0.i64")
        region = {"scratch": "arena", "param": "persistent", "state": "persistent",
                  "output": "output"}
        for target, value in plan.copies:
            dst, src = plan.resolve(target), plan.resolve(value)
            nbytes = self.graph.value(target).type.nbytes()
            kb.b.call(memcpy, [kb.b.gep(bases[region[dst.region]], [kb.i64(dst.offset)]),
                               kb.b.gep(bases[region[src.region]], [kb.i64(src.offset)]),
                               kb.i64(nbytes), ir.Constant(I1, 0)])


_IDENTIFIER = re.compile(r'([%@])("[^"]*"|[-a-zA-Z$._][-a-zA-Z$._0-9]*|[0-9]+)')


def canonical_text(text: str) -> str:
    """A kernel module's text with its own names numbered in order of appearance (locals, and
    the globals it defines; declared functions such as LLVM's intrinsics keep theirs) and its
    comments dropped. Names are for readers (they follow the IR values); LLVM compiles two
    modules that differ only in them to the same code. So kernels of equal shapes and fusion in
    different layers (a ResNet's repeated blocks) get one symbol: one module, compiled once."""
    lines = [line for line in text.splitlines() if not line.startswith(";")]
    defined = {m.group(2) for line in lines if line.startswith(("define", "@"))
               if (m := _IDENTIFIER.search(line[line.index("@"):])) is not None}
    numbers: dict[tuple[str, str], str] = {}

    def number(m: re.Match[str]) -> str:
        sigil, name = m.group(1), m.group(2)
        if sigil == "@" and name not in defined:
            return m.group(0)
        return numbers.setdefault((sigil, name), f"{sigil}n{len(numbers)}")

    return "\n".join(_IDENTIFIER.sub(number, line) for line in lines)


def generate(graph: Graph, target: CodegenTarget, entry: str, workspace_offset: int,
             on_module: Callable[[KernelModule], None] | None = None) -> Generated:
    """The LLVM modules of one entry point of a fused, planned graph (`on_module`, if given,
    hears of each kernel module as soon as it is generated)."""
    return ModuleGen(graph, target, entry, workspace_offset, on_module).generate()
