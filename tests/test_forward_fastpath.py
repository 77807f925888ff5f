"""forward()'s short path (runtime/network.py's `_ready` check, runtime/jit/call.py's
NativeEntry.first): an input already of the right shape, dtype and order skips the full check,
and the folded constants' addresses are kept between calls. Nothing it caches may show: every
result stays the caller's, a changed parameter shows in the next forward, and an input that is
not ready takes the full check with its messages."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from ir.errors import RuntimeInputError
from tests.op_graphs import JIT_TOL
from tests.test_bn_folding import BATCH, MODEL, data, loaded, randomized


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """A training JIT network and the reference, with the same non-trivial values."""
    graph = loaded(tmp_path_factory, "cbr_fast", MODEL)
    pair = [compiler.compile(graph, batch=BATCH, train=True, backend=backend)
            for backend in ("jit", "reference")]
    randomized(pair, "f32")
    return pair


def same(got, want):
    scale = np.abs(want).max()
    np.testing.assert_allclose(got / scale, want / scale, **JIT_TOL["f32"])


def test_results_stay_and_follow_every_change(nets):
    jit, ref = nets
    x, y = data("f32")
    first = jit.forward(x)
    kept = first.copy()
    same(first, ref.forward(x))
    for net in nets:  # an assignment between two forwards
        net.params["bn1.weight"] = net.params["bn1.weight"] * -1.5
    second = jit.forward(x)
    same(second, ref.forward(x))
    assert not np.allclose(second, kept)
    for net in nets:  # a training step between two forwards
        net.train_step(x, y)
    third = jit.forward(x)
    same(third, ref.forward(x))
    assert not np.allclose(third, second)
    np.testing.assert_array_equal(first, kept)  # no later call wrote into an earlier result
    assert jit._folds is not None
    assert jit._folds.refolds == 3


def test_an_input_not_ready_is_checked_as_before(nets):
    jit, ref = nets
    x, _ = data("f32")
    want = ref.forward(x)
    same(jit.forward(x), want)
    with pytest.raises(RuntimeInputError, match=r"must be float32, got float64 \(convert"):
        jit.forward(x.astype(np.float64))
    with pytest.raises(RuntimeInputError, match=r"must have shape \[2, 3, 9, 9\]"):
        jit.forward(x[:1])
    with pytest.raises(RuntimeInputError, match="expected 1 input array"):
        jit.forward()
    same(jit.forward(np.asfortranarray(x)), want)  # converted, then computed
    same(jit.forward(x[..., ::-1].copy()[..., ::-1]), want)  # a reversed view
    same(jit.forward(x.tolist()), want)
    same(jit.forward({"image": x}), want)
    unaligned = np.frombuffer(b"\0" + x.tobytes(), np.float32, x.size, 1).reshape(x.shape)
    same(jit.forward(unaligned), want)
    same(jit.forward(x), want)  # and the ready path again after those
