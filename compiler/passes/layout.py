"""layout: gives activations a physical layout (NHWC or blocked NCHW<b>c) when asked, and keeps
flatten free by permuting the dense weight after it instead of the activation.

Pre: a simplified graph with its batch bound; ctx.options["layout"] in ir.layouts
ACTIVATION_LAYOUTS ("" = plain NCHW: the pass does nothing).
Post: every value's type carries its layout (printed `f32[64,16,5,5]@nhwc`):
- rank-4 activations (and their gradients) made by convolutions, pools and pointwise ops get
  the layout; graph inputs and results stay plain (the first convolution reads the user's NCHW
  image directly, so no conversion kernel is needed); for a blocked layout, a value whose
  channels do not fill whole blocks takes blocks half as wide where they fill those (24 or 40
  channels in nchw16c: nchw8c), else stays plain;
- a flatten of a laid-out value is still a view: its result is tagged `flat_<L>_<C>x<H>x<W>`
  (features in physical order), the dense weight that reads it `cols_<L>_<C>x<H>x<W>`
  (W'[k, phys(j)] = W[k, j]), and so are that weight's gradient and optimizer state; the
  gradient flowing back through the flatten is again a view.
If the graph's shape of flow does not allow this (a flatten read by something other than a
dense layer), the pass leaves everything plain and says why in the log.

    %pool2 = maxpool2d(%relu2) ... : f32[64,16,5,5]       ->  ... : f32[64,16,5,5]@nhwc
    %flatten = reshape(%pool2) {shape=[64,400]} view      ->  ... : f32[64,400]@flat_nhwc_16x5x5
    %fc1.weight: f32[120,400] param                       ->  f32[120,400]@cols_nhwc_16x5x5
"""

from __future__ import annotations

import logging

from compiler.passes import PassContext, register
from ir.errors import CompileError
from ir.graph import Graph, Node, Value
from ir.layouts import ACTIVATION_LAYOUTS, Flat, block_of
from ir.ops import OPS, POINTWISE, VIEW, ops_where

log = logging.getLogger("netc.layout")

AUTO_BLOCKED_SHARE = 0.5
"""layout="auto" blocks a network's activations when at least this share of its convolution
FLOPs can run as direct kernels in the blocked layout (see auto_layout)."""

PRODUCERS = ops_where(lambda op: op.layout is not None and op.layout.writes)
"""Ops whose kernels can write a laid-out 4-D result, as the op table declares (ir.ops.Layout;
pointwise ops and views follow their operands; a view: the gradient of a flatten, whose order
the checks below tie to the flatten's)."""
READERS = ops_where(lambda op: op.layout is not None and op.layout.reads)
"""Ops whose kernels can read a laid-out 4-D operand, as the op table declares."""


