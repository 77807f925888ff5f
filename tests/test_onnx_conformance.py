"""The official ONNX backend conformance run (onnx.backend.test.BackendTest) against netc's JIT.

Selected: every node, pytorch-converted and pytorch-operator case of onnx 1.23.2 whose model
uses only ONNX ops the importer converts (compiler/frontend/onnx/registry.CONVERTERS). Each
runs through compiler.onnx_backend.NetcBackend: import, the forward pipeline, machine code, one
native call; outputs are compared by the runner with its own tolerances.

Excluded, by name and with the reason pytest shows (`pytest -rs`): the cases that cannot match
by construction (integer and boolean tensors, 3-D windows, training-mode outputs drawn from
numpy's RNG, Pad modes other than constant, optional and sequence types, MaxPool's indices).
"""

from __future__ import annotations

import re
import unittest
import warnings
from pathlib import Path

import pytest

pytest.importorskip("onnx", reason="the ONNX conformance run needs the onnx package")

import onnx  # noqa: E402
from onnx.backend.test import BackendTest  # noqa: E402
from onnx.backend.test.loader import load_model_tests  # noqa: E402

from compiler.frontend.onnx.registry import CONVERTERS, load_converters  # noqa: E402
from compiler.onnx_backend import NetcBackend  # noqa: E402

KINDS = ("node", "pytorch-converted", "pytorch-operator")

EXCLUDED: dict[str, str] = {
    r"test_(add|sub|mul|div)_u?int\d+|test_div_int32_trunc|test_clip_default_int8_\w+"
    r"|test_maxpool_2d_uint8|test_reduce_max(_empty_set)?_bool\w*|test_operator_non_float_params":
        "integer or boolean tensors: netc computes on float32 and float64 (integers only as "
        "class labels)",
    r"test_(averagepool|maxpool)_3d_\w+|test_(AvgPool|MaxPool|Conv)3d\w*":
        "3-D windows: netc's convolutions and pools are 2-D (1-D ones run as 2-D)",
    r"test_batchnorm_\w+_training_mode":
        "training-mode BatchNormalization returns updated running statistics: netc uses batch "
        "statistics only inside compile(..., train=True), updating the statistics in place",
    r"test_training_dropout\w*":
        "training-mode Dropout draws its mask from numpy's RNG: netc draws its own masks, and "
        "only when it trains",
    r"test_dropout_default_mask\w*":
        "Dropout's boolean mask output: netc values are float tensors",
    r"test_(edge|reflect|wrap)_pad|test_ReflectionPad2d|test_ReplicationPad2d|test_operator_pad":
        "Pad modes other than constant (edge, reflect, wrap)",
    r"test_maxpool_with_argmax_\w+": "MaxPool's Indices output",
    r"test_identity_(opt|sequence)": "optional and sequence types: netc values are tensors",
    r"test_slice_start_out_of_bounds|test_split_zero_size_splits_opset1[38]":
        "empty tensors (a slice or split part of size 0): every netc value holds elements",
    r"test_slice_neg_steps":
        "Slice with a negative step on computed data: netc slices data with step 1 (any step "
        "folds on constants)",
}

def case_ops(case) -> set[str]:  # noqa: ANN001
    model = case.model if case.model is not None else onnx.load(
        str(Path(case.model_dir) / "model.onnx"), load_external_data=False)
    return {node.op_type for node in model.graph.node}


def selected_cases() -> list[str]:
    """Names of the cases whose every op the importer converts."""
    load_converters()
    names = []
    for kind in KINDS:
        for case in load_model_tests(kind=kind):
            ops = case_ops(case)
            if ops and ops <= set(CONVERTERS):
                names.append(case.name)
    return sorted(names)


def exclusion(name: str) -> str | None:
    for pattern, reason in EXCLUDED.items():
        if re.fullmatch(pattern, name):
            return reason
    return None


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


with warnings.catch_warnings():  # generating the node cases, numpy warns about infinities
    warnings.simplefilter("ignore")
    SELECTED = selected_cases()
    globals().update(_test_classes())


def test_every_exclusion_names_selected_cases():
    """No stale exclusion: each pattern matches some selected case (onnx is pinned)."""
    for pattern in EXCLUDED:
        assert any(re.fullmatch(pattern, n) for n in SELECTED), f"{pattern} matches nothing"


def test_counts():
    """The numbers the README reports: selected, excluded, run."""
    excluded = [n for n in SELECTED if exclusion(n)]
    assert len(SELECTED) == 441
    assert len(excluded) == 80
