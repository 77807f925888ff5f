"""netc explain on the seam of a sequence model: the mean over tokens that feeds the classifier.

Where it sits: beside compiler/explain/seam.py (the flatten seam of image models), called by
compiler/explain/__init__.py when the layer named is a mean over the token axis of [N, T, D]
(YAML `mean`, ONNX ReduceMean) or the dense layer right after one. A transformer encoder has no
flatten: its last per-token tensor x[n, t, d] becomes one vector per sample by averaging the
tokens, and dense(mean(x)) is a contraction over (t, d) exactly as dense(flatten(x)) is one over
(c, h, w), with the weight broadcast over the tokens and scaled by 1/T:

    y[n,k] = sum_{t,d} x[n,t,d] * W[k,d] / T + b[k]

As seam.py does, it runs a mean + dense of the model's sizes through the reference interpreter
(float64) and the JIT (float32) on random data and compares both with numpy's einsum of these
formulas; the IR lines come from the model's own gradient graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compiler.driver.pipelines import lower
from compiler.explain.seam import BATCH, Check, diff, tolerance
from compiler.passes import PassContext
from ir.errors import NetcError
from ir.graph import Graph, Node
from ir.printer import format_node
from ir.types import TensorType


@dataclass(frozen=True)
class MeanSite:
    """The mean over tokens and the dense layer that reads it, with the model's sizes."""

    mean: str
    dense: str
    source: str
    """The averaged value x[n, t, d] (e.g. %norm2)."""
    t: int
    d: int
    k: int
    weight: str
    bias: str
    dtype: str


@dataclass
class MeanExplanation:
    model: str
    source_file: str
    site: MeanSite
    ir: dict[str, list[str]]
    """Printed IR lines by role: forward (mean, dense), dm (the dense layer's dx), mean
    backward (the broadcast back over the tokens), dW, db."""
    checks: dict[str, list[Check]] = field(default_factory=dict)
    seed: int = 0

    @property
    def ok(self) -> bool:
        return all(c.ok for cs in self.checks.values() for c in cs)


def is_token_mean(node: Node) -> bool:
    """A mean of [N, T, D] over axis 1 without kept dimensions: [N, D]."""
    if node.op != "reduce_mean" or node.operands[0].type.rank != 3 or node.type.rank != 2:
        return False
    axes = [a % 3 for a in node.attrs.get("axes", [])]
    return axes == [1]


def mean_site(graph: Graph, node: Node) -> MeanSite | None:
    """The seam `node` names (the mean, or the dense layer reading it), None when it is not
    one; a one-line NetcError when the mean feeds no single dense layer."""
    if node.op == "dense" and node.operands[0].node and is_token_mean(node.operands[0].node):
        mean, dense = node.operands[0].node, node
    elif is_token_mean(node):
        readers = [u for u in graph.users(node.result) if u.op == "dense"]
        if len(readers) != 1:
            raise NetcError(f"mean '{node.name}' is read by {len(readers)} dense layers: "
                            "explain shows the mean that feeds one dense layer")
        mean, dense = node, readers[0]
    else:
        return None
    x = mean.operands[0]
    t, d = (int(s) for s in x.type.shape[1:])
    bias = dense.operands[2].name if len(dense.operands) > 2 else ""
    return MeanSite(mean.name, dense.name, x.name, t, d, int(dense.type.shape[1]),
                    dense.operands[1].name, bias, x.type.dtype)


def ir_lines(graph: Graph, site: MeanSite) -> dict[str, list[str]]:
    """The model's own IR of the seam: forward and the backward ops each forward op made."""
    kind = "grads" if graph.loss is not None else "forward"
    lowered = lower(graph, kind, PassContext(train=kind == "grads"))
    lines: dict[str, list[str]] = {"forward": [], "mean backward": [], "dense backward": []}
    for node in lowered.nodes():
        if node.name in (site.mean, site.dense):
            lines["forward"].append(format_node(node))
        elif node.grad_of == site.mean:
            lines["mean backward"].append(format_node(node))
        elif node.grad_of == site.dense:
            lines["dense backward"].append(format_node(node))
    return lines


