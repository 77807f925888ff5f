"""fold-constants: evaluates elementwise ops whose operands are all scalar-filled constants.

Pre: any graph.
Post: no elementwise op reads only `const` values; it is a `const` itself (same name).

    %c1 = const() {value=2.0} : f32[]
    %c2 = const() {value=0.5} : f32[]
    %c3 = mul(%c1, %c2) : f32[]          ->   %c3 = const() {value=1.0} : f32[]
"""

from __future__ import annotations

import math
from collections.abc import Callable

from compiler.passes import PassContext, register
from ir.graph import Graph

_FOLD: dict[str, Callable[..., float]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b if b else math.copysign(math.inf, a) if a else math.nan,
    "neg": lambda a: -a,
    "relu": lambda a: max(a, 0.0),
    "exp": math.exp,
    "sqrt": lambda a: math.sqrt(a) if a >= 0 else math.nan,
}


@register("fold-constants")
def fold_constants(graph: Graph, ctx: PassContext) -> Graph:
    for node in graph.nodes():
        fn = _FOLD.get(node.op)
        if fn is None or not node.operands:
            continue
        if not all(v.node is not None and v.node.op == "const" for v in node.operands):
            continue
        args = [v.node.attrs["value"] for v in node.operands if v.node is not None]
        try:
            value = float(fn(*args))
        except (OverflowError, ValueError):
            continue
        graph.substitute(node, "const", [], {"value": value, "dtype": node.type.dtype,
                                             "shape": node.type.shape})
    return graph
