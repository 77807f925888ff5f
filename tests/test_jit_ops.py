"""Every op, forward and backward, through the JIT against the reference interpreter, in f32
and f64, over shapes with odd sizes, strides 2 and 3, asymmetric padding, dilation, groups and
batch 1."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.driver.jit import compile_graph
from compiler.driver.pipelines import lower, run_passes
from compiler.passes import PassContext
from ir import Graph, TensorType
from runtime import reference

RNG = np.random.default_rng(11)
TOL = {"f32": dict(rtol=2e-5, atol=2e-5), "f64": dict(rtol=1e-10, atol=1e-11)}


def op_graph(op, shapes, attrs=None, dtype="f32", int_inputs=(), loss=True):
    """inputs -> op -> (optional) sum(out * r): forward output and a loss to differentiate."""
    g = Graph(op)
    vals = []
    for i, shape in enumerate(shapes):
        is_int = i in int_inputs
        vals.append(g.add_input(f"in{i}", TensorType("i64" if is_int else dtype, tuple(shape)),
                                "label" if is_int else "input"))
    out = g.add_op(op, vals, attrs or {}, name="out")
    g.outputs = [out]
    if loss:
        r = g.add_input("r", out.type, "input")
        prod = g.add_op("mul", [out, r], name="weighted")
        g.loss = g.add_op("reduce_sum", [prod], {"axes": list(range(out.type.rank))},
                          name="loss")
    return g


def feeds_for(graph, positive=(), labels=None):
    feeds = {}
    for v in graph.inputs:
        if v.type.dtype == "i64":
            feeds[v.name] = labels
            continue
        dtype = np.float32 if v.type.dtype == "f32" else np.float64
        if v.name in positive:
            feeds[v.name] = RNG.uniform(0.5, 2.0, size=v.type.shape).astype(dtype)
        else:
            feeds[v.name] = RNG.standard_normal(v.type.shape).astype(dtype)
    return feeds


def check(graph, feeds, dtype, backward=True):
    """JIT forward (and gradient graph) equal the reference interpreter's."""
    tol = TOL[dtype]
    forward = run_passes(graph, ("drop-loss", "canonicalize"), PassContext())
    got, _ = compile_graph(forward)(feeds)
    want = reference.run(forward, feeds).outputs
    for g_, w_ in zip(got, want, strict=True):
        np.testing.assert_allclose(g_, w_, **tol)
    if not backward or graph.loss is None:
        return
    wrt = tuple(v.name for v in graph.inputs if v.type.dtype != "i64" and v.name != "r")
    grads = lower(graph, "grads", PassContext(train=True, wrt=wrt))
    if grads.has_value("step"):  # training-form dropout draws its mask from the step
        feeds = {**feeds, "step": np.array(3, dtype=np.int64)}
    got, loss = compile_graph(grads, "grads")(feeds)
    ref = reference.run(grads, feeds)
    # a sum's rounding error scales with the sum of its terms' magnitudes, not with the result
    # (which may cancel to near zero): compare the loss on that scale
    terms = np.abs(want[0] * feeds["r"]).sum() if "r" in feeds else abs(ref.loss)
    scale = max(float(terms), 1.0)
    np.testing.assert_allclose(loss / scale, ref.loss / scale, **tol)
    for name, g_, w_ in zip(wrt, got, ref.outputs, strict=True):
        scale = max(np.abs(w_).max(), 1.0)
        np.testing.assert_allclose(g_ / scale, w_ / scale, err_msg=f"d loss / d {name}", **tol)


DTYPES = ["f32", "f64"]

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