def _harness(site: MeanSite, x_name: str) -> Graph:
    """mean + dense with the model's names and sizes, x a parameter (so its gradient is
    returned), an MSE loss against a random target supplying dy."""
    n, t = BATCH, site.dtype
    g = Graph(f"explain_{site.dense}")
    x = g.add_input(x_name, TensorType(t, (n, site.t, site.d)), "param")
    operands = [g.add_input(site.weight, TensorType(t, (site.k, site.d)), "param")]
    if site.bias:
        operands.append(g.add_input(site.bias, TensorType(t, (site.k,)), "param"))
    target = g.add_input(f"{x_name}.target", TensorType(t, (n, site.k)), "label")
    m = g.add_op("reduce_mean", [x], {"axes": [1], "keepdims": False}, site.mean)
    y = g.add_op("dense", [m, *operands], {}, site.dense)
    g.outputs = [y]
    g.loss = g.add_op("mse", [y, target], {}, f"{x_name}.loss")
    return g


class _Checker:
    def __init__(self, site: MeanSite, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.site = site
        self.x_name = "x" if site.source != "x" else "x.in"
        self.x = rng.standard_normal((BATCH, site.t, site.d))
        self.w = rng.standard_normal((site.k, site.d)) / np.sqrt(site.d)
        self.b = rng.standard_normal(site.k) * 0.1 if site.bias else np.zeros(site.k)
        self.target = rng.standard_normal((BATCH, site.k))
        self.checks: dict[str, list[Check]] = {}

    def feeds(self) -> dict[str, np.ndarray]:
        s = self.site
        feeds = {self.x_name: self.x, s.weight: self.w, f"{self.x_name}.target": self.target}
        if s.bias:
            feeds[s.bias] = self.b
        return feeds

    def add(self, section: str, backend: str, got: np.ndarray, want: np.ndarray,
            eps: float) -> None:
        self.checks.setdefault(section, []).append(
            Check(backend, diff(got, want), tolerance(want, eps)))

    def run(self) -> dict[str, list[Check]]:
        from runtime import reference

        s = self.site
        ctx = PassContext(batch=BATCH, train=True, options={"dtype": "f64"})
        values = reference.run(lower(_harness(s, self.x_name), "grads", ctx), self.feeds(),
                               keep_all=True).values
        backend = "reference interpreter, f64"
        # the mean by its definition, and its backward as the broadcast of dm / T
        self.add("mean", backend, values[s.mean], self.x.sum(axis=1) / s.t, 1e-12)
        dm = values[f"{s.mean}.grad"]
        self.add("mean backward", backend, values[f"{self.x_name}.grad"],
                 np.repeat(dm[:, None, :] / s.t, s.t, axis=1), 1e-12)
        want = self.contractions(values[f"{s.dense}.grad"])
        self.compare(backend, {"y": values[s.dense], "dx": values[f"{self.x_name}.grad"],
                               "dW": values[f"{s.weight}.grad"],
                               "db": values.get(f"{s.bias}.grad")}, want, 1e-9)
        self.compare("JIT, f32", self.jit(), want, 1e-4)
        return self.checks

    def contractions(self, dy: np.ndarray) -> dict[str, np.ndarray]:
        """The formulas, with the averaging as a weight A[k,t,d] = W[k,d] / T."""
        a = np.broadcast_to(self.w[:, None, :], (self.site.k, self.site.t, self.site.d))
        a = a / self.site.t
        return {"y": np.einsum("ntd,ktd->nk", self.x, a) + self.b,
                "dx": np.einsum("nk,ktd->ntd", dy, a),
                "dW": np.einsum("nk,ntd->kd", dy, self.x) / self.site.t,
                "db": np.einsum("nk->k", dy)}

    def compare(self, backend: str, got: dict[str, Any], want: dict[str, np.ndarray],
                eps: float) -> None:
        for key in ("y", "dx", "dW", "db"):
            if key == "db" and not self.site.bias:
                continue
            self.add("contraction" if key == "y" else key, backend, got[key], want[key], eps)

    def jit(self) -> dict[str, Any]:
        import compiler

        s = self.site
        net = compiler.compile(_harness(s, self.x_name), batch=BATCH, train=True)
        feeds = self.feeds()
        for name in net.params:
            net.params[name] = feeds[name].astype(np.float32)
        y = net.forward()
        _, grads = net.loss_and_grads(self.target.astype(np.float32))
        return {"y": y, "dx": grads[self.x_name], "dW": grads[s.weight],
                "db": grads.get(s.bias)}


def explain_mean(graph: Graph, site: MeanSite, seed: int = 0,
                 source_file: str = "") -> MeanExplanation:
    """Everything `netc explain` prints for a mean-over-tokens seam, each formula checked."""
    checks = _Checker(site, seed).run()
    return MeanExplanation(graph.name, source_file, site, ir_lines(graph, site), checks, seed)
