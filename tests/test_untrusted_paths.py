"""Issue 17, class 1: names from model files never choose where netc writes.

A graph's `@name` (text IR), an ONNX `graph.name` and the names derived from them reach file
paths in three places: `netc train`'s default checkpoint, its `--dump-ir` files and the compile
cache's program entries. Each is mapped by ir.safe_names.safe_file_name and checked by
`inside`; these tests drive hostile names (`/`, `..`, absolute, NUL, very long, non-ASCII)
through the helpers and through the commands, and check that nothing lands outside its folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import compiler
from compiler.cli import main
from ir.graph import Graph
from ir.printer import print_graph
from ir.safe_names import MAX_NAME, PathEscapeError, inside, safe_file_name
from tests.synthetic import write_dataset, write_tiny_model

HOSTILE = ["a/../../../../../../escaped", "..", ".", "/", "/etc/passwd", "a\0b", "x" * 5000,
           "名前/../ü", "", "-rf", ".hidden", "a/b", "a_b", "C:\\windows\\x", "a\nb", "~root"]
IR_NAMES = ["a/../../../../../../escaped", "a/../../x", "x" * 3000, "b/c/d"]
"""Names the text IR's `@name` accepts (it starts with [A-Za-z0-9_] and may hold `/` and `.`)."""


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_file_name_is_one_harmless_component(tmp_path, name):
    mapped = safe_file_name(name)
    assert mapped.isascii()
    assert mapped.isprintable()
    assert "/" not in mapped
    assert "\\" not in mapped
    assert "\0" not in mapped
    assert not mapped.startswith((".", "-"))
    assert 0 < len(mapped) <= MAX_NAME + 9
    assert Path(mapped).name == mapped
    assert (tmp_path / mapped).resolve().parent == tmp_path.resolve()


def test_safe_names_stay_readable_and_mapped_names_stay_distinct():
    for plain in ("lenet5", "tiny", "resnet-18", "mlp_2.v1", "netc_library"):
        assert safe_file_name(plain) == plain
    mapped = {safe_file_name(n) for n in HOSTILE}
    assert len(mapped) == len(HOSTILE)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "sub/../../x"])
def test_inside_refuses_paths_that_leave_their_folder(tmp_path, path):
    with pytest.raises(PathEscapeError, match="outside"):
        inside(tmp_path, tmp_path / path)


def test_inside_follows_symbolic_links(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "link").symlink_to(tmp_path.parent)
    with pytest.raises(PathEscapeError):
        inside(tmp_path / "folder", tmp_path / "folder" / "link" / "x")
    assert inside(tmp_path / "folder", tmp_path / "folder" / "a" / "b") == (
        tmp_path / "folder" / "a" / "b")


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A folder holding the working directory, the data and the cache, so a write that
    escapes any of them is still found (inside the sandbox, by name)."""
    root = tmp_path_factory.mktemp("sandbox")
    deep = root / "a" / "b" / "c" / "d" / "e" / "f" / "work"
    deep.mkdir(parents=True)
    model = write_tiny_model(root)
    return {"root": root, "work": deep, "data": write_dataset(root / "data", 64, 16),
            "tiny": compiler.load(model)}


def _evil_ir(sandbox, name: str) -> Path:
    text = print_graph(sandbox["tiny"]).replace("graph @tiny(", f"graph @{name}(", 1)
    path = sandbox["work"] / "evil.ir"
    path.write_text(text)
    return path


def _escaped(sandbox, allowed: list[Path]) -> list[Path]:
    keep = [sandbox["work"] / "evil.ir", sandbox["root"] / "tiny.yaml", sandbox["data"]]
    return [p for p in _files(sandbox["root"])
            if not any(p == a or p.is_relative_to(a) for a in [*keep, *allowed])]


@pytest.mark.parametrize("name", IR_NAMES)
def test_train_writes_checkpoint_dumps_and_cache_inside_their_folders(sandbox, name,
                                                                     monkeypatch, capsys):
    cache = sandbox["work"] / "cache"
    monkeypatch.setenv("NETC_CACHE_DIR", str(cache))
    monkeypatch.chdir(sandbox["work"])
    model = _evil_ir(sandbox, name)
    code = main(["train", str(model), "--data", str(sandbox["data"]), "--batch", "16",
                 "--max-steps", "1", "--train-eval", "16", "--dump-ir", "dumps"])
    out = capsys.readouterr()
    assert code == 0, out.err
    runs, dumps = sandbox["work"] / "runs", sandbox["work"] / "dumps"
    assert _escaped(sandbox, [runs, dumps, cache]) == []
    checkpoint = runs / safe_file_name(name) / "checkpoint.npz"
    assert checkpoint.is_file()
    assert all(p.parent.parent == runs for p in runs.rglob("checkpoint.npz"))
    assert (dumps / f"{safe_file_name(name)}.train.ir").is_file()
    assert all(p.parent == dumps for p in dumps.rglob("*.ir"))
    assert all(p.parent.parent == cache for p in _files(cache) if p.suffix == ".json")


@pytest.mark.parametrize("name", IR_NAMES[:2])
def test_compile_writes_its_cache_entries_inside_the_cache(sandbox, name, monkeypatch, capsys):
    cache = sandbox["work"] / "compile-cache"
    monkeypatch.setenv("NETC_CACHE_DIR", str(cache))
    monkeypatch.chdir(sandbox["work"])
    assert main(["compile", str(_evil_ir(sandbox, name))]) == 0, capsys.readouterr().err
    assert _escaped(sandbox, [cache, sandbox["work"] / "runs", sandbox["work"] / "dumps",
                              sandbox["work"] / "cache"]) == []
    assert any(p.parent == cache / "programs" for p in _files(cache))


@pytest.mark.parametrize("name", ["../../../../../escaped", "/tmp/x/../../escaped", "名前\0x"])
def test_a_graph_built_in_python_with_any_name_caches_inside(sandbox, name, monkeypatch):
    """Names the parser cannot produce (absolute, NUL, leading dots) through the Python API,
    as an ONNX model's graph.name reaches the cache through compiler.onnx_backend."""
    cache = sandbox["work"] / "api-cache"
    monkeypatch.setenv("NETC_CACHE_DIR", str(cache))
    graph = sandbox["tiny"].copy()
    graph.name = name
    assert isinstance(graph, Graph)
    net = compiler.compile(graph, batch=2)
    assert net.forward(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    programs = [p for p in _files(cache) if p.suffix == ".json"]
    assert programs
    assert all(p.parent == cache / "programs" for p in programs)
    assert _escaped(sandbox, [cache, *[sandbox["work"] / d for d in (
        "runs", "dumps", "cache", "compile-cache")]]) == []


def test_onnx_graph_name_cannot_leave_the_cache(tmp_path, monkeypatch):
    import onnx
    from onnx import TensorProto, helper

    from compiler.onnx_backend import NetcBackend

    cache = tmp_path / "deep" / "er" / "cache"
    monkeypatch.setenv("NETC_CACHE_DIR", str(cache))
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph([node], "../../../escaped-onnx",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    (y,) = NetcBackend.prepare(model).run([np.full((2, 3), -1.0, np.float32)])
    assert np.array_equal(y, np.zeros((2, 3), np.float32))
    outside = [p for p in _files(tmp_path) if not p.is_relative_to(cache)]
    assert outside == []
    assert os.listdir(cache / "programs")
