"""bind-batch: replaces the symbolic batch dimension N by the compile-time batch size.

Pre: any graph; ctx.batch set (the pass does nothing without it).
Post: every type and every `dims` attribute that held N holds the batch size; values of fixed
shape keep it (a weight given as an input, a target tensor: their first dimension is not the
batch). A model exported at a fixed batch is re-batched before the pipeline runs, by its
frontend (compiler/driver/pipelines.py `rebatched`), not here.

    %x: f32[N,1,28,28] input        ->   %x: f32[64,1,28,28] input
    reshape(%p) {shape=[N,400]}     ->   reshape(%p) {shape=[64,400]}
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.errors import CompileError
from ir.graph import Graph
from ir.ops import OPS
from ir.types import BATCH


@register("bind-batch")
def bind_batch(graph: Graph, ctx: PassContext) -> Graph:
    batch = ctx.batch
    if batch is None:
        return graph
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise CompileError(f"batch must be a positive integer, got {batch!r}")
    for v in graph.values():
        if not v.type.is_concrete:
            graph.retype(v, v.type.bind(batch))
    for node in graph.nodes():
        for spec in OPS[node.op].attrs:
            value = node.attrs[spec.name]
            if spec.kind == "dims" and BATCH in value:
                node.attrs[spec.name] = tuple(batch if d == BATCH else d for d in value)
    return graph
