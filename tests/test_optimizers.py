"""Optimizers as IR: SGD (momentum, Nesterov, weight decay) and Adam against torch.optim's
formulas written out by hand, step by step."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.frontend import Builder
from ir import CompileError


def tiny_model():
    b = Builder("tiny")
    x = b.input("x", [3])
    b.loss("mse", b.dense(x, units=2, name="fc"))
    return b.build()


def torch_like_sgd(params, grads, bufs, lr, momentum, wd, nesterov):
    for k in params:
        d = grads[k] + wd * params[k]
        if momentum:
            bufs[k] = momentum * bufs[k] + d if k in bufs else d
            d = d + momentum * bufs[k] if nesterov else bufs[k]
        params[k] = params[k] - lr * d


def torch_like_adam(params, grads, m, v, t, lr, b1, b2, eps, wd):
    for k in params:
        d = grads[k] + wd * params[k]
        m[k] = b1 * m.get(k, 0) + (1 - b1) * d
        v[k] = b2 * v.get(k, 0) + (1 - b2) * d * d
        mhat = m[k] / (1 - b1 ** t)
        vhat = v[k] / (1 - b2 ** t)
        params[k] = params[k] - lr * mhat / (np.sqrt(vhat) + eps)


def run_steps(opt, steps=4):
    net = compiler.compile(tiny_model(), batch=5, train=True, optimizer=opt)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    t = rng.standard_normal((5, 2)).astype(np.float32)
    mine = {k: v.astype(np.float64) for k, v in net.params.items()}
    bufs, m, v = {}, {}, {}
    for step in range(1, steps + 1):
        _, grads = net.loss_and_grads(x, t)
        grads = {k: g.astype(np.float64) for k, g in grads.items()}
        for k in mine:  # evaluate the gradient at netc's parameters, as torch would
            mine[k] = net.params[k].astype(np.float64)
        if isinstance(opt, compiler.SGD):
            torch_like_sgd(mine, grads, bufs, opt.lr, opt.momentum, opt.weight_decay,
                           opt.nesterov)
        else:
            torch_like_adam(mine, grads, m, v, step, opt.lr, *opt.betas, opt.eps,
                            opt.weight_decay)
        net.train_step(x, t)
        for k in mine:
            np.testing.assert_allclose(net.params[k], mine[k], rtol=2e-5, atol=2e-6)
    return net


@pytest.mark.parametrize("opt", [
    compiler.SGD(lr=0.1),
    compiler.SGD(lr=0.1, weight_decay=0.01),
    compiler.SGD(lr=0.1, momentum=0.9),
    compiler.SGD(lr=0.1, momentum=0.8, weight_decay=0.05, nesterov=True),
    compiler.Adam(lr=0.01),
    compiler.Adam(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
])
def test_updates_match_torch_formulas(opt):
    net = run_steps(opt)
    if isinstance(opt, compiler.Adam):
        assert int(net.state["step"]) == 4
        assert "fc.weight.adam_m" in net.state
    elif opt.momentum:
        assert "fc.weight.momentum" in net.state


def test_update_ops_are_in_the_graph():
    net = compiler.compile(tiny_model(), batch=2, train=True,
                           optimizer=compiler.SGD(lr=0.1, momentum=0.9))
    text = compiler_text(net.graphs.train)
    assert "%fc.weight.momentum.next = sgd_momentum_buf(" in text
    assert "update %fc.weight <- %fc.weight.next" in text


def compiler_text(graph):
    from ir import print_graph

    return print_graph(graph)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: compiler.SGD(lr=-1), "lr must be in"),
    (lambda: compiler.SGD(lr=0.1, momentum=1.5), "momentum must be in"),
    (lambda: compiler.SGD(lr=0.1, nesterov=True), "Nesterov momentum needs momentum"),
    (lambda: compiler.Adam(betas=(0.9, 1.0)), "beta2 must be in"),
])
def test_bad_optimizer_settings(make, message):
    with pytest.raises(CompileError, match=message):
        make()


def test_batchnorm_running_statistics_follow_pytorch():
    b = Builder("bn")
    x = b.input("x", [3])
    b.loss("mse", b.batchnorm(x, momentum=0.1, name="bn"))
    net = compiler.compile(b.build(), batch=4, train=True, optimizer=compiler.SGD(lr=0.0))
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 3)).astype(np.float32)
    net.train_step(data, np.zeros((4, 3), np.float32))
    np.testing.assert_allclose(net.state["bn.running_mean"], 0.1 * data.mean(axis=0), rtol=1e-5)
    unbiased = data.var(axis=0, ddof=1)
    np.testing.assert_allclose(net.state["bn.running_var"], 0.9 + 0.1 * unbiased, rtol=1e-5)
    # inference uses the running statistics
    out = net.forward(data)
    want = (data - net.state["bn.running_mean"]) / np.sqrt(net.state["bn.running_var"] + 1e-5)
    np.testing.assert_allclose(out, want * net.params["bn.weight"] + net.params["bn.bias"],
                               rtol=1e-5, atol=1e-6)


def test_dropout_masks_change_per_step_and_replay():
    from runtime.ref_ops_train import dropout_keep

    a = dropout_keep(seed=1, step=0, numel=10000, rate=0.3)
    b = dropout_keep(seed=1, step=1, numel=10000, rate=0.3)
    np.testing.assert_array_equal(a, dropout_keep(seed=1, step=0, numel=10000, rate=0.3))
    assert (a != b).any()
    assert abs(a.mean() - 0.7) < 0.02
    assert abs(b.mean() - 0.7) < 0.02
