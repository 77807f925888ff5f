"""Import-time folding (compiler/frontend/onnx/fold.py) against onnx's own reference evaluator:
every op netc folds, on the integer and float constants shape arithmetic feeds it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX import needs the onnx package")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from compiler.frontend.onnx.fold import FOLDS, fold  # noqa: E402
from compiler.frontend.onnx.proto import attributes  # noqa: E402

I64 = np.int64
SHAPE = np.array([2, 8, 6, 4], dtype=I64)

CASES: list[tuple[str, list[np.ndarray | None], dict]] = [
    ("Gather", [SHAPE, np.array(1, I64)], {"axis": 0}),
    ("Gather", [SHAPE, np.array([-1, 0], I64)], {"axis": 0}),
    ("Gather", [np.arange(12.0, dtype=np.float32).reshape(3, 4), np.array([[2, 0]], I64)],
     {"axis": 1}),
    ("Slice", [SHAPE, np.array([1], I64), np.array([-1], I64)], {}),
    ("Slice", [SHAPE, np.array([-1], I64), np.array([2**62], I64)], {}),
    ("Slice", [np.arange(24, dtype=I64).reshape(4, 6), np.array([5, 3], I64),
               np.array([0, -100], I64), np.array([1, 0], I64), np.array([-2, -1], I64)], {}),
    ("Concat", [SHAPE[:2], np.array([-1], I64), SHAPE[3:]], {"axis": 0}),
    ("Squeeze", [np.array([[7]], I64), np.array([0, 1], I64)], {}),
    ("Unsqueeze", [np.array(7, I64), np.array([0], I64)], {}),
    ("Reshape", [np.arange(6, dtype=I64), np.array([0 + 2, -1], I64)], {}),
    ("Expand", [np.array([[1], [2]], I64), np.array([2, 3], I64)], {}),
    ("Transpose", [np.arange(6, dtype=I64).reshape(1, 2, 3)], {"perm": [2, 0, 1]}),
    ("Identity", [SHAPE], {}),
    ("Cast", [SHAPE, ], {"to": TensorProto.FLOAT}),
    ("Cast", [np.array([2.7, -2.7], np.float32)], {"to": TensorProto.INT64}),
    ("ConstantOfShape", [np.array([2, 3], I64)],
     {"value": numpy_helper.from_array(np.array([5], I64))}),
    ("ConstantOfShape", [np.array([3], I64)], {}),
    ("Range", [np.array(1, I64), np.array(10, I64), np.array(3, I64)], {}),
    ("Range", [np.array(10.0, np.float32), np.array(4.0, np.float32),
               np.array(-2.0, np.float32)], {}),
    ("Add", [SHAPE, np.array(1, I64)], {}),
    ("Sub", [SHAPE, np.array([1, 1, 1, 1], I64)], {}),
    ("Mul", [SHAPE, np.array(4, I64)], {}),
    ("Div", [np.array([7, -7, 8], I64), np.array([2, 2, -3], I64)], {}),
    ("Div", [np.array([1.0], np.float32), np.array([8.0], np.float32)], {}),
    ("Mod", [np.array([7, -7, 5], I64), np.array([3, 3, -3], I64)], {}),
    ("Mod", [np.array([7.5, -7.5], np.float32), np.array([2.0, 2.0], np.float32)],
     {"fmod": 1}),
    ("Pow", [np.array([2.0, 3.0], np.float32), np.array(2.0, np.float32)], {}),
    ("Max", [SHAPE, np.array(5, I64)], {}),
    ("Min", [SHAPE, np.array(5, I64)], {}),
    ("Neg", [SHAPE], {}),
    ("Abs", [np.array([-3, 4], I64)], {}),
    ("Sqrt", [np.array([16.0, 2.0], np.float32)], {}),
    ("Floor", [np.array([1.5, -1.5], np.float32)], {}),
    ("Ceil", [np.array([1.5, -1.5], np.float32)], {}),
    ("Reciprocal", [np.array([4.0], np.float32)], {}),
    ("Exp", [np.array([0.5], np.float32)], {}),
    ("Log", [np.array([0.5], np.float32)], {}),
    ("Equal", [SHAPE, np.array(8, I64)], {}),
    ("Less", [SHAPE, np.array(5, I64)], {}),
    ("Greater", [SHAPE, np.array(5, I64)], {}),
    ("LessOrEqual", [SHAPE, np.array(6, I64)], {}),
    ("GreaterOrEqual", [SHAPE, np.array(6, I64)], {}),
    ("And", [np.array([True, False]), np.array([True, True])], {}),
    ("Or", [np.array([True, False]), np.array([False, False])], {}),
    ("Not", [np.array([True, False])], {}),
    ("Where", [np.array([True, False, True]), SHAPE[:3], np.array(-1, I64)], {}),
    ("Size", [np.zeros((2, 3), np.float32)], {}),
    ("Shape", [np.zeros((2, 3, 4), np.float32)], {"start": 1}),
    ("Shape", [np.zeros((2, 3, 4), np.float32)], {"start": -2, "end": -1}),
]


def reference(op: str, inputs: list[np.ndarray | None], attrs: dict) -> list[np.ndarray]:
    names = [f"i{k}" if x is not None else "" for k, x in enumerate(inputs)]
    node = helper.make_node(op, names, ["out"], **attrs)
    feeds = {n: x for n, x in zip(names, inputs, strict=True) if n}
    graph = helper.make_graph(
        [node], "fold", [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype),
                                                       x.shape) for n, x in feeds.items()],
        [helper.make_tensor_value_info("out", TensorProto.UNDEFINED, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return ReferenceEvaluator(model).run(None, feeds), node


@pytest.mark.parametrize(("op", "inputs", "attrs"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fold_matches_onnx_reference(op, inputs, attrs):
    want, node = reference(op, inputs, attrs)
    (got,) = fold(op, inputs, attributes(node))
    assert got.shape == np.asarray(want[0]).shape
    assert got.dtype == np.asarray(want[0]).dtype
    np.testing.assert_allclose(got, want[0], rtol=1e-6)


def test_every_fold_is_tested():
    assert {c[0] for c in CASES} == set(FOLDS)


@pytest.mark.parametrize(("op", "inputs", "attrs", "message"), [
    ("Gather", [SHAPE, np.array(4, I64)], {"axis": 0}, "out of range"),
    ("Div", [SHAPE, np.array(0, I64)], {}, "division by zero"),
    ("Mod", [SHAPE, np.array(0, I64)], {}, "modulo by zero"),
    ("Range", [np.array(0, I64), np.array(3, I64), np.array(0, I64)], {}, "delta 0"),
    ("Slice", [SHAPE, np.array([0], I64), np.array([2], I64), np.array([0], I64),
               np.array([0], I64)], {}, "step 0"),
])
def test_fold_refuses_what_onnx_leaves_undefined(op, inputs, attrs, message):
    with pytest.raises(ValueError, match=message):
        fold(op, inputs, attrs)
