"""autodiff: reverse-mode differentiation of the loss, written into the graph as IR ops.

Pre: a graph with a scalar `loss`; parameters are inputs with role `param` (plus any inputs named
in ctx.wrt).
Post: the same graph followed by its backward graph; `outputs` become the gradients, one per
parameter in input order (then the ctx.wrt inputs), each named `<param>.grad` where possible; the
loss stays. Gradients nobody needs are never built: only values on a path from a parameter to the
loss get one, labels and inputs get none unless asked. Gradients reaching a value along several
edges are summed. Every backward op records the forward op it differentiates.

    %fc3 = dense(%relu4, %fc3.weight, %fc3.bias) : f32[N,10]
    %loss = softmax_cross_entropy(%fc3, %labels) : f32[]
 +  %loss.grad = const() {value=1.0, ...} : f32[]                       # grad of %loss
 +  %fc3.grad = softmax_cross_entropy_grad(%fc3, %labels, %loss.grad)    # grad of %loss
 +  %fc3.weight.grad = matmul(%fc3.grad, %relu4) {transpose_a=true, ...} # grad of %fc3
"""

from __future__ import annotations

from compiler.passes import PassContext, load_grad_rules, register
from compiler.passes.grad_rules import RULES, GradBuilder
from ir.errors import CompileError
from ir.graph import Graph, Node, Value
from ir.ops import OPS

load_grad_rules()  # every grad_rules_*.py registers its ops' rules (norms, tensor ops, ...)


@register("autodiff")
def autodiff(graph: Graph, ctx: PassContext) -> Graph:
    if graph.loss is None:
        raise CompileError(f"graph @{graph.name} has no loss to differentiate; add `loss:` to "
                           "the model")
    targets = graph.params + [graph.value(name) for name in ctx.wrt]
    for t in targets:
        if t.type.dtype not in ("f32", "f64"):
            raise CompileError(f"cannot differentiate with respect to %{t.name} ({t.type})")
    live = _on_path(graph, targets)
    grads: dict[str, list[Value]] = {}
    loss = graph.loss
    seed = GradBuilder(graph, loss.node).const(1.0, (), "seed") if loss.node else None
    if seed is None:
        raise CompileError("the loss must be computed by an op")
    graph.rename(seed, graph.fresh_name(f"{loss.name}.grad"))
    grads[loss.name] = [seed]
    for node in reversed(graph.nodes()):
        if node.name not in live or node.name not in grads or node.grad_of is not None:
            continue
        dy = _accumulate(graph, node.result, grads.pop(node.name))
        _apply_rule(graph, node, dy, live, grads)
    graph.outputs = [_final_grad(graph, t, grads.pop(t.name, [])) for t in targets]
    return graph


def _on_path(graph: Graph, targets: list[Value]) -> set[str]:
    """Names of values that depend on a target and reach the loss (they carry gradients)."""
    loss = graph.loss
    assert loss is not None
    upstream = graph.ancestors(loss) | {loss.name}
    downstream: set[str] = set()
    for t in targets:
        downstream |= graph.descendants(t) | {t.name}
    return upstream & downstream


def _apply_rule(graph: Graph, node: Node, dy: Value, live: set[str],
                grads: dict[str, list[Value]]) -> None:
    if OPS[node.op].grad == "none":
        return
    rule = RULES.get(node.op)
    if rule is None:
        raise CompileError(f"autodiff: op '{node.op}' (%{node.name}) has no gradient rule")
    need = [v.name in live for v in node.operands]
    builder = GradBuilder(graph, node)
    for operand, g in zip(node.operands, rule(builder, node, dy, need), strict=True):
        if g is not None and operand.name in live:
            grads.setdefault(operand.name, []).append(g)


def _accumulate(graph: Graph, value: Value, parts: list[Value]) -> Value:
    """The gradient of `value`: its one contribution (renamed `<value>.grad` when it was built
    for it) or the sum of all of them (fan-out)."""
    if len(parts) == 1:
        only = parts[0]
        if only.node is not None and only.node.grad_of is not None and ".grad_" in only.name:
            # built by a rule for this operand alone: give it the name of what it is
            graph.rename(only, graph.fresh_name(f"{value.name}.grad"))
        return only
    grad_of = value.node.name if value.node is not None else value.name
    total = parts[0]
    for i, part in enumerate(parts[1:], start=1):
        name = f"{value.name}.grad" if i == len(parts) - 1 else f"{value.name}.grad.sum{i}"
        total = graph.add_op("add", [total, part], {}, graph.fresh_name(name), grad_of=grad_of)
    return total


def _final_grad(graph: Graph, target: Value, parts: list[Value]) -> Value:
    if parts:
        return _accumulate(graph, target, parts)
    # The loss does not depend on this parameter: its gradient is exactly zero.
    return graph.add_op("const", [], {"value": 0.0, "dtype": target.type.dtype,
                                      "shape": target.type.shape},
                        graph.fresh_name(f"{target.name}.grad"), grad_of=target.name)
