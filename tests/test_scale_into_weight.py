"""scale-into-weight (compiler/passes/scale_into_weight.py): a squeeze-and-excitation scale in
front of a 1x1 convolution scales the convolution's weight at batch 1; the JIT's forward then
equals the reference interpreter's (which runs the graph as written) at both vector widths,
with a folded batchnorm after the convolution too; the cases the pass must leave alone stay."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from tests.op_graphs import JIT_TOL
from tests.test_gemm import widths


def se_block(batch_norm: bool = False, kernel: int = 1, filters: int = 6, size: int = 12,
             twice: bool = False) -> compiler.Graph:
    """conv -> x * sigmoid(fc2(relu(fc1(gap(x))))) -> conv `project` (1x1 unless `kernel`),
    then, optionally, a batchnorm that folds into the projection. `twice`: the scaled
    activation has a second reader."""
    b = compiler.Builder("se")
    x = b.input("image", [4, size, size])
    x = b.conv2d(x, filters=16, kernel=3, padding=1, name="expand")
    s = b.relu(b.conv2d(b.global_avgpool(x), filters=4, kernel=1, name="fc1"))
    s = b.sigmoid(b.conv2d(s, filters=16, kernel=1, name="fc2"))
    scaled = b.mul(s, x, name="scaled")
    y = b.conv2d(scaled, filters=filters, kernel=kernel, padding=kernel // 2, name="project")
    if batch_norm:
        y = b.batchnorm(y, name="bn")
    y = b.global_avgpool(y)
    if twice:  # (needs filters=16: the two pooled values add up)
        y = b.add(y, b.global_avgpool(scaled), name="both")
    b.loss("softmax_cross_entropy", b.dense(b.flatten(y), units=3, name="out"))
    return b.build()


def rewritten(graph: compiler.Graph, batch: int = 1) -> list[str]:
    """The scaled weights the JIT's forward pipeline makes of `graph`."""
    forward = lower(graph, "forward", PassContext(batch=batch,
                                                  options={"fold_batch_norm": True}))
    return [n.name for n in forward.nodes() if n.name.endswith(".scaled_weight")]


def test_the_scale_moves_onto_the_weight_and_the_activation_sweep_disappears():
    graph = se_block()
    forward = lower(graph, "forward", PassContext(batch=1, options={"fold_batch_norm": True}))
    project = forward.node("project")
    assert [v.name for v in project.operands[:2]] == ["expand", "project.scaled_weight"]
    weight = forward.node("project.scaled_weight")
    assert weight.op == "mul"
    assert [v.name for v in weight.operands] == ["project.weight", "sigmoid"]
    assert list(weight.result.type.shape) == [6, 16, 1, 1]
    assert "scaled" not in [n.name for n in forward.nodes()]


@pytest.mark.parametrize(("why", "graph", "batch"), [
    ("batch 2: one scale per image", se_block(), 2),
    ("a 3x3 convolution", se_block(kernel=3), 1),
    ("the scaled activation is read twice", se_block(filters=16, size=20, twice=True), 1),
    ("the weight is larger than 1/16 of the activation", se_block(filters=16, size=3), 1),
])
def test_the_pass_leaves_alone(why, graph, batch):
    assert rewritten(graph, batch) == [], why


def test_the_same_block_without_its_second_reader_is_rewritten():
    assert rewritten(se_block(filters=16, size=20)) == ["project.scaled_weight"]


def test_the_reference_backend_runs_the_graph_as_written():
    forward = lower(se_block(), "forward", PassContext(batch=1))
    assert "scaled" in [n.name for n in forward.nodes()]


@pytest.mark.parametrize("bits", widths())
@pytest.mark.parametrize("batch_norm", [False, True])
def test_the_jit_forward_equals_the_reference(monkeypatch, bits, batch_norm):
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    graph = se_block(batch_norm=batch_norm)
    jit = compiler.compile(graph, batch=1, seed=2)
    ref = compiler.compile(graph, batch=1, backend="reference", seed=2)
    assert any(n.name.endswith(".scaled_weight") for n in jit.graphs.forward.nodes())
    rng = np.random.default_rng(5)
    for store in ("params", "state"):  # non-trivial values, the same in both networks
        for name, value in getattr(jit, store).items():
            new = rng.standard_normal(value.shape).astype(np.float32)
            if name.endswith("running_var"):
                new = np.abs(new) + 0.5
            getattr(jit, store)[name] = new
            getattr(ref, store)[name] = new
    x = rng.standard_normal((1, 4, 12, 12)).astype(np.float32)
    want = ref.forward(x)
    scale = np.abs(want).max()
    np.testing.assert_allclose(jit.forward(x) / scale, want / scale, **JIT_TOL["f32"])
