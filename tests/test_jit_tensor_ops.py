"""The tensor ops of ir/ops_tensor.py (transpose, pad, reduce_mean, reduce_max), forward and
backward, through the JIT against the reference interpreter in f32 and f64; and their gradient
rules against central finite differences in float64."""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_graphs import (
    DTYPES,
    assert_gradients,
    check,
    feeds_for,
    gradcheck_feeds,
    op_graph,
    op_loss_graph,
)

CASES = [
    ("transpose", [(2, 3, 4)], {"perm": [2, 0, 1]}),
    ("transpose", [(5, 7)], {"perm": [1, 0]}),
    ("transpose", [(2, 1, 3, 5)], {"perm": [0, 3, 1, 2]}),
    ("transpose", [(37, 3)], {"perm": [0, 1]}),
    ("pad", [(2, 3, 4, 5)], {"before": [0, 0, 1, 2], "after": [0, 0, 2, 0], "value": 0.0}),
    ("pad", [(3, 5)], {"before": [1, 0], "after": [0, 3], "value": -1.5}),
    ("pad", [(7,)], {"before": [2], "after": [1], "value": 2.0}),
    ("pad", [(2, 4, 6)], {"before": [0, -1, 2], "after": [1, 0, -3], "value": 0.5}),
    ("reduce_mean", [(2, 3, 4)], {"axes": [0, 2]}),
    ("reduce_mean", [(2, 3, 4)], {"axes": [1], "keepdims": True}),
    ("reduce_mean", [(3, 5, 7)], {"axes": [-1]}),
    ("reduce_mean", [(4, 3)], {"axes": [0, 1]}),
    ("reduce_max", [(2, 3, 4)], {"axes": [0, 2]}),
    ("reduce_max", [(2, 3, 4)], {"axes": [1], "keepdims": True}),
    ("reduce_max", [(3, 5, 7)], {"axes": [2]}),
    ("reduce_max", [(4, 3)], {"axes": [0, 1], "keepdims": True}),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("op", "shapes", "attrs"), CASES)
def test_jit_matches_reference(dtype, op, shapes, attrs):
    graph = op_graph(op, shapes, attrs, dtype)
    check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_transpose_runs_in_parallel(dtype):
    graph = op_graph("transpose", [(64, 48, 33)], {"perm": [2, 0, 1]}, dtype)
    check(graph, feeds_for(graph), dtype)


def test_reduce_max_propagates_nan():
    graph = op_graph("reduce_max", [(2, 5)], {"axes": [1]}, "f32", loss=False)
    feeds = {"in0": np.array([[1, np.nan, 3, 0, 2], [4, 5, 6, 7, 8]], dtype=np.float32)}
    check(graph, feeds, "f32", backward=False)


@pytest.mark.parametrize(("op", "shapes", "attrs"), CASES)
def test_gradient_matches_finite_differences(op, shapes, attrs):
    graph = op_loss_graph(op, shapes, attrs)
    assert_gradients(graph, gradcheck_feeds(graph))