class _Sets:
    """Union-find over value names."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, a: str) -> str:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


class _Bail(Exception):
    """The graph cannot take the layout; everything stays plain."""


@register("layout")
def layout(graph: Graph, ctx: PassContext) -> Graph:
    chosen = ctx.options.get("layout") or ""
    if chosen not in ACTIVATION_LAYOUTS:
        raise CompileError(f"unknown layout '{chosen}' (expected one of "
                           f"{', '.join(repr(x) for x in ACTIVATION_LAYOUTS)})")
    if not chosen:
        return graph
    try:
        tags = _assign(graph, chosen)
    except _Bail as why:
        log.info("layout %s not applied to @%s: %s", chosen, graph.name, why)
        ctx.options["layout_applied"] = ""
        return graph
    for v in graph.values():
        if tags.get(v.name):
            graph.retype(v, v.type.with_layout(tags[v.name]))
    ctx.options["layout_applied"] = chosen
    return graph


def _components(graph: Graph) -> _Sets:
    """Values a pointwise op reads at the same index as it writes must share a layout."""
    sets = _Sets()
    for node in graph.nodes():
        sets.find(node.name)
        if node.op in POINTWISE:
            for v in node.operands:
                if v.type.shape == node.type.shape:
                    sets.union(node.name, v.name)
    return sets


def _assign(graph: Graph, chosen: str) -> dict[str, str]:
    sets = _components(graph)
    members: dict[str, list[Value]] = {}
    for v in graph.values():
        members.setdefault(sets.find(v.name), []).append(v)
    results = {v.name for v in graph.result_values()}
    tags: dict[str, str] = {}
    for group in members.values():
        for layout in (chosen, *_narrower(chosen)):
            if all(_activation(graph, v, layout, results) for v in group):
                for v in group:
                    tags[v.name] = layout
                break
    _flatten_chains(graph, sets, members, tags)
    return tags


def _activation(graph: Graph, v: Value, chosen: str, results: set[str]) -> bool:
    """A rank-4 float value computed and read only by kernels that handle layouts."""
    if v.type.rank != 4 or v.type.dtype not in ("f32", "f64") or v.role is not None:
        return False
    if v.name in results or v.node is None or v.node.op not in PRODUCERS:
        return False
    b = block_of(chosen)
    if b and (int(v.type.shape[1]) % b or _grouped_conv(v.node)
              or any(_grouped_conv(u) for u in graph.users(v))):
        return False  # blocks must hold whole channels of one group
    return all(u.op in READERS and _reads_ok(u, v) for u in graph.users(v))


def _narrower(chosen: str) -> tuple[str, ...]:
    """The layout a value whose channels do not fill `chosen`'s blocks takes instead: blocks
    half as wide, when that layout exists (nchw16c -> nchw8c: EfficientNet's 24- and
    40-channel values then run as direct kernels, not as plain GEMMs between blocked ones)."""
    b = block_of(chosen)
    half = f"nchw{b // 2}c"
    return (half,) if b and half in ACTIVATION_LAYOUTS else ()


def _grouped_conv(node: Node) -> bool:
    """A convolution whose groups cut channel blocks: every grouped one but the depthwise
    (one channel per group, in and out), whose kernel reads whole blocks of channels."""
    if not node.op.startswith("conv2d") or node.attrs.get("groups", 1) == 1:
        return False
    names = [o.strip("?*") for o in OPS[node.op].operands]
    activations: list[Value | Node] = [
        v for v, name in zip(node.operands, names, strict=False) if name not in ("weight", "bias")]
    if "weight" in names:  # forward and input gradient: the result is an activation too
        activations.append(node)  # (the weight gradient's result is the weight)
    return {int(v.type.shape[1]) for v in activations} != {node.attrs["groups"]}


def _reads_ok(user: Node, v: Value) -> bool:
    if user.op == "reduce_sum":  # the bias gradient of a convolution
        return sorted(a % 4 for a in user.attrs["axes"]) == [0, 2, 3]
    if user.op in VIEW:
        return user.type.rank == 2  # a flatten; what reads it is checked by _flatten_chains
    return True


def _flatten_chains(graph: Graph, sets: _Sets, members: dict[str, list[Value]],
                    tags: dict[str, str]) -> None:
    """Tags flat views, the dense weights that read them, and everything tied to those."""
    flat_tags: dict[str, str] = {}  # component root -> tag

    def tag(v: Value, value: str) -> None:
        root = sets.find(v.name)
        if flat_tags.setdefault(root, value) != value:
            raise _Bail(f"%{v.name} would need two different feature orders")

    for node in graph.nodes():
        if node.op in VIEW:
            _tag_flatten(node, tags, tag)
    for _ in range(4):  # dense / matmul hand the order on: x -> W, dy x W -> dx, dy^T x -> dW
        for node in graph.nodes():
            _propagate(node, flat_tags, sets, tag)
    for root, value in flat_tags.items():
        for v in members.get(root, []):
            tags[v.name] = value
    _check_flat_readers(graph, tags)


def _tag_flatten(node: Node, tags: dict[str, str], tag) -> None:
    """A reshape between a laid-out 4-D value and a 2-D one keeps the physical order."""
    src, dst = node.operands[0], node.result
    four, two = (src, dst) if src.type.rank == 4 else (dst, src)
    if four.type.rank != 4 or two.type.rank != 2:
        if tags.get(src.name) or tags.get(dst.name):
            raise _Bail(f"reshape %{node.name} of a laid-out value is not a flatten")
        return
    layout = tags.get(four.name, "")
    if layout:
        c, h, w = (int(d) for d in four.type.shape[1:])
        tag(two, Flat(layout, c, h, w).tag("flat"))


def _propagate(node: Node, flat_tags: dict[str, str], sets: _Sets, tag) -> None:
    def get(v: Value) -> str:
        return flat_tags.get(sets.find(v.name), "")

    if node.op == "dense":
        x, w = node.operands[0], node.operands[1]
        if get(x):
            tag(w, get(x).replace("flat_", "cols_", 1))
        elif get(w):
            tag(x, get(w).replace("cols_", "flat_", 1))
    elif node.op == "matmul":
        a, b = node.operands
        ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
        if ta and not tb and get(b).startswith("flat_"):  # dW = dy^T x
            tag(node.result, get(b).replace("flat_", "cols_", 1))
        if not ta and not tb and get(b).startswith("cols_"):  # dx = dy W
            tag(node.result, get(b).replace("cols_", "flat_", 1))


def _permuted_matmul(node: Node, i: int, tag: str) -> bool:
    """The two matmuls of a dense layer's backward: dW = dy^T x and dx = dy W."""
    ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
    if i != 1 or tb:
        return False
    return (ta and tag.startswith("flat_")) or (not ta and tag.startswith("cols_"))


