"""How a cold compile spends less time: the helper process emits the same bytes as this process
(so the compile cache cannot tell who compiled an object), a helper that dies or rejects a
module never loses a compile, kernels reach LLVM while codegen goes on, and an f32 network
never waits for (or caches) the f64 library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import compiler
from compiler.driver import jit
from ir.errors import CompileError
from runtime.jit.scheduler import Helper, Job, Scheduler, compile_here, helper_wanted
from tests.conftest import EXAMPLES, ROOT


@pytest.fixture(scope="module")
def lenet_modules() -> list[tuple[str, str]]:
    """(symbol, LLVM text) of lenet5's training step at batch 2: kernels first, entry last."""
    net = compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=2, train=True)
    planned = jit.plan(net.graphs.get("train"), net.compiler.layout)
    return jit.generate_entry(planned, "train", jit.host_target())[1]


def test_helper_emits_the_bytes_this_process_emits(lenet_modules):
    helper = Helper()
    try:
        for name, text in [*lenet_modules[:3], lenet_modules[-1]]:
            timings: dict[str, float] = {}
            assert helper.compile(Job(name, text, timings)) == compile_here(name, text, {})
            assert set(timings) == {"parse", "optimize", "machine code"}
    finally:
        helper.close()


def test_a_module_llvm_rejects_is_a_compile_error_from_either_worker():
    helper = Helper()
    try:
        with pytest.raises(CompileError, match="LLVM rejected the generated module 'bad'"):
            helper.compile(Job("bad", "define void @f() {\n  ret i32 0\n}\n", {}))
        # the helper goes on after an error
        assert helper.compile(Job("ok", "define void @g() {\n  ret void\n}\n", {}))
    finally:
        helper.close()
    with pytest.raises(CompileError, match="LLVM rejected the generated module 'bad'"):
        compile_here("bad", "define void @f() {\n  ret i32 0\n}\n", {})


def test_a_helper_that_dies_loses_no_module(lenet_modules, monkeypatch):
    # a helper is started where netc may use two threads; ask for two, so that a one-core
    # machine runs this test too (the helper then shares the core, which is only slower)
    monkeypatch.setenv("NETC_THREADS", "2")
    assert helper_wanted()
    scheduler = Scheduler()
    assert scheduler.submit(*lenet_modules[0], {}).result(timeout=120)
    deadline = time.monotonic() + 60
    while scheduler.helper is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scheduler.helper is not None
    scheduler.helper.process.kill()
    futures = [scheduler.submit(name, text, {}) for name, text in lenet_modules[1:6]]
    expected = [compile_here(name, text, {}) for name, text in lenet_modules[1:6]]
    assert [f.result(timeout=120) for f in futures] == expected


def test_codegen_hands_every_kernel_over_before_it_returns():
    net = compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=2, train=True)
    planned = jit.plan(net.graphs.get("train"), net.compiler.layout)
    handed: list[str] = []
    _, modules = jit.generate_entry(planned, "train", jit.host_target(),
                                    lambda name, text: handed.append(name))
    assert handed == [name for name, _ in modules[:-1]]  # each kernel once; the entry after


SCRIPT = """
import json, numpy as np, compiler
from pathlib import Path
net = compiler.compile(compiler.load({path!r}), batch=2)
out = net.forward(np.ones((2, 1, 28, 28), np.float32))
programs = sorted(p.name.rsplit("-", 1)[0] for p in Path({cache!r}, "programs").glob("*.json"))
print(json.dumps({{"out": out.tolist(), "programs": programs}}))
"""


def test_an_f32_network_compiles_only_the_f32_library(tmp_path):
    cache = tmp_path / "cache"
    script = SCRIPT.format(path=str(EXAMPLES / "lenet5.yaml"), cache=str(cache))
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300,
                         env={**os.environ, "NETC_CACHE_DIR": str(cache)})
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["programs"] == ["lenet5-forward", "netc_library_f32", "netc_pool"]
    ref = compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=2,
                           backend="reference")
    np.testing.assert_allclose(result["out"], ref.forward(np.ones((2, 1, 28, 28), np.float32)),
                               rtol=1e-4, atol=1e-5)


