"""The description language's layers for today's architectures (layer_norm, gelu, silu,
hardswish, hardsigmoid, relu6, mean, embedding, attention, dense over tokens) and the examples
built from them: parameter counts equal to PyTorch's, forwards through the reference and the
JIT, gradients against finite differences, explain on their seams, errors that name the file,
the line, the layer and the numbers; the ONNX twins (Erf, Gelu, Gather as an embedding) against
ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.explain import explain
from compiler.gradcheck import check_gradients
from ir.errors import ModelError, RuntimeInputError
from tests.conftest import EXAMPLES, netc

PYTORCH_COUNTS = {"resnet18": 11_689_512, "mobilenet_v2": 3_504_872,
                  "transformer_encoder": 135_946}
"""sum(p.numel() for p in model.parameters()) of torchvision's resnet18 and mobilenet_v2, and of
the zoo's transformer classifier (Linear(16, 128), TransformerEncoderLayer(128, 4, 256),
Linear(128, 10))."""


def write(tmp_path, text):
    path = tmp_path / "model.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(PYTORCH_COUNTS))
def test_netc_check_prints_pytorchs_parameter_count(name):
    out = netc("check", EXAMPLES / f"{name}.yaml")
    assert out.returncode == 0, out.stderr
    assert f"{PYTORCH_COUNTS[name]:,} trainable parameters" in out.stdout


@pytest.mark.parametrize(("name", "logits"), [("resnet18", 1000), ("mobilenet_v2", 1000)])
def test_imagenet_examples_run_a_forward_at_batch_1(name, logits):
    graph = compiler.load(EXAMPLES / f"{name}.yaml")
    net = compiler.compile(graph, batch=1, backend="reference")
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    y = net.forward(x)
    assert y.shape == (1, logits)
    assert np.isfinite(y).all()
    assert np.abs(y).max() > 0


def test_transformer_example_jit_matches_the_reference():
    graph = compiler.load(EXAMPLES / "transformer_encoder.yaml")
    jit = compiler.compile(graph, batch=2)
    ref = compiler.compile(graph, batch=2, backend="reference")
    for name, value in jit.params.items():
        ref.params[name] = value
    x = np.random.default_rng(1).standard_normal((2, 32, 16)).astype(np.float32)
    np.testing.assert_allclose(jit.forward(x), ref.forward(x), rtol=1e-4, atol=1e-5)
    assert set(jit.params) >= {"self_attn.in_proj_weight", "self_attn.out_proj.weight",
                               "norm1.weight", "linear1.weight"}  # PyTorch's state_dict names
    np.testing.assert_array_equal(jit.params["norm1.weight"], 1.0)  # LayerNorm starts at 1


@pytest.mark.parametrize(("name", "layer", "chw", "k"), [
    ("resnet18", "fc", (512, 1, 1), 1000),
    ("mobilenet_v2", "flatten", (1280, 1, 1), 1000),
])
def test_explain_on_the_pool_to_dense_seam(name, layer, chw, k):
    e = explain(compiler.load(EXAMPLES / f"{name}.yaml"), layer)
    assert (e.site.c, e.site.h, e.site.w, e.site.k) == (*chw, k)
    assert e.ok


TINY_TRANSFORMER = """
name: tiny
input: {name: ids, shape: [3], dtype: i64}
layers:
  - embedding: {name: embed, num_embeddings: 11, dim: 8}
  - attention: {name: attn, heads: 2, dim: 8}
  - add: {name: res, inputs: [embed, attn]}
  - layer_norm: {name: norm}
  - dense: {name: up, units: 6}
  - gelu
  - silu
  - hardswish
  - hardsigmoid
  - relu6
  - dense: {name: down, units: 8}
  - mean: {name: pool, axes: [1]}
  - dense: {name: head, units: 4}
