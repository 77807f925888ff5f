"""The gradient-rule table RULES and GradBuilder, the vocabulary rules are written in.

Where it sits: used by the autodiff pass (compiler/passes/autodiff.py). A rule receives the
forward node, the gradient `dy` of its result and which operands need a gradient; it returns one
gradient value per operand (None where none is needed). Every op a rule emits records the forward
node it differentiates (`# grad of %conv1` in the dump). The rules themselves live in
compiler/passes/grad_rules_<family>.py (nn, tensor, train), one per family of ir/ops_<family>.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ir.graph import Graph, Node, Value
from ir.types import Shape


@dataclass
class GradBuilder:
    """Emits backward ops for one forward node, named `<node>.grad_<role>`."""

    graph: Graph
    node: Node
    created: set[str] = field(default_factory=set)

    def op(self, op: str, operands: Sequence[Value], attrs: dict[str, Any] | None = None,
           role: str = "") -> Value:
        base = f"{self.node.name}.grad_{role}" if role else f"{self.node.name}.grad"
        value = self.graph.add_op(op, operands, attrs or {}, self.graph.fresh_name(base),
                                  grad_of=self.node.name)
        self.created.add(value.name)
        return value

    def const(self, value: float, shape: Shape = (), role: str = "c") -> Value:
        dtype = self.node.type.dtype if self.node.type.dtype in ("f32", "f64") else "f32"
        return self.op("const", [], {"value": float(value), "dtype": dtype, "shape": shape}, role)

    def unbroadcast(self, g: Value, shape: Shape, role: str) -> Value:
        """Sums `g` over the axes numpy broadcasting added or stretched to reach g's shape."""
        if g.type.shape == tuple(shape):
            return g
        lead = g.type.rank - len(shape)
        axes = list(range(lead)) + [
            lead + i for i, d in enumerate(shape) if d == 1 and g.type.shape[lead + i] != 1]
        summed = self.op("reduce_sum", [g], {"axes": axes, "keepdims": True}, role)
        if summed.type.shape == tuple(shape):
            return summed
        return self.op("reshape", [summed], {"shape": tuple(shape)}, role)


Rule = Callable[[GradBuilder, Node, Value, Sequence[bool]], list[Value | None]]
RULES: dict[str, Rule] = {}


def rule(*names: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for name in names:
            RULES[name] = fn
        return fn

    return register


def pick(need: Sequence[bool], *makers: Callable[[], Value | None]) -> list[Value | None]:
    """Builds only the gradients that are needed, in operand order."""
    return [make() if n else None for n, make in zip(need, makers, strict=False)]
