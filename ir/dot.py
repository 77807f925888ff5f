"""Graphviz DOT pictures of a graph, with the user's names on every node.

Where it sits: a dump format (`netc dump MODEL --format dot`). Graph inputs are ellipses (params
filled), ops are boxes labelled name / op / type; backward ops (those with provenance) are drawn
in a different colour from forward ones, and a view's edge is dashed because the view shares its
operand's buffer.
"""

from __future__ import annotations

from ir.graph import Graph
from ir.ops import VIEW

_FORWARD = "#dbe9f6"
_BACKWARD = "#fbe3d6"
_UPDATE = "#e2f0d9"
_ROLE_FILL = {"param": "#fff2cc", "state": "#ede7f6", "input": "white", "label": "white",
              "const": "#eeeeee"}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    lines = [f"digraph {_q(graph.name)} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontsize=9];']
    for v in graph.inputs:
        label = f"{v.name}\\n{v.type}\\n{v.role}"
        lines.append(f"  {_q(v.name)} [shape=ellipse, style=filled, "
                     f"fillcolor={_q(_ROLE_FILL.get(v.role or '', 'white'))}, label={_q(label)}];")
    updated = {new.name for _, new in graph.updates}
    for node in graph.nodes():
        fill = _BACKWARD if node.grad_of else _FORWARD
        if node.name in updated:
            fill = _UPDATE
        label = f"{node.name}\\n{node.op}\\n{node.type}"
        if node.grad_of:
            label += f"\\ngrad of {node.grad_of}"
        style = "rounded,filled,dashed" if node.op in VIEW else "rounded,filled"
        lines.append(f"  {_q(node.name)} [shape=box, style={_q(style)}, "
                     f"fillcolor={_q(fill)}, label={_q(label)}];")
        for i, v in enumerate(node.operands):
            attrs = ["style=dashed", 'label="view"'] if node.op in VIEW else []
            if len(node.operands) > 1:
                attrs.append(f'taillabel="{i}"')
            suffix = f" [{', '.join(attrs)}]" if attrs else ""
            lines.append(f"  {_q(v.name)} -> {_q(node.name)}{suffix};")
    for v in graph.outputs:
        lines.append(f"  {_q('out:' + v.name)} [shape=plaintext, label={_q('output')}];")
        lines.append(f"  {_q(v.name)} -> {_q('out:' + v.name)};")
    if graph.loss is not None:
        lines.append(f"  {_q('out:loss')} [shape=plaintext, label={_q('loss')}];")
        lines.append(f"  {_q(graph.loss.name)} -> {_q('out:loss')};")
    for target, new in graph.updates:
        lines.append(f"  {_q(new.name)} -> {_q(target.name)} [style=dotted, color=darkgreen, "
                     f'label="update", constraint=false];')
    lines.append("}")
    return "\n".join(lines) + "\n"
