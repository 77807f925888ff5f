"""compile(): lowers a loaded graph through the pipelines and hands the result to a backend.

Where it sits: called by `compiler.compile`; the one place where passes meet the runtime.
"""

from __future__ import annotations

from compiler.init import initial_values
from compiler.optim import SGD, Adam
from compiler.passes import PassContext
from compiler.pipeline import lower
from ir.errors import CompileError
from ir.graph import Graph
from runtime.network import CompiledGraphs, Network, ReferenceNetwork

BACKENDS = ("reference",)


def build_network(graph: object, batch: int, train: bool, optimizer: SGD | Adam | None,
                  backend: str, seed: int) -> Network:
    if not isinstance(graph, Graph):
        raise CompileError(f"compile() takes a graph from compiler.load(...), got "
                           f"{type(graph).__name__}")
    if backend not in BACKENDS:
        raise CompileError(f"unknown backend '{backend}' (expected one of {', '.join(BACKENDS)})")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise CompileError(f"batch must be a positive integer, got {batch!r}")
    if train and graph.loss is None:
        raise CompileError(f"model '{graph.name}' has no loss; add `loss: softmax_cross_entropy` "
                           "(or mse) to train it")
    if optimizer is not None and not isinstance(optimizer, (SGD, Adam)):
        raise CompileError(f"optimizer must be compiler.SGD(...) or compiler.Adam(...), got "
                           f"{optimizer!r}")
    opt = optimizer or SGD(lr=0.01)
    graphs = CompiledGraphs(forward=lower(graph, "forward", PassContext(batch=batch)))
    if train:
        graphs.grads = lower(graph, "grads", PassContext(batch=batch, train=True))
        graphs.train = lower(graph, "train", PassContext(batch=batch, train=True, optimizer=opt))
    # Parameters are initialized from the model as loaded (where each one's role is plain);
    # state the pipelines add (momentum buffers, Adam moments, the step) starts at zero.
    values = initial_values(graph, seed)
    for g in (graphs.forward, graphs.grads, graphs.train):
        if g is not None:
            values = {**initial_values(g, seed), **values}
    return ReferenceNetwork(graphs, values, batch)
