"""The official ONNX backend conformance run (onnx.backend.test.BackendTest) against netc's JIT.

Selected: every node, pytorch-converted and pytorch-operator case of onnx 1.23.2 whose model
uses only ONNX ops the importer converts (tests/onnx_cases.py selects them and holds the
exclusions, shared with tests/test_onnx_public_conformance.py). Each
runs through compiler.onnx_backend.NetcBackend: import, the forward pipeline, machine code, one
native call; outputs are compared by the runner with its own tolerances.

Excluded, by name and with the reason pytest shows (`pytest -rs`): the cases that cannot match
by construction (integer, boolean and float16 tensors, 3-D windows, training-mode outputs drawn from
numpy's RNG, Pad modes other than constant, optional and sequence types, MaxPool's indices).
"""

from __future__ import annotations

import re
import unittest

import pytest

pytest.importorskip("onnx", reason="the ONNX conformance run needs the onnx package")

from onnx.backend.test import BackendTest  # noqa: E402

from compiler.onnx_backend import NetcBackend  # noqa: E402
from tests.onnx_cases import EXCLUDED, exclusion, selected_cases  # noqa: E402


def _test_classes() -> dict[str, type[unittest.TestCase]]:
    """The runner's test classes cut down to the selected cases (CPU), exclusions skipped with
    their reason."""
    runner = BackendTest(NetcBackend, __name__)
    wanted = {f"{name}_cpu": name for name in SELECTED}
    classes = {}
    for class_name, case in runner.test_cases.items():
        tests = {}
        for attr, func in vars(case).items():
            if attr not in wanted:
                continue
            reason = exclusion(wanted[attr])
            tests[attr] = unittest.skip(reason)(func) if reason else func
        if tests:
            classes[class_name] = type(class_name, (unittest.TestCase,), tests)
    return classes


SELECTED = selected_cases()

globals().update(_test_classes())


def test_every_exclusion_names_selected_cases():
    """No stale exclusion: each pattern matches some selected case (onnx is pinned)."""
    for pattern in EXCLUDED:
        assert any(re.fullmatch(pattern, n) for n in SELECTED), f"{pattern} matches nothing"


def test_counts():
    """The numbers the README reports: selected, excluded, run."""
    excluded = [n for n in SELECTED if exclusion(n)]
    assert len(SELECTED) == 592
    assert len(excluded) == 145
