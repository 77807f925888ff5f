"""dce: dead-code elimination. Removes every op whose result nothing needs.

Pre: any graph.
Post: every node reaches an output, the loss or an update. Graph inputs stay (the runtime binds
all of them). Gradients nobody asked for are never computed because of this pass and autodiff's
path analysis together.

    %a = relu(%x)        (unused)     ->   (removed)
    %b = sigmoid(%x)     return %b    ->   %b = sigmoid(%x)
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph


@register("dce")
def dce(graph: Graph, ctx: PassContext) -> Graph:
    needed: set[str] = set()
    for v in graph.result_values():
        needed.add(v.name)
        needed |= graph.ancestors(v)
    for node in reversed(graph.nodes()):
        if node.name not in needed:
            graph.remove_node(node)
    return graph
