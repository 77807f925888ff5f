"""Whole networks through the JIT against the reference interpreter: forward, loss_and_grads
and 20 training steps; the flatten of lenet5 is no kernel and shares its input's bytes; the
compile cache returns identical results."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.driver.jit import plan, shared_layout
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from tests.conftest import EXAMPLE_FILES, EXAMPLES

OPTIMIZERS = {
    "sgd": compiler.SGD(lr=0.05),
    "momentum": compiler.SGD(lr=0.02, momentum=0.9, weight_decay=1e-4),
    "adam": compiler.Adam(lr=1e-3),
}


def pair(path, batch, optimizer, dtype="f32"):
    graph = compiler.load(path)
    jit = compiler.compile(graph, batch=batch, train=True, optimizer=optimizer, dtype=dtype)
    ref = compiler.compile(graph, batch=batch, train=True, optimizer=optimizer,
                           backend="reference", dtype=dtype)
    for name in ref.params:
        jit.params[name] = ref.params[name]
    return graph, jit, ref


def data(graph, batch, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    shape = [batch] + [int(d) for d in graph.inputs_with_role("input")[0].type.shape[1:]]
    return rng.standard_normal(shape).astype(dtype), rng.integers(0, 10, batch)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_network_matches_reference_f32(path, opt):
    """float32: forward and gradients to rounding, and the same loss at each of 20 steps
    (the weights themselves drift apart chaotically once a max-pool or relu decision flips on a
    rounding difference, so they are compared in float64 below)."""
    batch = 3 if "cifar" in path.name else 5
    graph, jit, ref = pair(path, batch, OPTIMIZERS[opt])
    x, y = data(graph, batch)
    np.testing.assert_allclose(jit.forward(x), ref.forward(x), rtol=1e-4, atol=1e-5)
    loss, grads = jit.loss_and_grads(x, y)
    rloss, rgrads = ref.loss_and_grads(x, y)
    assert loss == pytest.approx(rloss, rel=1e-5)
    for name in rgrads:
        scale = max(float(np.abs(rgrads[name]).max()), 1e-3)
        np.testing.assert_allclose(grads[name] / scale, rgrads[name] / scale, atol=1e-4,
                                   err_msg=name)
    for step in range(20):
        xs, ys = data(graph, batch, seed=step)
        a, b = jit.train_step(xs, ys), ref.train_step(xs, ys)
        assert a == pytest.approx(b, rel=1e-3, abs=1e-4), f"step {step}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_network_matches_reference_f64(path, opt):
    """float64: after 20 training steps every parameter and state tensor agrees to 1e-9."""
    batch = 2 if "cifar" in path.name else 4
    graph, jit, ref = pair(path, batch, OPTIMIZERS[opt], dtype="f64")
    for step in range(20):
        xs, ys = data(graph, batch, seed=step, dtype=np.float64)
        a, b = jit.train_step(xs, ys), ref.train_step(xs, ys)
        assert a == pytest.approx(b, rel=1e-10), f"step {step}"
    for name in ref.params:
        np.testing.assert_allclose(jit.params[name], ref.params[name], rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    for name in ref.state:
        np.testing.assert_allclose(jit.state[name], ref.state[name], rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_batch_one():
    graph, jit, ref = pair(EXAMPLES / "lenet5.yaml", 1, OPTIMIZERS["sgd"])
    x, y = data(graph, 1)
    np.testing.assert_allclose(jit.forward(x), ref.forward(x), rtol=1e-4, atol=1e-5)
    assert jit.train_step(x, y) == pytest.approx(ref.train_step(x, y), rel=1e-5)


@pytest.mark.parametrize("kind", ["forward", "train"])
def test_flatten_is_no_kernel_and_shares_its_input(kind):
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    lowered = lower(graph, kind, PassContext(batch=8, train=kind == "train"))
    planned = plan(lowered, shared_layout([lowered])[0])
    in_kernels = {n for k in planned.kernels for n in k.nodes}
    views = [n for n in planned.nodes() if n.op == "reshape"]
    assert views, "lenet5 has a flatten"
    for node in views:
        assert node.name not in in_kernels
        alloc = planned.plan.allocations[node.name]
        assert alloc.region == "alias"
        assert alloc.nbytes == 0
        assert planned.plan.resolve(node.name) is planned.plan.resolve(node.operands[0].name)


def test_cache_hit_gives_identical_results(tmp_path, monkeypatch):
    monkeypatch.setenv("NETC_CACHE_DIR", str(tmp_path))
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    x, y = data(graph, 4)
    results = []
    for _ in range(2):
        net = compiler.compile(graph, batch=4, train=True)
        results.append((net.forward(x), net.train_step(x, y), net.params["fc1.weight"].copy(),
                        net.compiler.stages["train"].hit))
    (f1, l1, w1, hit1), (f2, l2, w2, hit2) = results
    assert not hit1
    assert hit2
    np.testing.assert_array_equal(f1, f2)
    assert l1 == l2
    np.testing.assert_array_equal(w1, w2)
