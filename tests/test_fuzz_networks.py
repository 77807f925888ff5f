"""Random valid networks through the JIT against the reference interpreter.

Hypothesis draws a network layer by layer (convolutions with random kernel, stride, padding,
dilation and groups; max and average pools with ceil_mode; batchnorm; activations; residual adds
and channel concats of side branches; global pools, flatten, dense) at a random batch, and
checks that the JIT gives the reference interpreter's forward output and loss in float32 and
its loss and every gradient in float64. Float32 gradients are compared too when the network is
smooth: through a max or a relu, float32 rounding may legitimately send a gradient down the
other branch of a near tie. The caller's arrays are never written.
Budgets (tests/fuzz.py): a few networks by default (each one is compiled), many with
NETC_FUZZ=long.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import compiler
from compiler.frontend.builder import Builder
from ir.errors import ModelError
from tests.fuzz import fuzz_settings


@dataclass
class Recipe:
    """How a drawn network was built (what hypothesis prints for a failing example)."""

    input_shape: list[int]
    layers: list[tuple[str, dict]] = field(default_factory=list)
    loss: str = "softmax_cross_entropy"
    batch: int = 2

    def build(self):
        b = Builder("fuzzed")
        values = [b.input("x", self.input_shape)]
        for op, kw in self.layers:
            values.append(_apply(b, values, op, kw))
        b.loss(self.loss, values[-1])
        return b.build()

    @property
    def smooth(self) -> bool:
        kinks = {"maxpool2d", "global_maxpool", "relu", "leaky_relu"}
        return not any(op in kinks or kw.get("activation") in kinks for op, kw in self.layers)


ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")


def _apply(b: Builder, values: list, op: str, kw: dict):
    x = values[-1]
    if op in ACTIVATIONS:
        return getattr(b, op)(x)
    if op == "branch":  # a side branch from an earlier value, merged into the current one
        side = values[kw["source"]]
        side = getattr(b, kw["layer"])(side, **kw["args"])
        if kw.get("activation"):
            side = getattr(b, kw["activation"])(side)
        if kw["merge"] == "concat":
            return b.concat([x, side], axis=1)
        return b.add(x, side)
    return getattr(b, op)(x, **kw)


@st.composite
def conv_args(draw, channels):
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0]))
    pad_form = draw(st.integers(0, 2))
    pad = [draw(st.integers(0, 2)) for _ in range((1, 2, 4)[pad_form])]
    return {"filters": groups * draw(st.integers(1, 3)),
            "kernel": [draw(st.integers(1, 4)), draw(st.integers(1, 4))],
            "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
            "padding": pad[0] if pad_form == 0 else pad,
            "dilation": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
            "groups": groups, "bias": draw(st.booleans())}


@st.composite
def pool_args(draw, op):
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    args = {"kernel": kernel, "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
            "padding": [draw(st.integers(0, k // 2)) for k in kernel],
            "ceil_mode": draw(st.booleans())}
    if op == "avgpool2d":
        args["count_include_pad"] = draw(st.booleans())
    return args


@st.composite
def image_layer(draw, values):
    x = values[-1]
    channels, height, width = x.type.shape[1:]
    op = draw(st.sampled_from(["conv2d", "conv2d", "maxpool2d", "avgpool2d", "batchnorm",
                               "activation", "branch", "global", "flatten"]))
    if op == "conv2d":
        return op, draw(conv_args(channels))
    if op in ("maxpool2d", "avgpool2d"):
        return op, draw(pool_args(op))
    if op == "activation":
        return draw(st.sampled_from(ACTIVATIONS)), {}
    if op == "global":
        return draw(st.sampled_from(["global_avgpool", "global_maxpool"])), {}
    if op == "branch":
        same = [i for i, v in enumerate(values) if v.type.shape == x.type.shape]
        merge = draw(st.sampled_from(["add", "concat"]))
        filters = channels if merge == "add" else draw(st.integers(1, 4))
        return op, {"source": draw(st.sampled_from(same)), "layer": "conv2d", "merge": merge,
                    "args": {"filters": filters, "kernel": 3, "padding": "same"},
                    "activation": draw(st.sampled_from([None, *ACTIVATIONS]))}
    return op, {}


@st.composite
def flat_layer(draw, values):
    x = values[-1]
    op = draw(st.sampled_from(["dense", "dense", "batchnorm", "activation", "branch"]))
    if op == "dense":
        return op, {"units": draw(st.integers(1, 20)), "bias": draw(st.booleans())}
    if op == "activation":
        return draw(st.sampled_from(ACTIVATIONS)), {}
    if op == "branch":
        same = [i for i, v in enumerate(values) if v.type.shape == x.type.shape]
        merge = draw(st.sampled_from(["add", "concat"]))
        units = x.type.shape[1] if merge == "add" else draw(st.integers(1, 6))
        return op, {"source": draw(st.sampled_from(same)), "layer": "dense", "merge": merge,
                    "args": {"units": units},
                    "activation": draw(st.sampled_from([None, *ACTIVATIONS]))}
    return op, {}


@st.composite
def networks(draw) -> Recipe:
    """A valid network: each drawn layer is kept only when the builder accepts it."""
    if draw(st.booleans()):
        shape = [draw(st.integers(1, 4)), draw(st.integers(3, 13)), draw(st.integers(3, 13))]
    else:
        shape = [draw(st.integers(1, 24))]
    recipe = Recipe(shape, batch=draw(st.integers(1, 3)))
    b = Builder("draft")
    values = [b.input("x", shape)]
    for _ in range(draw(st.integers(1, 5))):
        layer = draw(image_layer(values) if values[-1].type.rank == 4 else flat_layer(values))
        try:
            values.append(_apply(b, values, *layer))
        except ModelError:
            continue  # e.g. a window larger than the padded input: draw the next layer
        recipe.layers.append(layer)
    if values[-1].type.rank == 4:
        recipe.layers.append(("flatten", {}))
    recipe.layers.append(("dense", {"units": draw(st.integers(2, 6))}))
    recipe.loss = draw(st.sampled_from(["softmax_cross_entropy", "mse"]))
    return recipe


def feeds(graph, batch: int, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal([batch, *graph.inputs_with_role("input")[0].type.shape[1:]])
    label = graph.inputs_with_role("label")[0].type.bind(batch)
    if label.dtype == "i64":
        classes = graph.loss.node.operands[0].type.shape[1]
        y = rng.integers(0, classes, batch)
    else:
        y = rng.standard_normal(label.shape).astype(dtype)
    return x.astype(dtype), y


def pair(graph, batch: int, dtype: str):
    jit = compiler.compile(graph, batch=batch, train=True, dtype=dtype)
    ref = compiler.compile(graph, batch=batch, train=True, backend="reference", dtype=dtype)
    for name in ref.params:
        ref.params[name] = ref.params[name] + 0.1 * np.random.default_rng(1).standard_normal(
            ref.params[name].shape)  # nonzero biases and batchnorm shifts too
        jit.params[name] = ref.params[name]
    return jit, ref


def assert_grads_close(grads, want, atol, floor):
    """Each gradient to `atol` of its own largest entry, or of `floor` times the largest
    gradient of the network: a gradient that is zero in exact arithmetic (a bias before a
    batchnorm) is rounding noise, relative to nothing of its own; in float32 that noise is
    amplified by the batchnorm's 1/sigma (a bias gradient of 9.3e-5 against 9.5e-5, where
    float64 gives 1e-15, beside gradients of 0.49)."""
    assert sorted(grads) == sorted(want)
    largest = max(float(np.abs(g).max()) for g in want.values())
    for name in want:
        scale = max(float(np.abs(want[name]).max()), floor * largest, 1e-3)
        np.testing.assert_allclose(grads[name] / scale, want[name] / scale, atol=atol,
                                   err_msg=name)


def check_untouched(arrays, before):
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b, err_msg="the network wrote into the caller's array")


@fuzz_settings(default=12, long=300)
@given(recipe=networks())
def test_random_networks_match_the_reference(recipe):
    graph = recipe.build()
    batch = recipe.batch

    jit, ref = pair(graph, batch, "f32")
    x, y = feeds(graph, batch, np.float32)
    saved = (x.copy(), y.copy())
    np.testing.assert_allclose(jit.forward(x), ref.forward(x), rtol=1e-4, atol=1e-4)
    loss, grads = jit.loss_and_grads(x, y)
    want_loss, want = ref.loss_and_grads(x, y)
    assert abs(loss - want_loss) <= 1e-4 * max(1.0, abs(want_loss))
    if recipe.smooth:
        assert_grads_close(grads, want, atol=2e-4, floor=0.1)
    check_untouched((x, y), saved)

    jit, ref = pair(graph, batch, "f64")
    x, y = feeds(graph, batch, np.float64, seed=1)
    loss, grads = jit.loss_and_grads(x, y)
    want_loss, want = ref.loss_and_grads(x, y)
    assert abs(loss - want_loss) <= 1e-10 * max(1.0, abs(want_loss))
    assert_grads_close(grads, want, atol=1e-9, floor=1e-2)
