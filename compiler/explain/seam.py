"""netc explain: what flatten does, how backprop goes through it, and why dense(flatten(x)) is a
tensor contraction, for one model's real shapes, every formula checked against netc itself.

Where it sits: a reader of the compiler, like the layer table. It finds the flatten and the dense
layer after it in a loaded graph, lowers the model through the pipelines to learn the layout the
layout pass applies and the IR autodiff writes, then runs a flatten + dense of the same shapes
through the reference interpreter (float64) and the JIT (float32, in that layout) on random data
and compares what netc computes with the index formulas and numpy's einsum of the contraction.
`netc explain` (compiler/commands/explain.py) prints the result; compiler/explain/report.py
renders it as text or JSON.

The map (DESIGN.md, "Flatten, the heart of it"): j = c*H*W + h*W + w for x[n, c, h, w]; its
inverse c = j // (H*W), h = (j // W) % H, w = j % W; y[n,k] = sum_{c,h,w} x[n,c,h,w] W[k,c,h,w].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compiler.driver.network import DEFAULT_LAYOUT
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from ir.errors import NetcError
from ir.graph import Graph, Node
from ir.layouts import (
    LAYOUT_CHOICES,
    Flat,
    block_of,
    element_offset,
    weight_to_physical,
)
from ir.printer import format_node
from ir.suggest import did_you_mean
from ir.types import TensorType

BATCH = 2
"""The batch of the numerical checks (the contraction over n needs more than one sample)."""


@dataclass(frozen=True)
class Site:
    """The flatten and the dense layer that reads it, with the model's real sizes."""

    flatten: str
    dense: str
    source: str
    """The flattened value x (e.g. %pool2)."""
    c: int
    h: int
    w: int
    k: int
    weight: str
    """The dense layer's weight (e.g. fc1.weight)."""
    bias: str
    """Its bias ("" when it has none)."""
    dtype: str

    @property
    def features(self) -> int:
        return self.c * self.h * self.w


@dataclass(frozen=True)
class Layout:
    """The physical layout of x and what it does to the dense weight."""

    requested: str
    """What the user asked for ("auto" by default)."""
    chosen: str
    """What that means: DEFAULT_LAYOUT for "auto" ("" = plain NCHW)."""
    applied: str
    """What the layout pass did to this model ("" when it kept everything plain)."""
    weight_tag: str
    """The dense weight's physical order (`cols_<layout>_CxHxW`; "" = as given)."""


@dataclass(frozen=True)
class Check:
    """One formula compared with one of netc's computations on random data."""

    backend: str
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(self.max_abs_diff <= self.tolerance)


@dataclass
class Explanation:
    model: str
    source_file: str
    site: Site
    layout: Layout
    ir: dict[str, str]
    """Printed IR lines by role: flatten, dense, flatten.grad (dx), weight.grad, bias.grad,
    source.grad (the view back), from the model's own gradient graph."""
    checks: dict[str, list[Check]] = field(default_factory=dict)
    """Section -> checks: index, inverse, permutation, contraction, dx, dW, db."""
    seed: int = 0

    @property
    def ok(self) -> bool:
        return all(c.ok for cs in self.checks.values() for c in cs)


# ---------------------------------------------------------------- the site


def find_site(graph: Graph, layer: str) -> Site:
    """The flatten/dense pair `layer` names (either of the two), or a one-line NetcError."""
    nodes = {n.name: n for n in graph.nodes()}
    node = nodes.get(layer)
    if node is None:
        raise NetcError(f"model '{graph.name}' has no layer '{layer}'"
                        f"{did_you_mean(layer, nodes)}")
    if _is_flatten(node):
        flatten, dense = node, _dense_reader(graph, node)
    elif node.op == "dense" and node.operands[0].node and _is_flatten(node.operands[0].node):
        flatten, dense = node.operands[0].node, node
    else:
        what = f"a {node.op}"
        if node.op == "dense":
            x = node.operands[0]
            what = f"a dense layer whose input %{x.name} is {_made_by(x.node)}, not a flatten"
        raise NetcError(f"layer '{layer}' is {what}: explain takes a flatten or the dense "
                        f"layer right after one{_pairs_hint(graph)}")
    x = flatten.operands[0]
    if flatten.op == "flatten" and flatten.attrs.get("axis", 1) % max(x.type.rank, 1) != 1:
        raise NetcError(f"flatten '{flatten.name}' flattens at axis {flatten.attrs['axis']}: "
                        "explain shows the flatten of [N, C, H, W] to [N, C*H*W] (axis 1)")
    if x.type.rank != 4:
        raise NetcError(f"flatten '{flatten.name}' flattens {x.type}: explain shows the flatten "
                        "of an [N, C, H, W] image")
    c, h, w = (int(d) for d in x.type.shape[1:])
    k = int(dense.type.shape[1])
    bias = dense.operands[2].name if len(dense.operands) > 2 else ""
    return Site(flatten.name, dense.name, x.name, c, h, w, k, dense.operands[1].name, bias,
                x.type.dtype)


