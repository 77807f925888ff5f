"""The canonical text form of a graph: one op per line, user names kept, a type on every line.

Where it sits: the inverse of ir/parser.py; `print_graph(parse(text)) == text` is tested on golden
files. Output is deterministic (declared attribute order, topological node order), so two runs of
the compiler on the same model print byte-identical IR.

    graph @lenet5(
        %image: f32[N,1,28,28] input,
        %conv1.weight: f32[6,1,5,5] param,
        ...
    ) {
      %conv1 = conv2d(%image, %conv1.weight, %conv1.bias) {stride=[1,1], ...} : f32[N,6,28,28]
      %flatten = flatten(%pool2) {axis=1} view : f32[N,400]
      return %fc3
      loss %loss
    }
"""

from __future__ import annotations

import math
from typing import Any

from ir.graph import Graph, Node
from ir.ops import VIEW


def format_attr_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_attr_value(v) if not isinstance(v, str) else v
                              for v in value) + "]"
    return str(value)


def format_attrs(attrs: dict[str, Any]) -> str:
    if not attrs:
        return ""
    return " {" + ", ".join(f"{k}={format_attr_value(v)}" for k, v in attrs.items()) + "}"


def format_node(node: Node) -> str:
    """One statement, without indentation: `%y = op(%a, %b) {k=v} [view ]: type  # grad of %x`."""
    args = ", ".join(f"%{v.name}" for v in node.operands)
    view = " view" if node.op in VIEW else ""
    text = f"%{node.name} = {node.op}({args}){format_attrs(node.attrs)}{view} : {node.type}"
    if node.grad_of:
        text += f"  # grad of %{node.grad_of}"
    return text


def print_graph(graph: Graph) -> str:
    lines = [f"graph @{graph.name}("]
    inputs = graph.inputs
    for i, v in enumerate(inputs):
        comma = "," if i < len(inputs) - 1 else ""
        lines.append(f"    %{v.name}: {v.type} {v.role}{comma}")
    lines.append(") {")
    if graph.kernels is None:
        lines.extend(f"  {format_node(n)}" for n in graph.nodes())
    else:
        lines.extend(_scheduled_lines(graph))
    if graph.outputs:
        lines.append("  return " + ", ".join(f"%{v.name}" for v in graph.outputs))
    if graph.loss is not None:
        lines.append(f"  loss %{graph.loss.name}")
    lines.extend(f"  update %{t.name} <- %{v.name}" for t, v in graph.updates)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _scheduled_lines(graph: Graph) -> list[str]:
    """Nodes grouped into their kernels, in execution order; views stand between kernels."""
    assert graph.kernels is not None
    owner = {name: k for k in graph.kernels for name in k.nodes}
    lines: list[str] = []
    for node in graph.nodes():
        group = owner.get(node.name)
        if group is None:
            lines.append(f"  {format_node(node)}")
        elif group.anchor == node.name:
            stores = ", ".join(f"%{s}" for s in group.stores)
            lines.append(f"  kernel @{group.name} {group.kind} stores({stores}) {{")
            lines.extend(f"    {format_node(graph.node(n))}" for n in group.nodes)
            lines.append("  }")
    return lines
