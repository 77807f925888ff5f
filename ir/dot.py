"""Graphviz DOT pictures of a graph, with the user's names on every node.

Where it sits: a dump format (`netc dump MODEL --format dot`, and the picture of `--format html`).
Graph inputs are ellipses (params filled), ops are boxes labelled name / op / type; backward ops
(those with provenance) are drawn in a different colour from forward ones, and a view's edge is
dashed because the view shares its operand's buffer (zero bytes: the label says so).

A training graph is drawn side by side: the forward pass in one cluster, the backward pass in a
second one beside it and the optimizer update in a third. Every gradient op is ranked level with
the forward op it differentiates (`rank=same` under `newrank`) and edges between backward ops are
laid out reversed (`dir=back`, drawn as usual), so the gradient visibly climbs back up next to
the computation it comes from; edges from forward values into the backward pass do not constrain
the layout (`constraint=false`).
"""

from __future__ import annotations

from ir.graph import Graph, Node, Value
from ir.ops import VIEW

_FORWARD = "#dbe9f6"
_BACKWARD = "#fbe3d6"
_UPDATE = "#e2f0d9"
_ROLE_FILL = {"param": "#fff2cc", "state": "#ede7f6", "input": "white", "label": "white",
              "const": "#eeeeee"}
_PHASE_FILL = {"forward": _FORWARD, "backward": _BACKWARD, "update": _UPDATE}
_CLUSTERS = (("forward", "forward pass"),
             ("backward", "backward pass (read upwards: each gradient op beside the op it "
                           "differentiates)"),
             ("update", "optimizer update"))


def _q(text: str) -> str:
    """A quoted DOT string; a newline in `text` becomes a line break of the label."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def phases(graph: Graph) -> dict[str, str]:
    """Node name -> "forward", "backward" (has provenance) or "update" (an updated value, or
    computed from gradients or updates without being a gradient itself)."""
    updated = {new.name for _, new in graph.updates}
    out: dict[str, str] = {}
    for node in graph.nodes():
        if node.grad_of:
            out[node.name] = "backward"
        elif node.name in updated or any(out.get(v.name) in ("backward", "update")
                                         for v in node.operands):
            out[node.name] = "update"
        else:
            out[node.name] = "forward"
    return out


def to_dot(graph: Graph) -> str:
    phase = phases(graph)
    train = "backward" in phase.values()
    lines = [f"digraph {_q(graph.name)} {{", "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontsize=9];']
    if train:  # rank globally, so a gradient op can share a rank across clusters
        lines.append("  newrank=true;")
    lines += [_input_line(v) for v in graph.inputs]
    if train:
        for name, label in _CLUSTERS:
            members = [n for n in graph.nodes() if phase[n.name] == name]
            if members:
                lines += _cluster(name, label, members, phase)
    else:
        lines += [_node_line(n, phase) for n in graph.nodes()]
    for node in graph.nodes():
        lines += _edge_lines(node, phase, train)
    if train:
        lines += _alignment_lines(graph, phase)
    lines += _result_lines(graph)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _input_line(v: Value) -> str:
    label = f"{v.name}\n{v.type}\n{v.role}"
    return (f"  {_q(v.name)} [shape=ellipse, style=filled, "
            f"fillcolor={_q(_ROLE_FILL.get(v.role or '', 'white'))}, label={_q(label)}];")


def _node_line(node: Node, phase: dict[str, str], indent: str = "  ") -> str:
    label = f"{node.name}\n{node.op}\n{node.type}"
    if node.grad_of:
        label += f"\ngrad of {node.grad_of}"
    style = "rounded,filled"
    if node.op in VIEW:
        style += ",dashed"
        label += f"\nview of {node.operands[0].name}: 0 bytes"
    fill = _PHASE_FILL[phase[node.name]]
    return (f"{indent}{_q(node.name)} [shape=box, style={_q(style)}, fillcolor={_q(fill)}, "
            f"label={_q(label)}];")


def _cluster(name: str, label: str, members: list[Node], phase: dict[str, str]) -> list[str]:
    lines = [f"  subgraph {_q('cluster_' + name)} {{", f"    label={_q(label)};",
             "    style=rounded; color=gray60; fontname=Helvetica; fontsize=11;"]
    lines += [_node_line(n, phase, "    ") for n in members]
    lines.append("  }")
    return lines


def _edge_lines(node: Node, phase: dict[str, str], train: bool) -> list[str]:
    """Operand edges. In a training picture, an edge between two backward ops is written
    reversed with dir=back (drawn as usual, laid out upwards); an edge from a forward value or
    a graph input into the backward pass or the update does not constrain the layout."""
    lines = []
    mine = phase[node.name]
    for i, v in enumerate(node.operands):
        attrs = ["style=dashed", 'label="view: same buffer"'] if node.op in VIEW else []
        if len(node.operands) > 1:
            attrs.append(f'{"headlabel" if _reversed(v, node, phase) else "taillabel"}="{i}"')
        theirs = phase.get(v.name, "input")
        if train and _reversed(v, node, phase):
            attrs.append("dir=back")
            lines.append(f"  {_q(node.name)} -> {_q(v.name)} [{', '.join(attrs)}];")
            continue
        if train and mine != "forward" and theirs in ("forward", "input"):
            attrs += ["constraint=false", "color=gray55"]
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_q(v.name)} -> {_q(node.name)}{suffix};")
    return lines


def _reversed(v: Value, node: Node, phase: dict[str, str]) -> bool:
    """An edge between backward ops of different forward ops (ops of the same one share a
    rank: their edge stays as it is)."""
    if phase[node.name] != "backward" or phase.get(v.name) != "backward":
        return False
    return v.node is not None and v.node.grad_of != node.grad_of


def _alignment_lines(graph: Graph, phase: dict[str, str]) -> list[str]:
    """Rank each gradient op level with the forward op it differentiates. When one forward
    op's gradient takes several ops in a chain, the chain hangs below its first op (a flat
    edge inside a cluster defeats Graphviz's edge routing)."""
    forward = {n.name for n in graph.nodes() if phase[n.name] == "forward"}
    lines = []
    for n in graph.nodes():
        chained = any(v.node is not None and v.node.grad_of == n.grad_of for v in n.operands)
        if n.grad_of in forward and not chained:
            lines.append(f"  {{rank=same; {_q(n.grad_of)}; {_q(n.name)};}}")
    return lines


def _result_lines(graph: Graph) -> list[str]:
    lines = []
    for v in graph.outputs:
        lines.append(f"  {_q('out:' + v.name)} [shape=plaintext, label={_q('output')}];")
        lines.append(f"  {_q(v.name)} -> {_q('out:' + v.name)};")
    if graph.loss is not None:
        lines.append(f"  {_q('out:loss')} [shape=plaintext, label={_q('loss')}];")
        lines.append(f"  {_q(graph.loss.name)} -> {_q('out:loss')};")
    for target, new in graph.updates:
        lines.append(f"  {_q(new.name)} -> {_q(target.name)} [style=dotted, color=darkgreen, "
                     f'label="update", constraint=false];')
    return lines
