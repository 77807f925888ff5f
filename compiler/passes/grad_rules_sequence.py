"""Gradient rules of the sequence-model ops (ir/ops_sequence.py): erf and embedding.

Where it sits: registers into compiler/passes/grad_rules.RULES. erf's derivative is written
with existing pointwise ops (fusion puts it in one loop); the embedding's table gradient is
the scatter-add `embedding_grad`, and its ids (integers) get none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from compiler.passes.grad_rules import GradBuilder, pick, rule
from ir.graph import Node, Value


@rule("erf")
def _erf(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    # d erf(x) / dx = 2 / sqrt(pi) * exp(-x^2)
    x = node.operands[0]
    square = b.op("mul", [x, x], {}, "square")
    bell = b.op("exp", [b.op("neg", [square], {}, "neg")], {}, "bell")
    slope = b.op("mul", [bell, b.const(2.0 / math.sqrt(math.pi))], {}, "slope")
    return [b.op("mul", [dy, slope], {}, "x")]


@rule("embedding")
def _embedding(b: GradBuilder, node: Node, dy: Value,
               need: Sequence[bool]) -> list[Value | None]:
    table, ids = node.operands
    rows = int(table.type.shape[0])
    return [*pick(need[:1], lambda: b.op("embedding_grad", [dy, ids], {"rows": rows}, "table")),
            None]
