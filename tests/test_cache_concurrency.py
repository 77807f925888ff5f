"""The compile cache under stress: two processes compiling the same model into one empty cache
at once, a read-only cache directory (empty or warm), and damaged entries of every kind (empty,
truncated, a directory in a file's place, a valid checksum over a broken manifest, a manifest
naming a missing object, leftovers of a killed writer). Every case still gives a correct
network; tests/test_jit_runtime.py covers garbage and half-truncated entries and a cache path
that cannot be created."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import compiler
from runtime.jit import cache
from tests.conftest import EXAMPLES, ROOT

MODEL = EXAMPLES / "mlp.yaml"
SCRIPT = """
import json, sys, numpy as np, compiler
graph = compiler.load({path!r})
net = compiler.compile(graph, batch=3, train=True)
rng = np.random.default_rng(0)
x = rng.standard_normal((3, 784)).astype(np.float32)
y = rng.integers(0, 10, 3)
out = net.forward(x)
losses = [net.train_step(x, y) for _ in range(3)]
hits = {{e: s.hit for e, s in net.compiler.stages.items()}}
print(json.dumps({{"forward": out.tolist(), "losses": losses, "hits": hits,
                  "fc3": net.params["fc3.weight"].sum().item()}}))
"""


def expected():
    """The same computation in-process with the reference interpreter."""
    graph = compiler.load(MODEL)
    ref = compiler.compile(graph, batch=3, train=True, backend="reference")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 784)).astype(np.float32)
    y = rng.integers(0, 10, 3)
    return ref.forward(x), [ref.train_step(x, y) for _ in range(3)]


def start(cache_dir, read_only=False):
    env = {**os.environ, "NETC_CACHE_DIR": str(cache_dir)}
    return subprocess.Popen([sys.executable, "-c", SCRIPT.format(path=str(MODEL))], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_without_dac_override if read_only else None)


def _without_dac_override() -> None:
    """In the child, before exec: drop the capabilities that let root write anywhere
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a mode 0555 directory is read-only even for
    root; no-op for other users, for whom the mode already is enough."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def finish(proc):
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def assert_correct(result, want):
    forward, losses = want
    np.testing.assert_allclose(result["forward"], forward, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(result["losses"], losses, rtol=1e-4)


def cache_files(cache_dir):
    return sorted(p for p in cache_dir.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory):
    """Two processes compiling into one empty cache at once: their results and the cache."""
    cache_dir = tmp_path_factory.mktemp("concurrent") / "cache"
    first, second = start(cache_dir), start(cache_dir)
    return cache_dir, finish(first)[0], finish(second)[0]


def test_two_processes_compile_the_same_model_at_once(concurrent):
    cache_dir, a, b = concurrent
    assert_correct(a, expected())
    # the same results, whoever wrote the cache entry; which process found the other's entry
    # (its "hits") depends on timing: the slower one may start compiling after the other wrote
    def results(run: dict) -> dict:
        return {k: v for k, v in run.items() if k != "hits"}

    assert results(a) == results(b)
    files = cache_files(cache_dir)
    assert files
    assert not [p for p in files if p.name.startswith(".tmp-")]
    entries = [p for p in files if p.suffix != ".so"]
    assert all(cache._read(p) is not None for p in entries)  # complete, checksums match
    linked = [p for p in files if p.suffix == ".so"]
    assert linked  # each process linked what it compiled, before it exited
    for so in linked:  # and each is the file its manifest names
        manifest = json.loads(cache._read(so.with_suffix(".json")))
        assert manifest["shared"]["sha256"] == hashlib.sha256(so.read_bytes()).hexdigest()
    warm, _ = finish(start(cache_dir))
    assert all(warm["hits"].values())
    assert {k: v for k, v in warm.items() if k != "hits"} == {
        k: v for k, v in a.items() if k != "hits"}


@pytest.mark.parametrize("warm", [False, True], ids=["empty", "warm"])
def test_read_only_cache_directory_still_compiles(tmp_path, concurrent, warm):
    cache_dir = tmp_path / "cache"
    if warm:
        shutil.copytree(concurrent[0], cache_dir)
    cache_dir.mkdir(exist_ok=True)
    dirs = [cache_dir, *(p for p in cache_dir.rglob("*") if p.is_dir())]
    before = cache_files(cache_dir)
    for d in dirs:
        d.chmod(0o555)
    try:
        result, _ = finish(start(cache_dir, read_only=True))
    finally:
        for d in dirs:
            d.chmod(0o755)
    assert_correct(result, expected())
    assert all(result["hits"].values()) == warm
    assert cache_files(cache_dir) == before  # nothing written, nothing left behind


# ---------------------------------------------------------------- damaged entries, in-process

def run_once():
    """A small network (few kernels: each damaged case compiles it again)."""
    b = compiler.Builder("tiny")
    x = b.relu(b.dense(b.input("x", [5]), units=6, name="fc1"))
    b.loss("softmax_cross_entropy", b.dense(x, units=3, name="fc2"))
    net = compiler.compile(b.build(), batch=2, train=True)
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    loss = net.train_step(x, np.array([2, 0]))
    out = net.forward(x)
    cache.wait_for_links()  # the background links, before a test damages the files
    return out, loss, net.compiler.stages


def _checksummed(payload: bytes) -> bytes:
    return cache.MAGIC + hashlib.sha256(payload).digest() + payload


DAMAGE = {
    "empty": lambda p: p.write_bytes(b""),
    "magic only": lambda p: p.write_bytes(cache.MAGIC),
    "one byte short": lambda p: p.write_bytes(p.read_bytes()[:-1]),
    "flipped byte": lambda p: p.write_bytes(p.read_bytes()[:-9] + bytes([p.read_bytes()[-9] ^ 1])
                                            + p.read_bytes()[-8:]),
    "directory": lambda p: (p.unlink(), p.mkdir()),
}
MANIFEST_DAMAGE = {
    "valid checksum, not json": lambda p: p.write_bytes(_checksummed(b"\xff{not json")),
    "valid checksum, wrong fields": lambda p: p.write_bytes(_checksummed(b'{"objects": 3}')),
    "missing object": lambda p: p.write_bytes(_checksummed(json.dumps(
        {"objects": ["0" * 64], "meta": {}}).encode())),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE) + sorted(MANIFEST_DAMAGE))