def _check_flat_readers(graph: Graph, tags: dict[str, str]) -> None:
    """A permuted feature order may only be read by the ops that were permuted with it."""
    for node in graph.nodes():
        for i, v in enumerate(node.operands):
            t = tags.get(v.name, "")
            if not t.startswith(("flat_", "cols_")):
                continue
            ok = (node.op in POINTWISE and tags.get(node.name) == t
                  or node.op in VIEW
                  or node.op == "dense" and i in (0, 1)
                  or node.op == "matmul" and _permuted_matmul(node, i, t))
            if not ok:
                raise _Bail(f"{node.op} %{node.name} reads %{v.name} in permuted order")
        if node.op in VIEW:
            src = node.operands[0]
            a, b = tags.get(src.name, ""), tags.get(node.name, "")
            four = src if src.type.rank == 4 else node.result
            two = node.result if four is src else src
            want = ""
            if tags.get(four.name):
                c, h, w = (int(d) for d in four.type.shape[1:])
                want = Flat(tags[four.name], c, h, w).tag("flat")
            if tags.get(two.name, "") != want and (a or b):
                raise _Bail(f"the flatten %{node.name} and its gradient disagree on the order")


def auto_layout(graph: Graph, lanes: int, train: bool) -> str:
    """What layout="auto" means for `graph` when vectors hold `lanes` elements of its dtype.

    Inference: nchw<lanes>c when convolutions whose output channels fill whole blocks (direct
    kernels vectorized over output channels, compiler/codegen/emitters/conv_direct.py, and the
    depthwise channel schedule) carry at least AUTO_BLOCKED_SHARE of the convolution FLOPs,
    else plain NCHW. Measured (bench rows, interleaved with ONNX Runtime): the blocked kernels
    beat the NCHW im2col GEMMs on every such layer of resnet18, mobilenet_v2, efficientnet_b0
    and the CIFAR-style network. Training keeps plain NCHW: its backward kernels are the
    im2col GEMMs of conv.py, fastest in NCHW.
    """
    layout = f"nchw{lanes}c"
    if train or layout not in ACTIVATION_LAYOUTS:
        return ""
    total = blocked = 0
    for node in graph.nodes():
        if node.op != "conv2d" or node.type.rank != 4:
            continue
        cout, cg, kh, kw = (int(d) for d in node.operands[1].type.shape)
        ho, wo = (int(d) for d in node.type.shape[2:])
        flops = cout * cg * kh * kw * ho * wo
        total += flops
        if cout % lanes == 0 and (node.attrs.get("groups", 1) in (1, cout)):
            blocked += flops
    return layout if total and blocked >= AUTO_BLOCKED_SHARE * total else ""
