"""Convolution gradients of small images (compiler/codegen/emitters/conv_across.py) and conv.py's
strided gathers against the reference interpreter, forward and backward, at both vector
widths, in f32 and f64, and by finite differences in f64.

The shapes make the kernels cross every edge they have: chunks of columns that split an image
(5 images of 100 pixels in chunks of 256 columns), rows of W^T in several blocks per task
(128 channels x 9), strides 1 and 2 with padding, a 7x7 stride-2 kernel and a dilated one.
The direct stride-1 kernels of conv_flat.py and the transposed weight gradient of
conv_grad_weight.py are checked the same way (FLAT, TRANSPOSED)."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.codegen.emitters import conv_across, conv_flat, conv_grad_weight
from compiler.codegen.emitters.conv_across import accepts
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from tests.op_graphs import (
    DTYPES,
    assert_gradients,
    check,
    feeds_for,
    gradcheck_feeds,
    op_graph,
    op_loss_graph,
)
from tests.test_conv_kernels import TOL, compare, load
from tests.test_gemm import widths


def attrs(stride=1, pad=0, dilation=1):
    return dict(stride=(stride, stride), pad=(pad,) * 4, dilation=(dilation, dilation))


CASES = [
    # (input shape, weight shape, attrs)
    ((5, 128, 10, 10), (40, 128, 3, 3), attrs(pad=1)),  # chunks split images, rows in blocks
    ((3, 64, 13, 11), (24, 64, 3, 3), attrs(stride=2, pad=1)),
    ((2, 12, 20, 18), (8, 12, 7, 7), attrs(stride=2, pad=3)),  # a 7x7 stride-2 stem
    ((2, 64, 9, 9), (5, 64, 3, 3), attrs(pad=2, dilation=2)),
]


def scaled(graph, feeds):
    """The input of order 1 / sqrt(fan-in): sums over thousands of terms stay of order 1."""
    x, w = feeds["in0"], feeds["in1"]
    fan_in = w.shape[1] * w.shape[2] * w.shape[3]
    return {**feeds, "in1": (w / fan_in ** 0.5).astype(w.dtype), "in0": x}


@pytest.fixture
def small_weights_across(monkeypatch):
    """The across kernel for these cases' weights too (it takes 128 Ki weights and up:
    resnet18's layer3 and 4), so the checks stay small."""
    monkeypatch.setattr(conv_across, "ACROSS_MIN_WEIGHTS", 1)


@pytest.mark.usefixtures("small_weights_across")
@pytest.mark.parametrize("bits", widths())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("x", "w", "attrs"), CASES)
def test_small_image_gradients_match_the_reference(monkeypatch, bits, dtype, x, w, attrs):
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    graph = op_graph("conv2d", [x, w], attrs, dtype)
    check(graph, scaled(graph, feeds_for(graph)), dtype)


@pytest.mark.usefixtures("small_weights_across")
@pytest.mark.parametrize(("x", "w", "attrs"), CASES[1:])
def test_small_image_gradients_by_finite_differences(x, w, attrs):
    graph = op_loss_graph("conv2d", [(2, *x[1:]), w], attrs)
    assert_gradients(graph, gradcheck_feeds(graph))


def grad_inputs(x, w, a):
    """The convolution and its input gradient in the training graph."""
    graph = op_graph("conv2d", [x, w], a, "f32")
    lowered = lower(graph, "grads", PassContext(train=True, wrt=("in0", "in1")))
    nodes = [n for n in lowered.nodes() if n.op in ("conv2d", "conv2d_grad_input")]
    assert len(nodes) == 2
    return nodes


@pytest.mark.usefixtures("small_weights_across")
def test_the_cases_take_the_across_kernel():
    """Every convolution and input gradient of the cases is one the across kernels accept
    (else the checks above would test conv.py's); a batch of one image, images of more than
    256 pixels and a 1x1 projection stay on conv.py's kernels."""
    for x, w, a in CASES:
        assert all(accepts(n) for n in grad_inputs(x, w, a))
    assert not any(accepts(n) for n in grad_inputs((1, 64, 6, 6), (4, 64, 3, 3), attrs(pad=1)))
    assert not any(accepts(n) for n in grad_inputs((2, 64, 19, 18), (4, 64, 3, 3), attrs()))
    assert not any(accepts(n) for n in grad_inputs((2, 256, 8, 8), (8, 256, 1, 1), attrs(2)))