def test_exiting_while_the_library_compiles_keeps_the_exit_code(tmp_path):
    """compile() starts the library before lowering; an error that ends the program then must
    not crash it inside LLVM at exit."""
    script = ("import sys, compiler.driver.jit as jit\n"
              "jit.prepare()\n"
              "sys.exit(3)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=300,
                         env={**os.environ, "NETC_CACHE_DIR": str(tmp_path / "cache")})
    assert run.returncode == 3, run.stderr
    assert run.stderr == ""


def test_layers_of_equal_shapes_share_one_kernel_module():
    b = compiler.Builder("twins")
    h = b.relu(b.dense(b.input("x", [8]), units=8, name="a"))
    h = b.relu(b.dense(h, units=8, name="b"))
    b.output(b.dense(h, units=4, name="c"))
    graph = b.build()
    net = compiler.compile(graph, batch=3)
    planned = jit.plan(net.graphs.get("forward"), net.compiler.layout)
    generated, modules = jit.generate_entry(planned, "forward", jit.host_target())
    symbol = {k.layer: k.symbol for k in generated.kernels}
    assert symbol["a"] == symbol["b"] != symbol["c"]
    assert len(modules) == 3  # a (and b), c, the entry
    x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    ref = compiler.compile(graph, batch=3, backend="reference")
    ref.params.update({k: net.params[k] for k in net.params})
    np.testing.assert_allclose(net.forward(x), ref.forward(x), rtol=1e-5, atol=1e-6)


def test_canonical_text_numbers_own_names_and_keeps_declared_ones():
    from compiler.codegen.module import canonical_text

    def kernel(name: str, scale: str) -> str:
        return (f'; ModuleID = "{name}"\n'
                f'declare float @llvm.fabs.f32(float)\n'
                f'define internal float @"{name}.body"(float %"{name}.x") {{\n'
                f'  %"{name}.y" = fmul float %"{name}.x", {scale}\n'
                f'  %".2" = call float @llvm.fabs.f32(float %"{name}.y")\n'
                f'  ret float %".2"\n}}\n')

    assert canonical_text(kernel("conv1", "2.0")) == canonical_text(kernel("conv2", "2.0"))
    assert canonical_text(kernel("conv1", "2.0")) != canonical_text(kernel("conv1", "3.0"))
    assert "@llvm.fabs.f32" in canonical_text(kernel("conv1", "2.0"))


FORK = """
import os, sys, numpy as np, compiler
net = compiler.compile(compiler.load({path!r}), batch=2)
x = np.ones((2, 1, 28, 28), np.float32)
parent = net.forward(x)
pid = os.fork()
if pid == 0:  # compiles a new entry (grads would need labels: another batch instead)
    child = compiler.compile(compiler.load({path!r}), batch=3).forward(np.ones((3, 1, 28, 28),
                                                                          np.float32))
    os._exit(0 if np.allclose(child[:2], parent, rtol=1e-5) else 1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def test_a_forked_child_compiles_with_workers_of_its_own(tmp_path):
    """A fork keeps the scheduler's state but not its threads: the child must start its own
    (else its first cold compile would wait for ever)."""
    run = subprocess.run([sys.executable, "-c", FORK.format(path=str(EXAMPLES / "lenet5.yaml"))],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NETC_CACHE_DIR": str(tmp_path / "cache")})
    assert run.returncode == 0, run.stderr


def _definitions(text: str) -> list[str]:
    """The function definitions of an LLVM module's text, each as one string, sorted."""
    blocks = text.split("\ndefine ")[1:]
    return sorted(block.split("\n}\n", 1)[0] for block in blocks)


def test_the_library_parts_hold_the_library_functions_unchanged():
    """The JIT compiles the library in parts (two workers at once); a part must hold each
    function exactly as the one-module library (what a bundle links) defines it."""
    from compiler.codegen.library import library_module, library_parts
    from compiler.driver.jit import host_target

    target = host_target()
    parts = library_parts(target, "f32")
    assert [name for name, _ in parts] == ["netc_library_f32_gemm", "netc_library_f32_pack"]
    whole = _definitions(library_module(target, ("f32",)))
    assert sorted(sum((_definitions(text) for _, text in parts), [])) == whole
    names = {d.split("@", 1)[1].split("(", 1)[0].strip('"') for d in whole}
    assert {"netc_gemm_f32", "netc_pack_a_strided_f32", "netc_pack_b_strided_f32"} <= names
