"""Depthwise and grouped convolutions: the direct kernels of compiler/codegen/emitters/
depthwise.py and conv.py's group loop against the reference interpreter (forward and
gradients, f32 and f64, every activation layout), gradients against finite differences, and
code whose size does not grow with the number of groups."""

from __future__ import annotations

import json

import numpy as np
import pytest

import compiler
from compiler.codegen.module import generate
from compiler.driver.jit import host_target, plan, shared_layout
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from tests.op_graphs import (
    GRADCHECK_RNG,
    assert_gradients,
    check,
    feeds_for,
    op_graph,
    op_loss_graph,
)

CASES = [  # (attrs, kernel, input shape)
    (dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1)), 3, (2, 8, 9, 11)),
    (dict(stride=(2, 2), pad=(1, 1, 1, 1), dilation=(1, 1)), 3, (1, 8, 10, 7)),
    (dict(stride=(2, 2), pad=(2, 2, 2, 2), dilation=(1, 1)), 5, (1, 4, 12, 12)),
    (dict(stride=(2, 1), pad=(2, 0, 1, 3), dilation=(2, 1)), 5, (2, 4, 11, 9)),
    (dict(stride=(1, 2), pad=(3, 2, 0, 1), dilation=(1, 2)), 3, (1, 6, 7, 13)),
]


def depthwise(shape, kernel, attrs, multiplier=1, bias=True, dtype="f32", builder=op_graph):
    c = shape[1]
    shapes = [shape, (c * multiplier, 1, kernel, kernel)] + ([(c * multiplier,)] if bias else [])
    attrs = {**attrs, "groups": c}
    if builder is op_loss_graph:
        return builder("conv2d", shapes, attrs)
    return builder("conv2d", shapes, attrs, dtype=dtype)


@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize(("attrs", "kernel", "shape"), CASES)
def test_depthwise_matches_the_reference(dtype, attrs, kernel, shape):
    for bias in (True, False):
        graph = depthwise(shape, kernel, attrs, bias=bias, dtype=dtype)
        check(graph, feeds_for(graph), dtype)


@pytest.mark.parametrize("multiplier", [2, 3])
def test_channel_multipliers_take_the_grouped_path(multiplier):
    graph = depthwise((1, 4, 8, 6), 3, CASES[1][0], multiplier=multiplier, dtype="f64")
    check(graph, feeds_for(graph), "f64")


