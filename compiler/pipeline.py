"""The pipelines: which passes turn a loaded model into a forward, gradient or training graph.

Where it sits: the driver between the frontends and the backends; `netc dump --after PASS`,
`--list-passes` and `compiler.compile` all run these lists through the pass manager.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from compiler.passes import PassContext, PassManager
from ir.graph import Graph

SIMPLIFY = ("fold-constants", "algebraic", "cse", "dce")
CODEGEN = ("fuse", "plan-memory")
"""The JIT's own passes, run by compiler/jit.py after a pipeline (with the network's shared
parameter layout); `netc dump --after fuse|plan-memory` runs them too."""
PIPELINES: dict[str, tuple[str, ...]] = {
    "forward": ("bind-batch", "set-dtype", "drop-loss", "canonicalize", *SIMPLIFY, "layout"),
    "grads": ("bind-batch", "set-dtype", "training-forms", "canonicalize", "autodiff",
              *SIMPLIFY, "layout"),
    "train": ("bind-batch", "set-dtype", "training-forms", "canonicalize", "autodiff",
              "optimizer", *SIMPLIFY, "layout"),
}


def lower(
    graph: Graph, kind: str, ctx: PassContext, *, passes: Sequence[str] | None = None,
    verify_each: bool = False, dump_after: Sequence[str] = (), dump_before: Sequence[str] = (),
    dump: Callable[[str, Graph], None] | None = None,
    timings: list[tuple[str, float]] | None = None,
) -> Graph:
    """Runs the `kind` pipeline (or an explicit pass list) on a copy of `graph`; `timings`, if
    given, receives (pass, seconds) for every pass."""
    names = tuple(passes) if passes is not None else PIPELINES[kind]
    if kind == "grads":
        ctx.update_running_stats = False
    manager = PassManager(names, verify_each=verify_each, dump_after=dump_after,
                          dump_before=dump_before, dump=dump)
    result = manager.run(graph.copy(), ctx)
    if timings is not None:
        timings.extend(manager.timings)
    return result
