"""The pipelines: which passes turn a loaded model into a forward, gradient or training graph.

Where it sits: the first step of the driver (compiler/driver/), between the frontends and the
JIT (compiler/driver/jit.py); `netc dump --after PASS`, `--list-passes` and `compiler.compile`
all run these lists through the pass manager, after `rebatched` has given a model exported
at a fixed batch the batch asked for. Neither entry point here changes its caller's
PassContext: passes run on a copy, and what they report back (the layout pass's
`layout_applied`) reaches the caller only through `reported`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from compiler.passes import PassContext, PassManager
from compiler.passes.training_forms import STEP
from ir.errors import CompileError, NetcError
from ir.graph import Graph, Node, Value
from ir.types import BATCH

SIMPLIFY = ("fold-constants", "algebraic", "cse", "dce")
CODEGEN = ("fuse", "plan-memory")
"""The JIT's own passes, run by compiler/driver/jit.py after a pipeline (with the network's
shared parameter layout); `netc dump --after fuse|plan-memory` runs them too."""
PIPELINES: dict[str, tuple[str, ...]] = {
    "forward": ("bind-batch", "set-dtype", "drop-loss", "canonicalize", "fold-batch-norm",
                *SIMPLIFY, "scale-into-weight", "layout", "pack-conv-weights"),
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
    graph = rebatched(graph, ctx.batch)
    return run_passes(graph, PIPELINES[kind], ctx, verify_each=verify_each,
                      dump_after=dump_after, dump_before=dump_before, dump=dump,
                      timings=timings, reported=reported)


def lower_backward(graph: Graph, ctx: PassContext) -> Graph:
    """The data-parallel step's first entry (runtime/distributed/step.py): the "grads"
    pipeline, but a training step's, so batchnorm's running statistics are updated."""
    return run_passes(rebatched(graph, ctx.batch), PIPELINES["grads"], ctx)


def lower_apply(train: Graph, ctx: PassContext) -> Graph:
    """The data-parallel step's second entry: the optimizer update alone, reading every
    parameter's (averaged) gradient as an external input named by `gradient_name`.

    Built from the training graph `train` (the network's primary graph), whose parameter and
    step-counter types it copies, so the optimizer pass names the state it adds (momentum
    buffers, Adam moments) as it did there and both entries share one persistent layout.

        %fc1.weight: f32[120,400] param,  %fc1.weight.grad: f32[120,400] input
        %fc1.weight.next = sgd_step(%fc1.weight, %fc1.weight.grad) {lr=0.01, ...}
        update %fc1.weight <- %fc1.weight.next
    """
    from runtime.distributed.step import gradient_name

    graph = Graph(train.name)
    params = [graph.add_input(p.name, p.type, "param") for p in train.params]
    if train.has_value(STEP):  # dropout masks read the counter: the update must advance it
        graph.add_input(STEP, train.value(STEP).type, "state")
    graph.outputs = [graph.add_input(gradient_name(p.name), p.type, "input") for p in params]
    return run_passes(graph, ("optimizer", *SIMPLIFY), ctx)


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


def fixed_batch(graph: Graph) -> int | None:
    """The batch a model with fixed input shapes was made for (its first data input's leading
    dimension); None when its batch is the symbolic N (bind-batch binds it) or it has no
    batched data input."""
    data = [v for v in graph.inputs_with_role("input") if v.type.rank]
    if not data or any(BATCH in v.type.shape for v in graph.inputs):
        return None
    return int(data[0].type.shape[0])


def rebatched(graph: Graph, batch: int | None) -> Graph:
    """`graph` with its data inputs at `batch`: itself when its batch is symbolic, not asked
    for, or already `batch`; else the frontend builds it again (Graph.rebuild: the ONNX
    importer re-imports, so shapes are inferred and the shape arithmetic folded anew). Inputs
    that are not batched (a weight given as an input, a table) keep their shapes."""
    fixed = fixed_batch(graph)
    if batch is None or fixed is None or fixed == batch:
        return graph
    where = f"model '{graph.name}' was exported at batch {fixed}"
    if graph.rebuild is None:
        raise CompileError(f"{where} and its frontend cannot re-batch it; compile it with "
                           f"batch={fixed} (or leave batch out)")
    try:
        result = graph.rebuild(batch)
    except NetcError as err:
        raise CompileError(f"{where} and cannot run at batch {batch}: {err}") from None
    _check_outputs_follow(graph, result, fixed, batch, where)
    return result


def _check_outputs_follow(old: Graph, new: Graph, fixed: int, batch: int, where: str) -> None:
    """An output that had the exported batch first must have the new one: a Reshape whose
    constant shape pins the old batch ([1, -1]) imports without complaint and folds the batch
    into another dimension."""
    for before, after in zip(old.outputs, new.outputs, strict=True):
        if before.type.rank and before.type.shape[0] == fixed and after.type.shape[0] != batch:
            culprit = _pinning_node(old, new, fixed, batch)
            what = (f"{culprit.op} %{culprit.name} keeps the batch at {fixed}" if culprit
                    else f"output %{after.name} keeps the batch at {after.type.shape[0]}")
            raise CompileError(f"{where} and cannot run at batch {batch}: {what} (a constant "
                               "shape pins it; export with a dynamic batch, or compile at "
                               f"batch={fixed})")


def _pinning_node(old: Graph, new: Graph, fixed: int, batch: int) -> Node | None:
    """The first node whose leading dimension stayed at the exported batch although an
    operand's went from it to the new one: where the batch stopped flowing."""
    def lead(v: Value) -> object:
        return v.type.shape[0] if v.type.rank else None

    for node in new.nodes():
        if not old.has_value(node.name) or lead(old.value(node.name)) != fixed:
            continue
        moved = any(lead(v) == batch and old.has_value(v.name) and lead(old.value(v.name)) == fixed
                    for v in node.operands)
        if moved and lead(node.result) == fixed:
            return node
    return None
