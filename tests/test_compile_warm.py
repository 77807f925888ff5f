"""The warm start: a program compiled before runs from its linked shared object, without LLVM;
the cache keys name everything the machine code depends on; the host is recorded per CPU.

Cold and warm starts run in fresh processes (what LLVM a process loaded is process-wide)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.jit import cache
from runtime.jit.cpuid import cpuid_identity
from runtime.jit.host import HostTarget, cpu_identity, cpuinfo_identity

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import json, sys
import numpy as np
import compiler
net = compiler.compile(compiler.load("examples/lenet5.yaml"), batch=2, train=True)
x = np.linspace(-1, 1, 2 * 28 * 28, dtype=np.float32).reshape(2, 1, 28, 28)
losses = [net.train_step(x, np.array([3, 7])) for _ in range(2)]
out = net.forward(x)
print(json.dumps({"losses": losses, "forward": out.tolist(),
                  "llvm": "llvmlite.binding" in sys.modules,
                  "hits": sorted(e for e, s in net.compiler.stages.items() if s.hit)}))
"""


def start(cache_dir: Path, **env: str) -> dict:
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True,
                         text=True, timeout=300,
                         env={**os.environ, "NETC_CACHE_DIR": str(cache_dir), **env})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def shared_objects(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "programs").glob("*.so"))


@pytest.fixture(scope="module")
def cold(tmp_path_factory) -> tuple[Path, dict]:
    cache_dir = tmp_path_factory.mktemp("warm") / "cache"
    return cache_dir, start(cache_dir)


