"""Optimizer settings: what `compiler.compile(..., optimizer=...)` takes.

Where it sits: plain configuration; the optimizer pass (compiler/passes/optimizer.py) turns it
into IR update ops. Semantics match torch.optim.SGD and torch.optim.Adam (L2 weight decay).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ir.errors import CompileError


def _check(name: str, value: float, low: float = 0.0, high: float = math.inf,
           open_high: bool = False) -> None:
    ok = isinstance(value, (int, float)) and low <= value and (
        value < high if open_high else value <= high)
    if not ok or not math.isfinite(value):
        raise CompileError(f"optimizer {name} must be in [{low}, {high}"
                           f"{')' if open_high else ']'}, got {value!r}")


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        _check("lr", self.lr)
        _check("momentum", self.momentum, 0.0, 1.0, open_high=True)
        _check("weight_decay", self.weight_decay)
        if self.nesterov and not self.momentum:
            raise CompileError("Nesterov momentum needs momentum > 0")


@dataclass(frozen=True)
class Adam:
    """Adam with bias correction and L2 weight decay (torch.optim.Adam)."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        _check("lr", self.lr)
        _check("beta1", self.betas[0], 0.0, 1.0, open_high=True)
        _check("beta2", self.betas[1], 0.0, 1.0, open_high=True)
        _check("eps", self.eps)
        _check("weight_decay", self.weight_decay)
