"""BatchNormalization folded into the layer before it for JIT inference (fold-batch-norm and
runtime/jit/folding.py): the forward entry loses its batchnorm kernels, still equals the
reference interpreter's unfolded forward, and keeps doing so after training steps,
parameter and state assignments, writes through a parameter's view and checkpoint loads;
the user sees the same parameters as before."""

from __future__ import annotations

import numpy as np
import pytest

import compiler
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from compiler.training.checkpoint import Checkpoint, restore
from ir.errors import RuntimeInputError
from ir.verify import verify
from tests.op_graphs import JIT_TOL

MODEL = """\
name: cbr
input: {name: image, shape: [3, 9, 9]}
layers:
  - conv2d: {name: conv1, filters: 5, kernel: 3, padding: 1}
  - batchnorm: {name: bn1}
  - relu: {name: relu1}
  - conv2d: {name: conv2, filters: 6, kernel: 3, stride: 2, bias: false}
  - batchnorm: {name: bn2, eps: 0.01}
  - add: {name: add2, inputs: [bn2, bn2]}
  - conv2d: {name: conv3, filters: 6, kernel: 1, groups: 6}
  - batchnorm: {name: bn3}
  - add: {name: skip, inputs: [bn3, conv3]}  # bn3 stays: conv3 has another reader
  - flatten: {name: flat}
  - dense: {name: fc, units: 7}
  - batchnorm: {name: bn4}
  - relu: {name: relu4}
  - dense: {name: out, units: 4}
loss: softmax_cross_entropy
"""
BATCH = 2


def loaded(tmp_path_factory, name, text):
    """The model `text` written to `<name>.yaml` in a fresh folder and loaded from there."""
    path = tmp_path_factory.mktemp("bn") / f"{name}.yaml"
    path.write_text(text)
    return compiler.load(path)


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return loaded(tmp_path_factory, "cbr", MODEL)


def randomized(nets, dtype, seed=0):
    """The same non-trivial parameters and statistics in every net (scales near 1, positive
    variances), so a wrong fold cannot hide behind PyTorch's identity initialization."""
    rng = np.random.default_rng(seed)
    np_dtype = np.float32 if dtype == "f32" else np.float64
    for store in ("params", "state"):
        for name in getattr(nets[0], store):
            shape = getattr(nets[0], store)[name].shape
            value = rng.standard_normal(shape)
            if name.endswith("running_var"):
                value = np.abs(value) + 0.5
            elif name.startswith("bn") and name.endswith("weight"):
                value = 1 + 0.3 * value
            for net in nets:
                getattr(net, store)[name] = value.astype(np_dtype)


def assert_same_forward(jit, ref, x, dtype):
    want = ref.forward(x)
    scale = np.abs(want).max()
    np.testing.assert_allclose(jit.forward(x) / scale, want / scale, **JIT_TOL[dtype])


def data(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, 3, 9, 9)).astype(np.float32 if dtype == "f32" else
                                                      np.float64)
    return x, np.array([1, 3])


@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_forward_follows_training_assignments_and_views(graph, dtype):
    jit, ref = (compiler.compile(graph, batch=BATCH, train=True, dtype=dtype, backend=backend)
                for backend in ("jit", "reference"))
    randomized([jit, ref], dtype)
    x, y = data(dtype)
    assert_same_forward(jit, ref, x, dtype)
    for _ in range(2):
        jit.train_step(x, y)
        ref.train_step(x, y)
    assert_same_forward(jit, ref, x, dtype)
    randomized([jit, ref], dtype, seed=5)
    assert_same_forward(jit, ref, x, dtype)
    for net in (jit, ref):  # written through views: the network cannot see the write itself
        net.params["bn1.weight"][...] *= -2
        net.state["bn4.running_mean"][...] += 1
    assert_same_forward(jit, ref, x, dtype)


def test_batchnorm_kernels_disappear_and_the_interface_stays(graph):
    net = compiler.compile(graph, batch=BATCH)
    ref = compiler.compile(graph, batch=BATCH, backend="reference")
    randomized([net, ref], "f32")
    x, _ = data("f32")
    assert_same_forward(net, ref, x, "f32")
    kernels = {k["name"]: k["kind"] for k in net.entry("forward").kernels}
    # a folded layer's kernel keeps the batchnorm's name (the value its readers read)
    assert all(kernels[f"k{i}_{bn}"] == "contraction" for i, bn in ((1, "bn1"), (2, "bn2"),
                                                                     (5, "bn4"))), kernels
    assert kernels["k4_bn3"] == "normalize", kernels
    assert list(kernels.values()).count("normalize") == 1, kernels
    assert list(net.params) == list(ref.params)
    assert list(net.state) == list(ref.state)
    with pytest.raises(RuntimeInputError, match="expected 1 input array"):
        net.forward(x, x)


