"""ONNX's backend test cases as netc's conformance runs select them: which cases, which are
excluded and why, and their data as numpy arrays.

Where it sits: shared by tests/test_onnx_conformance.py (onnx's own BackendTest runner over
compiler/onnx_backend.py) and tests/test_onnx_public_conformance.py (the same cases through the
public API: compiler.load -> compiler.compile -> forward). Not a test module itself.
Selected: every node, pytorch-converted and pytorch-operator case of the pinned onnx whose model
uses only ONNX ops the importer converts (compiler/frontend/onnx/registry.CONVERTERS).
"""

from __future__ import annotations

import functools
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.loader import load_model_tests

from compiler.frontend.onnx.registry import CONVERTERS, load_converters

KINDS = ("node", "pytorch-converted", "pytorch-operator")

EXCLUDED: dict[str, str] = {
    r"test_(add|sub|mul|div)_u?int\d+|test_div_int32_trunc|test_clip_default_int8_\w+"
    r"|test_maxpool_2d_uint8|test_reduce_m(ax|in)(_empty_set)?_bool\w*|test_operator_non_float_params"
    r"|test_(max|min)_u?int\d+|test_pow_types_\w*int\d+\w*":
        "integer or boolean tensors: netc computes on float32 and float64 (integers only as "
        "class labels)",
    r"test_(max|min)_float16":
        "float16 tensors: netc computes on float32 and float64",
    r"test_(averagepool|maxpool)_3d_\w+|test_(AvgPool|MaxPool|Conv)3d\w*":
        "3-D windows: netc's convolutions and pools are 2-D (1-D ones run as 2-D)",
    r"test_resize_(downsample|tf_crop)\w*|test_resize_upsample_(scales_(cubic|linear)|sizes)\w*":
        "Resize other than nearest-neighbour upsampling by integer factors (linear, cubic, "
        "downsampling, sizes that are not integer multiples, index maps other than i // s): "
        "refused at import",
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
    r"test_gather_(0|1|2d_indices|negative_indices)":
        "Gather at indices known only at run time, other than rows of a 2-D table (an "
        "embedding lookup): netc gathers computed data at constant indices only",
}
"""Cases that cannot match by construction, by name pattern, with the reason."""


def case_model(case: Any) -> Any:
    """The case's ModelProto (node cases are built in memory, the others stored on disk)."""
    if case.model is not None:
        return case.model
    return onnx.load(str(Path(case.model_dir) / "model.onnx"), load_external_data=False)


def case_ops(case: Any) -> set[str]:
    return {node.op_type for node in case_model(case).graph.node}


@functools.cache
def selected() -> tuple[Any, ...]:
    """The cases whose every op the importer converts, sorted by name."""
    load_converters()
    found = []
    with warnings.catch_warnings():  # generating the node cases, numpy warns about infinities
        warnings.simplefilter("ignore")
        for kind in KINDS:
            for case in load_model_tests(kind=kind):
                ops = case_ops(case)
                if ops and ops <= set(CONVERTERS):
                    found.append(case)
    return tuple(sorted(found, key=lambda c: c.name))


def selected_cases() -> list[str]:
    """Names of the selected cases."""
    return [case.name for case in selected()]


def exclusion(name: str, table: dict[str, str] = EXCLUDED) -> str | None:
    """The reason a case is excluded, or None."""
    for pattern, reason in table.items():
        if re.fullmatch(pattern, name):
            return reason
    return None


def _array(item: Any) -> np.ndarray:
    """A data-set item (an array, a numpy scalar or a TensorProto) as an array."""
    if isinstance(item, (np.ndarray, np.generic)):
        return np.asarray(item)
    return numpy_helper.to_array(item)


def _read(path: Path) -> np.ndarray:
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def case_data(case: Any) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """The case's data sets as (inputs, expected outputs), numpy arrays in graph order."""
    if case.data_sets is not None:
        return [([_array(a) for a in ins], [_array(b) for b in outs])
                for ins, outs in case.data_sets]
    sets = []
    for folder in sorted(Path(case.model_dir).glob("test_data_set_*")):
        ins = [_read(p) for p in sorted(folder.glob("input_*.pb"),
                                        key=lambda p: int(p.stem.split("_")[1]))]
        outs = [_read(p) for p in sorted(folder.glob("output_*.pb"),
                                         key=lambda p: int(p.stem.split("_")[1]))]
        sets.append((ins, outs))
    return sets
