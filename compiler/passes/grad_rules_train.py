"""Gradient rules of batch normalization and its batch statistics (training form).

Where it sits: registers into compiler/passes/grad_rules.RULES. The training form is
`batchnorm(x, scale, shift, batch_mean(x), batch_var(x, mean))`, so autodiff composes these
rules: the gradient through the statistics is not a special case, it falls out of the chain rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from compiler.passes.grad_rules import GradBuilder, rule
from ir.graph import Node, Value


def _axes(x: Value) -> list[int]:
    return [0] if x.type.rank == 2 else [0, 2, 3]


@rule("batchnorm")
def _batchnorm(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, scale, _shift, mean, var = node.operands
    eps = {"eps": node.attrs["eps"]}
    direct: list[Value] = []

    def dx() -> Value:  # with the statistics held fixed; the chain rule adds the rest
        if not direct:
            direct.append(b.op("batchnorm_grad_input", [dy, scale, var], eps, "x"))
        return direct[0]

    grads = [
        dx() if need[0] else None,
        b.op("batchnorm_grad_scale", [dy, x, mean, var], eps, "scale") if need[1] else None,
        b.op("reduce_sum", [dy], {"axes": _axes(x)}, "shift") if need[2] else None,
        None,
        b.op("batchnorm_grad_var", [dy, x, scale, mean, var], eps, "var") if need[4] else None,
    ]
    if need[3]:
        summed = b.op("reduce_sum", [dx()], {"axes": _axes(x)}, "mean")
        grads[3] = b.op("neg", [summed], {}, "mean")
    return grads


@rule("batch_mean")
def _batch_mean(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op("batch_mean_grad", [dy, node.operands[0]], {}, "x")]


@rule("batch_var")
def _batch_var(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, mean = node.operands
    dx = b.op("batch_var_grad", [dy, x, mean], {}, "x")
    if not need[1]:
        return [dx, None]
    producer = mean.node
    if producer is not None and producer.op == "batch_mean" and producer.operands[0] is x:
        # d var / d mean = -2/M * sum(x - mean) = 0 when mean is x's own batch mean.
        return [dx, None]
    summed = b.op("reduce_sum", [dx], {"axes": _axes(x)}, "mean")
    return [dx, b.op("neg", [summed], {}, "mean")]