loss: softmax_cross_entropy
"""


def test_every_new_layer_differentiates_like_finite_differences(tmp_path):
    graph = compiler.load(write(tmp_path, TINY_TRANSFORMER))
    rng = np.random.default_rng(3)
    feeds = {"ids": rng.integers(0, 11, (2, 3)), "labels": rng.integers(0, 4, 2)}
    for v in graph.inputs_with_role("param"):
        feeds[v.name] = rng.standard_normal(tuple(int(d) for d in v.type.shape))
    checks = check_gradients(graph, feeds, max_elements=24)
    assert {c.name for c in checks} >= {"embed.weight", "attn.in_proj_weight", "norm.weight",
                                        "up.weight", "head.bias"}
    for c in checks:
        assert c.error < 1e-6, f"d loss / d {c.name}: relative error {c.error:.2e}"
        assert c.analytic_norm > 0, c.name


def test_embedding_model_trains_and_refuses_ids_outside_the_table(tmp_path):
    graph = compiler.load(write(tmp_path, TINY_TRANSFORMER))
    net = compiler.compile(graph, batch=4, train=True, optimizer=compiler.SGD(lr=0.1))
    rng = np.random.default_rng(0)
    ids, labels = rng.integers(0, 11, (4, 3)), rng.integers(0, 4, 4)
    losses = [net.train_step(ids, labels) for _ in range(20)]
    assert losses[-1] < losses[0]
    bad = ids.copy()
    bad[2, 1] = 11
    with pytest.raises(RuntimeInputError, match="input 'ids': id 11 is outside the 11 rows"):
        net.forward(bad)


@pytest.mark.parametrize(("layer", "message"), [
    ("attention: {heads: 3, dim: 8}", "attention heads 3 must divide the 8 features"),
    ("attention: {heads: 2, dim: 6}", "attention dim 6 differs from the input's 8 features"),
    ("layer_norm: {eps: 0}", "layer_norm eps must be positive, got 0"),
    ("mean: {axes: [0]}", "mean axes [0] must name axes 1..2 of Nx3x8 (axis 0 is the batch)"),
    ("embedding: {num_embeddings: 4, dim: 2}", "embedding reads int64 ids, got f32[N,3,8]"),
    ("attention: {dim: 8}", "attention needs attribute 'heads'"),
])
def test_bad_parameters_name_file_line_layer_and_numbers(tmp_path, layer, message):
    text = ("name: m\ninput: {name: x, shape: [3, 8]}\nlayers:\n  - relu\n"
            f"  - {layer}\n")
    with pytest.raises(ModelError) as info:
        compiler.load(write(tmp_path, text))
    assert str(info.value).startswith(f"{tmp_path / 'model.yaml'}:5:")
    assert message in str(info.value)


def test_input_dtype_is_checked_with_its_line(tmp_path):
    text = "name: m\ninput:\n  name: x\n  shape: [3]\n  dtype: int8\nlayers:\n  - relu\n"
    with pytest.raises(ModelError, match=r"model.yaml:5: input dtype must be f32, f64 or i64"):
        compiler.load(write(tmp_path, text))


# ---------------------------------------------------------------- the ONNX twins

def _onnx_model(tmp_path, nodes, inputs, output, initializers, opset=20):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    graph = helper.make_graph(nodes, "m", inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    return path


def test_onnx_embedding_gelu_and_erf_match_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    table = np.random.default_rng(0).standard_normal((11, 6)).astype(np.float32)
    nodes = [helper.make_node("Gather", ["W", "ids"], ["e"]),
             helper.make_node("Gelu", ["e"], ["g"]), helper.make_node("Erf", ["g"], ["y"])]
    path = _onnx_model(tmp_path, nodes, [helper.make_tensor_value_info("ids", TensorProto.INT64,
                                                                       ["batch", 5])],
                       helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5, 6]),
                       [numpy_helper.from_array(table, "W")])
    ids = np.array([[0, 3, 10, 3, 1], [2, 2, 9, 4, 0]], dtype=np.int64)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"ids": ids})[0]
    graph = compiler.load(path)
    assert [n.op for n in graph.nodes()][0] == "embedding"
    got = compiler.compile(graph, batch=2).forward(ids)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_onnx_gelu_tanh_approximation_matches_its_formula(tmp_path):
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")]
    path = _onnx_model(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                       [1, 4])],
                       helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]), [])
    x = np.linspace(-4, 4, 4, dtype=np.float32).reshape(1, 4)
    got = compiler.compile(compiler.load(path)).forward(x)
    want = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
