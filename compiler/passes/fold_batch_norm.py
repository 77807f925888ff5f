"""fold-batch-norm: an inference batchnorm after a convolution or dense layer disappears into
the layer's weights, so the JIT runs one kernel (with the activation in its epilogue) where
it ran two, and never sweeps the activation a second time.

Pre: a forward (inference) graph, canonicalized, before the layout pass; ctx.options
["fold_batch_norm"] set (the JIT sets it; the reference backend runs the graph as written).
Any activation layout: the layout pass then gives the folded weight the order it gives the
weight (a dense weight after a flatten: permuted columns), and scaling a weight's rows commutes
with permuting its columns, so the runtime folds the stored arrays as they are; a folded
convolution weight may then be packed (pack-conv-weights: fold, then pack).
Post: every batchnorm whose input is a conv2d or dense result read by nothing else, with
parameters and statistics that are graph inputs, is the layer itself over two new per-call
inputs, the folded weight and bias:
    s  = scale / sqrt(var + eps)                (per output channel)
    W' = W * s                                  (row o of W scaled by s[o])
    b' = (b - mean) * s + shift                 (b = 0 without a bias)

    %c = conv2d(%x, %c.weight) {...}                      ->   (removed)
    %bn = batchnorm(%c, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var) {eps=1e-05}
      ->  %bn = conv2d(%x, %bn.folded_weight, %bn.folded_bias) {...}

The new inputs have the role `input` and the new node records in its meta (FOLD_META) which
parameters and statistics they come from: the runtime (runtime/jit/folding.py) computes them
from the live parameters, again whenever those may have changed, and passes them with the
caller's arrays. Parameter names, `net.params` and the training graphs are untouched.
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph, Node, Value
from runtime.jit.folding import FOLD_META

FOLDABLE = ("conv2d", "dense")
"""Layers whose weight's leading axis is the output channel the batchnorm normalizes."""


@register("fold-batch-norm")
def fold_batch_norm(graph: Graph, ctx: PassContext) -> Graph:
    if not ctx.options.get("fold_batch_norm"):
        return graph
    for node in graph.nodes():
        layer = _foldable_layer(graph, node)
        if layer is not None:
            _fold(graph, node, layer)
    return graph


def _foldable_layer(graph: Graph, bn: Node) -> Node | None:
    """The conv2d or dense node `bn` can fold into, or None."""
    if bn.op != "batchnorm" or any(v.role not in ("param", "state") for v in bn.operands[1:]):
        return None
    layer = bn.operands[0].node
    if layer is None or layer.op not in FOLDABLE or graph.is_output(layer.result):
        return None
    if len(graph.users(layer.result)) != 1:
        return None
    if any(v.role != "param" for v in layer.operands[1:]):
        return None
    return layer


def _fold(graph: Graph, bn: Node, layer: Node) -> None:
    weight = layer.operands[1]
    bias = layer.operands[2] if len(layer.operands) == 3 else None
    scale, shift, mean, var = bn.operands[1:]
    folded_weight = _input_like(graph, f"{bn.name}.folded_weight", weight)
    folded_bias = _input_like(graph, f"{bn.name}.folded_bias", shift)
    meta = {"folded_weight": folded_weight.name, "folded_bias": folded_bias.name,
            "weight": weight.name, "bias": bias.name if bias is not None else None,
            "scale": scale.name, "shift": shift.name, "mean": mean.name, "var": var.name,
            "eps": float(bn.attrs["eps"])}
    name = bn.name
    graph.substitute(bn, layer.op, [layer.operands[0], folded_weight, folded_bias],
                     dict(layer.attrs))
    graph.node(name).meta[FOLD_META] = meta
    graph.remove_node(layer)


def _input_like(graph: Graph, name: str, like: Value) -> Value:
    return graph.add_input(graph.fresh_name(name), like.type, "input")
