"""Layouts: activations in NHWC or blocked NCHW<b>c, flatten still free, parameters always in
PyTorch's order for the user."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.driver.jit import plan, shared_layout
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from ir import print_graph
from ir.layouts import Flat, to_logical, to_physical, weight_to_logical, weight_to_physical
from ir.ops import VIEW
from tests.conftest import EXAMPLES

LAYOUTS = ["nhwc", "nchw8c", "nchw16c"]
MODELS = ["lenet5.yaml", "cifar_cnn.yaml"]


def planned(model, kind, layout, batch=4):
    graph = compiler.load(EXAMPLES / model)
    ctx = PassContext(batch=batch, train=kind == "train", options={"layout": layout})
    reported = {}
    lowered = lower(graph, kind, ctx, verify_each=True, reported=reported)
    assert reported["layout_applied"] == layout
    return plan(lowered, shared_layout([lowered])[0])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("kind", ["forward", "train"])
def test_flatten_and_its_gradient_are_free_in_every_layout(layout, model, kind):
    g = planned(model, kind, layout)
    views = [n for n in g.nodes() if n.op in VIEW]
    assert views
    in_kernels = {n for k in g.kernels for n in k.nodes}
    for node in views:
        assert node.name not in in_kernels, f"{node.name} became a kernel"
        alloc = g.plan.allocations[node.name]
        assert alloc.region == "alias"
        assert alloc.nbytes == 0
        four = node.operands[0] if node.operands[0].type.rank == 4 else node.result
        assert four.type.layout == layout  # the activation itself never moved
    ops = {n.op for n in g.nodes()}
    assert not ops & {"transpose", "copy", "slice", "concat"}
    weight = g.value("fc1.weight")
    assert weight.type.layout.startswith(f"cols_{layout}_")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dump_states_every_values_layout(layout):
    text = print_graph(planned("lenet5.yaml", "forward", layout))
    assert "%pool2 = maxpool2d(%relu2)" in text
    assert f"f32[4,16,5,5]@{layout}" in text
    assert "@flat_" in text
    assert "@cols_" in text


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("model", [*MODELS, "resnet_small.json"])
def test_pytorch_order_weights_give_the_same_logits_and_gradients(layout, model):
    graph = compiler.load(EXAMPLES / model)
    ref = compiler.compile(graph, batch=3, train=True, backend="reference")
    plain = compiler.compile(graph, batch=3, train=True, layout="")
    laid = compiler.compile(graph, batch=3, train=True, layout=layout)
    for name in ref.params:  # PyTorch-order weights, loaded through net.params
        plain.params[name] = ref.params[name]
        laid.params[name] = ref.params[name]
        np.testing.assert_array_equal(laid.params[name], ref.params[name])
    shape = [3] + [int(d) for d in graph.inputs_with_role("input")[0].type.shape[1:]]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    y = np.array([1, 7, 3])
    np.testing.assert_allclose(laid.forward(x), plain.forward(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(laid.forward(x), ref.forward(x), rtol=1e-4, atol=1e-5)
    loss, grads = laid.loss_and_grads(x, y)
    rloss, rgrads = ref.loss_and_grads(x, y)
    assert loss == pytest.approx(rloss, rel=1e-5)
    for name in rgrads:  # gradients come back in the user's order too
        scale = max(float(np.abs(rgrads[name]).max()), 1e-3)
        np.testing.assert_allclose(grads[name] / scale, rgrads[name] / scale, atol=1e-4)
    for step in range(3):
        a, b = laid.train_step(x, y), plain.train_step(x, y)
        assert a == pytest.approx(b, rel=1e-4), step
    for name in ref.params:
        np.testing.assert_allclose(laid.params[name], plain.params[name], rtol=1e-4, atol=1e-5)


def test_permuted_weight_is_really_stored_permuted():
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    net = compiler.compile(graph, batch=2, layout="nhwc")
    tag = net.params.layout("fc1.weight")
    assert tag == "cols_nhwc_16x5x5"
    w = np.arange(120 * 400, dtype=np.float32).reshape(120, 400)
    net.params["fc1.weight"] = w
    raw = net._params["fc1.weight"]  # the bytes the kernels read
    np.testing.assert_array_equal(raw, weight_to_physical(w, tag))
    assert not np.array_equal(raw, w)
    # feature (c=1, h=2, w=3) of sample-major NCHW sits at j = 1*25 + 2*5 + 3 = 38;
    # in NHWC order its column is (h*W + w)*C + c = (2*5 + 3)*16 + 1 = 209
    np.testing.assert_array_equal(raw[:, 209], w[:, 38])


@pytest.mark.parametrize("layout", ["", *LAYOUTS])
def test_layout_formulas_round_trip(layout):
    x = np.random.default_rng(0).standard_normal((2, 16, 3, 5))
    np.testing.assert_array_equal(to_logical(to_physical(x, layout), layout, x.shape), x)
    flat = Flat(layout, 16, 3, 5)
    phys = flat.physical_index()
    np.testing.assert_array_equal(to_physical(x, layout).reshape(2, -1)[:, phys],
                                  x.reshape(2, -1))
    w = np.random.default_rng(1).standard_normal((4, 240))
    np.testing.assert_array_equal(weight_to_logical(weight_to_physical(w, flat.tag("cols")),
                                                    flat.tag("cols")), w)


def test_blocked_layout_skips_channels_that_do_not_fill_a_block():
    g = planned("lenet5.yaml", "forward", "nchw8c")
    assert g.value("conv1").type.layout == ""  # 6 channels: not a whole block of 8
    assert g.value("conv2").type.layout == "nchw8c"


def test_unknown_layout_is_refused():
    from ir import CompileError

    with pytest.raises(CompileError, match="layout must be"):
        compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=1, layout="nchw7c")
