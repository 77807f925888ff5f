"""drop-loss: the inference graph computes the outputs only, not the loss.

Pre: a forward graph, maybe with a loss.
Post: no loss, no loss node, no label inputs; `outputs` unchanged.

    %loss = softmax_cross_entropy(%fc3, %labels) : f32[]     ->   (removed)
    loss %loss                                                ->   (removed)
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph


@register("drop-loss")
def drop_loss(graph: Graph, ctx: PassContext) -> Graph:
    loss = graph.loss
    if loss is None:
        return graph
    graph.loss = None
    if loss.node is not None and not graph.users(loss) and not graph.is_output(loss):
        graph.remove_node(loss.node)
    for label in graph.inputs_with_role("label"):
        if not graph.users(label):
            graph.remove_input(label)
    return graph
