"""training-forms: rewrites ops whose training semantics differ from inference.

Pre: a forward graph about to be differentiated (runs before canonicalize and autodiff).
Post:
- batchnorm normalizes with the batch's statistics, and (when ctx.update_running_stats) the
  running statistics are updated in place, as PyTorch does in train mode:
      %bn.batch_mean = batch_mean(%x)
      %bn.batch_var = batch_var(%x, %bn.batch_mean)
      %bn = batchnorm(%x, %bn.weight, %bn.bias, %bn.batch_mean, %bn.batch_var)
      update %bn.running_mean <- ema_update(%bn.running_mean, %bn.batch_mean, %x)
- dropout multiplies by a mask drawn from the step counter `%step` (a state input), so each
  training step draws a fresh mask and a replay with the same seed draws the same one:
      %drop.mask = dropout_mask(%step) {rate=0.5, seed=0, shape=[N,120]}
      %drop = mul(%x, %drop.mask)
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph, Node, Value
from ir.types import TensorType

STEP = "step"


def step_counter(graph: Graph) -> Value:
    """The i64[] training-step counter shared by dropout masks and Adam (created once)."""
    if graph.has_value(STEP):
        return graph.value(STEP)
    return graph.add_input(STEP, TensorType("i64", ()), "state")


@register("training-forms")
def training_forms(graph: Graph, ctx: PassContext) -> Graph:
    for node in graph.nodes():
        if node.op == "batchnorm":
            _batchnorm(graph, node, ctx.update_running_stats)
        elif node.op == "dropout":
            _dropout(graph, node)
    return graph


def _batchnorm(graph: Graph, node: Node, update: bool) -> None:
    x, scale, shift, running_mean, running_var = node.operands
    name = node.name
    mean = graph.add_op("batch_mean", [x], {}, graph.fresh_name(f"{name}.batch_mean"),
                        loc=node.loc)
    var = graph.add_op("batch_var", [x, mean], {}, graph.fresh_name(f"{name}.batch_var"),
                       loc=node.loc)
    momentum = node.attrs["momentum"]
    graph.substitute(node, "batchnorm", [x, scale, shift, mean, var], dict(node.attrs))
    if not update:
        return
    for running, stat, unbiased in ((running_mean, mean, False), (running_var, var, True)):
        new = graph.add_op("ema_update", [running, stat, x],
                           {"momentum": momentum, "unbiased": unbiased},
                           graph.fresh_name(f"{running.name}.next"))
        graph.updates.append((running, new))


def _dropout(graph: Graph, node: Node) -> None:
    x = node.operands[0]
    attrs = {"rate": node.attrs["rate"], "seed": node.attrs["seed"], "shape": x.type.shape,
             "dtype": x.type.dtype}
    mask = graph.add_op("dropout_mask", [step_counter(graph)], attrs,
                        graph.fresh_name(f"{node.name}.mask"), loc=node.loc)
    graph.substitute(node, "mul", [x, mask])