@pytest.mark.parametrize("groups", [2, 4])
def test_grouped_convolutions_match_the_reference(groups):
    attrs = dict(stride=(2, 1), pad=(1, 0, 2, 1), dilation=(1, 2), groups=groups)
    graph = op_graph("conv2d", [(2, 8, 9, 7), (12, 8 // groups, 3, 2), (12,)], attrs, "f64")
    check(graph, feeds_for(graph), "f64")


@pytest.mark.parametrize(("attrs", "kernel", "shape"), [CASES[0], CASES[2], CASES[3]])
def test_depthwise_gradients_against_finite_differences(attrs, kernel, shape):
    graph = depthwise((1, *shape[1:]), kernel, attrs, builder=op_loss_graph)
    feeds = {v.name: GRADCHECK_RNG.standard_normal(v.type.shape) for v in graph.inputs}
    assert_gradients(graph, feeds, max_elements=400)


# ---------------------------------------------------------------- in a network, every layout

def mobile_block(channels, kernel, stride, padding, dilation):
    """expand (1x1) -> relu -> depthwise -> relu (+ residual) -> project -> dense: the
    depthwise convolution reads and writes laid-out activations, and its epilogue carries the
    activation and (stride 1) the residual add."""
    layers = [
        {"conv2d": {"name": "expand", "filters": channels, "kernel": 1}},
        {"relu": {"name": "expand_relu"}},
        {"conv2d": {"name": "dw", "filters": channels, "kernel": kernel, "stride": stride,
                    "padding": padding, "dilation": dilation, "groups": channels}},
        {"relu": {"name": "dw_relu"}},
    ]
    if stride == 1:
        layers.append({"add": {"name": "residual", "inputs": ["dw_relu", "expand_relu"]}})
    layers += [{"conv2d": {"name": "project", "filters": 8, "kernel": 1}},
               {"flatten": {"name": "flat"}}, {"dense": {"name": "fc", "units": 5}}]
    return {"name": "mobile_block", "input": {"name": "image", "shape": [3, 10, 9]},
            "layers": layers, "loss": "softmax_cross_entropy"}


@pytest.mark.parametrize("layout", ["", "nhwc", "nchw8c", "nchw16c"])
@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation"),
                         [(3, 1, 1, 1), (3, 2, 1, 1), (5, 1, 4, 2)])
def test_depthwise_in_every_layout(tmp_path, layout, dtype, kernel, stride, padding, dilation):
    path = tmp_path / "block.json"
    path.write_text(json.dumps(mobile_block(32, kernel, stride, padding, dilation)))
    graph = compiler.load(path)
    ref = compiler.compile(graph, batch=2, train=True, backend="reference", dtype=dtype)
    net = compiler.compile(graph, batch=2, train=True, layout=layout, dtype=dtype)
    for name in ref.params:
        net.params[name] = ref.params[name]
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 10, 9)).astype(np.float32 if dtype == "f32" else np.float64)
    labels = np.array([1, 3])
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "f32" else dict(rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(net.forward(x), ref.forward(x), **tol)
    loss, grads = net.loss_and_grads(x, labels)
    ref_loss, ref_grads = ref.loss_and_grads(x, labels)
    np.testing.assert_allclose(loss, ref_loss, **tol)
    for name, want in ref_grads.items():
        scale = max(np.abs(want).max(), 1.0)
        np.testing.assert_allclose(grads[name] / scale, want / scale, err_msg=name, **tol)


@pytest.mark.parametrize("layout", ["nhwc", "nchw16c"])
@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize(("kernel", "stride", "padding"), [(3, 1, 1), (5, 2, 2), (3, 2, 0)])
def test_depthwise_row_tiles_match_the_reference(tmp_path, layout, dtype, kernel, stride,
                                                 padding):
    """Rows of 19 and 10 output pixels: whole row tiles of the channel schedule, then a
    shorter last one. Padded fills clear only P's border: the expansion before is a padded
    3x3 convolution whose copy of the image leaves the shared scratch non-zero, so a border
    cell left uncleared shows."""
    block = mobile_block(32, kernel, stride, padding, 1)
    block["layers"][0]["conv2d"].update(kernel=3, padding=1)
    block["input"]["shape"] = [3, 12, 19]
    path = tmp_path / "block.json"
    path.write_text(json.dumps(block))
    graph = compiler.load(path)
    ref = compiler.compile(graph, batch=2, backend="reference", dtype=dtype)
    net = compiler.compile(graph, batch=2, layout=layout, dtype=dtype)
    for name in ref.params:
        net.params[name] = ref.params[name]
    x = np.random.default_rng(7).standard_normal((2, 3, 12, 19))
    x = x.astype(np.float32 if dtype == "f32" else np.float64)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "f32" else dict(rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(net.forward(x), ref.forward(x), **tol)


# ---------------------------------------------------------------- code size

def llvm_bytes(groups, hw=7):
    """Bytes of LLVM text of a groups-wide convolution's forward and gradient kernels."""
    attrs = dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1), groups=groups)
    graph = op_graph("conv2d", [(1, groups, hw, hw), (groups, 1, 3, 3), (groups,)], attrs)
    lowered = lower(graph, "grads", PassContext(train=True, wrt=("in0", "in1", "in2")))
    planned = plan(lowered, shared_layout([lowered])[0])
    generated = generate(planned, host_target(), "netc_grads", 0)
    return sum(len(m.text) for m in generated.modules), generated


def test_code_size_does_not_grow_with_the_groups():
    small, _ = llvm_bytes(16)
    big, generated = llvm_bytes(960)
    assert big < 1.05 * small  # the group count only appears in loop bounds
    assert big < 200_000
    assert not any("gemm_f32" in m.text for m in generated.modules)  # no library GEMM calls


def test_grouped_code_size_does_not_grow_with_the_groups():
    def size(groups):
        attrs = dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1), groups=groups)
        graph = op_graph("conv2d", [(1, 2 * groups, 6, 6), (4 * groups, 2, 3, 3)], attrs)
        lowered = lower(graph, "grads", PassContext(train=True, wrt=("in0", "in1")))
        planned = plan(lowered, shared_layout([lowered])[0])
        return sum(len(m.text) for m in generate(planned, host_target(), "g", 0).modules)

    assert size(480) < 1.05 * size(4)  # only the immediates' digits differ
