"""Shapes through the public API: compile(graph) runs fixed input shapes as they are; batch=B
binds the symbolic batch N, or re-batches a model exported at a fixed batch (its data inputs
take B, the shape arithmetic folds anew, Reshape targets the exporter folded are scaled);
where re-batching is impossible a one-line error names the node; inputs that are not batched
keep their shapes; bounds, pads and axes given as graph inputs are refused naming the input.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX import needs the onnx package")
ort = pytest.importorskip("onnxruntime", reason="the oracle: pip install -e '.[dev]'")

from onnx import helper  # noqa: E402

import compiler  # noqa: E402
from compiler.frontend.onnx import import_model, next_readings  # noqa: E402
from compiler.frontend.onnx.rebatch import rebatched_targets  # noqa: E402
from ir.errors import CompileError, ModelError  # noqa: E402
from tests.conftest import EXAMPLES  # noqa: E402
from tests.onnx_builders import FLOAT, Net  # noqa: E402

RNG = np.random.default_rng(11)


def shuffle_model(batch: int):
    """A conv, then a channel shuffle whose Reshape targets the exporter folded at `batch`
    ([batch, 2, 4, 6, 6]), then one computed from Shape(x) as an exporter writes it when it
    does not fold, then a classifier head."""
    n = Net(RNG)
    h = n.one("Relu", [n.conv("input", 3, 8, 3)])
    h = n.one("Reshape", [h, n.const([batch, 2, 4, 6, 6])])
    h = n.one("Reshape", [n.one("Transpose", [h], perm=[0, 2, 1, 3, 4]),
                          n.const([batch, -1, 6, 6])])
    rows = n.one("Slice", [n.one("Shape", [h]), n.const([0]), n.const([1])])
    flat = n.one("Reshape", [h, n.one("Concat", [rows, n.const([-1])], axis=0)])
    w = n.init("fc.weight", RNG.standard_normal((5, 8 * 36)).astype(np.float32) * 0.05)
    y = n.one("Gemm", [flat, w], transB=1)
    return n.model("input", [batch, 3, 6, 6], y)


def ort_per_sample(model, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def test_a_fixed_batch_model_runs_as_exported_without_a_batch():
    model = shuffle_model(2)
    net = compiler.compile(import_model(model, source="s.onnx", loss=None))
    x = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x})[0]
    np.testing.assert_allclose(net.forward(x), want, rtol=1e-4, atol=1e-5)
    assert net.batch == 2


@pytest.mark.parametrize("batch", [1, 3])
def test_batch_re_batches_a_model_exported_at_batch_1(batch):
    model = shuffle_model(1)
    graph = import_model(model, source="s.onnx", loss=None)
    net = compiler.compile(graph, batch=batch)
    x = RNG.standard_normal((batch, 3, 6, 6)).astype(np.float32)
    got = net.forward(x)
    assert got.shape == (batch, 5)
    np.testing.assert_allclose(got, ort_per_sample(model, x), rtol=1e-4, atol=1e-5)
    assert graph.inputs_with_role("input")[0].type.shape == (1, 3, 6, 6)  # the caller's graph


def test_a_reshape_that_pins_the_batch_is_named_in_one_line():
    n = Net(RNG)
    y = n.one("Relu", [n.one("Reshape", ["x", n.const([3, 4])])])  # [2, 6] -> [3, 4]
    graph = import_model(n.model("x", [2, 6], y), source="pin.onnx", loss=None)
    with pytest.raises(CompileError) as caught:
        compiler.compile(graph, batch=4)
    message = str(caught.value)
    assert "\n" not in message
    assert "exported at batch 2 and cannot run at batch 4" in message
    assert "layer '/Reshape_2'" in message
    assert "pins the exported batch" in message


def gemm_with_input_operand():
    """Gemm's B as a graph input, as ONNX's conformance cases give it: not a batched input."""
    node = helper.make_node("Gemm", ["a", "b"], ["y"])
    graph = helper.make_graph([node], "gemm", [helper.make_tensor_value_info("a", FLOAT, [3, 5]),
                                               helper.make_tensor_value_info("b", FLOAT, [5, 4])],
                              [helper.make_tensor_value_info("y", FLOAT, [3, 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("batch", [None, 3, 6])
def test_inputs_that_are_not_batched_keep_their_shapes(batch):
    graph = import_model(gemm_with_input_operand(), source="g.onnx", loss=None)
    net = compiler.compile(graph, batch=batch)
    rows = batch or 3
    a = RNG.standard_normal((rows, 5)).astype(np.float32)
    b = RNG.standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(net.forward(a, b), a @ b, rtol=1e-5, atol=1e-5)


def test_yaml_models_bind_the_symbolic_batch_as_before():
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    assert compiler.compile(graph).forward(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 10)
    assert compiler.compile(graph, batch=3).forward(
        np.zeros((3, 1, 28, 28), np.float32)).shape == (3, 10)


def test_a_fixed_graph_without_a_frontend_to_re_batch_it_says_so():
    graph = import_model(shuffle_model(1), source="s.onnx", loss=None)
    graph.rebuild = None
    with pytest.raises(CompileError, match=r"exported at batch 1 and its frontend cannot "
                                           r"re-batch it; compile it with batch=1"):
        compiler.compile(graph, batch=2)


@pytest.mark.parametrize(("op", "inputs", "position"), [
    ("Pad", ["x", "pads"], "input 1 of Pad"),
    ("Unsqueeze", ["x", "axes"], "input 1 of Unsqueeze"),
])
def test_pads_and_axes_given_as_inputs_are_refused_naming_the_input(op, inputs, position):
    """(Clip bounds given as inputs run as runtime tensors: the onnx test_clip_* cases.)"""
    extra = [helper.make_tensor_value_info(name, FLOAT if op == "Clip" else 7, [] if
                                           op == "Clip" else [2 if op == "Unsqueeze" else 4])
             for name in inputs[1:]]
    graph = helper.make_graph([helper.make_node(op, inputs, ["y"], name="n")], "g",
                              [helper.make_tensor_value_info("x", FLOAT, [2, 3]), *extra],
                              [helper.make_tensor_value_info("y", FLOAT, ["a", "b"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ModelError) as caught:
        compiler.compile(import_model(model, source="b.onnx", loss=None))
    message = str(caught.value)
    assert "\n" not in message
    assert f"input '{inputs[1]}' gives {position} 'n'" in message
    assert "constants={name: array}" in message


def fixed_batch_attention(tokens: int = 5, d: int = 8, heads: int = 2):
    """torch.nn.MultiheadAttention exported at a fixed batch 1, as PyTorch folds it: the head
    split reads the constant [L, 1*heads, hd], the merge [L*1, d], both ambiguous by shapes
    alone (the batch of 1 fits either neighbour); only the first keeps samples apart."""
    n = Net(RNG)
    hd = d // heads

    def linear(x: str, din: int, dout: int) -> str:
        w = n.init(n.name("linear") + ".weight",
                   (RNG.standard_normal((din, dout)) / np.sqrt(din)).astype(np.float32))
        return n.one("MatMul", [x, w])

    seq = n.one("Transpose", [linear("x", 3, d)], perm=[1, 0, 2])  # [L, 1, d]
    q, k, v = (n.one("Transpose", [n.one("Reshape", [linear(seq, d, d),
                                                     n.const([tokens, heads, hd])])],
                     perm=[1, 0, 2]) for _ in range(3))  # [1*H, L, hd]
    scores = n.one("MatMul", [q, n.one("Transpose", [k], perm=[0, 2, 1])])
    attn = n.one("MatMul", [n.one("Softmax", [scores], axis=-1), v])
    merged = n.one("Reshape", [n.one("Transpose", [attn], perm=[1, 0, 2]),
                               n.const([tokens, d])])  # [L*1, d]
    out = n.one("Reshape", [linear(merged, d, d), n.const([tokens, 1, d])])
    y = n.one("ReduceMean", [n.one("Transpose", [out], perm=[1, 0, 2])], axes=[1], keepdims=0)
    return n.model("x", [1, tokens, 3], y)


def test_attention_exported_at_batch_1_re_batches_per_sample():
    model = fixed_batch_attention()
    net = compiler.compile(import_model(model, source="mha.onnx", loss=None), batch=3)
    x = RNG.standard_normal((3, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(net.forward(x), ort_per_sample(model, x), rtol=1e-4, atol=1e-5)


def test_reshape_readings_put_the_batch_where_row_major_order_allows():
    # the batch's own axis: one reading (the outer factor of the first dimension)
    assert rebatched_targets([1, 2, 4, 6, 6], [1, 8, 6, 6], [3, 8, 6, 6], False, 1) == [
        [3, 2, 4, 6, 6]]
    # a batch of 1 on a boundary: [L, N*H, hd] first (PyTorch's head split), then [L*N, H, hd]
    assert rebatched_targets([5, 2, 4], [5, 1, 8], [5, 3, 8], False, 1) == [
        [5, 6, 4], [15, 2, 4]]
    # merged with the heads ([L, N*H, hd] -> [L*N, d]): its outer part lands on either side
    assert rebatched_targets([5, 8], [5, 2, 4], [5, 6, 4], False, 1) == [[5, 24], [15, 8]]
    # a -1 that takes the batch needs no change
    assert rebatched_targets([-1, 8], [2, 4, 2], [6, 4, 2], False, 2) == [None]
    with pytest.raises(ValueError, match="no dimension of it can take the batch"):
        rebatched_targets([3, 4], [2, 6], [4, 6], False, 2)


def test_readings_are_tried_depth_first():
    assert next_readings([("a", 0, 2), ("b", 0, 2)]) == [0, 1]
    assert next_readings([("a", 0, 2), ("b", 1, 2)]) == [1]
    assert next_readings([("a", 1, 2), ("b", 1, 2)]) is None
