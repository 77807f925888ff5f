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
