"""Declarations of the ops sequence models (transformers) need beyond ir/ops_nn.py: `erf`, from
which GELU is composed, and `embedding`, the lookup of table rows by integer ids, with the
scatter-add that is its gradient.

Where it sits: loaded by ir/ops.py into the op table. The model description's `gelu` and
`embedding` layers (compiler/frontend/builder.py) and the ONNX converters of Erf, Gelu and
Gather on a runtime index input lower to these. Semantics live in runtime/ref_ops_sequence.py,
gradient rules in compiler/passes/grad_rules_sequence.py, kernels in compiler/codegen/expr.py
(erf) and compiler/codegen/emitters/embedding.py.

Ids index memory: a kernel reading row `ids[i]` of a table must never see an id outside the
table. INDEX_OPERANDS says which operand of which op is such an index and which operand's
first axis it indexes; the runtime (runtime/network.py) checks every graph input feeding one
against `index_bounds(graph)` before native code runs, as it checks labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ir.errors import ShapeError
from ir.ops import AttrSpec, Init, Kind, Layout, declare
from ir.shape_rules import expect_float, expect_rank
from ir.types import TensorType, elements, format_shape

if TYPE_CHECKING:
    from ir.graph import Graph

Types = Sequence[TensorType]
Attrs = Mapping[str, Any]


def _unary_float(types: Types, a: Attrs) -> TensorType:
    (x,) = types
    expect_float("erf", x)
    return x


declare("erf", Kind.ELEMENTWISE, ("x",), (), _unary_float,
        "The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt; "
        "gelu(x) = 0.5 x (1 + erf(x / sqrt 2)) is composed from it.")


def _expect_ids(op: str, ids: TensorType) -> None:
    if ids.dtype != "i64":
        raise ShapeError(f"{op}: ids must be i64 row indices, got {ids}")


def _embedding(types: Types, a: Attrs) -> TensorType:
    table, ids = types
    expect_rank("embedding", "table (rows, dim)", table, 2)
    expect_float("embedding", table)
    _expect_ids("embedding", ids)
    return table.with_shape((*ids.shape, table.shape[1]))


declare("embedding", Kind.DATA, ("table", "ids"), (), _embedding,
        "y[..., :] = table[ids[...], :]: the rows of a [rows, dim] table picked by i64 ids "
        "(PyTorch nn.Embedding, ONNX Gather on axis 0).", flops=lambda t, o, a: 0,
        layout=Layout.PLAIN, init={"table": Init.NORMAL})


def _embedding_grad(types: Types, a: Attrs) -> TensorType:
    dy, ids = types
    expect_float("embedding_grad", dy)
    _expect_ids("embedding_grad", ids)
    if dy.rank != ids.rank + 1 or dy.shape[:-1] != ids.shape:
        raise ShapeError(f"embedding_grad: gradient {format_shape(dy.shape)} must be the ids' "
                         f"shape {format_shape(ids.shape)} plus one axis")
    if a["rows"] < 1:
        raise ShapeError(f"embedding_grad: rows must be positive, got {a['rows']}")
    return dy.with_shape((a["rows"], dy.shape[-1]))


declare("embedding_grad", Kind.DATA, ("dy", "ids"), (AttrSpec("rows", "int"),),
        _embedding_grad,
        "d table: zeros [rows, dim] with dy[i, :] added into row ids[i] (a scatter-add: an id "
        "that occurs twice collects both gradients).", grad="none",
        flops=lambda t, o, a: elements(t[0].shape), layout=Layout.PLAIN)

INDEX_OPERANDS: dict[str, tuple[int, int]] = {"embedding": (1, 0), "embedding_grad": (1, -1)}
"""op -> (position of its index operand, position of the operand whose first axis it indexes;
-1: the `rows` attribute gives the bound)."""


def index_bounds(graph: Graph) -> dict[str, int]:
    """Graph inputs read as indices -> the exclusive upper bound of a valid index (the smallest
    over their readers). Only graph inputs: ids computed inside the graph come from ids that
    were themselves checked, or from constants the verifier saw."""
    bounds: dict[str, int] = {}
    for node in graph.nodes():
        where = INDEX_OPERANDS.get(node.op)
        if where is None:
            continue
        ids = node.operands[where[0]]
        if ids.node is not None:
            continue
        rows = node.attrs["rows"] if where[1] < 0 else node.operands[where[1]].type.shape[0]
        bounds[ids.name] = min(int(rows), bounds.get(ids.name, int(rows)))
    return bounds


