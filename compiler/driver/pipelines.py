"""The pipelines: which passes turn a loaded model into a forward, gradient or training graph.

Where it sits: the first step of the driver (compiler/driver/), between the frontends and the
JIT (compiler/driver/jit.py); `netc dump --after PASS`, `--list-passes` and `compiler.compile`
all run these lists through the pass manager. Neither entry point here changes its caller's
PassContext: passes run on a copy, and what they report back (the layout pass's
`layout_applied`) reaches the caller only through `reported`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from compiler.passes import PassContext, PassManager
from ir.graph import Graph

SIMPLIFY = ("fold-constants", "algebraic", "cse", "dce")
CODEGEN = ("fuse", "plan-memory")
"""The JIT's own passes, run by compiler/driver/jit.py after a pipeline (with the network's
shared parameter layout); `netc dump --after fuse|plan-memory` runs them too."""
PIPELINES: dict[str, tuple[str, ...]] = {
    "forward": ("bind-batch", "set-dtype", "drop-loss", "canonicalize", *SIMPLIFY, "layout"),
    "grads": ("bind-batch", "set-dtype", "training-forms", "canonicalize", "autodiff",
              *SIMPLIFY, "layout"),
    "train": ("bind-batch", "set-dtype", "training-forms", "canonicalize", "autodiff",
              "optimizer", *SIMPLIFY, "layout"),
}


def lower(
    graph: Graph, kind: str, ctx: PassContext, *, verify_each: bool = False,
    dump_after: Sequence[str] = (), dump_before: Sequence[str] = (),
    dump: Callable[[str, Graph], None] | None = None,
    timings: list[tuple[str, float]] | None = None, reported: dict[str, Any] | None = None,
) -> Graph:
    """Runs the `kind` pipeline ("forward", "grads" or "train") on a copy of `graph`.

    The kind also sets what it implies in the context: loss_and_grads must leave a network as
    it was, so "grads" never updates batchnorm's running statistics."""
    if kind == "grads":
        ctx = dataclasses.replace(ctx, update_running_stats=False)
    return run_passes(graph, PIPELINES[kind], ctx, verify_each=verify_each,
                      dump_after=dump_after, dump_before=dump_before, dump=dump,
                      timings=timings, reported=reported)


def run_passes(
    graph: Graph, passes: Sequence[str], ctx: PassContext, *, verify_each: bool = False,
    dump_after: Sequence[str] = (), dump_before: Sequence[str] = (),
    dump: Callable[[str, Graph], None] | None = None,
    timings: list[tuple[str, float]] | None = None, reported: dict[str, Any] | None = None,
) -> Graph:
    """Runs an explicit pass list on a copy of `graph`, with a copy of `ctx`. `timings`, if
    given, receives (pass, seconds) for every pass; `reported`, if given, the context's options
    as the passes left them."""
    ctx = dataclasses.replace(ctx, options=dict(ctx.options))
    manager = PassManager(tuple(passes), verify_each=verify_each, dump_after=dump_after,
                          dump_before=dump_before, dump=dump)
    result = manager.run(graph.copy(), ctx)
    if timings is not None:
        timings.extend(manager.timings)
    if reported is not None:
        reported.update(ctx.options)
    return result
