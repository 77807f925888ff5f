"""The layer table of `netc check`: per layer its op, output shape, parameters and FLOPs.

Where it sits: reads a forward graph (any frontend) and counts; it never changes the graph.
FLOPs come from each op's declaration (ir/ops_nn.py): 2 per multiply-add in contractions,
one per output element elsewhere, views free. With a symbolic batch they are per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from ir.graph import Graph
from ir.ops import OPS
from ir.types import format_shape


@dataclass(frozen=True)
class Row:
    layer: str
    op: str
    shape: str
    params: int
    flops: int


def layer_rows(graph: Graph) -> list[Row]:
    rows = [Row(v.name, v.role or "input", format_shape(v.type.shape), 0, 0)
            for v in graph.inputs_with_role("input")]
    for node in graph.nodes():
        params = sum(_numel(v.type.shape) for v in node.operands if v.role in ("param", "state")
                     and v.role == "param")
        opdef = OPS[node.op]
        types = [v.type for v in node.operands]
        flops = opdef.flops(types, node.type, node.attrs) if opdef.flops else _numel(
            node.type.shape)
        rows.append(Row(node.name, node.op, format_shape(node.type.shape), params, flops))
    return rows


def _numel(shape: tuple) -> int:
    out = 1
    for d in shape:
        out *= d if isinstance(d, int) else 1
    return out


def format_table(graph: Graph, source: str = "") -> str:
    rows = layer_rows(graph)
    batch = next((v.type.shape[0] for v in graph.inputs_with_role("input")), "N")
    flops_head = "FLOPs/sample" if batch == "N" else f"FLOPs (batch {batch})"
    head = ("layer", "op", "output shape", "params", flops_head)
    body = [(r.layer, r.op, r.shape, f"{r.params:,}", f"{r.flops:,}") for r in rows]
    total = ("total", "", "", f"{sum(r.params for r in rows):,}", f"{sum(r.flops for r in rows):,}")
    widths = [max(len(str(line[i])) for line in [head, *body, total]) for i in range(5)]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [line[i].ljust(widths[i]) if i < 3 else line[i].rjust(widths[i]) for i in range(5)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    title = f"model {graph.name}" + (f" ({source})" if source else "")
    trainable = sum(r.params for r in rows)
    lines = [title, fmt(head), rule, *(fmt(b) for b in body), rule, fmt(total),
             f"{len(rows) - len(graph.inputs_with_role('input'))} layers, "
             f"{trainable:,} trainable parameters ({trainable * 4 / 1024:.1f} KiB as f32)"]
    return "\n".join(lines) + "\n"
