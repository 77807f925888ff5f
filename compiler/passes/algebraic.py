"""algebraic: identities that remove work without changing results.

Pre: any graph.
Post: none of these patterns remain (x is never a constant-filled operand that would broadcast):
    mul(x, 1), mul(1, x), div(x, 1)            -> x
    add(x, 0), add(0, x), sub(x, 0)            -> x
    neg(neg(x))                                -> x
    reshape(reshape(x))                        -> reshape(x)     (still a view)
    reshape(x) to x's own shape                -> x
Each rewrite applies only when the result type equals x's type (no broadcasting hidden).
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph, Node, Value
from ir.ops import OPS


def _const(v: Value, value: float) -> bool:
    return v.node is not None and v.node.op == "const" and v.node.attrs["value"] == value


def _identity_operand(node: Node) -> Value | None:
    ops, op = node.operands, OPS[node.op]
    if op.identity is not None:  # declared in the op table: add, sub, mul, div
        if _const(ops[1], op.identity):
            return ops[0]
        if op.commutative and _const(ops[0], op.identity):
            return ops[1]
        return None
    if node.op == "neg":
        inner = ops[0].node
        return inner.operands[0] if inner is not None and inner.op == "neg" else None
    if node.op == "reshape" and ops[0].type.shape == node.type.shape:
        return ops[0]
    return None


@register("algebraic")
def algebraic(graph: Graph, ctx: PassContext) -> Graph:
    for node in graph.nodes():
        if node.op == "reshape":
            inner = node.operands[0].node
            if inner is not None and inner.op == "reshape":
                graph.substitute(node, "reshape", [inner.operands[0]], dict(node.attrs))
                continue
        same = _identity_operand(node)
        if same is not None and same.type == node.type and not graph.is_output(node.result):
            graph.replace_uses(node.result, same)
            graph.remove_node(node)
    return graph
