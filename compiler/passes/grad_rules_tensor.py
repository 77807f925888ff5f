"""Gradient rules of the tensor ops (ir/ops_tensor.py): transpose, pad, mean and max.

Where it sits: registers into compiler/passes/grad_rules.RULES. Each gradient is again a data
movement or a reduction's broadcast: the inverse permutation, the inverse pad (a crop), the
mean's share spread back over the reduced axes, and the maximum's gradient shared among the
elements that attain it.
"""

from __future__ import annotations

from collections.abc import Sequence

from compiler.passes.grad_rules import GradBuilder, rule
from ir.errors import CompileError
from ir.graph import Node, Value


@rule("transpose")
def _transpose(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    perm = node.attrs["perm"]
    inverse = [perm.index(i) for i in range(len(perm))]
    return [b.op("transpose", [dy], {"perm": inverse}, "x")]


@rule("pad")
def _pad(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    # The padded border does not depend on x; cropping it away is the inverse pad.
    attrs = {"before": [-p for p in node.attrs["before"]],
             "after": [-p for p in node.attrs["after"]], "value": 0.0}
    return [b.op("pad", [dy], attrs, "x")]


def _kept(b: GradBuilder, node: Node, value: Value, role: str) -> Value:
    """`value` (shaped like the reduction's result) in kept-dims form: a view."""
    x = node.operands[0]
    if node.attrs["keepdims"]:
        return value
    axes = {ax % x.type.rank for ax in node.attrs["axes"]}
    kept = tuple(1 if i in axes else d for i, d in enumerate(x.type.shape))
    return b.op("reshape", [value], {"shape": kept}, role)


@rule("reduce_mean")
def _reduce_mean(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x = node.operands[0]
    count = 1
    for ax in {ax % x.type.rank for ax in node.attrs["axes"]}:
        d = x.type.shape[ax]
        if not isinstance(d, int):
            raise CompileError(f"gradient of %{node.name}: bind the batch before differentiating "
                               "a mean over it")
        count *= d
    spread = b.op("broadcast_to", [_kept(b, node, dy, "keep")], {"shape": x.type.shape}, "x")
    return [b.op("mul", [spread, b.const(1.0 / max(count, 1))], {}, "x")]


@rule("reduce_max")
def _reduce_max(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    # dy shared evenly among the elements that attain the maximum (PyTorch's amax does the
    # same): a perturbation that moves all of them together moves the maximum by as much.
    x = node.operands[0]
    mask = b.op("max_mask", [x, _kept(b, node, node.result, "max")], {}, "mask")
    count = b.op("reduce_sum", [mask], {"axes": node.attrs["axes"], "keepdims": True}, "count")
    share = b.op("div", [_kept(b, node, dy, "keep"), count], {}, "share")
    return [b.op("mul", [mask, share], {}, "x")]
