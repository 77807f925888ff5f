"""Every op, forward and backward, through the JIT against the reference interpreter, in f32
and f64, over shapes with odd sizes, strides 2 and 3, asymmetric padding, dilation, groups and
batch 1."""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_graphs import DTYPES, check, feeds_for, op_graph

CONV_CASES = [
    dict(stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1),
    dict(stride=(2, 2), pad=(1, 1, 1, 1), dilation=(1, 1), groups=1),
    dict(stride=(3, 3), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1),
    dict(stride=(3, 2), pad=(0, 2, 1, 0), dilation=(1, 1), groups=1),
    dict(stride=(1, 2), pad=(2, 1, 2, 1), dilation=(2, 2), groups=1),
    dict(stride=(2, 1), pad=(1, 0, 2, 1), dilation=(1, 2), groups=2),
    dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1), groups=4),
    # stride 1: the input gradient is a convolution with the flipped kernel, whose padding
    # (k-1)*d - p is asymmetric here, and negative where the padding exceeds the kernel
    dict(stride=(1, 1), pad=(2, 0, 1, 3), dilation=(2, 1), groups=2),
    dict(stride=(1, 1), pad=(3, 2, 0, 1), dilation=(1, 1), groups=1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("attrs", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(dtype, attrs, bias):
    shapes = [(3, 4, 11, 9), (12, 4 // attrs["groups"], 3, 2)] + ([(12,)] if bias else [])
    graph = op_graph("conv2d", shapes, attrs, dtype)
    check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 5])
def test_conv2d_wide_channels_and_batch(dtype, batch):
    """More output channels than a micro-tile has rows; odd pixel counts; batch 1."""
    graph = op_graph("conv2d", [(batch, 5, 13, 7), (19, 5, 3, 3), (19,)],
                     dict(stride=(1, 1), pad=(1, 1, 1, 1)), dtype)
    check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("width", [39, 300])
def test_conv2d_rows_gathered_unrolled_and_in_a_loop(width):
    """Stride-1 gathers copy whole output rows as unrolled vectors up to UNROLL_ROW_VECTORS
    vectors wide, wider ones (300 columns) in a loop; batch 1 splits rows between tasks."""
    graph = op_graph("conv2d", [(1, 2, 5, width), (3, 2, 3, 3), (3,)],
                     dict(stride=(1, 1), pad=(1, 1, 1, 1)), "f32")
    check(graph, feeds_for(graph), "f32")


POOL_CASES = [
    dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0, 0, 0), ceil_mode=False),
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1, 1, 1), ceil_mode=False),
    dict(kernel=(3, 2), stride=(3, 3), pad=(1, 0, 0, 1), ceil_mode=True),
    dict(kernel=(2, 3), stride=(1, 1), pad=(0, 1, 1, 0), ceil_mode=False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("attrs", POOL_CASES)
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)])
def test_maxpool2d(dtype, attrs, dilation):
    graph = op_graph("maxpool2d", [(2, 3, 9, 7)], {**attrs, "dilation": dilation}, dtype)
    check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("attrs", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avgpool2d(dtype, attrs, count_include_pad):
    graph = op_graph("avgpool2d", [(2, 3, 9, 7)],
                     {**attrs, "count_include_pad": count_include_pad}, dtype)
    check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("op", ["maxpool2d", "avgpool2d"])
@pytest.mark.parametrize("attrs", [
    dict(kernel=(9, 10), stride=(9, 10), pad=(0, 0, 0, 0)),  # tiles the input exactly
    dict(kernel=(9, 8), stride=(2, 3), pad=(1, 2, 0, 1)),
])
def test_large_windows_run_as_loops(op, attrs):
    """Windows beyond the unroll limit (64 positions) are loops, with the same results."""
    extra = {"count_include_pad": False} if op == "avgpool2d" else {}
    graph = op_graph(op, [(2, 3, 18, 20)], {**attrs, "dilation": (1, 1), "ceil_mode": False,
                                           **extra}, "f64")
    check(graph, feeds_for(graph), "f64")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("op", "shapes", "attrs"), [
    ("dense", [(5, 37), (19, 37), (19,)], {}),
    ("dense", [(1, 37), (19, 37)], {}),
    ("dense", [(3, 300), (21, 300), (21,)], {}),  # a few samples: dot products, not a GEMM
    ("dense", [(67, 300), (129, 300), (129,)], {}),
    ("matmul", [(7, 5), (5, 9)], {}),
    ("matmul", [(5, 7), (5, 9)], {"transpose_a": True}),
    ("matmul", [(7, 5), (9, 5)], {"transpose_b": True}),
    ("matmul", [(300, 13), (17, 300)], {"transpose_a": True, "transpose_b": True}),
    ("matmul", [(6, 7, 5), (6, 5, 9)], {}),  # stacks: one product per leading index
    ("matmul", [(3, 2, 5, 7), (3, 2, 5, 9)], {"transpose_a": True}),
    ("matmul", [(2, 3, 7, 5), (2, 3, 9, 5)], {"transpose_b": True}),
    ("matmul", [(4, 40, 33), (4, 65, 40)], {"transpose_a": True, "transpose_b": True}),
    ("matmul", [(3, 7, 5), (5, 9)], {}),  # a stack times one matrix: the stack's rows
    ("matmul", [(2, 3, 7, 40), (70, 40)], {"transpose_b": True}),
    ("global_avgpool", [(2, 3, 5, 4)], {}),
    ("global_maxpool", [(2, 3, 5, 4)], {}),
    ("flatten", [(2, 3, 2, 2)], {"axis": 1}),
    ("reshape", [(2, 3, 4)], {"shape": [2, 12]}),
    ("concat", [(2, 3, 2), (2, 1, 2), (2, 2, 2)], {"axis": 1}),
    ("concat", [(2, 3), (4, 3)], {"axis": 0}),
    ("reduce_sum", [(2, 3, 4)], {"axes": [0, 2]}),
    ("reduce_sum", [(2, 3, 4)], {"axes": [1], "keepdims": True}),
    ("reduce_sum", [(5, 6)], {"axes": [0]}),
    ("broadcast_to", [(3, 1)], {"shape": [2, 3, 4]}),
    ("softmax", [(3, 5)], {"axis": 1}),
    ("softmax", [(2, 3, 2, 2)], {"axis": 1}),
    ("log_softmax", [(3, 5)], {"axis": -1}),
    ("log_softmax", [(2, 3, 2, 2)], {"axis": 1}),
])
def test_structural_ops(dtype, op, shapes, attrs):
    graph = op_graph(op, shapes, attrs, dtype)
    check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize(("sa", "sb"), [
    ((2, 3, 5, 7), (2, 3, 5, 7)),
    ((2, 3, 5, 7), (3, 1, 1)),
    ((4, 3), (3,)),
    ((1, 3), (4, 1)),
])
def test_binary_broadcasting(dtype, op, sa, sb):
    graph = op_graph(op, [sa, sb], dtype=dtype)
    check(graph, feeds_for(graph, positive=("in1",) if op == "div" else ()), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("op", "attrs", "positive"), [
    ("relu", {}, False), ("sigmoid", {}, False), ("tanh", {}, False),
    ("leaky_relu", {"alpha": 0.2}, False), ("exp", {}, False), ("log", {}, True),
    ("sqrt", {}, True), ("neg", {}, False), ("clip", {"min": -0.5, "max": 0.7}, False),
    ("dropout", {"rate": 0.3}, False),
])
def test_unary(dtype, op, attrs, positive):
    graph = op_graph(op, [(3, 37, 5)], attrs, dtype)
    check(graph, feeds_for(graph, positive=("in0",) if positive else ()), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy(dtype):
    graph = op_graph("softmax_cross_entropy", [(7, 5), (7,)], dtype=dtype, int_inputs=(1,))
    feeds = feeds_for(graph, labels=np.array([0, 3, 1, 4, 2, 2, 0]))
    feeds["in0"] = feeds["in0"] * 30  # large logits: the stable form matters
    check(graph, feeds, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse(dtype):
    graph = op_graph("mse", [(3, 5), (3, 5)], dtype=dtype)
    check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 3, 5)])
