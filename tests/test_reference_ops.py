"""The reference interpreter op by op: against hand-computed values and naive formulations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ir import Graph, TensorType
from runtime import reference
from tests import naive

RNG = np.random.default_rng(42)


def run_op(op, arrays, attrs=None, roles=None):
    """Builds a one-op graph over `arrays` and runs it through the reference interpreter."""
    g = Graph("t")
    vals = []
    for i, a in enumerate(arrays):
        dtype = "i64" if a.dtype.kind == "i" else "f64"
        vals.append(g.add_input(f"a{i}", TensorType(dtype, a.shape), (roles or {}).get(i, "input")))
    g.outputs = [g.add_op(op, vals, attrs or {})]
    return reference.run(g, {f"a{i}": a for i, a in enumerate(arrays)}).outputs[0]


CONV_CASES = [
    dict(stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1),
    dict(stride=(2, 2), pad=(1, 1, 1, 1), dilation=(1, 1), groups=1),
    dict(stride=(3, 2), pad=(0, 2, 1, 0), dilation=(1, 1), groups=1),
    dict(stride=(1, 1), pad=(2, 2, 2, 2), dilation=(2, 2), groups=1),
    dict(stride=(2, 1), pad=(1, 0, 2, 1), dilation=(2, 1), groups=2),
    dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1), groups=4),
]


@pytest.mark.parametrize("attrs", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_naive_loops(attrs, bias):
    x = RNG.standard_normal((2, 4, 9, 8))
    w = RNG.standard_normal((8, 4 // attrs["groups"], 3, 2))
    b = RNG.standard_normal(8)
    got = run_op("conv2d", [x, w, b] if bias else [x, w], attrs)
    want = naive.conv2d(x, w, b if bias else None, **attrs)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv2d_hand_computed():
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    w = np.ones((1, 1, 2, 2))
    got = run_op("conv2d", [x, w])
    np.testing.assert_array_equal(got[0, 0], [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5],
                                              [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]])


POOL_CASES = [
    dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0, 0, 0), ceil_mode=False),
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1, 1, 1), ceil_mode=False),
    dict(kernel=(3, 2), stride=(2, 3), pad=(1, 0, 0, 1), ceil_mode=True),
    dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0, 0, 0), ceil_mode=True),
    dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1, 1, 1), ceil_mode=False),
]


@pytest.mark.parametrize("attrs", POOL_CASES)
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1)])
def test_maxpool2d_matches_naive_loops(attrs, dilation):
    x = RNG.standard_normal((2, 3, 9, 7))
    got = run_op("maxpool2d", [x], {**attrs, "dilation": dilation})
    np.testing.assert_array_equal(got, naive.maxpool2d(x, dilation=dilation, **attrs))


@pytest.mark.parametrize("attrs", POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avgpool2d_matches_naive_loops(attrs, count_include_pad):
    x = RNG.standard_normal((2, 3, 9, 7))
    got = run_op("avgpool2d", [x], {**attrs, "count_include_pad": count_include_pad})
    want = naive.avgpool2d(x, count_include_pad=count_include_pad, **attrs)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_pools_hand_computed():
    x = np.array([[[[1.0, 2.0, 5.0], [3.0, 4.0, 0.0], [7.0, 1.0, 2.0]]]])
    mx = run_op("maxpool2d", [x], dict(kernel=(2, 2), stride=(1, 1)))
    np.testing.assert_array_equal(mx[0, 0], [[4, 5], [7, 4]])
    avg = run_op("avgpool2d", [x], dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0, 1, 1),
                                        count_include_pad=False))
    np.testing.assert_allclose(avg[0, 0], [[2.5, 2.5], [4.0, 2.0]])


def test_global_pools():
    x = RNG.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(run_op("global_avgpool", [x])[:, :, 0, 0], x.mean(axis=(2, 3)))
    np.testing.assert_array_equal(run_op("global_maxpool", [x])[:, :, 0, 0], x.max(axis=(2, 3)))


def test_dense_and_matmul():
    x, w, b = RNG.standard_normal((3, 5)), RNG.standard_normal((4, 5)), RNG.standard_normal(4)
    want = np.array([[sum(x[i, k] * w[j, k] for k in range(5)) + b[j] for j in range(4)]
                     for i in range(3)])
    np.testing.assert_allclose(run_op("dense", [x, w, b]), want, rtol=1e-12)
    a, c = RNG.standard_normal((5, 3)), RNG.standard_normal((4, 5))
    np.testing.assert_allclose(run_op("matmul", [a, c], {"transpose_a": True, "transpose_b": True}),
                               a.T @ c.T)


@pytest.mark.parametrize(("op", "fn"), [
    ("relu", lambda v: v if v > 0 else 0.0),
    ("sigmoid", lambda v: 1 / (1 + math.exp(-v))),
    ("tanh", math.tanh),
    ("exp", math.exp),
    ("neg", lambda v: -v),
])
def test_unary_elementwise(op, fn):
    x = np.array([-30.0, -2.0, -0.5, 0.0, 0.25, 3.0, 30.0])
    np.testing.assert_allclose(run_op(op, [x]), [fn(v) for v in x], rtol=1e-12)


def test_log_sqrt_leaky_clip():
    x = np.array([0.25, 1.0, 4.0])
    np.testing.assert_allclose(run_op("log", [x]), np.log(x))
    np.testing.assert_allclose(run_op("sqrt", [x]), [0.5, 1.0, 2.0])
    y = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(run_op("leaky_relu", [y], {"alpha": 0.1}), [-0.2, 0.0, 3.0])
    np.testing.assert_allclose(run_op("clip", [y], {"min": -1.0, "max": 1.0}), [-1, 0, 1])
    np.testing.assert_array_equal(run_op("dropout", [y], {"rate": 0.5}), y)


def test_binary_broadcasting_with_channel_bias():
    x = RNG.standard_normal((2, 3, 4, 4))
    b = RNG.standard_normal((3, 1, 1))
    got = run_op("add", [x, b])
    for c in range(3):
        np.testing.assert_allclose(got[:, c], x[:, c] + b[c, 0, 0])
    np.testing.assert_allclose(run_op("mul", [x, b]), x * b)
    np.testing.assert_allclose(run_op("sub", [x, b]), x - b)
    np.testing.assert_allclose(run_op("div", [x, b]), x / b)


def test_softmax_family():
    x = RNG.standard_normal((4, 6)) * 10
    np.testing.assert_allclose(run_op("softmax", [x], {"axis": 1}), naive.softmax_rows(x))
    np.testing.assert_allclose(run_op("log_softmax", [x], {"axis": -1}),
                               np.log(naive.softmax_rows(x)), atol=1e-12)
    x4 = RNG.standard_normal((2, 3, 2, 2))
    s = run_op("softmax", [x4], {"axis": 1})
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    big = np.array([[1000.0, 0.0]])
    assert np.isfinite(run_op("log_softmax", [big])).all()


def test_losses():
    logits = RNG.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    got = run_op("softmax_cross_entropy", [logits, labels], roles={1: "label"})
    assert got.shape == ()
    assert got == pytest.approx(naive.cross_entropy(logits, labels), rel=1e-12)
    assert run_op("softmax_cross_entropy", [np.zeros((1, 2)), np.array([0])]) == pytest.approx(
        math.log(2))
    pred, target = np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]])
    assert run_op("mse", [pred, target]) == pytest.approx((1 + 4) / 2)


def test_cross_entropy_rejects_out_of_range_labels():
    from ir import RuntimeInputError

    with pytest.raises(RuntimeInputError, match="label 7 is outside the 4 classes"):
        run_op("softmax_cross_entropy", [np.zeros((2, 4)), np.array([1, 7])])


def test_batchnorm_inference():
    x = RNG.standard_normal((3, 2, 2, 2))
    scale, shift = np.array([2.0, 0.5]), np.array([1.0, -1.0])
    mean, var = np.array([0.5, -0.5]), np.array([4.0, 0.25])
    got = run_op("batchnorm", [x, scale, shift, mean, var], {"eps": 0.0})
    for c in range(2):
        want = (x[:, c] - mean[c]) / math.sqrt(var[c]) * scale[c] + shift[c]
        np.testing.assert_allclose(got[:, c], want)


def test_concat_flatten_reshape_const():
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 1, 4))
    np.testing.assert_array_equal(run_op("concat", [a, b], {"axis": 1}),
                                  np.concatenate([a, b], axis=1))
    x = RNG.standard_normal((2, 3, 4, 5))
    flat = run_op("flatten", [x])
    assert flat.shape == (2, 60)
    assert flat[1, 1 * 20 + 2 * 5 + 3] == x[1, 1, 2, 3]
    np.testing.assert_array_equal(run_op("reshape", [x], {"shape": [2, 12, 5]}),
                                  x.reshape(2, 12, 5))
    g = Graph("c")
    g.outputs = [g.add_op("const", [], {"value": 2.5, "shape": [2]})]
    np.testing.assert_array_equal(reference.run(g, {}).outputs[0], [2.5, 2.5])


def test_float32_stays_float32():
    g = Graph("t")
    x = g.add_input("x", TensorType("f32", (2, 3)), "input")
    g.outputs = [g.add_op("sigmoid", [x])]
    out = reference.run(g, {"x": np.ones((2, 3), np.float32)}).outputs[0]
    assert out.dtype == np.float32
    out64 = reference.run(g, {"x": np.ones((2, 3), np.float32)}, dtype="f64").outputs[0]
    assert out64.dtype == np.float64