def _is_flatten(node: Node) -> bool:
    """The flatten layer, or a reshape of [N, C, H, W] to [N, C*H*W] (the same map)."""
    if node.op == "flatten":
        return True
    if node.op != "reshape" or node.operands[0].type.rank != 4 or node.type.rank != 2:
        return False
    return bool(node.type.shape[0] == node.operands[0].type.shape[0])


def _made_by(node: Node | None) -> str:
    return "a graph input" if node is None else f"made by {node.op}"


def _dense_reader(graph: Graph, flatten: Node) -> Node:
    readers = [u for u in graph.users(flatten.result)
               if u.op == "dense" and u.operands[0] is flatten.result]
    if len(readers) == 1:
        return readers[0]
    if not readers:
        raise NetcError(f"flatten '{flatten.name}' is not read by a dense layer, so there is no "
                        "contraction to explain")
    names = ", ".join(f"'{r.name}'" for r in readers)
    raise NetcError(f"flatten '{flatten.name}' feeds several dense layers ({names}): "
                    "name the one to explain")


def _pairs_hint(graph: Graph) -> str:
    pairs = []
    for node in graph.nodes():
        if _is_flatten(node) and node.operands[0].type.rank == 4:
            readers = [u.name for u in graph.users(node.result) if u.op == "dense"]
            pairs.append(" or ".join(f"'{n}'" for n in [node.name, *readers]))
        elif node.op == "reduce_mean" and node.operands[0].type.rank == 3:
            pairs.append(f"'{node.name}' (a mean over tokens)")
    if not pairs:
        return " (this model flattens no [N, C, H, W] value and averages no [N, T, D] one)"
    return f" (here: {'; '.join(pairs)})"


# ---------------------------------------------------------------- layout and IR


def resolve_layout(requested: str) -> str:
    if requested not in LAYOUT_CHOICES and requested != "":
        raise NetcError(f"unknown layout '{requested}' (expected one of "
                        f"{', '.join(LAYOUT_CHOICES)})")
    if requested == "auto":
        return DEFAULT_LAYOUT
    return "" if requested == "nchw" else requested


def layout_of(graph: Graph, site: Site, requested: str) -> Layout:
    """Runs the model's pipeline at the check batch with the layout, as compile() does."""
    chosen = resolve_layout(requested)
    kind = "grads" if graph.loss is not None else "forward"
    ctx = PassContext(batch=BATCH, train=kind == "grads", options={"layout": chosen})
    reported: dict[str, str] = {}
    lowered = lower(graph, kind, ctx, reported=reported)
    applied = reported.get("layout_applied", "") if chosen else ""
    return Layout(requested, chosen, applied, lowered.value(site.weight).type.layout)


def ir_lines(graph: Graph, site: Site) -> dict[str, str]:
    """The printed lines of the flatten, the dense layer and their gradients (symbolic batch)."""
    kind = "grads" if graph.loss is not None else "forward"
    lowered = lower(graph, kind, PassContext(train=kind == "grads"))
    wanted = {"flatten": site.flatten, "dense": site.dense, "dx": f"{site.flatten}.grad",
              "dW": f"{site.weight}.grad", "db": f"{site.bias}.grad",
              "view back": f"{site.source}.grad"}
    lines = {}
    for role, name in wanted.items():
        if lowered.has_value(name) and (node := lowered.value(name).node) is not None:
            lines[role] = format_node(node)
    return lines


# ---------------------------------------------------------------- index maps


def short_name(layout: str) -> str:
    """NCHW, NHWC, NCHW8c, NCHW16c."""
    return "NCHW" if not layout else "NHWC" if layout == "nhwc" else f"NCHW{layout[4:]}"


def flat_index(c: int, h: int, w: int, site: Site) -> int:
    """j = c*H*W + h*W + w."""
    return c * site.h * site.w + h * site.w + w


def unflatten(j: int, site: Site) -> tuple[int, int, int]:
    """The inverse map backprop uses: c = j // (H*W), h = (j // W) % H, w = j % W."""
    return j // (site.h * site.w), (j // site.w) % site.h, j % site.w


def physical_position(layout: str, c: int, h: int, w: int, site: Site) -> int:
    """Where feature (c, h, w) of one sample sits in memory in `layout` (ir/layouts.py)."""
    return element_offset(layout, (1, site.c, site.h, site.w), (0, c, h, w))