def test_which_real_layers_run_across():
    """resnet18's layer3 and 4 (and layer3's strided entry) run across images; cifar's second
    stage (64 x 64 x 3x3 weights on 16x16 images) and resnet's 1x1 projections do not."""
    resnet = [((8, 256, 14, 14), (256, 256, 3, 3), attrs(pad=1)),
              ((8, 512, 7, 7), (512, 512, 3, 3), attrs(pad=1)),
              ((8, 128, 28, 28), (256, 128, 3, 3), attrs(stride=2, pad=1))]
    for x, w, a in resnet:
        assert all(accepts(n) for n in grad_inputs(x, w, a))
    assert not any(accepts(n) for n in grad_inputs((32, 64, 16, 16), (64, 64, 3, 3),
                                                    attrs(pad=1)))
    assert not any(accepts(n) for n in grad_inputs((8, 256, 14, 14), (512, 256, 1, 1),
                                                    attrs(stride=2)))


STRIDED = [
    # rows of 38 and 27 output columns: whole vectors of 16 (or 8) lanes and a scalar tail
    ((2, 3, 9, 75), (4, 3, 7, 7), attrs(stride=2, pad=3)),  # a stem: padding on both sides
    ((2, 2, 7, 80), (3, 2, 3, 3), attrs(stride=3)),  # stride 3, the row's end unread
    # 36 filters over 75 columns of W: the weight gradient's tasks split the filters
    ((2, 3, 9, 75), (36, 3, 5, 5), attrs(stride=2, pad=2)),
]


@pytest.mark.parametrize("bits", widths())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("x", "w", "attrs"), STRIDED)
def test_strided_gathers_match_the_reference(monkeypatch, bits, dtype, x, w, attrs):
    """conv.py's im2col of strided convolutions copies whole vectors of columns (one wide
    load shuffled down); the forward and the weight gradient read its tiles, the latter split
    by columns of dW or (few columns, many filters) by its rows."""
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    graph = op_graph("conv2d", [x, w], attrs, dtype)
    check(graph, scaled(graph, feeds_for(graph)), dtype)


def residual_block():
    """A residual block on 9x9 images: convolutions with bias whose epilogues (ReLU; the
    residual add and ReLU) run on chunks that split an image (3 images, 2 chunks)."""
    layers = [
        {"conv2d": {"name": "a", "filters": 64, "kernel": 3, "padding": 1}},
        {"relu": {"name": "ra"}},
        {"conv2d": {"name": "b", "filters": 64, "kernel": 3, "padding": 1}},
        {"add": {"name": "res", "inputs": ["b", "image"]}},
        {"relu": {"name": "rb"}},
        {"flatten": {"name": "flat"}},
        {"dense": {"name": "fc", "units": 5}},
    ]
    return {"name": "block", "input": {"name": "image", "shape": [64, 9, 9]},
            "layers": layers, "loss": "softmax_cross_entropy"}


@pytest.mark.usefixtures("small_weights_across")
@pytest.mark.parametrize("bits", widths())
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_residual_block_trains_as_the_reference(tmp_path, monkeypatch, bits, dtype):
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    net, ref, x = compare(load(tmp_path, residual_block()), (64, 9, 9), "", dtype, batch=3,
                          train=True)
    labels = np.array([1, 4, 0])
    loss, grads = net.loss_and_grads(x, labels)
    want_loss, want = ref.loss_and_grads(x, labels)
    np.testing.assert_allclose(loss, want_loss, **TOL[dtype])
    for name, g in want.items():
        scale = max(np.abs(g).max(), 1.0)
        np.testing.assert_allclose(grads[name] / scale, g / scale, err_msg=name, **TOL[dtype])


FLAT = [
    # (input shape, weight shape, attrs): conv_flat.py's direct kernels, forward and dx
    # 17 output channels: one whole panel of 12 (6 at 256 bits) and a remainder; 19 columns
    # padded to 21, so tiles of 32 (16) columns cross rows and a task's last tile its end
    ((3, 8, 17, 19), (17, 8, 3, 3), attrs(pad=1)),
    # batch 1: four tasks of rows per image; a 5x5 kernel, fewer outputs than one panel
    ((1, 3, 20, 20), (7, 3, 5, 5), attrs(pad=2)),
    # dilation 2, padding wider than the kernel reaches; 40 channels: two channel blocks;
    # 16 outputs: register tiles of 8 (4) rows x 3 vectors
    ((2, 40, 18, 17), (16, 40, 3, 3), attrs(pad=2, dilation=2)),
    # strided forwards (phase planes; dx stays conv.py's): a 7x7 stride-2 stem, stride 3 with
    # dilation 2 (the planes some tap reads)
    ((2, 3, 41, 39), (16, 3, 7, 7), attrs(stride=2, pad=3)),
    ((1, 8, 50, 52), (7, 8, 3, 3), attrs(stride=3, pad=2, dilation=2)),
]


