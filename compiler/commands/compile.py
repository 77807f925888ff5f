"""netc compile MODEL: what the JIT makes of a model.

It compiles the forward (or, with --train, the training step) and reports the time of every
stage, the kernels with their FLOPs and parallel tasks, the memory plan's totals and whether the
compile cache hit.
"""

from __future__ import annotations

import argparse
import time

from compiler.commands._lowering import plan_model
from compiler.commands.profile import layout_name
from ir.layouts import LAYOUT_CHOICES


def cmd_compile(args: argparse.Namespace) -> int:
    from compiler.driver.jit import compile_entry, host_target

    kind, planned, passes = plan_model(args)
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
        print(f"  {k['name']:{width}s}  {k['kind']:12s} {layout_name(k.get('layout') or ''):8s}"
              f"{k['flops']:>14,} FLOPs  {k['ntasks']:4d} task{'s' if k['ntasks'] != 1 else ' '}")
    flops = sum(k["flops"] for k in compiled.kernels)
    print(f"  total {flops:,} FLOPs per call")
    print(f"memory: scratch peak {plan.scratch_bytes:,} bytes (naive {plan.naive_bytes:,}), "
          f"parameters and state {plan.persistent_bytes:,} bytes, "
          f"arena {compiled.arena_bytes:,} bytes")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    comp = sub.add_parser("compile", help="compile a model and report stages, kernels, memory")
    comp.add_argument("model", help="model file (.yaml, .json, .ir)")
    comp.add_argument("--batch", type=int, default=1)
    comp.add_argument("--train", action="store_true", help="the training step")
    comp.add_argument("--layout", choices=LAYOUT_CHOICES, default="auto",
                      help="physical layout of the activations (default: what the JIT picks "
                           "on this host; nchw = plain)")
    comp.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    comp.add_argument("--lr", type=float, default=0.01)
    comp.add_argument("--momentum", type=float, default=0.0)
    comp.set_defaults(run=cmd_compile)
