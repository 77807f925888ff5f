"""cse: common-subexpression elimination: readers of a repeated computation read the first.

Two ops with the same op, operands and attributes compute the same value.

Pre: any graph (all ops are pure; updates are explicit graph results, not side effects).
Post: no two nodes share (op, operands, attributes, type).

    %a = relu(%x)                       %a = relu(%x)
    %b = relu(%x)               ->      %c = add(%a, %a)
    %c = add(%a, %b)
"""

from __future__ import annotations

from typing import Any

from compiler.passes import PassContext, register
from ir.graph import Graph, Node


def _key(node: Node) -> tuple[Any, ...]:
    return (node.op, tuple(v.name for v in node.operands),
            tuple(sorted((k, repr(v)) for k, v in node.attrs.items())), node.type)


@register("cse")
def cse(graph: Graph, ctx: PassContext) -> Graph:
    seen: dict[tuple[Any, ...], Node] = {}
    for node in graph.nodes():
        key = _key(node)
        first = seen.get(key)
        if first is None:
            seen[key] = node
            continue
        graph.replace_uses(node.result, first.result)
        graph.remove_node(node)
    return graph