def position_formula(layout: str, site: Site) -> tuple[str, str]:
    """The position formula of `layout`, in letters and with this model's sizes."""
    hw, w, c = site.h * site.w, site.w, site.c
    if not layout:
        return "p = c*H*W + h*W + w = j", f"p = c*{hw} + h*{w} + w"
    if layout == "nhwc":
        return "p = (h*W + w)*C + c", f"p = (h*{w} + w)*{c} + c"
    b = block_of(layout)
    return (f"p = ((c // {b})*H*W + h*W + w)*{b} + c % {b}",
            f"p = ((c // {b})*{hw} + h*{w} + w)*{b} + c % {b}")


def example_indices(site: Site) -> list[tuple[int, int, int]]:
    """A few (c, h, w): a step along each axis, (1, 2, 3) when it exists, and the last one."""
    wanted = [(0, 0, 1), (0, 1, 0), (1, 0, 0), (1, 2, 3), (site.c - 1, site.h - 1, site.w - 1)]
    out: list[tuple[int, int, int]] = []
    for c, h, w in wanted:
        if c < site.c and h < site.h and w < site.w and (c, h, w) not in out:
            out.append((c, h, w))
    return out


def inverse_examples(site: Site) -> list[int]:
    """Flat indices to decode: that of (1, 2, 3) when it exists, one from the middle, the last."""
    js = {site.features // 3 * 2 + 1, site.features - 1}
    if site.c > 1 and site.h > 2 and site.w > 3:
        js.add(flat_index(1, 2, 3, site))
    return sorted(j for j in js if j < site.features)


# ---------------------------------------------------------------- numerical checks


def _harness(site: Site, x_name: str) -> Graph:
    """flatten + dense with the model's names and sizes, differentiable in x.

    x is a parameter (so loss_and_grads returns dx) read through a 1x1 max-pool, an identity
    that makes the flattened value an activation the layout pass lays out as in the model; an
    MSE loss against a random target supplies dy.
    """
    n, f, t = BATCH, site.features, site.dtype
    g = Graph(f"explain_{site.dense}")
    x = g.add_input(x_name, TensorType(t, (n, site.c, site.h, site.w)), "param")
    weight = g.add_input(site.weight, TensorType(t, (site.k, f)), "param")
    operands = [weight]
    if site.bias:
        operands.append(g.add_input(site.bias, TensorType(t, (site.k,)), "param"))
    target = g.add_input(f"{x_name}.target", TensorType(t, (n, site.k)), "label")
    act = g.add_op("maxpool2d", [x], {"kernel": [1, 1], "stride": [1, 1]}, site.source)
    flat = g.add_op("flatten", [act], {"axis": 1}, site.flatten)
    y = g.add_op("dense", [flat, *operands], {}, site.dense)
    g.outputs = [y]
    g.loss = g.add_op("mse", [y, target], {}, f"{x_name}.loss")
    return g


def _random_data(site: Site, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = {"x": rng.standard_normal((BATCH, site.c, site.h, site.w)),
            "W": rng.standard_normal((site.k, site.features)) / np.sqrt(site.features),
            "target": rng.standard_normal((BATCH, site.k))}
    data["b"] = rng.standard_normal(site.k) * 0.1 if site.bias else np.zeros(site.k)
    return data


def diff(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(got, dtype=np.float64) - want), initial=0.0))


def tolerance(want: np.ndarray, eps: float) -> float:
    return eps * (1.0 + float(np.max(np.abs(want), initial=0.0)))


