"""ONNX Resize as netc imports it: nearest-neighbour upsampling by integer factors (PyTorch's
nn.Upsample export: asymmetric coordinates, floor), against ONNX Runtime; other variants are
refused at import with a message naming the node."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

import compiler  # noqa: E402
from ir.errors import ModelError  # noqa: E402


def _model(scales, mode="nearest", ctm="asymmetric", nearest="floor"):
    scale = helper.make_tensor("scales", TensorProto.FLOAT, [4], scales)
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", mode=mode,
                            coordinate_transformation_mode=ctm, nearest_mode=nearest)
    graph = helper.make_graph(
        [node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["a", "b", "c", "d"])], [scale])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize(("scales", "ctm", "nearest"), [
    ([1, 1, 2, 3], "asymmetric", "floor"),
    ([1, 1, 2, 2], "half_pixel", "round_prefer_floor"),
    ([1, 2, 1, 3], "asymmetric", "floor"),
])
def test_nearest_upsampling_matches_onnxruntime(tmp_path, scales, ctm, nearest):
    path = tmp_path / "up.onnx"
    onnx.save(_model(scales, ctm=ctm, nearest=nearest), str(path))
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    want = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    got = compiler.compile(compiler.load(str(path)), batch=2).forward(x)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("scales", "mode", "ctm", "nearest", "words"), [
    ([1, 1, 2, 2], "linear", "asymmetric", "floor", "mode=linear"),
    ([1, 1, 0.5, 0.5], "nearest", "asymmetric", "floor", "integer factors"),
    ([1, 1, 2, 2], "nearest", "half_pixel", "ceil", "not i // 2"),
])
def test_other_resizes_are_refused(tmp_path, scales, mode, ctm, nearest, words):
    path = tmp_path / "up.onnx"
    onnx.save(_model(scales, mode, ctm, nearest), str(path))
    with pytest.raises(ModelError) as err:
        compiler.load(str(path))
    assert "up" in str(err.value)
    assert words in str(err.value)
