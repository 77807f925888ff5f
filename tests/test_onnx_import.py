"""The ONNX importer on small hand-built models: errors (every unsupported op at once, malformed
files, dynamic shapes), names, roles of initializers, the symbolic batch, old opsets, and
numbers against onnx's own reference evaluator, forward and (by finite differences) backward."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX import needs the onnx package")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

import compiler  # noqa: E402
from compiler.driver.pipelines import run_passes  # noqa: E402
from compiler.frontend.onnx import import_model, load_onnx  # noqa: E402
from compiler.gradcheck import check_gradients  # noqa: E402
from compiler.passes import PassContext  # noqa: E402
from ir import ModelError  # noqa: E402
from tests.conftest import netc  # noqa: E402

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


def tensor(name, shape, elem=FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, initializers=None, opset=18):
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in (initializers or {}).items()]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def node(op, inputs, outputs, name="", **attrs):
    return helper.make_node(op, inputs, outputs, name=name, **attrs)


def error_of(m, **kwargs) -> str:
    with pytest.raises(ModelError) as info:
        import_model(m, source="m.onnx", **kwargs)
    return str(info.value)


# ---------------------------------------------------------------- errors

def test_every_unsupported_op_is_listed_at_once():
    nodes = [
        node("Tile", ["x", "reps"], ["t1"], name="tile1"),
        node("Tile", ["t1", "reps"], ["t2"], name="tile2"),
        node("Cos", ["t2"], ["c"], name="cos"),
        node("Pad", ["c", "pads"], ["p"], name="pad", mode="reflect"),
        node("MaxPool", ["p"], ["y"], name="pool3d", kernel_shape=[2, 2, 2]),
    ]
    m = model(nodes, [tensor("x", [1, 1, 4, 4, 4])], [tensor("y", [1, 1, 3, 3, 3])],
              {"reps": np.array([1, 1, 1, 1, 1]), "pads": np.zeros(10, dtype=np.int64)})
    message = error_of(m)
    assert message.startswith("m.onnx: 5 node(s) use ONNX ops netc does not import: ")
    for part in ("Tile x2 ('tile1', 'tile2')", "Cos x1 ('cos')", "Pad (mode=reflect) x1 ('pad')",
                 "MaxPool (3-D; netc's windows are 1-D and 2-D) x1 ('pool3d')"):
        assert part in message
    assert "\n" not in message


def test_garbage_empty_and_invalid_files(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x0a\xff\xff\xff this is not a protobuf")
    with pytest.raises(ModelError, match="not a valid ONNX protobuf"):
        load_onnx(garbage)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="not an ONNX model"):
        load_onnx(empty)
    with pytest.raises(ModelError, match="cannot read ONNX file"):
        load_onnx(tmp_path / "missing.onnx")
    dangling = model([node("Relu", ["nowhere"], ["y"])], [tensor("x", [1])],
                     [tensor("y", [1])])
    assert "malformed ONNX model" in error_of(dangling)


def test_dynamic_dimensions_other_than_the_batch_are_rejected():
    m = model([node("Relu", ["x"], ["y"])], [tensor("x", ["N", 3, "H", 4])],
              [tensor("y", ["N", 3, "H", 4])])
    assert "input 'x' has a dynamic dimension 2 ('H')" in error_of(m)


def test_shape_inputs_must_be_constants():
    m = model([node("Reshape", ["x", "shape"], ["y"], name="r")],
              [tensor("x", [2, 6]), tensor("shape", [2], INT64)], [tensor("y", [3, 4])])
    assert "input 'shape' gives input 1 of Reshape 'r'" in error_of(m)
    graph = import_model(m, constants={"shape": np.array([3, 4])}, loss=None)
    assert graph.outputs[0].type.shape == (3, 4)


@pytest.mark.parametrize(("target", "message"), [
    ([-1, 2], "cannot reshape Nx4 to [-1, 2] keeping the batch dimension N"),
    ([3, 4], "would fix the batch size"),
])
def test_reshapes_that_lose_the_batch(target, message):
    m = model([node("Reshape", ["x", "s"], ["y"])], [tensor("x", ["batch", 4])],
              [tensor("y", ["a", "b"])], {"s": np.array(target)})
    assert message in error_of(m)


def test_integer_inputs_are_rejected():
    """int64 inputs are read as ids (embedding lookups); computing on them is refused by the
    op that tries, other integer types at the input."""
    m = model([node("Relu", ["x"], ["y"])], [tensor("x", [2], INT64)], [tensor("y", [2], INT64)])
    assert "layer 'y': Relu: relu expects a float tensor, got i64[2]" in error_of(m)
    m = model([node("Relu", ["x"], ["y"])], [tensor("x", [2], 6)], [tensor("y", [2], 6)])
    assert "input 'x' is int32; netc computes on float32 and float64 tensors" in error_of(m)


# ---------------------------------------------------------------- graphs

def test_symbolic_batch_is_bound_by_compile():
    m = model([node("Relu", ["x"], ["y"])], [tensor("x", ["batch", 3])],
              [tensor("y", ["batch", 3])])
    graph = import_model(m)
    assert str(graph.inputs[0].type) == "f32[N,3]"
    for batch in (1, 5):
        x = np.linspace(-1, 1, batch * 3, dtype=np.float32).reshape(batch, 3)
        np.testing.assert_array_equal(compiler.compile(graph, batch=batch).forward(x),
                                      np.maximum(x, 0))


def test_names_follow_the_model():
    nodes = [node("Gemm", ["x", "fc.weight", "fc.bias"], ["/fc/Gemm_output_0"], name="/fc/Gemm",
                  transB=1),
             node("Relu", ["/fc/Gemm_output_0"], ["/act/Relu_output_0"], name="/act/Relu"),
             node("Relu", ["/act/Relu_output_0"], ["out"], name="/act/Relu"),
             node("Sigmoid", ["out"], ["y"])]
    m = model(nodes, [tensor("x", ["N", 4])], [tensor("y", ["N", 3])],
              {"fc.weight": np.ones((3, 4), np.float32), "fc.bias": np.zeros(3, np.float32)})
    graph = import_model(m, loss=None)
    assert [n.name for n in graph.nodes()] == ["fc", "act/Relu", "act/Relu.1", "y"]
    assert [(v.name, v.role) for v in graph.inputs] == [
        ("x", "input"), ("fc.weight", "param"), ("fc.bias", "param")]
    assert graph.nodes()[0].op == "dense"


def test_roles_of_initializers_and_constants():
    """Weights are params; rank-0 scalars and uniform Constants are const ops; other Constants
    are state nobody updates; batch-norm statistics are state, one copy per role even when the
    exporter merged equal tensors."""
    ones, zeros = np.ones(2, np.float32), np.zeros(2, np.float32)
    nodes = [
        node("BatchNormalization", ["x", "w", "b", "b", "w"], ["bn1"], name="bn1"),
        node("BatchNormalization", ["bn1", "w", "b", "b", "w"], ["bn2"], name="bn2"),
        node("Mul", ["bn2", "half"], ["m"]),
        node("Constant", [], ["offsets"], value=numpy_helper.from_array(
            np.array([[1.0], [2.0]], np.float32))),
        node("Add", ["m", "offsets"], ["y"]),
    ]
    m = model(nodes, [tensor("x", ["N", 2, 2, 2])], [tensor("y", ["N", 2, 2, 2])],
              {"w": ones, "b": zeros, "half": np.float32(0.5)})
    graph = import_model(m, loss="mse")
    roles = {v.name: v.role for v in graph.inputs}
    assert roles == {"x": "input", "w": "param", "b": "param", "bn1.running_mean": "state",
                     "bn1.running_var": "state", "bn2.running_mean": "state",
                     "bn2.running_var": "state", "offsets": "state", "target": "label"}
    assert graph.value("half").node.op == "const"
    net = compiler.compile(graph, batch=3, train=True)  # each statistic is updated once
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 2)).astype(np.float32)
    net.train_step(x, np.zeros((3, 2, 2, 2), np.float32))
    assert sorted(net.params) == ["b", "w"]
    assert not np.allclose(net.state["bn1.running_var"], ones)


def test_old_opsets_are_upgraded():
    nodes = [node("Unsqueeze", ["x"], ["u"], axes=[0]),
             node("Clip", ["u"], ["y"], min=-0.5, max=0.5)]
    m = model(nodes, [tensor("x", [3])], [tensor("y", [1, 3])], opset=9)
    graph = import_model(m, loss=None)
    assert [n.op for n in graph.nodes()] == ["reshape", "clip"]


def test_onnx_file_through_the_cli(tmp_path):
    m = model([node("Relu", ["x"], ["y"], name="act")], [tensor("x", ["N", 3])],
              [tensor("y", ["N", 3])])
    path = tmp_path / "tiny.onnx"
    path.write_bytes(m.SerializeToString())
    out = netc("check", path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == f"model tiny ({path})"
    assert any(line.split()[:3] == ["act", "relu", "Nx3"] for line in out.stdout.splitlines())
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x0a\xff\xff\xff")
    out = netc("check", bad)
    assert out.returncode == 1
    assert out.stderr.startswith(f"netc: error: {bad}: not a valid ONNX protobuf")


# ---------------------------------------------------------------- numbers

def composite_model():
    """A bit of everything, with weights as initializers and a symbolic batch."""
    rng = np.random.default_rng(3)

    def w(*shape):
        return rng.standard_normal(shape).astype(np.float32) * 0.5

    nodes = [
        node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], auto_pad="SAME_UPPER",
             strides=[2]),
        node("Transpose", ["c"], ["t"], perm=[0, 2, 1]),
        node("MatMul", ["t", "proj"], ["mm"]),
        node("Pad", ["mm", "pads", "fill"], ["p"]),
        node("ReduceMean", ["p", "axes1"], ["r"], keepdims=0),
        node("Gemm", ["r", "g.weight", "g.bias"], ["g"], alpha=0.5, beta=2.0, transB=1),
        node("Unsqueeze", ["g", "axes1"], ["u"]),
        node("Concat", ["u", "u"], ["cat"], axis=1),
        node("ReduceMax", ["cat", "axes1"], ["mx"], keepdims=0),
        node("Softmax", ["mx"], ["y"], axis=-1),
    ]
    inits = {"conv.weight": w(4, 3, 3), "conv.bias": w(4), "proj": w(4, 5),
             "pads": np.array([0, 1, 0, 0, 0, 2]), "fill": np.float32(0.25),
             "axes1": np.array([1]), "g.weight": w(6, 7), "g.bias": w(6)}
    return model(nodes, [tensor("x", ["batch", 3, 9])], [tensor("y", ["batch", 6])], inits)


def test_composite_model_matches_the_onnx_reference():
    m = composite_model()
    x = np.random.default_rng(4).standard_normal((2, 3, 9)).astype(np.float32)
    (want,) = ReferenceEvaluator(m).run(None, {"x": x})
    graph = import_model(m)
    ops = {n.op for n in graph.nodes()}
    assert {"conv2d", "transpose", "pad", "reduce_mean", "reduce_max", "matmul"} <= ops
    got = compiler.compile(graph, batch=2).forward(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_composite_model_gradients_match_finite_differences():
    graph = import_model(composite_model(), loss="mse")
    bound = run_passes(graph, ("bind-batch",), PassContext(batch=2))
    rng = np.random.default_rng(5)
    feeds = {v.name: (bound.initializers[v.name] if v.name in bound.initializers
                      else rng.standard_normal(v.type.shape)) for v in bound.inputs}
    checks = check_gradients(bound, feeds)
    assert {c.name for c in checks} == {"conv.weight", "conv.bias", "proj", "g.weight", "g.bias"}
    for c in checks:
        assert c.error < 1e-6, f"{c.name}: {c.error:.2e}"