def test_batchnorm_inference(dtype, shape):
    c = shape[1]
    graph = op_graph("batchnorm", [shape, (c,), (c,), (c,), (c,)], {"eps": 1e-3}, dtype)
    check(graph, feeds_for(graph, positive=("in4",)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead", [(2,), (8,), (2, 3)])
@pytest.mark.parametrize("shared", [False, True])
def test_matmul_stack_with_a_fused_epilogue(dtype, lead, shared):
    """A residual add and relu ride on each product of a stack (the fuse pass puts them in the
    matmul's epilogue): with few products the tasks split one product's columns, with many
    each task is a whole product, whose leading indices the epilogue unflattens; a stack
    times one shared matrix is one product of all the stack's rows."""
    from ir.graph import Graph
    from ir.types import TensorType

    g = Graph("stack")
    t = dtype
    a = g.add_input("a", TensorType(t, (*lead, 9, 40)), "input")
    b = g.add_input("b", TensorType(t, (70, 40) if shared else (*lead, 70, 40)), "input")
    r = g.add_input("res", TensorType(t, (*lead, 9, 70)), "input")
    y = g.add_op("matmul", [a, b], {"transpose_b": True}, "scores")
    g.outputs = [g.add_op("relu", [g.add_op("add", [y, r], {}, "sum")], {}, "out")]
    check(g, feeds_for(g), dtype, backward=False)


def test_float32_exp_is_within_one_ulp_and_keeps_the_special_values():
    """The JIT's inline float32 exp (compiler/codegen/vmath.py, vectorizable where libm's is
    not): within 1 ulp of the correctly rounded e**x over the normal range, +inf from
    ln(FLT_MAX) on, subnormal results below the smallest normal's log, NaN kept."""
    from compiler.driver.jit import compile_graph
    from ir.graph import Graph
    from ir.types import TensorType

    x = np.concatenate([np.linspace(-87.3, 88.72, 200_001, dtype=np.float32),
                        np.array([np.inf, -np.inf, np.nan, 0.0, 88.73, -88.0], np.float32)])
    g = Graph("e")
    g.outputs = [g.add_op("exp", [g.add_input("x", TensorType("f32", (x.size,)), "input")],
                          {}, "y")]
    (y,), _ = compile_graph(g)({"x": x})
    want = np.exp(x[:-6].astype(np.float64))
    ulps = np.abs(y[:-6] - want) / np.spacing(want.astype(np.float32))
    assert ulps.max() <= 1.01
    np.testing.assert_array_equal(y[-6:-1], [np.inf, 0.0, np.nan, 1.0, np.inf])
    np.testing.assert_allclose(y[-1], np.exp(-88.0), rtol=1e-4)  # a subnormal float32
