"""canonicalize: rewrites the frontend's convenience ops into the core ones.

Pre: a forward graph (training forms, if wanted, already applied).
Post: no `flatten` (it is a `reshape`, a view, keeping the layer's name) and no inference-time
`dropout` (an identity: its readers read its input).

    %flatten = flatten(%pool2) {axis=1} view : f32[N,400]
 -> %flatten = reshape(%pool2) {shape=[N,400]} view : f32[N,400]
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph


@register("canonicalize")
def canonicalize(graph: Graph, ctx: PassContext) -> Graph:
    for node in graph.nodes():
        if node.op == "flatten":
            graph.substitute(node, "reshape", node.operands, {"shape": node.type.shape})
        elif node.op == "dropout":
            graph.replace_uses(node.result, node.operands[0])
            graph.remove_node(node)
    return graph
