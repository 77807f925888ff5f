"""A JSON form of a graph for tools (`netc dump MODEL --format json`).

Where it sits: a dump format beside the text IR and DOT. Plain data only: names, ops, operand
names, attributes, types and provenance, in the same deterministic order as the text form.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ir.graph import Graph
from ir.types import TensorType


def _type(t: TensorType) -> dict[str, Any]:
    return {"dtype": t.dtype, "shape": list(t.shape), "layout": t.layout or "plain"}


def _attr(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_attr(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def to_json_data(graph: Graph) -> dict[str, Any]:
    return {
        "name": graph.name,
        "inputs": [{"name": v.name, "type": _type(v.type), "role": v.role} for v in graph.inputs],
        "nodes": [
            {
                "name": n.name, "op": n.op, "operands": [v.name for v in n.operands],
                "attrs": {k: _attr(v) for k, v in n.attrs.items()}, "type": _type(n.type),
                "grad_of": n.grad_of,
            }
            for n in graph.nodes()
        ],
        "outputs": [v.name for v in graph.outputs],
        "loss": graph.loss.name if graph.loss is not None else None,
        "updates": [{"target": t.name, "value": v.name} for t, v in graph.updates],
    }


def to_json(graph: Graph) -> str:
    return json.dumps(to_json_data(graph), indent=2) + "\n"
