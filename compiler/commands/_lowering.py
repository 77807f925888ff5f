"""What several commands share: a model lowered through a pipeline with the command's options.

Where it sits: a helper of compiler/commands (no `register`, so not a command). `netc check`,
`dump` and `compile` lower models through these, so their options mean the same everywhere.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from compiler.frontend import load
from ir.graph import Graph


def lowered(graph: Graph, kind: str, args: argparse.Namespace,
            passes: Sequence[str] | None = None, **kwargs: object) -> Graph:
    """The graph after the `kind` pipeline (or `passes`), with the command's options."""
    from compiler.driver.pipelines import lower, run_passes
    from compiler.optim import SGD, Adam
    from compiler.passes import PassContext

    opt = None
    if kind == "train":
        opt = Adam(lr=args.lr) if getattr(args, "optimizer", "sgd") == "adam" else SGD(
            lr=getattr(args, "lr", 0.01), momentum=getattr(args, "momentum", 0.0))
    options = {}
    if getattr(args, "layout", ""):  # the JIT's own options, so the dump shows what it runs
        from compiler.driver.network import jit_options

        # Folding and packing decide by the concrete shapes the JIT always has: a dump at the
        # symbolic batch shows batchnorm and the weights as the model has them.
        options = jit_options(graph, "f32", kind != "forward", args.layout,
                              fold_batch_norm=getattr(args, "batch", None) is not None)
        options["outputs"] = True  # plan-memory, when dumped, places results as the JIT does
    ctx = PassContext(batch=args.batch, train=kind != "forward", optimizer=opt, options=options)
    timings: list[tuple[str, float]] = []
    how: dict[str, Any] = {"verify_each": True, "timings": timings, **kwargs}
    result = (lower(graph, kind, ctx, **how) if passes is None
              else run_passes(graph, passes, ctx, **how))
    if getattr(args, "time_passes", False):
        for name, seconds in timings:
            print(f"# pass {name:16s} {seconds * 1e3:8.2f} ms", file=sys.stderr)
    return result


def plan_model(args: argparse.Namespace) -> tuple[str, Any, float]:
    """(entry kind, the graph after fuse and plan-memory, seconds spent lowering)."""
    from compiler.driver.jit import plan, shared_layout

    graph = load(args.model)
    args.batch = args.batch or 1
    kind = "train" if args.train else "forward"
    start = time.perf_counter()
    lowered_graph = lowered(graph, kind, args)
    planned = plan(lowered_graph, shared_layout([lowered_graph])[0])
    return kind, planned, time.perf_counter() - start
