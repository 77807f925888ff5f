"""fuse: groups ops into kernels, each one loop nest in the generated code.

Pre: a simplified graph with its batch bound (after canonicalize/autodiff/optimizer/simplify).
Post: `graph.kernels` lists the kernels in execution order; every non-view node is in exactly
one. A kernel is an anchor op plus an epilogue: elementwise ops (and optimizer updates) of the
anchor's output shape that read what the kernel computes, applied to each element before it is
stored. So bias, activation and residual add ride on a conv/dense; an activation's gradient
rides on the contraction (or pooling gradient) that produced its dy; a parameter's update rides
on the contraction that produced its gradient (the gradient is then never stored); elementwise
chains become one loop. Views (reshape, flatten) never become kernels, and scalar-filled constants
are immediates in the code that reads them. A value is stored only if something outside its
kernel reads it.

    %conv1 = conv2d(%image, %conv1.weight, %conv1.bias) ...
    %relu1 = relu(%conv1) ...
 -> kernel @k1_conv1 contraction stores(%relu1) {
      %conv1 = conv2d(%image, %conv1.weight, %conv1.bias) ...
      %relu1 = relu(%conv1) ...
    }
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph, Node, Value
from ir.ops import EPILOGUE, OPS, POINTWISE, VIEW
from ir.schedule import KernelGroup


@register("fuse")
def fuse(graph: Graph, ctx: PassContext) -> Graph:
    order = graph.nodes()
    position = {n.name: i for i, n in enumerate(order)}
    groups: list[KernelGroup] = []
    owner: dict[str, KernelGroup] = {}
    results = {v.name for v in graph.result_values()}
    for node in order:
        if node.op in VIEW or (node.op == "const" and node.name not in results):
            continue  # views share bytes; constants are folded into the code that reads them
        target = _epilogue_target(graph, node, owner, position) if node.op in EPILOGUE \
            else None
        if target is None:
            target = KernelGroup(f"k{len(groups) + 1}_{_short(node.name)}",
                                 OPS[node.op].kind.value, [])
            groups.append(target)
        target.nodes.append(node.name)
        owner[node.name] = target
    for group in groups:
        group.stores = _stores(graph, group, owner)
    graph.kernels = groups
    return graph


def _short(name: str) -> str:
    return name.replace(".", "_")


def _source(value: Value) -> Value:
    """Looks through views: the value whose bytes `value` shares."""
    while value.node is not None and value.node.op in VIEW:
        value = value.node.operands[0]
    return value


def _epilogue_target(graph: Graph, node: Node, owner: dict[str, KernelGroup],
                     position: dict[str, int]) -> KernelGroup | None:
    """The kernel `node` can join as an epilogue, or None (it then starts its own)."""
    producers = [owner[v.name] for v in node.operands if v.node is not None and v.name in owner]
    if not producers:
        return None
    group = max(producers, key=lambda g: position[g.anchor])
    anchor = graph.value(group.anchor)
    if node.type.shape != anchor.type.shape or node.type.dtype != anchor.type.dtype:
        return None
    members = set(group.nodes)
    for v in node.operands:
        if v.name in members:
            continue
        src = _source(v)
        if src.node is not None and position[src.node.name] >= position[group.anchor]:
            return None  # computed after the kernel starts: cannot be read inside it
        if v.node is not None and v.node.op in VIEW and v.type.shape != node.type.shape:
            return None  # a reshaped operand would need its own index arithmetic
    return group


def _stores(graph: Graph, group: KernelGroup, owner: dict[str, KernelGroup]) -> list[str]:
    results = {v.name for v in graph.result_values()}
    anchor = graph.value(group.anchor).node
    # A non-pointwise anchor (a contraction, a window...) writes its raw result with its own
    # loops; the epilogue then reads it back, element by element, while it is still in cache.
    raw = len(group.nodes) > 1 and anchor is not None and anchor.op not in POINTWISE
    stored = []
    for name in group.nodes:
        value = graph.value(name)
        outside = name in results or any(owner.get(u.name) is not group
                                         for u in graph.users(value))
        if outside or (raw and name == group.anchor):
            stored.append(name)
    return stored