def test_damaged_entries_are_rebuilt(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("NETC_CACHE_DIR", str(tmp_path))
    forward, loss, _ = run_once()
    programs = sorted((tmp_path / "programs").glob("tiny-*.json"))
    objects = sorted((tmp_path / "objects").glob("*.o"))
    assert programs
    assert objects
    if damage in DAMAGE:
        for path in programs + objects:
            DAMAGE[damage](path)
    else:
        for path in programs:
            MANIFEST_DAMAGE[damage](path)
    again, loss_again, stages = run_once()
    np.testing.assert_array_equal(again, forward)
    assert loss_again == loss
    assert not any(s.hit for s in stages.values())  # rebuilt, not loaded
    if damage != "directory":  # a directory in its place cannot be replaced by a file
        warm = run_once()[2]
        assert all(s.hit for s in warm.values())


def test_leftovers_of_a_killed_writer_are_ignored(tmp_path, monkeypatch):
    """A writer killed between mkstemp and rename leaves a .tmp- file, never a partial entry."""
    monkeypatch.setenv("NETC_CACHE_DIR", str(tmp_path))
    forward, loss, _ = run_once()
    for folder in ("programs", "objects"):
        (tmp_path / folder / ".tmp-killed").write_bytes(cache.MAGIC + b"\0" * 10)
    again, loss_again, stages = run_once()
    assert all(s.hit for s in stages.values())
    np.testing.assert_array_equal(again, forward)
    assert loss_again == loss
