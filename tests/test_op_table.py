"""The op table is complete: every declared op has every hook the other stages need."""

from __future__ import annotations

import pytest

from ir import OPS, Kind
from ir.ops import ELEMENTWISE, VIEW, AttrSpec
from runtime.ref_ops import REF


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


def test_groups_are_data():
    assert {"reshape", "flatten"} <= VIEW
    assert {"relu", "add", "mul"} <= ELEMENTWISE
    assert not VIEW & ELEMENTWISE


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
