"""netc compile / dump --stage: what the JIT makes of a model.

`netc compile MODEL` compiles the forward (or, with --train, the training step) and reports the
time of every stage, the kernels with their FLOPs and parallel tasks, the memory plan's totals
and whether the compile cache hit. `netc dump MODEL --stage llvm|llvm-opt|asm` prints the
generated LLVM IR (before or after optimization) or the host assembly.
"""

from __future__ import annotations

import argparse
import sys
import time

from compiler.frontend import load


def _planned(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from compiler.commands.inspect import lowered
    from compiler.jit import plan, shared_layout

    graph = load(args.model)
    args.batch = args.batch or 1
    kind = "train" if args.train else "forward"
    start = time.perf_counter()
    lowered_graph = lowered(graph, kind, args)
    planned = plan(lowered_graph, shared_layout([lowered_graph])[0])
    return kind, planned, time.perf_counter() - start


def dump_stage(args: argparse.Namespace) -> int:
    """LLVM IR of the entry and its kernels, optimized or not, or the assembly."""
    from compiler.codegen.module import generate
    from compiler.jit import ENTRY_SYMBOL, host_target
    from compiler.passes.plan_memory import align
    from runtime.jit.engine import Engine

    kind, planned, _ = _planned(args)
    generated = generate(planned, host_target(), ENTRY_SYMBOL[kind],
                         align(planned.plan.scratch_bytes))
    modules = [(m.symbol, m.text) for m in generated.modules]
    modules.append((ENTRY_SYMBOL[kind], generated.entry_text))
    names = {k.symbol: k.name for k in generated.kernels}
    engine = Engine.get()
    for symbol, text in modules:
        sys.stdout.write(f"; ===== {names.get(symbol, 'entry')} ({symbol})\n")
        if args.stage == "llvm":
            sys.stdout.write(text)
            continue
        mod = engine.parse(text, symbol)
        engine.optimize(mod)
        sys.stdout.write(str(mod) if args.stage == "llvm-opt" else engine.emit_assembly(mod))
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    from compiler.jit import compile_entry, host_target

    kind, planned, passes = _planned(args)
    target = host_target()
    start = time.perf_counter()
    compiled = compile_entry(planned, kind, target)
    total = time.perf_counter() - start
    info = compiled.info
    plan = planned.plan
    print(f"{planned.name}: {kind} entry, batch {args.batch}, {target.describe()}")
    print(f"  passes (lowering, fuse, plan-memory)  {passes * 1e3:8.1f} ms")
    for stage, seconds in info.timings.items():
        print(f"  {stage:36s}  {seconds * 1e3:8.1f} ms")
    state = "hit" if info.hit else f"miss ({info.compiled} modules compiled, {info.reused} reused)"
    print(f"  total native compile                  {total * 1e3:8.1f} ms   cache {state}")
    if info.note:
        print(f"  note: {info.note}")
    print(f"kernels ({len(compiled.kernels)}):")
    width = max((len(k["name"]) for k in compiled.kernels), default=4)
    for k in compiled.kernels:
        print(f"  {k['name']:{width}s}  {k['kind']:12s} {k['flops']:>14,} FLOPs  "
              f"{k['ntasks']:4d} task{'s' if k['ntasks'] != 1 else ' '}")
    flops = sum(k["flops"] for k in compiled.kernels)
    print(f"  total {flops:,} FLOPs per call")
    print(f"memory: scratch peak {plan.scratch_bytes:,} bytes (naive {plan.naive_bytes:,}), "
          f"parameters and state {plan.persistent_bytes:,} bytes, "
          f"arena {compiled.arena_bytes:,} bytes")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    comp = sub.add_parser("compile", help="compile a model and report stages, kernels, memory")
    comp.add_argument("model", help="model file (.yaml, .json, .ir)")
    comp.add_argument("--batch", type=int, default=1)
    comp.add_argument("--train", action="store_true", help="the training step")
    comp.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    comp.add_argument("--lr", type=float, default=0.01)
    comp.add_argument("--momentum", type=float, default=0.0)
    comp.set_defaults(run=cmd_compile)
