"""Fine-tuning imported classifiers: a model exported at batch 1 compiled with train=True at
batch 8 gets its loss attached, trains every parameter, runs BatchNormalization in training
mode (its running statistics move), and 20 SGD steps on one fixed batch lower the loss. The
models are small twins of the real exports (a ResNet with batch-norm nodes left in, as
`training=TrainingMode.PRESERVE` exports write them, and a transformer encoder layer whose
head reshapes come from Shape arithmetic), built with onnx.helper.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX import needs the onnx package")

import compiler  # noqa: E402
from compiler.frontend.onnx import import_model  # noqa: E402
from tests.onnx_builders import Net  # noqa: E402

RNG = np.random.default_rng(5)
CLASSES = 4


def batchnorm(n: Net, x: str, c: int) -> str:
    scale = n.init(n.name("bn") + ".weight", 1 + 0.1 * RNG.standard_normal(c).astype(np.float32))
    shift = n.init(n.name("bn") + ".bias", 0.1 * RNG.standard_normal(c).astype(np.float32))
    mean = n.init(n.name("bn") + ".running_mean", np.zeros(c, np.float32))
    var = n.init(n.name("bn") + ".running_var", np.ones(c, np.float32))
    return n.one("BatchNormalization", [x, scale, shift, mean, var], epsilon=1e-5,
                 momentum=0.9)


def head(n: Net, x: str, d: int) -> str:
    w = n.init("fc.weight", RNG.standard_normal((CLASSES, d)).astype(np.float32) * 0.3)
    b = n.init("fc.bias", np.zeros(CLASSES, np.float32))
    return n.one("Gemm", [x, w, b], transB=1)


def resnet_model():
    n = Net(RNG)
    h = n.one("Relu", [batchnorm(n, n.conv("input", 3, 8, 3, bias=False), 8)])
    r = n.one("Relu", [batchnorm(n, n.conv(h, 8, 8, 3, bias=False), 8)])
    h = n.one("Relu", [n.one("Add", [batchnorm(n, n.conv(r, 8, 8, 3, bias=False), 8), h])])
    flat = n.one("Flatten", [n.one("GlobalAveragePool", [h])], axis=1)
    return n.model("input", [1, 3, 8, 8], head(n, flat, 8))


def transformer_model(tokens: int = 6, d: int = 8):
    """Self-attention (one head) + LayerNormalization + feed-forward + mean + Linear; the
    token-major view for the scores comes from Shape/Gather/Concat on the activations."""
    n = Net(RNG)

    def linear(x: str, din: int, dout: int) -> str:
        w = n.init(n.name("linear") + ".weight",
                   RNG.standard_normal((din, dout)).astype(np.float32) / np.sqrt(din))
        return n.one("MatMul", [x, w])

    def norm(x: str) -> str:
        scale = n.init(n.name("norm") + ".weight", np.ones(d, np.float32))
        bias = n.init(n.name("norm") + ".bias", np.zeros(d, np.float32))
        return n.one("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-5)

    x = linear("x", 3, d)
    shape = n.one("Shape", [x])
    batch = n.one("Unsqueeze", [n.one("Gather", [shape, n.const(0)], axis=0), n.const([0])])
    q, k, v = (n.one("Reshape", [linear(x, d, d), n.one("Concat", [batch, n.const([tokens, d])],
                                                         axis=0)]) for _ in range(3))
    scores = n.one("Div", [n.one("MatMul", [q, n.one("Transpose", [k], perm=[0, 2, 1])]),
                           n.const(np.sqrt(d), np.float32)])
    h = norm(n.one("Add", [x, n.one("MatMul", [n.one("Softmax", [scores], axis=-1), v])]))
    h = norm(n.one("Add", [h, linear(n.one("Relu", [linear(h, d, 2 * d)]), 2 * d, d)]))
    return n.model("x", [1, tokens, 3], head(n, n.one("ReduceMean", [h], axes=[1], keepdims=0),
                                              d))


@pytest.mark.parametrize(("build", "shape"), [(resnet_model, (3, 8, 8)),
                                              (transformer_model, (6, 3))])
def test_an_imported_classifier_fine_tunes_at_batch_8(build, shape):
    graph = import_model(build(), source="m.onnx")  # exported at batch 1, loss "auto"
    params = {v.name for v in graph.params}
    net = compiler.compile(graph, batch=8, train=True, optimizer=compiler.SGD(lr=0.05))
    x = RNG.standard_normal((8, *shape)).astype(np.float32)
    labels = RNG.integers(0, CLASSES, 8)
    loss, grads = net.loss_and_grads(x, labels)
    assert set(grads) == params  # every parameter trains
    assert all(np.any(g != 0) for g in grads.values())
    means = {name: np.array(a) for name, a in net.state.items() if "running_mean" in name}
    assert len(means) == (3 if build is resnet_model else 0)
    losses = [net.train_step(x, labels) for _ in range(20)]
    assert losses[0] == pytest.approx(loss, rel=1e-5)
    assert losses[-1] < 0.8 * losses[0]
    for name, before in means.items():  # batch norm ran in training mode: statistics moved
        assert not np.allclose(net.state[name], before)
