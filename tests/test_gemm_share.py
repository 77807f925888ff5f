"""The tasks of one GEMM pack A once between them (compiler/codegen/gemm_share.py).

A dense layer whose columns are split into tasks shares one packed copy of A: each micro-panel
is packed by the task that claims it first, and the flags are cleared by the last task of the
call. The results must be those of numpy for shapes with partial panels and several K blocks,
on every call (a flag left set would hand the next call the previous call's A), for networks
called in turn (the flags are the library's), and when one thread runs every task.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import compiler
from compiler.codegen.gemm_share import MAX_BYTES, shared_a_bytes
from compiler.codegen.library import workspace_elems
from compiler.driver.jit import host_target
from tests.conftest import ROOT

SHAPES = [(100, 300, 96), (37, 520, 200), (64, 256, 1000)]
"""(batch m, inputs k, units n): rows that are no multiple of MR, K in one, two and three
blocks, columns in two to four chunks."""


def dense(tmp_path, m: int, k: int, n: int, seed: int = 0):
    """A one-layer dense network with bias at batch m, its weights random; (net, W, b)."""
    path = tmp_path / f"dense{m}x{k}x{n}.yaml"
    path.write_text(f"name: d\ninput: {{name: x, shape: [{k}]}}\nlayers:\n"
                    f"  - dense: {{name: fc, units: {n}}}\n")
    net = compiler.compile(compiler.load(path), batch=m)
    rng = np.random.default_rng(seed)
    net.params["fc.weight"][...] = rng.standard_normal((n, k)).astype(np.float32)
    net.params["fc.bias"][...] = rng.standard_normal(n).astype(np.float32)
    return net, np.array(net.params["fc.weight"]), np.array(net.params["fc.bias"])


def assert_forward(net, w, b, m, k, seed):
    x = np.random.default_rng(seed).standard_normal((m, k)).astype(np.float32)
    want = x.astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(net.forward(x), want, rtol=1e-4, atol=1e-4 * np.sqrt(k))


@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_shared_packing_is_correct_on_every_call(tmp_path, m, k, n):
    net, w, b = dense(tmp_path, m, k, n)
    assert_forward(net, w, b, m, k, seed=1)
    (kernel,) = net._entries["forward"].compiled.kernels
    target = host_target()
    assert kernel["ntasks"] > 1
    assert kernel["workspace"] > workspace_elems(target, "f32") * 4  # its share of shared A
    for seed in (2, 3):
        assert_forward(net, w, b, m, k, seed)


def test_networks_called_in_turn_share_the_flags_correctly(tmp_path):
    nets = [dense(tmp_path, m, k, n, seed=i) for i, (m, k, n) in enumerate(SHAPES[:2])]
    for seed in range(3):
        for (net, w, b), (m, k, _) in zip(nets, SHAPES[:2], strict=True):
            assert_forward(net, w, b, m, k, seed)


def test_too_large_an_a_is_not_shared():
    target = host_target()
    assert shared_a_bytes(target, "f32", 100, 300) >= 100 * 300 * 4
    assert shared_a_bytes(target, "f32", 4096, 4096) == 0
    assert shared_a_bytes(target, "f32", 1 << 14, 128) == 0  # too many panels for the flags
    assert MAX_BYTES >= shared_a_bytes(target, "f32", 1024, 1024) > 0


def test_one_thread_running_every_task_packs_everything_itself(tmp_path):
    """Two tasks on one CPU: the pool may run both on one thread, which must then find (or
    pack) every panel without waiting for a task that has not started."""
    script = textwrap.dedent(f"""
        import os, sys
        os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
        sys.path.insert(0, {str(ROOT)!r})
        import pathlib
        from tests.test_gemm_share import SHAPES, assert_forward, dense
        tmp = pathlib.Path({str(tmp_path)!r})
        m, k, n = SHAPES[0]
        net, w, b = dense(tmp, m, k, n)
        for seed in range(4):
            assert_forward(net, w, b, m, k, seed)
        assert net._entries["forward"].compiled.kernels[0]["ntasks"] > 1
        print("ok")
    """)
    env = {**os.environ, "NETC_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
