"""scale-into-weight: a per-channel scale in front of a 1x1 convolution scales the convolution's
weight instead of the activation, at batch 1 (squeeze-and-excitation blocks: EfficientNet's
`x * sigmoid(se(x))` before its projection).

Why: the scale was a kernel of its own, a full sweep over the activation (read and write, a
parallel region) between two convolutions that could not fuse it: its producer ran before the
scale existed, and an epilogue cannot reach its consumer's input. Scaling the weight instead,
W'[o, c] = W[o, c] * s[c], touches Cout x Cin numbers where the sweep touched C x H x W, and
conv(x * s, W) = conv(x, W'), exactly in real arithmetic (the float products round in another
order: equal to the reference within the usual tolerance, not bit for bit).

Pre: a forward graph with its batch bound, before the layout pass; ctx.options
["fold_batch_norm"] set (the JIT's inference; the reference interpreter runs the graph as
written, and so stays the oracle of this rewrite).
Post: every conv2d with a 1x1 kernel, stride 1, no padding, no dilation and one group, whose
input is a `mul` of a [1, C, H, W] activation by a [1, C, 1, 1] scale that nothing else reads,
and with at most H x W / WEIGHT_SHARE output channels (else the weight's sweep, and packing it
on every call, cost more than the activation's sweep), reads the activation and a new `mul` of
its weight by the scale:
    %m = mul(%s, %y) : f32[1,32,112,112]
    %c = conv2d(%m, %w, %b) {stride=[1,1], pad=[0,0,0,0], ...} : f32[1,16,112,112]
 -> %c.scaled_weight = mul(%w, %s) : f32[16,32,1,1]
    %c = conv2d(%y, %c.scaled_weight, %b) {...} : f32[1,16,112,112]
The convolution keeps its name and its meta (a folded batchnorm's FOLD_META: the folded
weight is then the scaled mul's operand, still computed by the runtime).
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph, Node, Value

WEIGHT_SHARE = 16
"""Measured on EfficientNet-B0 at batch 1 (interleaved per-kernel medians): the rewrite saved
0.07-0.15 ms per block at 112x112 and 56x56 (weight 1/780 to 1/130 of the activation), was
even at 28x28 (1/20), and lost 0.03-0.04 ms per block at 14x14 (1/2.5)."""


@register("scale-into-weight")
def scale_into_weight(graph: Graph, ctx: PassContext) -> Graph:
    if not ctx.options.get("fold_batch_norm"):
        return graph
    found = [(conv, pair) for conv in graph.nodes() if (pair := _scaled_input(graph, conv))]
    for conv, (activation, scale) in found:  # each match owns its conv and its mul
        _rewrite(graph, conv, activation, scale)
    return graph


def _pointwise_1x1(node: Node) -> bool:
    """A conv2d that is a plain matrix product over channels, pixel by pixel."""
    if node.op != "conv2d":
        return False
    attrs = node.attrs
    return (int(attrs["groups"]) == 1 and list(attrs["stride"]) == [1, 1]
            and list(attrs["dilation"]) == [1, 1] and not any(attrs["pad"])
            and list(node.operands[1].type.shape[2:]) == [1, 1])


def _scaled_input(graph: Graph, conv: Node) -> tuple[Value, Value] | None:
    """(activation, scale) when `conv` reads `mul(activation, scale)` as this pass rewrites,
    else None."""
    if not _pointwise_1x1(conv):
        return None
    scaled = conv.operands[0]
    mul = scaled.node
    if mul is None or mul.op != "mul" or graph.is_output(scaled) or len(graph.users(scaled)) != 1:
        return None
    first, second = mul.operands
    for y, s in ((first, second), (second, first)):
        if y is not s and y.type == scaled.type and _scales_channels(conv, y, s):
            return y, s
    return None


def _scales_channels(conv: Node, y: Value, s: Value) -> bool:
    """`s` is one number per channel of the single image `y`, and scaling `conv`'s weight
    by it is the smaller sweep: Cout x C where the scale swept C x H x W, with the weight then
    packed on every call, so it must be at most 1/WEIGHT_SHARE of the activation."""
    shape, channels = y.type.shape, s.type.shape
    if len(shape) != 4 or not all(isinstance(d, int) for d in shape) or shape[0] != 1:
        return False
    if list(channels) != [1, shape[1], 1, 1] or s.type.dtype != y.type.dtype:
        return False
    outputs = conv.operands[1].type.shape[0]
    return isinstance(outputs, int) and outputs * WEIGHT_SHARE <= int(shape[2]) * int(shape[3])


def _rewrite(graph: Graph, conv: Node, activation: Value, scale: Value) -> None:
    mul = conv.operands[0].node
    assert mul is not None  # _scaled_input checked it
    weight = graph.add_op("mul", [conv.operands[1], scale],
                          name=graph.fresh_name(f"{conv.name}.scaled_weight"), loc=conv.loc)
    name, meta = conv.name, dict(conv.meta)
    graph.substitute(conv, "conv2d", [activation, weight, *conv.operands[2:]], dict(conv.attrs))
    graph.node(name).meta.update(meta)
    graph.remove_node(mul)
