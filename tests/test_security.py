"""Hostile model files: they cannot run code, cannot name files, and cannot make netc allocate
what a tiny file asks for (terabyte shapes are refused with a clear error before any array
exists, with tracemalloc watching). The source tree is scanned for ways to deserialize code."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import compiler
from ir.errors import CompileError, ModelError, NetcError, ParseError
from ir.parser import parse
from ir.types import MAX_ELEMENTS
from tests.conftest import EXAMPLES, IMAGENET_EXAMPLES, ROOT

TAGS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/object:os.system {{}}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple [1, 2]",
    "!!set {{a: null}}",
    "!include {marker}",
    "!<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']",
]
PLACES = [
    "name: {tag}\ninput: {{shape: [3]}}\nlayers: [relu]\n",
    "input: {{shape: {tag}}}\nlayers: [relu]\n",
    "input: {{shape: [3]}}\nlayers: [{{leaky_relu: {{alpha: {tag}}}}}]\n",
    "input: {{shape: [3]}}\nlayers:\n  - {tag}\n",
    "{tag}\n",
    "input: {{shape: [3]}}\nlayers: [relu]\n? {tag}\n: 1\n",
    "base: &b {tag}\ninput: {{shape: [3]}}\nlayers: [relu]\nloss: *b\n",
]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("tag", TAGS)
def test_yaml_tags_never_construct_python_objects(tmp_path, tag, place):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.yaml"
    path.write_text(place.format(tag=tag.format(marker=marker)))
    with pytest.raises(ModelError):
        compiler.load(path)
    assert not marker.exists()


CODE_LOADERS = [
    (r"^\s*(import pickle|from pickle|import cPickle|import dill|import shelve|import marshal)",
     "a pickle-like module"),
    (r"pickle\.loads?\(|marshal\.loads?\(|torch\.load\(|joblib\.load\(", "a code-running load"),
    (r"allow_pickle\s*=\s*True", "allow_pickle=True"),
    (r"yaml\.(unsafe_load|full_load|load_all)\(|yaml\.(Unsafe|Full)?Loader\b",
     "an unsafe YAML load"),
    (r"yaml\.load\((?![^)]*SafeLoader)", "yaml.load without SafeLoader"),
    (r"(?<![\w.])(eval|exec)\(", "eval/exec"),
]


def source_files() -> list[Path]:
    files = [p for d in ("compiler", "ir", "runtime", "bench") for p in (ROOT / d).rglob("*.py")]
    assert len(files) > 50
    return sorted(files)


BAD_LINES = ["import pickle", "x = pickle.load(f)", "np.load(p, allow_pickle=True)",
             "yaml.load(text, Loader=yaml.Loader)", "yaml.load(text)", "eval(expr)"]


@pytest.mark.parametrize(("pattern", "what"), CODE_LOADERS)
def test_no_source_file_deserializes_code(pattern, what):
    assert any(re.search(pattern, line) for line in BAD_LINES)  # the scan can see one
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in source_files()
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(pattern, line)]
    assert not found, f"{what}: {found}"


def test_every_np_load_refuses_pickles():
    calls = [(p, m.start()) for p in source_files() for m in re.finditer(r"\bnp\.load\(",
                                                                          p.read_text())]
    for path, start in calls:
        call = path.read_text()[start:start + 200]
        assert "allow_pickle=False" in call.split(")")[0], f"{path}: {call[:80]}"


def test_model_descriptions_cannot_name_files(tmp_path):
    """Descriptions have no field that reads a file: every way to ask for one is refused."""
    outside = tmp_path.parent / "secret.npy"
    for body, message in [
        (f"input: {{shape: [3], file: {outside}}}\nlayers: [relu]\n", "unknown input key 'file'"),
        (f"input: {{shape: [3]}}\nweights: {outside}\nlayers: [relu]\n", "unknown key 'weights'"),
        (f"input: {{shape: [3]}}\nlayers: [{{dense: {{units: 2, init: {outside}}}}}]\n",
         "dense has no attribute 'init'"),
        (f"input: {{shape: [3]}}\nlayers: !include {outside}\n", "not allowed|constructor"),
    ]:
        path = tmp_path / "model.yaml"
        path.write_text(body)
        with pytest.raises(ModelError, match=message):
            compiler.load(path)


# ---------------------------------------------------------------- sizes

LIMIT = f"{MAX_ELEMENTS:,}"
HOSTILE = {
    "input shape": ("input: {shape: [100000, 100000, 1000]}\nlayers: [relu]\n",
                    r"big.yaml:1: input 'input' Nx100000x100000x1000 has 10,000,000,000,000 "
                    rf"elements per sample; netc's limit is {LIMIT} per tensor"),
    "dense units": ("input: {shape: [10]}\nlayers: [{dense: {units: 1000000000000}}]\n",
                    r"big.yaml:2: layer 'fc': parameter 'fc.weight' 1000000000000x10 has "
                    r"10,000,000,000,000 elements"),
    "dense units as a float": ("input: {shape: [10]}\nlayers: [{dense: {units: 1.0e+12}}]\n",
                               "dense attribute 'units' must be an integer"),
    "conv filters": ("input: {shape: [3, 32, 32]}\nlayers: [{conv2d: {filters: 100000000, "
                     "kernel: 3}}]\n", "parameter 'conv.weight' 100000000x3x3x3 has "
                                       "2,700,000,000 elements"),
    "conv output": ("input: {shape: [3, 32, 32]}\nlayers: [{conv2d: {filters: 4096, kernel: 1, "
                    "padding: 400}}]\n", r"layer 'conv': tensor Nx4096x832x832 has "
                                         "2,835,349,504 elements per sample"),
    "padding": ("input: {shape: [3, 8, 8]}\nlayers: [{maxpool2d: {kernel: 2, stride: 1000000000, "
                "padding: 1000000000}}]\n", r"padded input Nx3x2000000008x2000000008"),
    "parameters in all": ("input: {shape: [40000]}\nlayers:\n  - dense: {units: 40000}\n"
                          "  - dense: {units: 40000}\n", "the parameters and state of the model "
                                                        "have 3,200,080,000 elements in all"),
    "dimension": ("input: {shape: [99999999999999999999999999999999]}\nlayers: [relu]\n",
                  "has 99,999,999,999,999,999,999,999,999,999,999 elements per sample"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_huge_shapes_are_refused_before_anything_is_allocated(tmp_path, case):
    body, message = HOSTILE[case]
    path = tmp_path / "big.yaml"
    path.write_text(body)
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match=message) as info:
            compiler.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "\n" not in str(info.value)
    assert peak < 32 * 2**20


@pytest.mark.parametrize(("text", "message"), [
    ("graph @g(%x: f32[N,100000,100000,1000] input) {\n}",
     r"1:14: tensor Nx100000x100000x1000 has 10,000,000,000,000 elements per sample"),
    ("graph @g(%x: f32[N,3] input, %a: f32[2000000000] param, %b: f32[2000000000] param) {\n}",
     "1:77: the parameters and state of the graph have 4,000,000,000 elements in all"),
    ("graph @g(%x: f32[N,3,8,8] input) {\n  %p = maxpool2d(%x) {kernel=[2,2], stride=[1000000000,"
     "1000000000], pad=[1000000000,1000000000,1000000000,1000000000], dilation=[1,1], "
     "ceil_mode=false} : f32[N,3,2,2]\n}", r"2:8: padded input Nx3x2000000008x2000000008"),
])
def test_huge_shapes_in_text_ir_are_parse_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse(text)


def test_huge_batch_is_refused_at_compile_time():
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    tracemalloc.start()
    try:
        with pytest.raises(CompileError, match=r"batch 1,000,000 makes 'conv1' 1000000x6x28x28 = "
                                               rf"4,704,000,000 elements; netc's limit is {LIMIT} "
                                               r"per tensor, so this model takes a batch of at "
                                               r"most 456,522$") as info:
            compiler.compile(graph, batch=1_000_000, train=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
    assert "pass" not in str(info.value)  # a user error, not a compiler failure with a repro file
    compiler.compile(graph, batch=456_522, backend="reference")  # the bound it names holds


def test_oversized_model_file_is_refused(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b'{"name": "m", "pad": "' + b"x" * (17 * 2**20) + b'"}')
    with pytest.raises(ModelError, match="the limit is 16777216"):
        compiler.load(path)


def test_the_bounds_leave_real_networks_alone():
    """Every example compiles at a large batch: 4096, or 256 for the ImageNet-sized ones and the
    transformer (4096 images of 224x224, or 4096 x 32 tokens through its broadcast products,
    exceed the per-tensor bound, which says so, as the last lines check)."""
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in (".yaml", ".json"):
            graph = compiler.load(path)
            large = (*IMAGENET_EXAMPLES, "transformer_encoder")
            batch = 256 if path.stem in large else 4096
            compiler.compile(graph, batch=batch, backend="reference")  # types only: no run
    with pytest.raises(NetcError, match="limit"):
        compiler.compile(compiler.load(EXAMPLES / "cifar_cnn.yaml"), batch=100_000)


# ---------------------------------------------------------------- ONNX external data

def onnx_model(location: str | None, nbytes: int | None = 16, input_dims=("N", 4)):
    """y = x + w, with w's data in the external file `location` (or none)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    inits = []
    if location is not None:
        w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                        data_location=TensorProto.EXTERNAL)
        entries = [("location", location)] + ([("length", str(nbytes))] if nbytes else [])
        for key, value in entries:
            entry = w.external_data.add()
            entry.key, entry.value = key, value
        inits.append(w)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(input_dims))
    other = "w" if location is not None else "x"
    graph = helper.make_graph([helper.make_node("Add", ["x", other], ["y"])], "g", [x], [y],
                              inits)
    return helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])


