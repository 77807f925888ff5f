"""The verifier: rejects malformed graphs with a message naming the op and its printed line.

Where it sits: runs after parsing, after the frontend, and after every pass in tests (the pass
manager's `verify_each`). It re-derives every type from the op table, so a pass that rewires a
graph wrongly is caught at the pass, not three stages later in codegen.
"""

from __future__ import annotations

from ir import ops as opdefs
from ir.errors import NetcError, VerifyError
from ir.graph import Graph, Node, check_arity
from ir.printer import format_node


def verify(graph: Graph) -> Graph:
    """Returns the graph unchanged, or raises VerifyError describing the first problem."""
    nodes = graph.nodes()  # raises on cycles
    for node in nodes:
        _verify_node(graph, node)
    _verify_results(graph)
    return graph


def _fail(node: Node, message: str) -> VerifyError:
    return VerifyError(f"op {node.op} (%{node.name}): {message}: `{format_node(node)}`")


def _verify_node(graph: Graph, node: Node) -> None:
    try:
        opdef = opdefs.get(node.op)
        check_arity(opdef, len(node.operands))
        attrs = opdefs.normalize_attrs(opdef, node.attrs)
    except NetcError as err:
        raise _fail(node, str(err)) from None
    if attrs != node.attrs:
        raise _fail(node, "attributes are not in canonical form")
    for v in node.operands:
        if not graph.has_value(v.name) or graph.value(v.name) is not v:
            raise _fail(node, f"operand %{v.name} is not defined in this graph")
    try:
        expected = opdef.infer([v.type for v in node.operands], node.attrs)
    except NetcError as err:
        raise _fail(node, str(err)) from None
    # The layout pass may give a value a physical layout; the logical type must still agree.
    if (expected.dtype, expected.shape) != (node.type.dtype, node.type.shape):
        raise _fail(node, f"result type {node.type} disagrees with the shape rule ({expected})")


def _verify_results(graph: Graph) -> None:
    for v in graph.outputs:
        _require_defined(graph, v.name, "return")
    if graph.loss is not None:
        _require_defined(graph, graph.loss.name, "loss")
        if graph.loss.type.shape != ():
            raise VerifyError(f"loss %{graph.loss.name} must be a scalar, got {graph.loss.type}")
    seen: set[str] = set()
    for target, new in graph.updates:
        _require_defined(graph, new.name, "update")
        if target.role not in ("param", "state"):
            raise VerifyError(f"update target %{target.name} must be a param or state input")
        if target.name in seen:
            raise VerifyError(f"%{target.name} is updated twice")
        seen.add(target.name)
        if (target.type.dtype, target.type.shape) != (new.type.dtype, new.type.shape):
            raise VerifyError(
                f"update %{target.name} <- %{new.name}: types differ ({target.type} vs {new.type})"
            )


def _require_defined(graph: Graph, name: str, where: str) -> None:
    if not graph.has_value(name):
        raise VerifyError(f"{where} refers to undefined value %{name}")
