"""Issue 17, classes 2 and 6 (ONNX side): external data anywhere in a model stays in the model's
folder, nothing is read relative to the current directory, and an opset newer than netc knows
is refused with its number.

The external-data rule used to hold for initializers only: a Constant node whose tensor was
external was resolved against the current directory. These tests put external data in every
place a TensorProto can sit (initializer, a Constant's `value`, a tensor list attribute, a
subgraph's initializer) and load the model from its file, in memory and through the backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import compiler
from compiler.frontend.onnx import import_model
from compiler.frontend.onnx.proto import all_tensors, newest_opset
from compiler.onnx_backend import NetcBackend
from ir.errors import ModelError

SECRET = np.arange(6, dtype=np.float32).reshape(2, 3) + 100


def external(name: str, location: str, values: np.ndarray = SECRET) -> TensorProto:
    """A tensor whose data lives in the file `location` (relative to the model's folder)."""
    tensor = numpy_helper.from_array(values, name)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return tensor


def constant_model(tensor: TensorProto, opset: int = 17) -> onnx.ModelProto:
    """y = x + c, with c a Constant node holding `tensor`."""
    nodes = [helper.make_node("Constant", [], ["c"], value=tensor),
             helper.make_node("Add", ["x", "c"], ["y"])]
    graph = helper.make_graph(nodes, "m",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def subgraph_model(tensor: TensorProto) -> onnx.ModelProto:
    """An If whose branches hold an external initializer (netc does not import If: the data
    must be refused before that is even asked)."""
    branch = helper.make_graph([helper.make_node("Identity", ["s"], ["o"])], "branch", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, [2, 3])],
                               initializer=[tensor])
    node = helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)
    graph = helper.make_graph([node], "m",
                              [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """The model's folder, and a current directory beside it that holds a secret the model
    names (netc must never read it)."""
    model_dir, cwd = tmp_path / "model", tmp_path / "cwd"
    model_dir.mkdir()
    cwd.mkdir()
    SECRET.tofile(cwd / "secret.bin")
    SECRET.tofile(tmp_path / "secret.bin")
    monkeypatch.chdir(cwd)
    return model_dir


LOCATIONS = ["../secret.bin", "../cwd/secret.bin", "secret.bin", "{root}/secret.bin",
             "/etc/passwd", "sub/../../secret.bin", "secret.bin\0x", ""]


@pytest.mark.parametrize("where", ["constant", "subgraph"])
@pytest.mark.parametrize("location", LOCATIONS)
def test_external_data_outside_the_folder_is_refused_from_a_file(folders, where, location):
    tensor = external("c", location.format(root=folders.parent))
    model = constant_model(tensor) if where == "constant" else subgraph_model(tensor)
    path = folders / "m.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelError, match=r"m.onnx: .*'c'.*: its external data .* must be a "
                                         r"file inside the model's folder"):
        compiler.load(path)


def test_a_constant_with_external_data_inside_the_folder_loads(folders):
    (SECRET * 2).tofile(folders / "c.bin")
    path = folders / "m.onnx"
    path.write_bytes(constant_model(external("c", "c.bin")).SerializeToString())
    net = compiler.compile(compiler.load(path), batch=2)
    assert np.array_equal(net.forward(np.ones((2, 3), np.float32)), SECRET * 2 + 1)


@pytest.mark.parametrize("location", ["secret.bin", "../secret.bin", "/etc/passwd"])
def test_an_in_memory_model_never_reads_external_data(folders, location):
    """A ModelProto handed over in memory has no folder: its external data is never read,
    least of all from the current directory (which holds secret.bin here)."""
    model = constant_model(external("c", location))
    with pytest.raises(ModelError, match="'c'.* keeps its data in an external file"):
        import_model(model)
    with pytest.raises(ModelError, match="'c'.* keeps its data in an external file"):
        NetcBackend.prepare(model).run([np.zeros((2, 3), np.float32)])


def test_every_tensor_of_a_model_is_visited():
    """all_tensors finds initializers, attribute tensors, tensor lists and subgraphs."""
    a, b, c = (numpy_helper.from_array(SECRET, n) for n in "abc")
    model = subgraph_model(a)
    model.graph.initializer.append(b)
    model.graph.node.append(helper.make_node("Constant", [], ["k"], value=c))
    listed = helper.make_attribute("extra", [numpy_helper.from_array(SECRET, "d")])
    model.graph.node[-1].attribute.append(listed)
    assert sorted(t.name for _, t in all_tensors(model)) == ["a", "a", "b", "c", "d"]


@pytest.mark.parametrize("offset", [1, 71])
def test_an_opset_newer_than_netc_knows_is_refused(tmp_path, offset):
    version = newest_opset() + offset
    path = tmp_path / "new.onnx"
    model = constant_model(numpy_helper.from_array(SECRET, "c"), opset=version)
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelError, match=rf"new.onnx: opset {version} is newer than the newest "
                                         rf"opset netc knows \({newest_opset()}\)"):
        compiler.load(path)
    with pytest.raises(ModelError, match=f"opset {version} is newer"):
        NetcBackend.prepare(model)


def test_the_newest_known_opset_still_imports(tmp_path):
    path = tmp_path / "m.onnx"
    model = constant_model(numpy_helper.from_array(SECRET, "c"), opset=newest_opset())
    path.write_bytes(model.SerializeToString())
    net = compiler.compile(compiler.load(path), batch=2)
    assert np.array_equal(net.forward(np.zeros((2, 3), np.float32)), SECRET)


def test_onnx_files_written_here_are_model_files(tmp_path):
    """The fixtures above write real models: onnx itself accepts them (with the data)."""
    path = tmp_path / "m.onnx"
    path.write_bytes(constant_model(numpy_helper.from_array(SECRET, "c")).SerializeToString())
    onnx.checker.check_model(onnx.load(Path(path)))
