"""Declarations of the training-only ops: optimizer updates, batch-statistic updates, the step
counter and dropout masks.

Where it sits: loaded by ir/ops.py. The optimizer pass (compiler/passes/optimizer.py) and the
training-forms pass emit these; each update op computes the new value of a parameter or state
tensor, and the graph's `update` statements write it back in place. Formulas follow PyTorch's
torch.optim.SGD and torch.optim.Adam (L2 weight decay added to the gradient).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ir.errors import ShapeError
from ir.ops import AttrSpec, Kind, Trait
from ir.ops import declare as _declare
from ir.shape_rules import same_dtype
from ir.types import TensorType, elements


def declare(name: str, *args: Any, **kwargs: Any) -> Any:
    """Training-only ops are never differentiated (they run after the backward graph)."""
    kwargs["grad"] = "none"
    return _declare(name, *args, **kwargs)


Types = Sequence[TensorType]
Attrs = Mapping[str, Any]



def _same_as_first(name: str, tensors: int) -> Any:
    """All of the first `tensors` operands share one type; the rest are scalars (the step)."""

    def rule(types: Types, a: Attrs) -> TensorType:
        first = types[0]
        same_dtype(name, types[:tensors])
        for t in types[1:tensors]:
            if t.shape != first.shape:
                raise ShapeError(f"{name}: operands {first} and {t} differ in shape")
        for t in types[tensors:]:
            if t.shape != () or t.dtype != "i64":
                raise ShapeError(f"{name}: the step operand must be i64[], got {t}")
        return first

    return rule


_LR = AttrSpec("lr", "float")
_WD = AttrSpec("weight_decay", "float", 0.0)
_MOM = AttrSpec("momentum", "float")


def _update_flops(n: int) -> Any:
    return lambda t, o, a: n * elements(o.shape)


declare("sgd_step", Kind.UPDATE, ("w", "g"), (_LR, _WD), _same_as_first("sgd_step", 2),
        "w - lr * (g + weight_decay * w).", flops=_update_flops(3))
declare("sgd_momentum_buf", Kind.UPDATE, ("buf", "g", "w"), (_MOM, _WD),
        _same_as_first("sgd_momentum_buf", 3),
        "momentum * buf + (g + weight_decay * w): the new momentum buffer.", flops=_update_flops(4))
declare("sgd_momentum_step", Kind.UPDATE, ("w", "g", "buf"),
        (_LR, _MOM, _WD, AttrSpec("nesterov", "bool", False)),
        _same_as_first("sgd_momentum_step", 3),
        "w - lr * buf, or with Nesterov w - lr * ((g + weight_decay * w) + momentum * buf), "
        "where buf is the new buffer.", flops=_update_flops(5))
declare("adam_m", Kind.UPDATE, ("m", "g", "w"), (AttrSpec("beta1", "float"), _WD),
        _same_as_first("adam_m", 3), "beta1 * m + (1 - beta1) * (g + weight_decay * w).",
        flops=_update_flops(5))
declare("adam_v", Kind.UPDATE, ("v", "g", "w"), (AttrSpec("beta2", "float"), _WD),
        _same_as_first("adam_v", 3), "beta2 * v + (1 - beta2) * (g + weight_decay * w)^2.",
        flops=_update_flops(6))
declare("adam_step", Kind.UPDATE, ("w", "m", "v", "step"),
        (_LR, AttrSpec("beta1", "float"), AttrSpec("beta2", "float"), AttrSpec("eps", "float")),
        _same_as_first("adam_step", 3),
        "w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps), t = step + 1 "
        "(bias-corrected, step counted before this update).", flops=_update_flops(6))


def _ema(types: Types, a: Attrs) -> TensorType:
    r, stat, x = types
    if r.shape != stat.shape or x.shape[1] != r.shape[0]:
        raise ShapeError(f"ema_update: running {r}, batch statistic {stat} and input {x} disagree")
    return r


declare("ema_update", Kind.UPDATE, ("running", "stat", "x"),
        (AttrSpec("momentum", "float"), AttrSpec("unbiased", "bool", False)), _ema,
        "(1 - momentum) * running + momentum * stat; with `unbiased` the statistic is scaled by "
        "M / (M - 1), M = values per channel of x (PyTorch's running_var).",
        flops=_update_flops(3), shape_only=("x",))


def _step(types: Types, a: Attrs) -> TensorType:
    (s,) = types
    if s.shape != () or s.dtype != "i64":
        raise ShapeError(f"increment expects the i64[] step counter, got {s}")
    return s


declare("increment", Kind.UPDATE, ("step",), (), _step,
        "step + 1: the training-step counter (Adam's t, dropout's mask stream).",
        flops=lambda t, o, a: 1, traits=(Trait.POINTWISE,))  # an i64 scalar: a kernel of its own


def _mask(types: Types, a: Attrs) -> TensorType:
    (s,) = types
    _step([s], a)
    if not 0.0 <= a["rate"] < 1.0:
        raise ShapeError(f"dropout_mask: rate must be in [0, 1), got {a['rate']}")
    return TensorType(a["dtype"], tuple(a["shape"]))


declare("dropout_mask", Kind.DATA, ("step",),
        (AttrSpec("rate", "float"), AttrSpec("seed", "int"), AttrSpec("shape", "dims"),
         AttrSpec("dtype", "str", "f32", choices=("f32", "f64"))), _mask,
        "0 with probability rate, else 1/(1-rate); element i of step s draws "
        "u = splitmix64(seed, s * numel + i) / 2^64, so masks differ per step and replay exactly.",
        flops=lambda t, o, a: 0, traits=(Trait.POINTWISE,))
