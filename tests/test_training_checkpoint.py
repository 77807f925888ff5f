"""Checkpoints: exact round trip, clear errors, atomic writes that survive SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from compiler.training import checkpoint
from compiler.training.checkpoint import CheckpointError
from tests.conftest import ROOT


def test_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    params = {"conv1.weight": rng.standard_normal((6, 1, 5, 5)).astype(np.float32),
              "fc.bias": np.array([np.float32(1) / 3, -0.0, 1e-45], np.float32)}
    state = {"step": np.array(7, np.int64),
             "conv1.weight.momentum": rng.standard_normal((6, 1, 5, 5)).astype(np.float32)}
    meta = {"model": "m", "progress": {"epoch": 1, "loss_sum": 0.1 + 0.2}}
    path = tmp_path / "sub" / "ck.npz"
    checkpoint.save(path, params, state, meta)
    got = checkpoint.load(path)
    assert got.params.keys() == params.keys()
    assert got.state.keys() == state.keys()
    for mine, theirs in ((params, got.params), (state, got.state)):
        for name, value in mine.items():
            assert theirs[name].dtype == value.dtype
            assert theirs[name].shape == value.shape
            assert theirs[name].tobytes() == value.tobytes()
    assert got.meta["progress"]["loss_sum"] == 0.1 + 0.2
    assert got.meta["format"] == checkpoint.FORMAT
    assert [p.name for p in path.parent.iterdir()] == ["ck.npz"]  # no temporary left behind


def test_plain_parameter_npz_loads(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, **{"fc.weight": np.ones((2, 3), np.float32)})
    got = checkpoint.load(path)
    assert list(got.params) == ["fc.weight"]
    assert got.state == {}
    assert got.meta == {}


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        checkpoint.load(tmp_path / "none.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip archive")
    with pytest.raises(CheckpointError, match="not a valid .npz file"):
        checkpoint.load(junk)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, w=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        checkpoint.load(pickled)


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "ck.npz"
    checkpoint.save(path, {"w": np.ones(3, np.float32)})

    def broken(f):
        f.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    with pytest.raises(CheckpointError, match="cannot write .*No space left on device"):
        checkpoint.atomic_write(path, broken)
    assert np.array_equal(checkpoint.load(path).params["w"], np.ones(3, np.float32))
    assert [p.name for p in tmp_path.iterdir()] == ["ck.npz"]


def test_written_file_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        checkpoint.save(tmp_path / "ck.npz", {"w": np.ones(1, np.float32)})
    finally:
        os.umask(old)
    assert (tmp_path / "ck.npz").stat().st_mode & 0o777 == 0o644


class FakeNet:
    def __init__(self):
        self.params = {"a": np.zeros(2, np.float32), "b": np.zeros((2, 2), np.float32)}
        self.state = {}


@pytest.mark.parametrize(("params", "message"), [
    ({"a": np.ones(2)}, "does not fit this network: it lacks parameter 'b'"),
    ({"a": np.ones(2), "b": np.ones((2, 2)), "c": np.ones(1)},
     "it has parameter 'c', which the network does not have"),
    ({"a": np.ones(3), "b": np.ones((2, 2))}, r"parameter 'a' has shape \[3\], the network's is "
                                              r"\[2\]"),
])
def test_restore_checks_names_and_shapes(params, message):
    with pytest.raises(CheckpointError, match=message):
        checkpoint.restore(FakeNet(), checkpoint.Checkpoint(params), "ck.npz", with_state=False)


WRITER = """
import sys, time
import numpy as np
from compiler.training import checkpoint
versions = [{"w": np.full(1_000_000, float(v), np.float32)} for v in (1, 2)]
if sys.argv[2] == "stall":  # write half a file, then hang: the kill lands mid-write
    def half(f):
        f.write(b"PK" + bytes(1_000_000))
        print("ready", flush=True)
        time.sleep(60)
    checkpoint.atomic_write(sys.argv[1], half)
print("ready", flush=True)
i = 0
while True:
    checkpoint.save(sys.argv[1], versions[i % 2], meta={"i": i})
    i += 1
"""


@pytest.mark.parametrize(("mode", "delay"), [("stall", 0.0), ("loop", 0.1), ("loop", 0.3)])
def test_sigkill_mid_write_never_leaves_a_truncated_checkpoint(tmp_path, mode, delay):
    path = tmp_path / "ck.npz"
    checkpoint.save(path, {"w": np.full(1_000_000, 1.0, np.float32)})
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), mode], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    w = checkpoint.load(path).params["w"]
    assert w.shape == (1_000_000,)
    assert np.all(w == w[0])
    assert w[0] in (1.0, 2.0)
    if mode == "stall":
        assert w[0] == 1.0
        assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # the torn write
        checkpoint.save(path, {"w": np.full(1_000_000, 3.0, np.float32)})  # the next write
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.npz"]  # removes the orphan


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    path = tmp_path / "ck.npz"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        theirs = tmp_path / f".ck.npz.{other.pid}.abc123.tmp"
        theirs.write_bytes(b"PK in progress")
        unrelated = tmp_path / ".other.npz.1.abc.tmp"
        unrelated.write_bytes(b"x")
        checkpoint.save(path, {"w": np.ones(3, np.float32)})
        assert theirs.exists()
        assert unrelated.exists()
    finally:
        other.kill()
        other.wait()
    checkpoint.save(path, {"w": np.ones(3, np.float32)})
    assert not theirs.exists()  # its process is gone now
    assert unrelated.exists()  # another file's: not ours to judge