def test_a_warm_start_runs_the_linked_program_without_llvm(cold):
    cache_dir, first = cold
    assert first["llvm"]  # the cold start compiled
    names = sorted(p.name.rsplit("-", 1)[0] for p in shared_objects(cache_dir))
    assert names == ["lenet5-forward", "lenet5-train", "netc_library_f32", "netc_pool"]
    warm = start(cache_dir)
    assert not warm["llvm"]
    assert warm["hits"] == ["forward", "train"]
    assert {k: warm[k] for k in ("losses", "forward")} == {k: first[k] for k in
                                                           ("losses", "forward")}


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_a_damaged_shared_object_is_relinked_and_the_objects_run(tmp_path, cold, damage):
    cache_dir = tmp_path / "cache"
    shutil.copytree(cold[0], cache_dir)
    for so in shared_objects(cache_dir):
        data = so.read_bytes()
        so.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:] if damage ==
                       "flipped byte" else data[: len(data) // 2])
    again = start(cache_dir)
    assert again["llvm"]  # the objects, through LLVM
    assert again["hits"] == ["forward", "train"]
    assert {k: again[k] for k in ("losses", "forward")} == {k: cold[1][k] for k in
                                                            ("losses", "forward")}
    for so in shared_objects(cache_dir):  # linked again, as the manifests say
        manifest = json.loads(cache._read(so.with_suffix(".json")) or b"{}")
        assert manifest["shared"]["sha256"] == hashlib.sha256(so.read_bytes()).hexdigest()


def test_a_link_that_failed_is_not_tried_again_at_every_start(tmp_path, cold):
    cache_dir = tmp_path / "cache"
    shutil.copytree(cold[0], cache_dir)
    for so in shared_objects(cache_dir):
        so.unlink()
    for manifest in (cache_dir / "programs").glob("*.json"):  # as before the first link
        stored = json.loads(cache._read(manifest) or b"{}")
        stored.pop("shared")
        cache._write(manifest, json.dumps(stored).encode())
    failed = start(cache_dir, CC="false")  # a C compiler that always fails
    again = start(cache_dir)  # cc works now, but the manifests say the link failed
    assert shared_objects(cache_dir) == []
    for run in (failed, again):
        assert run["llvm"]
        assert {k: run[k] for k in ("losses", "forward")} == {k: cold[1][k] for k in
                                                              ("losses", "forward")}
    for manifest in (cache_dir / "programs").glob("*.json"):
        assert "failed" in json.loads(cache._read(manifest) or b"{}")["shared"]


def test_cache_keys_name_everything_the_machine_code_depends_on(monkeypatch):
    base = HostTarget("x86_64-unknown-linux-gnu", "sapphirerapids", "+avx2,+avx512f", "0.50.0")
    monkeypatch.setattr(cache, "_HOST", [base])
    keys = {cache.cache_key("program")}
    for field in ("triple", "cpu", "features", "llvmlite_version"):
        changed = HostTarget(**{**base.__dict__, field: getattr(base, field) + "x"})
        monkeypatch.setattr(cache, "_HOST", [changed])
        keys.add(cache.cache_key("program"))
    monkeypatch.setattr(cache, "_HOST", [base])
    monkeypatch.setattr(cache, "OBJECT_FORMAT", cache.OBJECT_FORMAT + " reloc=pic")
    keys.add(cache.cache_key("program"))
    keys.add(cache.cache_key("program 2"))
    assert len(keys) == 7


CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
model name\t: Intel(R) Xeon(R) Processor
stepping\t: 1
cpu MHz\t\t: 2599.998
flags\t\t: fpu sse2 avx2 fma avx512f

processor\t: 1
vendor_id\t: GenuineIntel
flags\t\t: fpu sse2
"""


def test_the_cpuinfo_identity_is_the_first_processors_identifying_fields(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO)
    identity = cpuinfo_identity(str(info))
    assert identity is not None
    assert "flags : fpu sse2 avx2 fma avx512f" in identity
    assert "MHz" not in identity  # a clock speed says nothing about the code
    assert "flags : fpu sse2\n" not in identity + "\n"  # the second processor is not read
    info.write_text(CPUINFO.replace(" avx512f", ""))
    assert cpuinfo_identity(str(info)) != identity
    assert cpuinfo_identity(str(tmp_path / "missing")) is None


@pytest.mark.skipif(cpuid_identity() is None, reason="CPUID runs on x86-64 only")
def test_the_x86_identity_is_what_cpuid_says_on_every_core():
    """CPUID, not /proc/cpuinfo (valgrind and emulators answer CPUID for the CPU they show
    the process); the leaves of per-core numbering are masked or left out."""
    cores = sorted(os.sched_getaffinity(0))
    seen = set()
    try:
        for core in cores[:4]:
            os.sched_setaffinity(0, {core})
            seen.add(cpu_identity())
    finally:
        os.sched_setaffinity(0, cores)
    assert len(seen) == 1
    identity = seen.pop()
    assert identity is not None
    vendor = identity.split("\n")[2].split()[2:]  # leaf 0: ebx, ecx, edx spell the vendor
    assert b"".join(int(r, 16).to_bytes(4, "little") for r in (vendor[0], vendor[2], vendor[1])
                    ) in (b"GenuineIntel", b"AuthenticAMD")


def test_the_host_is_read_back_from_its_record(tmp_path, monkeypatch):
    monkeypatch.setenv("NETC_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "_HOST", [])
    found = cache.host()  # asked of LLVM, and recorded
    records = list((tmp_path / "hosts").glob("*.json"))
    assert len(records) == 1
    monkeypatch.setattr(cache, "_HOST", [])
    assert cache._recorded_host(cache._host_record()) == found
    records[0].write_bytes(b"damaged")
    assert cache._recorded_host(records[0]) is None  # a damaged record is asked of LLVM again


def test_links_wait_for_builds_to_end_except_at_exit():
    """cc must not take a core from LLVM while a program builds; at exit it links anyway."""
    from runtime.jit.linked import LinkQueue

    queue, done = LinkQueue(), []
    with queue.building():
        queue.submit(lambda: done.append("first"))
        queue.drain(timeout=0.3)
        assert done == []  # held back by the build
    queue.drain()
    assert done == ["first"]
    with queue.building():
        queue.submit(lambda: done.append("at exit"))
        queue.drain(exiting=True)
        assert done == ["first", "at exit"]


def test_a_failing_link_does_not_stop_the_queue():
    from runtime.jit.linked import LinkQueue

    queue, done = LinkQueue(), []
    queue.submit(lambda: 1 / 0)
    queue.submit(lambda: done.append("next"))
    queue.drain()
    assert done == ["next"]
