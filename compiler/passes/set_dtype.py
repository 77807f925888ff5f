"""set-dtype: retypes every float value to ctx.options["dtype"] (f32 or f64).

Pre: any graph; no effect without the option.
Post: every f32/f64 value and every `const`/`dropout_mask` dtype attribute use the requested
float type; integer values (labels, the step) are untouched. Lets a float32 model run in float64
end to end (gradient checks through the JIT, reference-exact comparisons).

    %x: f32[N,784] input      ->   %x: f64[N,784] input
"""

from __future__ import annotations

from compiler.passes import PassContext, register
from ir.graph import Graph


@register("set-dtype")
def set_dtype(graph: Graph, ctx: PassContext) -> Graph:
    dtype = ctx.options.get("dtype")
    if dtype is None:
        return graph
    for v in graph.values():
        if v.type.dtype in ("f32", "f64") and v.type.dtype != dtype:
            graph.retype(v, v.type.with_dtype(dtype))
    for node in graph.nodes():
        if "dtype" in node.attrs:
            node.attrs["dtype"] = dtype
    return graph
