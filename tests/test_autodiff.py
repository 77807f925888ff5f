"""Autodiff on whole networks: gradient checks, provenance, views, dead code, memorization."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.driver.pipelines import lower, run_passes
from compiler.gradcheck import check_gradients
from compiler.passes import PassContext
from ir import parse, print_graph
from ir.dot import to_dot
from ir.ops import VIEW
from tests.conftest import EXAMPLE_FILES, EXAMPLES, network_feeds


def train_graph(name="lenet5.yaml", batch=None, optimizer=None):
    graph = compiler.load(EXAMPLES / name)
    ctx = PassContext(batch=batch, train=True, optimizer=optimizer)
    return lower(graph, "train", ctx, verify_each=True)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_network_gradients_match_finite_differences(path):
    graph = compiler.load(path)
    feeds = network_feeds(graph, batch=2, seed=1)
    for c in check_gradients(graph, feeds, max_elements=16, directions=2, singles=1):
        assert c.error < 1e-6, f"{path.name}: d loss / d {c.name}: relative error {c.error:.2e}"
        assert c.analytic_norm > 0


def test_backward_ops_name_their_forward_op():
    graph = train_graph()
    forward = {n.name for n in graph.nodes() if n.grad_of is None}
    backward = [n for n in graph.nodes() if n.grad_of is not None]
    assert len(backward) > 20
    for n in backward:
        assert n.grad_of in forward or graph.has_value(n.grad_of), n
    text = print_graph(graph)
    assert "conv2d_grad_weight(%conv2.grad, %pool1)" in text
    assert "# grad of %conv2" in text
    assert print_graph(parse(text)) == text


def test_dot_colours_forward_and_backward_apart():
    dot = to_dot(train_graph())
    assert 'fillcolor="#dbe9f6"' in dot
    assert 'fillcolor="#fbe3d6"' in dot
    assert "grad of conv2" in dot


def test_flatten_gradient_is_a_view():
    graph = train_graph()
    flatten = graph.value("flatten").node
    assert flatten.op == "reshape"
    grads_of_views = [n for n in graph.nodes() if n.grad_of is not None
                      and graph.has_value(n.grad_of) and graph.value(n.grad_of).node is not None
                      and graph.value(n.grad_of).node.op in VIEW]
    assert grads_of_views, "the backward of flatten is missing"
    for n in grads_of_views:
        assert n.op in VIEW, f"{n} copies bytes for the gradient of a view"
    assert graph.value("pool2.grad").node.op == "reshape"


def test_lenet5_training_graph_has_no_dead_op():
    graph = train_graph()
    needed = set()
    for v in graph.result_values():
        needed |= graph.ancestors(v) | {v.name}
    dead = [n.name for n in graph.nodes() if n.name not in needed]
    assert dead == []
    # the image needs no gradient: conv1's input gradient is never built
    assert not any(n.op == "conv2d_grad_input" and n.grad_of == "conv1" for n in graph.nodes())
    assert len(graph.updates) == 10


def test_dce_removes_gradients_nobody_uses():
    """Ask autodiff for d loss / d image too: the optimizer never reads it, DCE removes it."""
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    ctx = PassContext(train=True, wrt=("image",))
    g = run_passes(graph, ("canonicalize", "autodiff", "optimizer"), ctx)
    assert any(n.op == "conv2d_grad_input" and n.grad_of == "conv1" for n in g.nodes())
    g = run_passes(g, ("dce",), ctx)
    assert not any(n.op == "conv2d_grad_input" and n.grad_of == "conv1" for n in g.nodes())


def test_gradients_at_fan_out_are_summed():
    graph = train_graph("resnet_small.json")
    total = graph.value("stem_relu.grad").node
    assert total.op == "add"
    assert total.grad_of == "stem_relu"


def test_memorizes_a_fixed_batch_on_the_reference_path():
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    net = compiler.compile(graph, batch=16, train=True,
                           optimizer=compiler.SGD(lr=0.05, momentum=0.9), backend="reference")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    losses = [net.train_step(x, y) for _ in range(80)]
    assert losses[0] > 2.0
    assert min(losses) < 0.05, losses[-5:]


def test_loss_and_grads_does_not_update():
    graph = compiler.load(EXAMPLES / "mlp.yaml")
    net = compiler.compile(graph, batch=4, train=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 784)).astype(np.float32)
    y = rng.integers(0, 10, 4)
    before = {k: v.copy() for k, v in net.params.items()}
    loss1, grads = net.loss_and_grads(x, y)
    loss2, _ = net.loss_and_grads(x, y)
    assert loss1 == loss2
    assert set(grads) == set(before)
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, before[k])
    assert net.train_step(x, y) == pytest.approx(loss1, rel=1e-6)
    assert net.loss_and_grads(x, y)[0] < loss1


def test_every_op_with_a_gradient_rule_module_is_differentiable_in_a_fresh_process():
    """Rules live in grad_rules_*.py modules; autodiff must load them all itself (a test that
    imported them by hand would hide a model that fails to train from the command line)."""
    import subprocess
    import sys

    code = ("import compiler.passes.autodiff\n"
            "from compiler.passes.grad_rules import RULES\n"
            "from ir.ops import OPS\n"
            "missing = [op for op in ('transpose', 'pad', 'reduce_mean', 'reduce_max', "
            "'batch_mean', 'batch_var') if op in OPS and op not in RULES]\n"
            "assert not missing, missing\n")
    subprocess.run([sys.executable, "-c", code], check=True)
