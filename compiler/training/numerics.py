"""--check-numerics: stop at the first step whose loss or updated tensors are NaN or Inf, and
name the first op of that step that produced a non-finite value.

Where it sits: an optional guard around `net.train_step` in the training loop. Before each
step it copies the parameters and optimizer state (a few hundred KB for LeNet-5); when the step
goes wrong it replays that step on the copy with the reference interpreter
(runtime/reference.py, the oracle), which keeps every intermediate value, and reports the first
node in program order whose result is not finite.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ir.errors import NetcError
from ir.graph import Graph, Node
from runtime import reference


class NumericsError(NetcError):
    """Training produced NaN or Inf; the message names the step and the op."""


def _finite(array: np.ndarray) -> bool:
    return array.dtype.kind != "f" or bool(np.isfinite(array).all())


def describe(node: Node) -> str:
    """`%fc1 = dense(%flatten, %fc1.weight, %fc1.bias) : f32[64,120]` (no attributes)."""
    args = ", ".join(f"%{v.name}" for v in node.operands)
    text = f"%{node.name} = {node.op}({args}) : {node.type}"
    return text + (f" (gradient of %{node.grad_of})" if node.grad_of else "")


def first_nonfinite(graph: Graph, feeds: dict[str, np.ndarray]) -> str:
    """Where the first NaN/Inf of one call of `graph` on `feeds` comes from, as a phrase."""
    for v in graph.inputs:
        if not _finite(np.asarray(feeds[v.name])):
            return f"{v.role} %{v.name} was already not finite before the step"
    try:
        with np.errstate(all="ignore"):
            env = reference.run(graph, feeds, keep_all=True).values
    except NetcError as err:
        return f"the reference interpreter could not replay the step ({err})"
    for node in graph.nodes():
        if not _finite(np.asarray(env[node.name])):
            return f"first non-finite value from `{describe(node)}`"
    return ("the reference interpreter replays this step without NaN or Inf, so the compiled "
            "code disagrees with it (a bug in netc: please report it)")


class NumericsGuard:
    """Snapshots the network before each step and checks it after."""

    def __init__(self, net: Any) -> None:
        self.net = net
        self._saved = {name: np.empty_like(a) for name, a in self._tensors().items()}

    def _tensors(self) -> dict[str, np.ndarray]:
        return {**dict(self.net.params.items()), **dict(self.net.state.items())}

    def before_step(self) -> None:
        for name, array in self._tensors().items():
            np.copyto(self._saved[name], array)

    def after_step(self, loss: float, x: np.ndarray, labels: np.ndarray, where: str) -> None:
        bad = [n for n, a in self._tensors().items() if not _finite(a)]
        if math.isfinite(loss) and not bad:
            return
        graph: Graph = self.net.graphs.train
        feeds = dict(self._saved)
        feeds.update({v.name: x for v in graph.inputs_with_role("input")})
        feeds.update({v.name: labels for v in graph.inputs_with_role("label")})
        what = f"loss is {loss}" if not math.isfinite(loss) else (
            f"loss is finite but the update made '{bad[0]}' NaN or Inf")
        raise NumericsError(f"--check-numerics: {where}: {what}; "
                            f"{first_nonfinite(graph, feeds)}")
