"""Every op's gradient rule against central finite differences in float64 (rel. error < 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.gradcheck import check_gradients
from tests.op_graphs import GRADCHECK_TOL as TOL
from tests.op_graphs import assert_gradients, op_loss_graph
from tests.op_graphs import gradcheck_feeds as feeds_for

CONV_CASES = [
    dict(stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1),
    dict(stride=(2, 2), pad=(1, 1, 1, 1), dilation=(1, 1), groups=1),
    dict(stride=(3, 2), pad=(0, 2, 1, 0), dilation=(1, 1), groups=1),
    dict(stride=(1, 2), pad=(2, 1, 2, 1), dilation=(2, 2), groups=1),
    dict(stride=(2, 1), pad=(1, 0, 2, 1), dilation=(1, 2), groups=2),
    dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1), groups=4),
]


@pytest.mark.parametrize("attrs", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(attrs, bias):
    g = 4
    shapes = [(2, 4, 7, 6), (4, 4 // attrs["groups"], 3, 2)] + ([(4,)] if bias else [])
    graph = op_loss_graph("conv2d", shapes, attrs)
    assert_gradients(graph, feeds_for(graph), max_elements=g * 100)


POOL_CASES = [
    dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0, 0, 0), ceil_mode=False),
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1, 1, 1), ceil_mode=False),
    dict(kernel=(3, 2), stride=(2, 3), pad=(1, 0, 0, 1), ceil_mode=True),
    dict(kernel=(2, 3), stride=(1, 1), pad=(0, 1, 1, 0), ceil_mode=False),
]


@pytest.mark.parametrize("attrs", POOL_CASES)
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)])
def test_maxpool2d(attrs, dilation):
    graph = op_loss_graph("maxpool2d", [(2, 2, 7, 6)], {**attrs, "dilation": dilation})
    assert_gradients(graph, feeds_for(graph))


@pytest.mark.parametrize("attrs", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avgpool2d(attrs, count_include_pad):
    graph = op_loss_graph("avgpool2d", [(2, 2, 7, 6)],
                          {**attrs, "count_include_pad": count_include_pad})
    assert_gradients(graph, feeds_for(graph))


@pytest.mark.parametrize("op", ["global_avgpool", "global_maxpool"])
def test_global_pools(op):
    graph = op_loss_graph(op, [(2, 3, 4, 3)])
    assert_gradients(graph, feeds_for(graph))


@pytest.mark.parametrize(("op", "shapes", "attrs"), [
    ("dense", [(3, 5), (4, 5), (4,)], {}),
    ("dense", [(3, 5), (4, 5)], {}),
    ("matmul", [(3, 5), (5, 4)], {}),
    ("matmul", [(5, 3), (5, 4)], {"transpose_a": True}),
    ("matmul", [(3, 5), (4, 5)], {"transpose_b": True}),
    ("matmul", [(5, 3), (4, 5)], {"transpose_a": True, "transpose_b": True}),
    ("matmul", [(2, 3, 5), (2, 5, 4)], {}),
    ("matmul", [(2, 2, 5, 3), (2, 2, 4, 5)], {"transpose_a": True, "transpose_b": True}),
    ("matmul", [(2, 3, 5), (5, 4)], {}),
    ("matmul", [(2, 2, 3, 5), (4, 5)], {"transpose_b": True}),
    ("flatten", [(2, 3, 2, 2)], {"axis": 1}),
    ("reshape", [(2, 3, 4)], {"shape": [2, 12]}),
    ("concat", [(2, 3, 2), (2, 1, 2), (2, 2, 2)], {"axis": 1}),
    ("reduce_sum", [(2, 3, 4)], {"axes": [0, 2]}),
    ("reduce_sum", [(2, 3, 4)], {"axes": [1], "keepdims": True}),
    ("broadcast_to", [(3, 1)], {"shape": [2, 3, 4]}),
    ("softmax", [(3, 5)], {"axis": 1}),
    ("softmax", [(2, 3, 2, 2)], {"axis": 1}),
    ("log_softmax", [(3, 5)], {"axis": -1}),
    ("log_softmax", [(2, 3, 2, 2)], {"axis": 1}),
])
def test_structural_ops(op, shapes, attrs):
    graph = op_loss_graph(op, shapes, attrs)
    assert_gradients(graph, feeds_for(graph))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize(("sa", "sb"), [
    ((2, 3, 2, 2), (2, 3, 2, 2)),
    ((2, 3, 2, 2), (3, 1, 1)),
    ((4, 3), (3,)),
    ((1, 3), (4, 1)),
])
def test_binary_broadcasting(op, sa, sb):
    graph = op_loss_graph(op, [sa, sb])
    positive = ("in1",) if op == "div" else ()
    assert_gradients(graph, feeds_for(graph, positive=positive))


@pytest.mark.parametrize(("op", "attrs", "positive"), [
    ("relu", {}, False), ("sigmoid", {}, False), ("tanh", {}, False),
    ("leaky_relu", {"alpha": 0.2}, False), ("exp", {}, False), ("log", {}, True),
    ("sqrt", {}, True), ("neg", {}, False), ("clip", {"min": -0.5, "max": 0.7}, False),
])
def test_unary(op, attrs, positive):
    graph = op_loss_graph(op, [(3, 4, 2)], attrs)
    assert_gradients(graph, feeds_for(graph, positive=("in0",) if positive else ()))


def test_softmax_cross_entropy():
    graph = op_loss_graph("softmax_cross_entropy", [(5, 4), (5,)], dtypes={1: "i64"})
    assert_gradients(graph, feeds_for(graph, labels=np.array([0, 3, 1, 1, 2])))


def test_mse():
    graph = op_loss_graph("mse", [(3, 4), (3, 4)])
    assert_gradients(graph, feeds_for(graph))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 3, 2)])
def test_batchnorm_inference_form(shape):
    c = shape[1]
    graph = op_loss_graph("batchnorm", [shape, (c,), (c,), (c,), (c,)], {"eps": 1e-3})
    feeds = feeds_for(graph, positive=("in4",))
    # without training-forms: the statistics are inputs, so every operand gets a gradient
    assert_gradients(graph, feeds, passes=("canonicalize", "autodiff", "dce"))


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 3, 2)])
def test_batchnorm_training_form(shape):
    """Batch statistics depend on x: the gradient flows through batch_mean and batch_var."""
    from compiler.frontend import Builder

    b = Builder("bn")
    x = b.input("x", list(shape[1:]), dtype="f64")
    y = b.batchnorm(x, eps=1e-3, name="bn")
    flat = b.flatten(y) if len(shape) == 4 else y
    b.loss("mse", flat)
    graph = b.build()
    graph.inputs_with_role("input")[0].role = "param"  # differentiate w.r.t. x as well
    from compiler.driver.pipelines import run_passes
    from compiler.passes import PassContext

    bound = run_passes(graph, ("bind-batch",), PassContext(batch=shape[0]))
    feeds = feeds_for(bound, positive=("bn.running_var",))
    checks = check_gradients(bound, feeds, max_elements=100)
    names = {c.name for c in checks}
    assert {"x", "bn.weight", "bn.bias"} <= names
    for c in checks:
        assert c.error < TOL, f"{c.name}: {c.error:.2e}"


def test_dropout_training_form():
    from compiler.driver.pipelines import run_passes
    from compiler.frontend import Builder
    from compiler.passes import PassContext

    b = Builder("drop")
    x = b.input("x", [6], dtype="f64")
    b.loss("mse", b.dense(b.dropout(x, rate=0.5, seed=3), units=3, name="fc"))
    graph = run_passes(b.build(), ("bind-batch",), PassContext(batch=4))
    feeds = feeds_for(graph)
    feeds["step"] = np.array(2)
    for c in check_gradients(graph, feeds):
        assert c.error < TOL, f"{c.name}: {c.error:.2e}"
