"""Gradient rules of the forward (nn) ops of ir/ops_nn.py, written as IR ops (no numpy).

Where it sits: registers into compiler/passes/grad_rules.RULES. A rule receives the forward
node, the gradient `dy` of its result and which operands need a gradient; it returns one
gradient value per operand (None where none is needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from compiler.passes.grad_rules import RULES, GradBuilder, Rule, pick, rule
from ir.graph import Node, Value

# ---------------------------------------------------------------- contractions

@rule("conv2d")
def _conv2d(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, w = node.operands[0], node.operands[1]
    a = {k: node.attrs[k] for k in ("stride", "pad", "dilation", "groups")}
    stat_axes = [0, 2, 3]
    return pick(
        need,
        lambda: b.op("conv2d_grad_input", [dy, w], {**a, "input_hw": x.type.shape[2:]}, "x"),
        lambda: b.op("conv2d_grad_weight", [dy, x], {**a, "kernel": w.type.shape[2:]}, "weight"),
        lambda: b.op("reduce_sum", [dy], {"axes": stat_axes}, "bias"),
    )


@rule("dense")
def _dense(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, w = node.operands[0], node.operands[1]
    return pick(
        need,
        lambda: b.op("matmul", [dy, w], {}, "x"),
        lambda: b.op("matmul", [dy, x], {"transpose_a": True}, "weight"),
        lambda: b.op("reduce_sum", [dy], {"axes": [0]}, "bias"),
    )


@rule("matmul")
def _matmul(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    a, c = node.operands
    ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]

    def grad_a() -> Value:
        if ta:  # A^T appears in y: dA = op(B) dY^T
            return b.op("matmul", [c, dy], {"transpose_a": tb, "transpose_b": True}, "a")
        return b.op("matmul", [dy, c], {"transpose_b": not tb}, "a")

    def grad_b() -> Value:
        if tb:  # B^T appears in y: dB = dY^T op(A)
            db = b.op("matmul", [dy, a], {"transpose_a": True, "transpose_b": ta}, "b")
        else:
            db = b.op("matmul", [a, dy], {"transpose_a": not ta}, "b")
        if a.type.rank == c.type.rank:
            return db
        # one B for a whole stack of A: its gradient sums the stack's products
        axes = list(range(a.type.rank - 2))
        return b.op("reduce_sum", [db], {"axes": axes}, "b_sum")

    return pick(need, grad_a, grad_b)


# ---------------------------------------------------------------- windows and views

def _window_attrs(node: Node) -> dict[str, Any]:
    return {k: node.attrs[k] for k in ("kernel", "stride", "pad", "dilation", "ceil_mode")}


@rule("maxpool2d")
def _maxpool(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op("maxpool2d_grad", [dy, node.operands[0]], _window_attrs(node), "x")]


@rule("avgpool2d")
def _avgpool(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    attrs = {**_window_attrs(node), "count_include_pad": node.attrs["count_include_pad"],
             "input_hw": node.operands[0].type.shape[2:]}
    return [b.op("avgpool2d_grad", [dy], attrs, "x")]


@rule("global_avgpool")
def _gap(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    h, w = node.operands[0].type.shape[2:]
    share = b.const(1.0 / (int(h) * int(w)), (1, 1, h, w), "share")
    return [b.op("mul", [dy, share], {}, "x")]


@rule("global_maxpool")
def _gmp(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x = node.operands[0]
    hw = x.type.shape[2:]
    attrs = {"kernel": hw, "stride": hw, "pad": (0, 0, 0, 0), "dilation": (1, 1),
             "ceil_mode": False}
    return [b.op("maxpool2d_grad", [dy, x], attrs, "x")]


@rule("flatten", "reshape")
def _reshape(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    # The inverse view: same bytes, the operand's shape back. Zero bytes moved.
    return [b.op("reshape", [dy], {"shape": node.operands[0].type.shape}, "x")]


@rule("broadcast_to")
def _broadcast(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.unbroadcast(dy, node.operands[0].type.shape, "x")]


@rule("reduce_sum")
def _reduce_sum(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x = node.operands[0]
    g = dy
    if not node.attrs["keepdims"]:
        axes = {ax % x.type.rank for ax in node.attrs["axes"]}
        kept = tuple(1 if i in axes else d for i, d in enumerate(x.type.shape))
        g = b.op("reshape", [dy], {"shape": kept}, "keep")
    return [b.op("broadcast_to", [g], {"shape": x.type.shape}, "x")]


@rule("concat")
def _concat(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    axis = node.attrs["axis"] % node.type.rank
    out: list[Value | None] = []
    start = 0
    for i, (x, n) in enumerate(zip(node.operands, need, strict=True)):
        stop = start + int(x.type.shape[axis])
        attrs = {"axis": axis, "start": start, "stop": stop}
        out.append(b.op("slice", [dy], attrs, f"in{i}") if n else None)
        start = stop
    return out


# ---------------------------------------------------------------- elementwise

@rule("add")
def _add(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, y = node.operands
    return pick(need, lambda: b.unbroadcast(dy, x.type.shape, "a"),
                 lambda: b.unbroadcast(dy, y.type.shape, "b"))


@rule("sub")
def _sub(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, y = node.operands
    return pick(need, lambda: b.unbroadcast(dy, x.type.shape, "a"),
                 lambda: b.unbroadcast(b.op("neg", [dy], {}, "b"), y.type.shape, "b"))


@rule("mul")
def _mul(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, y = node.operands
    return pick(need, lambda: b.unbroadcast(b.op("mul", [dy, y], {}, "a"), x.type.shape, "a"),
                 lambda: b.unbroadcast(b.op("mul", [dy, x], {}, "b"), y.type.shape, "b"))


@rule("div")
def _div(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, y = node.operands
    out = node.result

    def grad_b() -> Value:  # d(x/y)/dy = -(x/y)/y
        scaled = b.op("div", [b.op("mul", [dy, out], {}, "b"), y], {}, "b")
        return b.unbroadcast(b.op("neg", [scaled], {}, "b"), y.type.shape, "b")

    return pick(need, lambda: b.unbroadcast(b.op("div", [dy, y], {}, "a"), x.type.shape, "a"),
                 grad_b)


def _with_output(grad_op: str) -> Rule:
    def fn(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
        return [b.op(grad_op, [dy, node.result], {}, "x")]

    return fn


RULES["relu"] = _with_output("relu_grad")
RULES["sigmoid"] = _with_output("sigmoid_grad")
RULES["tanh"] = _with_output("tanh_grad")


@rule("leaky_relu")
def _leaky(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op("leaky_relu_grad", [dy, node.operands[0]], {"alpha": node.attrs["alpha"]}, "x")]


@rule("clip")
def _clip(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op("clip_grad", [dy, node.operands[0]], dict(node.attrs), "x")]


@rule("exp")
def _exp(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op("mul", [dy, node.result], {}, "x")]


@rule("log")
def _log(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op("div", [dy, node.operands[0]], {}, "x")]


@rule("sqrt")
def _sqrt(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    half = b.op("div", [dy, node.result], {}, "x")
    return [b.op("mul", [half, b.const(0.5)], {}, "x")]


@rule("neg")
def _neg(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op("neg", [dy], {}, "x")]


@rule("dropout")
def _dropout(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [dy]  # the inference form is the identity; training graphs use dropout_mask


@rule("softmax", "log_softmax")
def _softmax(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    return [b.op(f"{node.op}_grad", [dy, node.result], {"axis": node.attrs["axis"]}, "x")]


# ---------------------------------------------------------------- losses

@rule("softmax_cross_entropy")
def _ce(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    logits, labels = node.operands
    return [b.op("softmax_cross_entropy_grad", [logits, labels, dy], {}, "logits"), None]


@rule("mse")
def _mse(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    pred, target = node.operands
    dpred = b.op("mse_grad", [pred, target, dy], {}, "pred")
    return [dpred if need[0] else None,
            b.op("neg", [dpred], {}, "target") if need[1] else None]


# ---------------------------------------------------------------- abs, maximum, minimum, pow

@rule("abs")
def _abs(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    # dy * sign(x): dy where x > 0, -dy where x < 0, 0 at 0 (PyTorch's choice)
    x = node.operands[0]
    up = b.op("relu_grad", [dy, x], {}, "up")
    down = b.op("relu_grad", [dy, b.op("neg", [x], {}, "negx")], {}, "down")
    return [b.op("sub", [up, down], {}, "x")]


def _select_grad(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool],
                 a_wins: Value) -> list[Value | None]:
    """Gradients of an op that picks a where `a_wins` > 0, else b: dy goes to the operand
    picked (to b on ties), summed over what broadcasting stretched."""
    x, y = node.operands
    to_a = b.op("relu_grad", [dy, a_wins], {}, "to_a")
    return pick(need, lambda: b.unbroadcast(to_a, x.type.shape, "a"),
                 lambda: b.unbroadcast(b.op("sub", [dy, to_a], {}, "to_b"), y.type.shape, "b"))


@rule("maximum")
def _maximum(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, y = node.operands
    return _select_grad(b, node, dy, need, b.op("sub", [x, y], {}, "margin"))


@rule("minimum")
def _minimum(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, y = node.operands
    return _select_grad(b, node, dy, need, b.op("sub", [y, x], {}, "margin"))


@rule("pow")
def _pow(b: GradBuilder, node: Node, dy: Value, need: Sequence[bool]) -> list[Value | None]:
    x, y = node.operands

    def grad_a() -> Value:  # d(x^y)/dx = y x^(y-1)
        lower = b.op("pow", [x, b.op("sub", [y, b.const(1.0)], {}, "a")], {}, "a")
        return b.unbroadcast(b.op("mul", [dy, b.op("mul", [y, lower], {}, "a")], {}, "a"),
                             x.type.shape, "a")

    def grad_b() -> Value:  # d(x^y)/dy = x^y log x
        slope = b.op("mul", [node.result, b.op("log", [x], {}, "b")], {}, "b")
        return b.unbroadcast(b.op("mul", [dy, slope], {}, "b"), y.type.shape, "b")

    return pick(need, grad_a, grad_b)