def test_constants_are_folded_again_only_after_a_possible_change(graph):
    net = compiler.compile(graph, batch=BATCH, train=True)
    x, y = data("f32")
    for _ in range(3):
        net.forward(x)
    folds = net._folds
    assert folds is not None
    assert folds.refolds == 1
    net.train_step(x, y)
    net.forward(x)
    net.forward(x)
    assert folds.refolds == 2
    net.params["fc.weight"] = np.zeros_like(net.params["fc.weight"])
    net.forward(x)
    assert folds.refolds == 3


def test_a_loaded_checkpoint_reaches_the_folded_forward(graph, tmp_path):
    source = compiler.compile(graph, batch=BATCH, backend="reference")
    randomized([source], "f32", seed=7)
    ckpt = Checkpoint(params={k: np.array(v) for k, v in source.params.items()},
                      state={k: np.array(v) for k, v in source.state.items()})
    net = compiler.compile(graph, batch=BATCH)
    x, _ = data("f32")
    net.forward(x)  # folded from the initial parameters
    restore(net, ckpt, str(tmp_path / "ckpt.npz"), with_state=True)
    assert_same_forward(net, source, x, "f32")


def test_the_pass_folds_for_the_jit_in_every_layout_and_never_in_training(graph):
    def ops(options):
        lowered = lower(graph, "forward", PassContext(batch=BATCH, options=options),
                        verify_each=True)
        verify(lowered)
        return [n.op for n in lowered.nodes()]

    assert ops({"fold_batch_norm": True}).count("batchnorm") == 1
    assert ops({}).count("batchnorm") == 4
    assert ops({"fold_batch_norm": True, "layout": "nhwc"}).count("batchnorm") == 1
    train = lower(graph, "train", PassContext(batch=BATCH, train=True,
                                              options={"fold_batch_norm": True}))
    assert sum(n.op == "batchnorm" for n in train.nodes()) == 4


BLOCKED = """\
name: cbr16
input: {name: image, shape: [3, 9, 9]}
layers:
  - conv2d: {name: conv1, filters: 16, kernel: 3, padding: 1}
  - batchnorm: {name: bn1}
  - relu: {name: relu1}
  - conv2d: {name: conv2, filters: 48, kernel: 3, stride: 2, bias: false}
  - batchnorm: {name: bn2, eps: 0.01}
  - conv2d: {name: conv3, filters: 32, kernel: 1}
  - relu: {name: relu3}
  - flatten: {name: flat}
  - dense: {name: fc, units: 7}
  - batchnorm: {name: bn4}
  - relu: {name: relu4}
  - dense: {name: out, units: 4}
loss: softmax_cross_entropy
"""
"""Channels that fill blocks: the convolutions run as direct kernels over weights the runtime
packed (conv1, conv2 folded first; conv3 packed from its parameter), the dense weight after
the flatten is stored with permuted columns and folded as stored."""


@pytest.fixture(scope="module")
def blocked(tmp_path_factory):
    return loaded(tmp_path_factory, "cbr16", BLOCKED)


@pytest.mark.parametrize("layout", ["nchw16c", "nhwc"])
def test_folded_then_packed_weights_follow_every_change(blocked, layout):
    dtype = "f64"
    jit = compiler.compile(blocked, batch=BATCH, train=True, dtype=dtype, layout=layout)
    ref = compiler.compile(blocked, batch=BATCH, train=True, dtype=dtype, backend="reference")
    randomized([jit, ref], dtype)
    x, y = data(dtype)
    assert_same_forward(jit, ref, x, dtype)
    folds = jit._folds
    assert folds is not None
    assert [(p["weight"], p["width"] >= 16) for p in folds.packs] == [
        (folds.recipes[0]["folded_weight"], True), (folds.recipes[1]["folded_weight"], True),
        ("conv3.weight", True)]
    for _ in range(2):
        jit.train_step(x, y)
        ref.train_step(x, y)
    assert_same_forward(jit, ref, x, dtype)
    for net in (jit, ref):
        net.params["conv3.weight"] = net.params["conv3.weight"] * 0.5
    assert_same_forward(jit, ref, x, dtype)
    for net in (jit, ref):  # written through views
        net.params["conv2.weight"][...] *= -1
        net.state["bn1.running_var"][...] += 2
    assert_same_forward(jit, ref, x, dtype)


def test_a_checkpoint_reaches_the_packed_weights(blocked, tmp_path):
    source = compiler.compile(blocked, batch=BATCH, backend="reference")
    randomized([source], "f32", seed=3)
    ckpt = Checkpoint(params={k: np.array(v) for k, v in source.params.items()},
                      state={k: np.array(v) for k, v in source.state.items()})
    net = compiler.compile(blocked, batch=BATCH, layout="nchw16c")
    x, _ = data("f32")
    net.forward(x)  # packed from the initial parameters
    assert net._folds is not None
    assert len(net._folds.packs) == 3
    restore(net, ckpt, str(tmp_path / "ckpt.npz"), with_state=True)
    assert_same_forward(net, source, x, "f32")
