"""Bad input to a bundle gets a status code and a one-line message, never a crash: weights
files of the wrong model, size, version or checksum, NULL pointers, thread counts out of range,
labels out of range, a CPU that lacks what the code was compiled for; and a bundle for
x86-64-v3 with embedded weights runs on this (AVX-512) host."""

from __future__ import annotations

import ctypes
import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest

import compiler
from compiler.bundle import build_bundle
from compiler.bundle.header import ERRORS
from compiler.bundle.link import compile_program
from compiler.bundle.target import CHECKABLE_FEATURES, bundle_target
from compiler.bundle.weights import HEADER, weights_file
from ir.errors import RuntimeInputError
from runtime.jit.engine import Engine
from tests.conftest import EXAMPLES, netc

STATUS = {name: code for code, (name, _) in enumerate(ERRORS)}


def tiny_graph(name: str) -> compiler.Builder:
    b = compiler.Builder(name)
    x = b.input("x", [6])
    b.loss("softmax_cross_entropy", b.dense(b.relu(b.dense(x, units=8, name="h")), units=3,
                                            name="out"))
    return b.build()


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mlp")
    build_bundle(compiler.load(EXAMPLES / "mlp.yaml"), folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    build_bundle(tiny_graph("tiny"), folder, batch=2, train=True)
    return folder


class Library:
    """The C API of a bundle called directly, as a C program calls it."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.lib = ctypes.CDLL(str(folder / f"lib{name}.so"))
        getattr(self.lib, f"{name}_last_error").restype = ctypes.c_char_p

    def __call__(self, function: str, *args: object) -> int:
        return int(getattr(self.lib, f"{self.name}_{function}")(*args))

    def last_error(self) -> str:
        return str(getattr(self.lib, f"{self.name}_last_error")().decode())

    def create(self, path: Path | None) -> tuple[int, ctypes.c_void_p]:
        handle = ctypes.c_void_p()
        arg = None if path is None else str(path).encode()
        return self("create", arg, ctypes.byref(handle)), handle


def test_weights_of_the_wrong_model_size_version_or_checksum(mlp: Path, tiny: Path,
                                                             tmp_path: Path) -> None:
    good = (mlp / "mlp.weights").read_bytes()
    _, _, _, model_id, size = HEADER.unpack_from(good)
    payload = good[HEADER.size:HEADER.size + size]
    flipped = bytearray(good)
    flipped[HEADER.size + 5] ^= 1
    newer = bytearray(good)
    newer[8] = 2
    cases = {
        "other_model": ((tiny / "tiny.weights").read_bytes(), "ERR_WEIGHTS_MODEL",
                        "weights of another model"),
        "longer": (weights_file(model_id, payload + bytes(64)), "ERR_WEIGHTS_SIZE",
                   f"{size + 64} bytes of weights, 'mlp' has {size}"),
        "truncated": (good[:-100], "ERR_WEIGHTS_SIZE", "truncated"),
        "extended": (good + bytes(10), "ERR_WEIGHTS_SIZE", "truncated or extended"),
        "version": (bytes(newer), "ERR_WEIGHTS_VERSION", "weights format version 2"),
        "corrupt": (bytes(flipped), "ERR_WEIGHTS_CHECKSUM", "checksum mismatch"),
        "text": (b"hello, not weights\n" * 4, "ERR_WEIGHTS_FORMAT", "not a netc weights file"),
    }
    lib = Library(mlp, "mlp")
    for case, (data, status, message) in cases.items():
        path = tmp_path / f"{case}.weights"
        path.write_bytes(data)
        code, handle = lib.create(path)
        assert (code, handle.value) == (STATUS[status], None), case
        assert message in lib.last_error(), case
        with pytest.raises(RuntimeInputError, match=message):
            compiler.load_bundle(mlp, weights=path)
    assert lib.create(tmp_path)[0] == STATUS["ERR_IO"]
    assert "not a regular file" in lib.last_error()
    code, _ = lib.create(tmp_path / "missing.weights")
    assert code == STATUS["ERR_IO"]
    assert "No such file" in lib.last_error()


def test_null_pointers_and_bad_arguments(mlp: Path) -> None:
    lib = Library(mlp, "mlp")
    assert lib("create", None, None) == STATUS["ERR_NULL"]
    assert lib.create(None)[0] == STATUS["ERR_NULL"]
    code, net = lib.create(mlp / "mlp.weights")
    assert code == STATUS["OK"]
    x = np.zeros(784, dtype=np.float32)
    out = np.zeros(10, dtype=np.float32)
    assert lib("forward", None, x.ctypes.data_as(ctypes.c_void_p),
               out.ctypes.data_as(ctypes.c_void_p)) == STATUS["ERR_NULL"]
    assert lib("forward", net, None, out.ctypes.data_as(ctypes.c_void_p)) == STATUS["ERR_NULL"]
    assert "must not be NULL" in lib.last_error()
    assert lib("get_param", net, b"fc1.weight", None, ctypes.c_size_t(1)) == STATUS["ERR_NULL"]
    assert lib("get_param", net, b"nope", out.ctypes.data_as(ctypes.c_void_p),
               ctypes.c_size_t(10)) == STATUS["ERR_ARGUMENT"]
    assert "no parameter or state 'nope'" in lib.last_error()
    assert lib("set_param", net, b"fc3.bias", out.ctypes.data_as(ctypes.c_void_p),
               ctypes.c_size_t(9)) == STATUS["ERR_ARGUMENT"]
    assert "'fc3.bias' has 10 elements, got 9" in lib.last_error()
    assert lib("create_embedded", ctypes.byref(ctypes.c_void_p())) == STATUS["ERR_UNSUPPORTED"]
    assert lib("destroy", net) == STATUS["OK"]
    assert lib("destroy", None) == STATUS["OK"]


def test_thread_counts_out_of_range(mlp: Path) -> None:
    lib = Library(mlp, "mlp")
    most = compiler.load_bundle(mlp).max_threads  # type: ignore[attr-defined]
    for bad in (0, -1, most + 1):
        assert lib("set_threads", bad) == STATUS["ERR_ARGUMENT"]
        assert f"{bad} threads; this library runs 1 to {most}" in lib.last_error()
    assert lib("set_threads", most) == STATUS["OK"]


def test_labels_out_of_range_are_refused_by_the_library(tiny: Path) -> None:
    lib = Library(tiny, "tiny")
    code, net = lib.create(tiny / "tiny.weights")
    assert code == STATUS["OK"]
    x = np.zeros((2, 6), dtype=np.float32)
    loss = ctypes.c_float()
    for labels in ([0, 3], [-1, 0]):
        y = np.array(labels, dtype=np.int64)
        assert lib("train_step", net, x.ctypes.data_as(ctypes.c_void_p),
                   y.ctypes.data_as(ctypes.c_void_p), ctypes.byref(loss)) == STATUS["ERR_INPUT"]
        assert "outside [0, 3)" in lib.last_error()
    lib("destroy", net)


def test_a_cpu_that_lacks_the_code_s_features_is_refused_at_creation(tmp_path: Path) -> None:
    host = bundle_target("host")
    have = {f[1:] for f in Engine.get().host.features.split(",") if f.startswith("+")}
    missing = next(f for f in reversed(CHECKABLE_FEATURES) if f not in have)  # xop, fma4: AMD
    target = dataclasses.replace(host, checks=(*host.checks, missing))
    build_bundle(tiny_graph("cpu"), tmp_path, target=target)
    lib = Library(tmp_path, "cpu")
    code, handle = lib.create(tmp_path / "cpu.weights")
    assert (code, handle.value) == (STATUS["ERR_CPU"], None)
    assert f"this CPU lacks {missing}" in lib.last_error()


def test_an_x86_64_v3_bundle_with_embedded_weights_runs_here(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    folder = tmp_path / "v3"
    done = netc("build", EXAMPLES / "mlp.yaml", "--batch", 2, "--target", "x86-64-v3",
                "--embed-weights", "-o", folder)
    assert done.returncode == 0, done.stderr
    x = np.random.default_rng(0).standard_normal((2, 784)).astype(np.float32)
    (tmp_path / "x.raw").write_bytes(x.tobytes())
    program = tmp_path / "example"
    compile_program(folder / "main.c", folder, "mlp", program)
    (folder / "mlp.weights").unlink()  # the library's own copy must be the one used
    subprocess.run([program, "embedded", tmp_path / "x.raw", tmp_path / "y.raw"], check=True,
                   timeout=60)
    monkeypatch.setenv("NETC_VECTOR_BITS", "256")  # the JIT blocked as the v3 code is
    jit = compiler.compile(compiler.load(EXAMPLES / "mlp.yaml"), batch=2)
    out = np.fromfile(tmp_path / "y.raw", dtype=np.float32).reshape(2, 10)
    np.testing.assert_array_equal(out, jit.forward(x))


def test_netc_build_errors_are_one_line() -> None:
    done = netc("build", EXAMPLES / "mlp.yaml", "--target", "x86-64-v9", "-o", "/nonexistent")
    assert done.returncode == 1
    assert done.stderr == ("netc: error: unknown target 'x86-64-v9' (expected one of host, "
                           "x86-64-v3, x86-64-v4)\n")


def test_a_bundle_folder_that_cannot_be_written_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    done = netc("build", EXAMPLES / "mlp.yaml", "-o", tmp_path / "file" / "bundle")
    assert done.returncode == 1
    assert done.stderr.startswith("netc: error: ")
    assert "cannot write the bundle: Not a directory" in done.stderr
    assert len(done.stderr.splitlines()) == 1
