"""The sequence-model ops of ir/ops_sequence.py (erf, embedding and its scatter-add gradient):
the JIT against the reference interpreter in f32 and f64, gradients against central finite
differences in float64, and ids outside the table refused before native code runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ir import Graph, TensorType
from ir.errors import RuntimeInputError, ShapeError
from ir.ops_sequence import index_bounds
from runtime import reference
from tests.op_graphs import (
    DTYPES,
    assert_gradients,
    check,
    feeds_for,
    gradcheck_feeds,
    op_graph,
    op_loss_graph,
)

IDS = np.array([[3, 0, 3, 6], [1, 1, 5, 2]], dtype=np.int64)


def test_erf_reference_is_math_erf():
    x = np.array([-3.0, -0.5, 0.0, 1e-3, 0.7, 2.5, np.inf], dtype=np.float64)
    g = op_graph("erf", [x.shape], dtype="f64", loss=False)
    got = reference.run(g, {"in0": x}).outputs[0]
    np.testing.assert_array_equal(got, [math.erf(v) for v in x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 5, 33)])
def test_erf_jit_matches_reference(dtype, shape):
    graph = op_graph("erf", [shape], dtype=dtype)
    check(graph, feeds_for(graph), dtype)


def test_erf_gradient_matches_finite_differences():
    graph = op_loss_graph("erf", [(3, 4)])
    assert_gradients(graph, gradcheck_feeds(graph))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [1, 5, 40])
def test_embedding_jit_matches_reference(dtype, dim):
    graph = op_graph("embedding", [(7, dim), IDS.shape], dtype=dtype, int_inputs=(1,))
    check(graph, feeds_for(graph, labels=IDS), dtype)


def test_embedding_picks_rows_and_scatters_gradients():
    table = np.arange(14, dtype=np.float64).reshape(7, 2)
    graph = op_graph("embedding", [(7, 2), IDS.shape], dtype="f64", int_inputs=(1,),
                     loss=False)
    got = reference.run(graph, {"in0": table, "in1": IDS}).outputs[0]
    np.testing.assert_array_equal(got[0, 0], table[3])
    grad = Graph("g")
    dy = grad.add_input("dy", TensorType("f64", (2, 4, 2)), "input")
    ids = grad.add_input("ids", TensorType("i64", IDS.shape), "label")
    grad.outputs = [grad.add_op("embedding_grad", [dy, ids], {"rows": 7}, name="out")]
    dtable = reference.run(grad, {"dy": np.ones((2, 4, 2)), "ids": IDS}).outputs[0]
    np.testing.assert_array_equal(dtable[:, 0], [1, 2, 1, 2, 0, 1, 1])  # id 3 twice, 4 never


def test_embedding_gradient_matches_finite_differences():
    graph = op_loss_graph("embedding", [(7, 3), IDS.shape], dtypes={1: "i64"})
    assert_gradients(graph, gradcheck_feeds(graph, labels=IDS))


def test_embedding_shape_rule_refuses_float_ids():
    g = Graph("bad")
    table = g.add_input("t", TensorType("f32", (4, 2)), "param")
    ids = g.add_input("ids", TensorType("f32", (3,)), "input")
    with pytest.raises(ShapeError, match="ids must be i64 row indices"):
        g.add_op("embedding", [table, ids], {}, name="e")


def test_index_bounds_name_the_graph_inputs_read_as_ids():
    graph = op_graph("embedding", [(7, 2), IDS.shape], int_inputs=(1,), loss=False)
    assert index_bounds(graph) == {"in1": 7}


def test_reference_refuses_ids_outside_the_table():
    graph = op_graph("embedding", [(7, 2), (2,)], dtype="f64", int_inputs=(1,), loss=False)
    with pytest.raises(RuntimeInputError, match="id 7 is outside the 7 rows"):
        reference.run(graph, {"in0": np.zeros((7, 2)), "in1": np.array([0, 7])})
