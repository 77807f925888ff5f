"""Models exported by PyTorch (examples/onnx, made by tools/make_onnx_models.py): netc imports
them, matches the exporter's outputs and gradients, and fine-tunes them.

LeNet-5 went through torch's dynamo exporter, the ResNet-style network (batch norm, residual
adds, a strided 1x1 shortcut, global average pooling) through the TorchScript one.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX import needs the onnx package")

import compiler  # noqa: E402
from compiler.summary import layer_rows  # noqa: E402
from tests.conftest import EXAMPLES, netc  # noqa: E402

MODELS = ["lenet5", "resnet_small"]


def expected(name: str) -> dict[str, np.ndarray]:
    with np.load(EXAMPLES / "onnx" / f"{name}.npz") as data:
        return dict(data)


@pytest.fixture(scope="module", params=MODELS)
def model(request: pytest.FixtureRequest):  # noqa: ANN201
    name = request.param
    return name, compiler.load(EXAMPLES / "onnx" / f"{name}.onnx"), expected(name)


def test_lenet_has_the_layer_table_of_its_yaml_twin():
    onnx_rows = layer_rows(compiler.load(EXAMPLES / "onnx" / "lenet5.onnx"))
    yaml_rows = layer_rows(compiler.load(EXAMPLES / "lenet5.yaml"))
    assert [(r.op, r.shape, r.params, r.flops) for r in onnx_rows] == \
        [(r.op, r.shape, r.params, r.flops) for r in yaml_rows]
    assert [r.layer for r in onnx_rows if r.params] == ["conv1", "conv2", "fc1", "fc2", "fc3"]


def test_parameters_keep_pytorch_names_and_values(model):
    name, graph, data = model
    params = {v.name for v in graph.params}
    for key in data:
        if key.startswith("grad/"):
            assert key[len("grad/"):] in params
    assert all(graph.initializers[p].shape == tuple(graph.value(p).type.shape) for p in params)


@pytest.mark.parametrize("batch", [4, 1])
def test_forward_matches_the_exporter(model, batch):
    name, graph, data = model
    net = compiler.compile(graph, batch=batch)
    got = net.forward(data["image"][:batch])
    np.testing.assert_allclose(got, data["logits"][:batch], rtol=1e-4, atol=1e-5)


def test_gradients_match_pytorch_autograd(model):
    """Train-mode semantics on both sides: batch statistics in batch norm, mean cross-entropy."""
    name, graph, data = model
    net = compiler.compile(graph, batch=4, train=True)
    loss, grads = net.loss_and_grads(data["image"], data["labels"])
    assert loss == pytest.approx(float(data["loss"]), rel=1e-4)
    for key in (k for k in data if k.startswith("grad/")):
        want = data[key]
        got = grads[key[len("grad/"):]]
        scale = max(np.abs(want).max(), 1e-3)
        np.testing.assert_allclose(got / scale, want / scale, atol=2e-4, err_msg=key)


def test_fine_tuning_lowers_the_loss(model):
    name, graph, data = model
    net = compiler.compile(graph, batch=4, train=True, optimizer=compiler.SGD(lr=0.05))
    losses = [net.train_step(data["image"], data["labels"]) for _ in range(6)]
    assert losses[-1] < losses[0] - 0.05, losses
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), losses


def test_netc_run_uses_the_models_own_weights(tmp_path):
    data = expected("lenet5")
    np.save(tmp_path / "x.npy", data["image"][:2])
    out = netc("run", EXAMPLES / "onnx" / "lenet5.onnx", "--input", tmp_path / "x.npy",
               "--output", tmp_path / "y.npy")
    assert out.returncode == 0, out.stderr
    assert "freshly initialized" not in out.stdout
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), data["logits"][:2], rtol=1e-4,
                               atol=1e-5)