def test_which_convolutions_run_flat():
    """resnet18's stride-1 layer1 and layer2 convolutions and their input gradients, and
    cifar's; strided ones but not their input gradients; not 1x1 ones, not MobileNet's stem
    (27 terms per output), not the small images that run across (layer3 and 4)."""
    for x, w, a in [((8, 64, 56, 56), (64, 64, 3, 3), attrs(pad=1)),
                    ((8, 128, 28, 28), (128, 128, 3, 3), attrs(pad=1)),
                    ((32, 32, 32, 32), (32, 32, 3, 3), attrs(pad=1)), *FLAT[:3]]:
        assert all(conv_flat.accepts(n) for n in grad_inputs(x, w, a))
    for x, w, a in [((8, 64, 56, 56), (128, 64, 3, 3), attrs(stride=2, pad=1)), *FLAT[3:]]:
        assert [conv_flat.accepts(n) for n in grad_inputs(x, w, a)] == [True, False]
    for x, w, a in [((8, 64, 56, 56), (128, 64, 1, 1), attrs(stride=2)),
                    ((8, 3, 224, 224), (32, 3, 3, 3), attrs(stride=2, pad=1)),
                    ((8, 256, 14, 14), (256, 256, 3, 3), attrs(pad=1))]:
        assert not any(conv_flat.accepts(n) for n in grad_inputs(x, w, a))


TRANSPOSED = [
    # 32 filters: whole NR panels at both widths, so conv_grad_weight.py runs dW^T; 45 and 147
    # im2col rows split into tasks of whole MR panels and a remainder
    ((2, 5, 17, 19), (32, 5, 3, 3), attrs(pad=1)),
    ((1, 3, 23, 23), (32, 3, 7, 7), attrs(stride=2, pad=3)),  # a stem at batch 1
    ((3, 20, 9, 9), (32, 20, 3, 3), attrs(stride=2)),  # small images, no padding
]


@pytest.mark.parametrize("bits", widths())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("x", "w", "attrs"), FLAT + TRANSPOSED)
def test_flat_and_transposed_kernels_match_the_reference(monkeypatch, bits, dtype, x, w,
                                                         attrs):
    """conv_flat.py's stride-1 convolution and input gradient over the padded image's flat
    pixel axis, and conv_grad_weight.py's dW^T, against the reference interpreter."""
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    graph = op_graph("conv2d", [x, w], attrs, dtype)
    check(graph, scaled(graph, feeds_for(graph)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_flat_convolution_with_bias(dtype):
    """The bias is added as the staging block is copied out (grad: the bias's reduce_sum)."""
    x, w, a = FLAT[0]
    graph = op_graph("conv2d", [x, w, (w[0],)], a, dtype)
    conv = next(n for n in graph.nodes() if n.op == "conv2d")
    assert len(conv.operands) == 3
    assert conv_flat.accepts(conv)
    check(graph, scaled(graph, feeds_for(graph)), dtype)


@pytest.mark.parametrize(("x", "w", "attrs"), [FLAT[0], TRANSPOSED[1]])
def test_flat_and_transposed_kernels_by_finite_differences(x, w, attrs):
    graph = op_loss_graph("conv2d", [(2, *x[1:]), w], attrs)
    assert_gradients(graph, gradcheck_feeds(graph))


def test_which_weight_gradients_run_transposed():
    """resnet18's stem, layer1 and 2 (dW up to 1 MiB, whole panels of filters); not layer3's
    2.4 MB dW, nor 24 filters (not whole panels of 32), nor a 1x1 projection."""
    def weight_gradient(x, w, a):
        graph = op_graph("conv2d", [x, w], a, "f32")
        lowered = lower(graph, "grads", PassContext(train=True, wrt=("in1",)))
        (node,) = [n for n in lowered.nodes() if n.op == "conv2d_grad_weight"]
        return node

    for x, w, a in [((8, 3, 224, 224), (64, 3, 7, 7), attrs(stride=2, pad=3)),
                    ((8, 64, 56, 56), (64, 64, 3, 3), attrs(pad=1)),
                    ((8, 128, 28, 28), (128, 128, 3, 3), attrs(pad=1))]:
        assert conv_grad_weight.runs_transposed(weight_gradient(x, w, a), 32)
    for x, w, a in [((8, 256, 14, 14), (256, 256, 3, 3), attrs(pad=1)),
                    ((8, 64, 56, 56), (24, 64, 3, 3), attrs(pad=1)),
                    ((8, 64, 56, 56), (128, 64, 1, 1), attrs(stride=2))]:
        assert not conv_grad_weight.runs_transposed(weight_gradient(x, w, a), 32)
