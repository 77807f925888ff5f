"""The JIT runtime: threads, the compile cache's failure modes, dumps of generated code, input
checks before native code runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import compiler
from ir import RuntimeInputError
from tests.conftest import EXAMPLES, ROOT, netc

SCRIPT = """
import numpy as np, compiler
g = compiler.load({path!r})
net = compiler.compile(g, batch=4, train=True)
rng = np.random.default_rng(0)
x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
y = rng.integers(0, 10, 4)
losses = [net.train_step(x, y) for _ in range(3)]
print(repr(losses), float(net.params["conv1.weight"].sum()))
"""


def run_script(env_extra, tmp_path):
    import os

    env = {**os.environ, "NETC_CACHE_DIR": str(tmp_path / "cache"), **env_extra}
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(path=str(EXAMPLES / "lenet5.yaml"))],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_one_thread_and_two_threads_agree(tmp_path):
    one = run_script({"NETC_THREADS": "1"}, tmp_path)
    two = run_script({"NETC_THREADS": "2"}, tmp_path)
    l1, l2 = eval(one.split("] ")[0] + "]"), eval(two.split("] ")[0] + "]")
    np.testing.assert_allclose(l1, l2, rtol=1e-5)


def test_corrupt_and_truncated_cache_entries_are_rebuilt(tmp_path):
    first = run_script({}, tmp_path)
    objects = sorted((tmp_path / "cache").rglob("*.o")) + sorted(
        (tmp_path / "cache").rglob("*.json"))
    assert objects
    for i, path in enumerate(objects):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if i % 2 else b"garbage" * 10)
    assert run_script({}, tmp_path) == first


def test_unwritable_cache_directory_still_compiles(tmp_path):
    """A cache path that cannot be created (its parent is a file: even root cannot write it)."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    out = run_script({"NETC_CACHE_DIR": str(blocker / "cache")}, tmp_path)
    assert out.startswith("[")
    assert blocker.read_text() == "x"


def test_wrong_arrays_are_refused_before_native_code():
    net = compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=2, train=True)
    x = np.zeros((2, 1, 28, 28), np.float32)
    y = np.zeros(2, np.int64)
    with pytest.raises(RuntimeInputError, match=r"must have shape \[2, 1, 28, 28\]"):
        net.forward(np.zeros((3, 1, 28, 28), np.float32))
    with pytest.raises(RuntimeInputError, match="must be float32, got float64"):
        net.forward(np.zeros((2, 1, 28, 28)))
    with pytest.raises(RuntimeInputError, match="label 10 is outside the 10 classes"):
        net.train_step(x, np.array([1, 10]))
    with pytest.raises(RuntimeInputError, match="integer class indices"):
        net.train_step(x, np.zeros(2, np.float32))
    strided = np.zeros((2, 1, 28, 56), np.float32)[..., ::2]
    assert net.forward(strided).shape == (2, 10)  # non-contiguous: copied, then run
    readonly = x.copy()
    readonly.flags.writeable = False
    assert np.isfinite(net.train_step(readonly, y))


def test_params_are_views_in_the_users_layout():
    net = compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=2)
    w = net.params["conv1.weight"]
    assert w.shape == (6, 1, 5, 5)
    assert w.dtype == np.float32
    w[...] = 0.0
    net.params["conv1.bias"] = np.ones(6, np.float32)
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    ref = compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=2, backend="reference")
    for k in ref.params:
        ref.params[k] = net.params[k]
    np.testing.assert_allclose(net.forward(x), ref.forward(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeInputError, match="has shape"):
        net.params["conv1.bias"] = np.ones(5)


@pytest.mark.parametrize("stage", ["llvm", "llvm-opt", "asm"])
def test_dump_generated_code(stage):
    out = netc("dump", EXAMPLES / "mlp.yaml", "--stage", stage, "--batch", "4")
    assert out.returncode == 0, out.stderr
    assert "k1_fc1" in out.stdout
    marker = {"llvm": 'define void @"netc_k_', "llvm-opt": "define", "asm": "netc_k_"}[stage]
    assert marker in out.stdout


def test_compile_command_reports_stages_kernels_and_memory():
    out = netc("compile", EXAMPLES / "lenet5.yaml", "--train", "--batch", "8")
    assert out.returncode == 0, out.stderr
    for text in ("codegen" if "miss" in out.stdout else "load", "kernels (", "k1_conv1",
                 "FLOPs", "scratch peak", "cache "):
        assert text in out.stdout
