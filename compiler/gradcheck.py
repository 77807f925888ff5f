"""Finite-difference gradient checks in float64: the proof that autodiff is right.

Where it sits: used by the test suite and by `netc gradcheck MODEL`. The gradient graph (the
autodiff pipeline's output) and the loss are both evaluated by the reference interpreter in
float64; central differences perturb one element (or one random direction, for big tensors) at a
time. The error reported is ||analytic - numeric|| / max(||analytic||, ||numeric||, tiny).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from compiler.driver.pipelines import lower, run_passes
from compiler.passes import PassContext
from ir.errors import VerifyError
from ir.graph import Graph
from runtime import reference

EPS = 1e-6


@dataclass(frozen=True)
class Check:
    name: str
    error: float
    analytic_norm: float
    probes: int


def gradient_graph(graph: Graph, wrt: tuple[str, ...] = (), batch: int | None = None,
                   passes: tuple[str, ...] | None = None) -> Graph:
    """The forward graph (training forms applied) followed by its backward graph."""
    ctx = PassContext(batch=batch, train=True, wrt=wrt, update_running_stats=False)
    if passes is None:
        return lower(graph, "grads", ctx, verify_each=True)
    return run_passes(graph, passes, ctx, verify_each=True)


def loss_at(graph: Graph, feeds: Mapping[str, np.ndarray]) -> float:
    loss = reference.run(graph, feeds, dtype="f64").loss
    if loss is None:
        raise VerifyError(f"graph @{graph.name} has no loss to check gradients against")
    return float(loss)


def check_gradients(graph: Graph, feeds: Mapping[str, np.ndarray], wrt: tuple[str, ...] = (),
                    max_elements: int = 64, directions: int = 3, singles: int = 4, seed: int = 0,
                    passes: tuple[str, ...] | None = None) -> list[Check]:
    """Compares autodiff's gradients of `graph`'s loss with central differences.

    Tensors with at most `max_elements` elements are probed element by element; bigger ones
    along `directions` random unit directions (plus a few single elements). `passes` replaces
    the default gradient pipeline (e.g. to keep batchnorm in its inference form).
    """
    grad_graph = gradient_graph(graph, wrt, passes=passes)
    feeds = {k: (np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v))
             for k, v in feeds.items()}
    result = reference.run(grad_graph, feeds, dtype="f64")
    loss_graph = _loss_only(grad_graph)
    names = [v.name for v in grad_graph.params] + list(wrt)
    rng = np.random.default_rng(seed)
    checks = []
    for name, analytic in zip(names, result.outputs, strict=True):
        numeric, probed = _numeric(loss_graph, feeds, name, analytic, rng, max_elements,
                                   directions, singles)
        diff = np.linalg.norm(probed - numeric)
        scale = max(float(np.linalg.norm(probed)), float(np.linalg.norm(numeric)), 1e-30)
        checks.append(Check(name, float(diff / scale), float(np.linalg.norm(analytic)),
                            len(numeric)))
    return checks


def _loss_only(grad_graph: Graph) -> Graph:
    """The forward part alone: finite differences only need the loss."""
    graph = grad_graph.copy()
    graph.outputs = []
    return run_passes(graph, ("dce",), PassContext())


def _numeric(graph: Graph, feeds: dict[str, np.ndarray], name: str, analytic: np.ndarray,
             rng: np.random.Generator, max_elements: int, directions: int,
             singles: int) -> tuple[np.ndarray, np.ndarray]:
    """(numeric, analytic) directional derivatives along the probe directions."""
    base = feeds[name]
    probes: list[np.ndarray] = []
    if base.size <= max_elements:
        for i in range(base.size):
            e = np.zeros(base.size)
            e[i] = 1.0
            probes.append(e.reshape(base.shape))
    else:
        for _ in range(directions):
            d = rng.standard_normal(base.shape)
            probes.append(d / np.linalg.norm(d))
        for i in rng.choice(base.size, size=min(singles, base.size), replace=False):
            e = np.zeros(base.size)
            e[i] = 1.0
            probes.append(e.reshape(base.shape))
    numeric, projected = [], []
    for d in probes:
        plus = loss_at(graph, {**feeds, name: base + EPS * d})
        minus = loss_at(graph, {**feeds, name: base - EPS * d})
        numeric.append((plus - minus) / (2 * EPS))
        projected.append(float(np.sum(analytic * d)))
    return np.array(numeric), np.array(projected)
