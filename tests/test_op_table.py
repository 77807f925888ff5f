"""The op table is complete: every declared op has every hook the other stages need (a numpy
reference, a gradient rule or an explicit "not differentiable", a kernel or the view kind, a
declared layout behaviour), and the facts it states agree with what the stages do."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.codegen.emitters import emitter_table
from compiler.codegen.expr import EXPR
from compiler.driver.pipelines import PIPELINES
from compiler.passes import PassContext, PassManager
from ir import OPS, Kind
from ir.ops import ELEMENTWISE, POINTWISE, VIEW, AttrSpec, Layout, Trait, ops_where
from runtime.ref_ops import REF
from tests.conftest import EXAMPLES


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_has_reference_semantics(name):
    assert name in REF, f"op '{name}' has no numpy reference in runtime/ref_ops*.py"


@pytest.mark.parametrize("name", sorted(OPS))
def test_declarations_are_well_formed(name):
    op = OPS[name]
    assert op.doc, f"op '{name}' needs a docstring"
    assert isinstance(op.kind, Kind)
    assert all(isinstance(a, AttrSpec) for a in op.attrs)
    assert op.grad in ("rule", "none")
    assert all(isinstance(t, Trait) for t in op.traits)


def test_groups_are_data():
    assert {"reshape", "flatten"} <= VIEW
    assert {"relu", "add", "mul"} <= ELEMENTWISE
    assert not VIEW & ELEMENTWISE
    assert ELEMENTWISE <= POINTWISE


def test_operand_roles_name_operands():
    with pytest.raises(ValueError, match="'scale', not one of its operands"):
        OPS["relu"].__class__(**{**_fields(OPS["relu"]), "per_channel": ("scale",)})


def _fields(op):
    return {f: getattr(op, f) for f in ("name", "kind", "operands", "attrs", "infer", "doc")}


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_differentiable_op_has_a_gradient_rule(name):
    from compiler.passes import load_grad_rules
    from compiler.passes.grad_rules import RULES

    load_grad_rules()

    op = OPS[name]
    if op.grad == "rule":
        assert name in RULES, f"op '{name}' says it is differentiable but has no gradient rule"
    else:
        assert op.grad == "none"


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_has_a_kernel(name):
    """A view is never a kernel; a pointwise op is a scalar formula in codegen/expr.py that a
    fused loop evaluates; every other op has an emitter in codegen/emitters (EMITTERS)."""
    op, emitters = OPS[name], emitter_table()
    if op.kind is Kind.VIEW:
        assert name not in EXPR, f"view '{name}' has a scalar formula"
        assert name not in emitters, f"view '{name}' has an emitter"
    elif Trait.POINTWISE in op.traits:
        assert name in EXPR, f"pointwise op '{name}' has no scalar formula in codegen/expr.py"
    else:
        assert name in emitters, f"op '{name}' has no emitter in compiler/codegen/emitters"


def test_kernels_are_registered_only_for_declared_ops_of_their_form():
    stray = set(EXPR) - POINTWISE
    assert not stray, f"codegen/expr.py has formulas for ops not declared pointwise: {stray}"
    emitted = set(emitter_table())
    assert not emitted - set(OPS), f"emitters for undeclared ops: {emitted - set(OPS)}"
    assert not emitted & (POINTWISE | VIEW), "an emitter for an op that never anchors a kernel"


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_declares_its_layout_behaviour(name):
    op = OPS[name]
    assert isinstance(op.layout, Layout), (
        f"op '{name}' does not declare what its kernel does with activation layouts "
        f"(layout=Layout.PLAIN if it handles only row-major)")
    follows = Trait.POINTWISE in op.traits or op.kind is Kind.VIEW
    assert (op.layout is Layout.FOLLOWS) == follows, (
        f"op '{name}': only pointwise ops and views follow their operands' layout")


def _layout_model():
    """The layout-aware ops the examples leave out: batch statistics and their gradients,
    avgpool2d and its gradient, global_maxpool."""
    b = compiler.Builder("layouts")
    x = b.input("image", [8, 6, 6])
    x = b.relu(b.batchnorm(b.conv2d(x, filters=8, kernel=3, padding=1)))
    x = b.avgpool2d(x, kernel=2)
    x = b.global_maxpool(b.relu(b.conv2d(x, filters=8, kernel=1)))
    b.loss("softmax_cross_entropy", b.dense(b.flatten(x), units=10))
    return b.build()


def _models():
    examples = ("lenet5.yaml", "cifar_cnn.yaml", "resnet_small.json")
    return [compiler.load(EXAMPLES / m) for m in examples] + [_layout_model()]


def _laid_out(values):
    return [v for v in values if v.type.rank == 4 and v.type.layout]


@pytest.fixture(scope="module")
def layout_use():
    """(reads, writes, seen): the ops the layout pass lets read / write a laid-out activation
    in the forward and training graphs of the examples and _layout_model, and all ops seen."""
    reads: set[str] = set()
    writes: set[str] = set()
    seen: set[str] = set()
    for model in _models():
        for kind in ("forward", "train"):
            ctx = PassContext(batch=2, train=kind == "train", options={"layout": "nhwc"})
            graph = PassManager(PIPELINES[kind]).run(model.copy(), ctx)
            for node in graph.nodes():
                seen.add(node.op)
                if _laid_out(node.operands):
                    reads.add(node.op)
                if _laid_out([node.result]):
                    writes.add(node.op)
    return reads, writes, seen


def test_layout_pass_keeps_to_the_declared_behaviour(layout_use):
    reads, writes, _ = layout_use
    assert reads
    assert writes
    undeclared = reads - ops_where(lambda op: op.layout.reads)
    assert not undeclared, f"{undeclared} read a layout they do not declare"
    undeclared = writes - ops_where(lambda op: op.layout.writes)
    assert not undeclared, f"{undeclared} write a layout they do not declare"


@pytest.mark.parametrize("layout", [Layout.READS, Layout.WRITES, Layout.READS_WRITES])
def test_declared_layout_use_is_exercised(layout, layout_use):
    """Every op declaring layout support is seen using it: a stale or wrong declaration would
    leave its kernel's layout path untested (tests/test_layouts.py compares the examples with
    the reference in every layout, test_layout_model_matches_the_reference the rest)."""
    reads, writes, seen = layout_use
    for name in sorted(ops_where(lambda op: op.layout is layout)):
        assert name in seen, f"'{name}' declares {layout} but no model here uses it"
        if layout.reads:
            assert name in reads, f"'{name}' declares {layout} but never reads a laid-out value"
        if layout.writes:
            assert name in writes, f"'{name}' declares {layout} but never writes a laid-out value"


@pytest.mark.parametrize("layout", ["nhwc", "nchw8c"])
def test_layout_model_matches_the_reference(layout):
    graph = _layout_model()
    ref = compiler.compile(graph, batch=3, train=True, backend="reference")
    laid = compiler.compile(graph, batch=3, train=True, layout=layout)
    for name in ref.params:
        laid.params[name] = ref.params[name]
    x = np.random.default_rng(2).standard_normal((3, 8, 6, 6)).astype(np.float32)
    y = np.array([1, 7, 3])
    np.testing.assert_allclose(laid.forward(x), ref.forward(x), rtol=1e-4, atol=1e-5)
    loss, grads = laid.loss_and_grads(x, y)
    rloss, rgrads = ref.loss_and_grads(x, y)
    assert loss == pytest.approx(rloss, rel=1e-5)
    for name in rgrads:
        scale = max(float(np.abs(rgrads[name]).max()), 1e-3)
        np.testing.assert_allclose(grads[name] / scale, rgrads[name] / scale, atol=1e-4)