@pytest.fixture
def model_folder(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"S" * 16)
    (folder / "weights.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    (folder / "five.bin").write_bytes(np.arange(5, dtype=np.float32).tobytes())
    (folder / "escape.bin").symlink_to(tmp_path / "secret.bin")
    (folder / "sub").mkdir()
    return folder


@pytest.mark.parametrize("location", ["../secret.bin", "sub/../../secret.bin", "{root}/secret.bin",
                                      "/etc/passwd", "escape.bin", "missing.bin", "sub", ".", "",
                                      "weights.bin\0.txt"])
def test_onnx_external_data_cannot_leave_the_model_folder(model_folder, location):
    """Each of these raised onnx's ValidationError (exit 3) or, with onnx < 1.16, read the file."""
    location = location.format(root=model_folder.parent)
    path = model_folder / "m.onnx"
    path.write_bytes(onnx_model(location).SerializeToString())
    with pytest.raises(ModelError, match=r"m.onnx: initializer 'w': its external data .* must be "
                                         r"a file inside the model's folder"):
        compiler.load(path)


def test_onnx_external_data_inside_the_folder_loads(model_folder):
    path = model_folder / "m.onnx"
    path.write_bytes(onnx_model("sub/../weights.bin").SerializeToString())
    net = compiler.compile(compiler.load(path), batch=1, backend="reference")
    np.testing.assert_array_equal(net.forward(np.ones((1, 4), np.float32)), [[1, 2, 3, 4]])


def test_onnx_tensor_data_that_does_not_fit_is_a_model_error(model_folder):
    """A whole file of 5 floats for a [4] tensor passed onnx's checker and raised ValueError
    (exit 3)."""
    path = model_folder / "m.onnx"
    path.write_bytes(onnx_model("five.bin", nbytes=None).SerializeToString())
    with pytest.raises(ModelError, match=r"m.onnx: tensor 'w' of shape \[4\]: its data does not "
                                         "fit"):
        compiler.load(path)


def test_onnx_huge_input_shape_is_refused(tmp_path):
    path = tmp_path / "big.onnx"
    path.write_bytes(onnx_model(None, input_dims=("N", 100000, 100000, 1000)).SerializeToString())
    with pytest.raises(NetcError, match="elements per sample; netc's limit is"):
        compiler.load(path)
