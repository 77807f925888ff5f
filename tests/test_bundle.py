"""Ahead-of-time bundles against the JIT: `netc build`, the example main.c compiled with cc and
run in a subprocess, and compiler.load_bundle, all giving the JIT's numbers bit for bit (the
same generated code, for the host's CPU)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

import compiler
from compiler.bundle import build_bundle
from compiler.bundle.link import compile_program
from runtime.network import Network
from tests.conftest import EXAMPLES, netc

BATCH = 4
STEPS = 5


def example(folder: Path, name: str) -> Path:
    """The bundle's main.c built as its README says."""
    program = folder / f"{name}_example"
    compile_program(folder / "main.c", folder, name, program)
    return program


def run(*args: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def batch_data(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, *shape)).astype(np.float32)
    return x, rng.integers(0, 10, BATCH).astype(np.int64)


@pytest.fixture(scope="module")
def lenet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lenet5 with Adam at batch 4, built through the CLI as a user builds it."""
    folder = tmp_path_factory.mktemp("lenet5")
    done = netc("build", EXAMPLES / "lenet5.yaml", "--batch", BATCH, "--train", "--optimizer",
                "adam", "-o", folder)
    assert done.returncode == 0, done.stderr
    assert "liblenet5.so" in done.stdout
    return folder


def jit_lenet() -> Network:
    return compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=BATCH, train=True,
                            optimizer=compiler.Adam(lr=1e-3))


def test_lenet5_main_c_forward_equals_the_jit(lenet: Path, tmp_path: Path) -> None:
    x, _ = batch_data((1, 28, 28))
    (tmp_path / "x.raw").write_bytes(x.tobytes())
    run(example(lenet, "lenet5"), lenet / "lenet5.weights", tmp_path / "x.raw",
        tmp_path / "y.raw")
    out = np.fromfile(tmp_path / "y.raw", dtype=np.float32).reshape(BATCH, 10)
    np.testing.assert_array_equal(out, jit_lenet().forward(x))


def test_lenet5_main_c_five_train_steps_equal_the_jit(lenet: Path, tmp_path: Path) -> None:
    x, labels = batch_data((1, 28, 28), seed=1)
    (tmp_path / "x.raw").write_bytes(x.tobytes())
    (tmp_path / "labels.raw").write_bytes(labels.tobytes())
    saved = tmp_path / "trained.weights"
    done = run(example(lenet, "lenet5"), lenet / "lenet5.weights", tmp_path / "x.raw",
               tmp_path / "y.raw", tmp_path / "labels.raw", STEPS, saved)
    losses = [float.fromhex(line.split()[3]) for line in done.stdout.splitlines()]
    jit = jit_lenet()
    assert losses == [jit.train_step(x, labels) for _ in range(STEPS)]
    out = np.fromfile(tmp_path / "y.raw", dtype=np.float32).reshape(BATCH, 10)
    np.testing.assert_array_equal(out, jit.forward(x))
    trained = compiler.load_bundle(lenet, weights=saved)
    for name in jit.params:
        np.testing.assert_array_equal(trained.params[name], jit.params[name], err_msg=name)
    for name in jit.state:  # Adam's moments and step went through the weights file too
        np.testing.assert_array_equal(trained.state[name], jit.state[name], err_msg=name)


def test_load_bundle_is_a_network_with_the_jits_numbers(lenet: Path) -> None:
    x, labels = batch_data((1, 28, 28), seed=2)
    bundle, jit = compiler.load_bundle(lenet), jit_lenet()
    loss, grads = bundle.loss_and_grads(x, labels)
    jit_loss, jit_grads = jit.loss_and_grads(x, labels)
    assert loss == jit_loss
    assert grads.keys() == jit_grads.keys()
    for name, grad in jit_grads.items():
        np.testing.assert_array_equal(grads[name], grad, err_msg=name)
    assert bundle.train_step(x, labels) == jit.train_step(x, labels)
    bundle.params["fc3.bias"] = np.arange(10)  # written into the library's region
    jit.params["fc3.bias"] = np.arange(10)
    np.testing.assert_array_equal(bundle.forward(x), jit.forward(x))
    bundle.save_weights(lenet / "saved.weights")  # type: ignore[attr-defined]
    reloaded = compiler.load_bundle(lenet, weights=lenet / "saved.weights")
    np.testing.assert_array_equal(reloaded.forward(x), jit.forward(x))
    np.testing.assert_array_equal(reloaded.state["step"], jit.state["step"])


def test_the_thread_count_does_not_change_the_numbers(lenet: Path) -> None:
    x, _ = batch_data((1, 28, 28), seed=3)
    bundle = compiler.load_bundle(lenet)
    before = bundle.forward(x)
    bundle.set_threads(1)  # type: ignore[attr-defined]
    try:
        np.testing.assert_array_equal(bundle.forward(x), before)
    finally:
        bundle.set_threads(bundle.max_threads)  # type: ignore[attr-defined]


def test_residual_example_main_c_inference_equals_the_jit(tmp_path: Path) -> None:
    graph = compiler.load(EXAMPLES / "resnet_small.json")
    folder = tmp_path / "bundle"
    build_bundle(graph, folder, batch=BATCH)
    x, _ = batch_data((1, 28, 28), seed=4)
    (tmp_path / "x.raw").write_bytes(x.tobytes())
    run(example(folder, "resnet_small"), folder / "resnet_small.weights", tmp_path / "x.raw",
        tmp_path / "y.raw")
    out = np.fromfile(tmp_path / "y.raw", dtype=np.float32).reshape(BATCH, 10)
    np.testing.assert_array_equal(out, compiler.compile(graph, batch=BATCH).forward(x))
    assert not (folder / "resnet_small.h").read_text().count("resnet_small_train_step")


def test_a_parameter_view_outlives_its_network(lenet: Path) -> None:
    import gc

    bundle = compiler.load_bundle(lenet)
    weight = bundle._params["fc1.weight"]  # the live view net.params writes through
    expected = weight.copy()
    del bundle
    gc.collect()
    churn = [np.full(1 << 16, 7.0) for _ in range(64)]  # reuse any memory that was freed
    np.testing.assert_array_equal(weight, expected)
    assert len(churn) == 64


def test_netc_build_ships_the_weights_of_a_params_file(tmp_path: Path) -> None:
    graph = compiler.load(EXAMPLES / "mlp.yaml")
    trained = compiler.compile(graph, seed=7)  # stands for a trained network
    np.savez(tmp_path / "trained.npz", **{k: v for k, v in trained.params.items()})
    done = netc("build", EXAMPLES / "mlp.yaml", "--params", tmp_path / "trained.npz", "-o",
                tmp_path / "bundle")
    assert done.returncode == 0, done.stderr
    bundle = compiler.load_bundle(tmp_path / "bundle")
    for name, value in trained.params.items():
        np.testing.assert_array_equal(bundle.params[name], value, err_msg=name)
    x = np.random.default_rng(5).standard_normal((1, 784)).astype(np.float32)
    np.testing.assert_array_equal(bundle.forward(x), trained.forward(x))


def test_a_batchnorm_model_bundle_equals_the_jit(tmp_path: Path) -> None:
    """Inference batchnorm stays its own kernel in a bundle (the JIT folds it into the conv,
    computing the folded constants in Python, which a bundle's C side does not do): the
    numbers agree within rounding, and the bundle takes the image alone."""
    path = tmp_path / "bn.yaml"
    path.write_text("name: bnnet\ninput: {shape: [3, 8, 8]}\nlayers:\n"
                    "  - conv2d: {name: conv1, filters: 8, kernel: 3, padding: 1}\n"
                    "  - batchnorm: {name: bn1}\n  - relu\n  - flatten\n"
                    "  - dense: {name: fc, units: 4}\n")
    graph = compiler.load(path)
    build_bundle(graph, tmp_path / "bundle", batch=2)
    bundle, jit = compiler.load_bundle(tmp_path / "bundle"), compiler.compile(graph, batch=2)
    rng = np.random.default_rng(5)
    for table in ("params", "state"):
        for name, value in getattr(jit, table).items():
            new = (rng.random(value.shape) + 0.5).astype(np.float32)
            getattr(jit, table)[name] = new
            getattr(bundle, table)[name] = new
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(bundle.forward(x), jit.forward(x), rtol=1e-5, atol=1e-5)
