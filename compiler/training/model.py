"""What training needs to know about a loaded model: its one input, its classes, its loss.

Where it sits: between `compiler.load` and the training commands; reads the graph only.
"""

from __future__ import annotations

from ir.errors import ModelError
from ir.graph import Graph

CLASSIFICATION_LOSS = "softmax_cross_entropy"


def input_shape(graph: Graph, source: str | None = None) -> tuple[int, ...]:
    """The per-sample shape of the model's single input (without the batch axis)."""
    inputs = graph.inputs_with_role("input")
    if len(inputs) != 1:
        names = ", ".join(f"'{v.name}'" for v in inputs)
        raise ModelError(f"image training needs a model with one input, this one has "
                         f"{len(inputs)} ({names})", source or graph.name)
    return tuple(int(d) for d in inputs[0].type.shape[1:])


def classes(graph: Graph, source: str | None = None) -> int:
    """The number of classes: the last axis of the model's output."""
    if len(graph.outputs) != 1 or len(graph.outputs[0].type.shape) != 2:
        raise ModelError("image classification needs one output of shape [N, classes]",
                         source or graph.name)
    return int(graph.outputs[0].type.shape[1])


def check_trainable(graph: Graph, source: str | None = None) -> None:
    """The model must end in a classification loss for training on labelled images."""
    loss = graph.loss
    if loss is None or loss.node is None:
        raise ModelError(f"model '{graph.name}' has no loss; add `loss: {CLASSIFICATION_LOSS}` "
                         "to train it", source or graph.name)
    if loss.node.op != CLASSIFICATION_LOSS:
        raise ModelError(f"training on labelled images needs `loss: {CLASSIFICATION_LOSS}`, "
                         f"this model's loss is {loss.node.op}", source or graph.name)