class _Checker:
    """Runs netc on the harness and compares with the formulas, section by section."""

    def __init__(self, site: Site, layout: Layout, seed: int) -> None:
        self.site, self.layout = site, layout
        self.x_name = "x" if site.source != "x" else "x.in"
        self.data = _random_data(site, seed)
        s = site
        # The formula's own index arrays, never numpy's reshape: J[c,h,w] = c*H*W + h*W + w.
        cc, hh, ww = np.indices((s.c, s.h, s.w))
        self.j = cc * s.h * s.w + hh * s.w + ww
        self.w4 = self.data["W"][:, self.j]  # W seen as [K, C, H, W]
        self.checks: dict[str, list[Check]] = {}
        self.jit_tag = ""

    def add(self, section: str, backend: str, got: np.ndarray, want: np.ndarray,
            eps: float) -> None:
        check = Check(backend, diff(got, want), tolerance(want, eps))
        self.checks.setdefault(section, []).append(check)

    def run(self) -> dict[str, list[Check]]:
        ref = self._reference()
        self._index_maps(ref)
        dy = ref[f"{self.site.dense}.grad"]
        expected = self._contractions(dy)
        self._compare("reference interpreter, f64", ref, expected, 1e-9)
        self._compare(self._jit_label(), self._jit(), expected, 1e-4)
        self._permutation()
        return self.checks

    def _feeds(self) -> dict[str, np.ndarray]:
        d, s = self.data, self.site
        feeds = {self.x_name: d["x"], s.weight: d["W"], f"{self.x_name}.target": d["target"]}
        if s.bias:
            feeds[s.bias] = d["b"]
        return feeds

    def _reference(self) -> dict[str, np.ndarray]:
        from runtime import reference

        ctx = PassContext(batch=BATCH, train=True, options={"dtype": "f64"})
        graph = lower(_harness(self.site, self.x_name), "grads", ctx)
        values = reference.run(graph, self._feeds(), keep_all=True).values
        ref = {**values, "dx": values[f"{self.x_name}.grad"], "y": values[self.site.dense],
               "dW": values[f"{self.site.weight}.grad"]}
        if self.site.bias:  # only then does _compare read it
            ref["db"] = values[f"{self.site.bias}.grad"]
        return ref

    def _index_maps(self, ref: dict[str, np.ndarray]) -> None:
        """netc's flatten against j = c*H*W + h*W + w; its gradient against the inverse map."""
        s, x = self.site, self.data["x"]
        flat = np.zeros((BATCH, s.features))
        flat[:, self.j] = x  # flat[n, c*H*W + h*W + w] = x[n, c, h, w]
        self.add("index", "reference interpreter, f64", ref[s.flatten], flat, 0.0)
        dflat = ref[f"{s.flatten}.grad"]
        js = np.arange(s.features)
        c, h, w = js // (s.h * s.w), (js // s.w) % s.h, js % s.w  # the inverse map
        dx = np.zeros((BATCH, s.c, s.h, s.w))
        dx[:, c, h, w] = dflat
        self.add("inverse", "reference interpreter, f64", ref[f"{s.source}.grad"], dx, 0.0)

    def _contractions(self, dy: np.ndarray) -> dict[str, np.ndarray]:
        x, w4 = self.data["x"], self.w4
        return {"y": np.einsum("nchw,kchw->nk", x, w4) + self.data["b"],
                "dx": np.einsum("nk,kchw->nchw", dy, w4),
                "dW": np.einsum("nk,nchw->kchw", dy, x),
                "db": np.einsum("nk->k", dy)}

    def _compare(self, backend: str, got: dict[str, np.ndarray],
                 expected: dict[str, np.ndarray], eps: float) -> None:
        self.add("contraction", backend, got["y"], expected["y"], eps)
        self.add("dx", backend, got["dx"], expected["dx"], eps)
        self.add("dW", backend, got["dW"][:, self.j], expected["dW"], eps)
        if self.site.bias:
            self.add("db", backend, got["db"], expected["db"], eps)

    def _permutation(self) -> None:
        """W'[k, phys(j)] = W[k, j] with phys from the position formula: against the order the
        JIT network stores the weight in (what its net.params writes) and against the layout
        pass's map (ir.layouts.Flat)."""
        s, layout = self.site, self.layout.applied
        pos = np.vectorize(lambda c, h, w: physical_position(layout, c, h, w, s))(
            *np.indices((s.c, s.h, s.w)))
        stored = weight_to_physical(self.data["W"], self.jit_tag)
        order = f"@{self.jit_tag}" if self.jit_tag else "as given"
        self.add("permutation", f"{s.weight} as the JIT stores it, {order}",
                 stored[:, pos], self.w4, 0.0)
        phys = Flat(layout, s.c, s.h, s.w).physical_index()
        self.add("permutation", "the layout pass's map, ir/layouts.Flat", phys[self.j], pos, 0.0)

    def _jit_label(self) -> str:
        return f"JIT, f32, {short_name(self.layout.applied)}"

    def _jit(self) -> dict[str, np.ndarray]:
        import compiler

        s = self.site
        net = compiler.compile(_harness(s, self.x_name), batch=BATCH, train=True,
                               layout=self.layout.applied)
        feeds = self._feeds()
        for name in net.params:
            net.params[name] = feeds[name].astype(np.float32)
        target = feeds[f"{self.x_name}.target"].astype(np.float32)
        self.jit_tag = net.params.layout(s.weight)
        y = net.forward()
        _, grads = net.loss_and_grads(target)
        got = {"y": y, "dx": grads[self.x_name], "dW": grads[s.weight]}
        if s.bias:  # only then does _compare read it
            got["db"] = grads[s.bias]
        return got


def explain_flatten(graph: Graph, layer: str, layout: str = "auto", seed: int = 0,
            source_file: str = "") -> Explanation:
    """Everything `netc explain` prints, each formula checked numerically."""
    site = find_site(graph, layer)
    facts = layout_of(graph, site, layout)
    checks = _Checker(site, facts, seed).run()
    return Explanation(graph.name, source_file, site, facts, ir_lines(graph, site), checks, seed)
