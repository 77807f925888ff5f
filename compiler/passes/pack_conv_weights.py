"""pack-conv-weights: a convolution that runs as a direct kernel reads its weight as panels the
runtime packed once, where the kernel used to pack them on every call (resnet18 repacked its
47 MB of weights per forward; ONNX Runtime packs once, at session creation).

Pre: a forward graph after the layout pass (the direct kernels,
compiler/codegen/emitters/conv_direct.py, take convolutions by their output's layout) and
ctx.options["fold_batch_norm"] set: it says the runtime computes constants from the live
parameters (runtime/jit/folding.py), which the JIT does and an AOT bundle's C side does not.
Post: every conv2d the direct kernel takes whose weight is a parameter, or the folded weight
of fold-batch-norm (fold, then pack), reads instead a new per-call input holding that weight
as panels of P output channels, tagged @oihw<P>o (ir/layouts.py weight_panels_tag):
    Wp[o // P][i][ky][kx][o % P] = W[o][i][ky][kx]
    %c = conv2d(%x, %c.weight) : f32[1,64,56,56]@nchw16c
      ->  %c = conv2d(%x, %c.packed_weight) with %c.packed_weight: f32[64,64,3,3]@oihw32o input
The node's meta (PACK_META) names the source and the panel width; the runtime packs the live
weight into it, again whenever the parameters may have changed, exactly as it refolds. A weight
replaced in every reader leaves the graph. Memory: the packed copy sits beside the parameter,
so an inference network holds its convolution weights twice.
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph, Node, Value
from ir.layouts import weight_panels_tag
from runtime.jit.folding import FOLD_META, PACK_META


@register("pack-conv-weights")
def pack_conv_weights(graph: Graph, ctx: PassContext) -> Graph:
    if not ctx.options.get("fold_batch_norm"):
        return graph
    from compiler.codegen.emitters.conv_direct import panel_width

    folded = {n.meta[FOLD_META]["folded_weight"] for n in graph.nodes() if FOLD_META in n.meta}
    packed: dict[tuple[str, int], Value] = {}
    for node in graph.nodes():
        width = panel_width(node)
        weight = node.operands[1] if node.op == "conv2d" else None
        if not width or weight is None:
            continue
        if weight.role != "param" and weight.name not in folded:
            continue
        key = (weight.name, width)
        if key not in packed:
            packed[key] = graph.add_input(graph.fresh_name(f"{node.name}.packed_weight"),
                                          weight.type.with_layout(weight_panels_tag(width)),
                                          "input")
        _read_packed(graph, node, packed[key], width)
        if weight.role == "input" and not graph.users(weight):
            graph.remove_input(weight)
    return graph


def _read_packed(graph: Graph, node: Node, panels: Value, width: int) -> None:
    """`node` reads `panels` for its weight; its meta says how the runtime fills them."""
    meta = dict(node.meta)
    source = node.operands[1].name
    operands = [node.operands[0], panels, *node.operands[2:]]
    name, laid_out = node.name, node.type  # the new node's type comes without the layout
    graph.retype(graph.substitute(node, node.op, operands, dict(node.attrs)), laid_out)
    graph.node(name).meta.update(meta)
    graph.node(name).meta[PACK_META] = {"packed": panels.name, "weight": source, "width": width}
