"""Fuzzing the frontends: byte and token mutations of the example model files and of the text IR
(`netc dump` output), and random descriptions drawn from the model schema. Every case ends in a
valid graph (which then prints, parses back and lowers) or one clean line of error: never a
traceback, a hang or a crash. Most cases run in-process (compiler.load, ir.parse, the CLI's
main); a few through a real `netc` process, with timeouts. Budgets: tests/fuzz.py."""

from __future__ import annotations

import functools
import json
import random
import subprocess
import sys

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import compiler
from compiler.cli import main as cli_main
from compiler.driver.pipelines import CODEGEN, lower, run_passes
from compiler.frontend.schema import LAYERS, LOSSES
from compiler.passes import PassContext
from ir.errors import ModelError, NetcError, ParseError
from ir.parser import parse
from ir.printer import print_graph
from tests.conftest import EXAMPLE_FILES, EXAMPLES, ROOT
from tests.fuzz import fuzz_settings, mutations, time_limit


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@functools.cache
def ir_texts() -> dict[str, bytes]:
    """The text IR of every example (forward), and of lenet5 as a training graph after autodiff
    (provenance comments, updates) and after plan-memory (kernel groups)."""
    texts = {p.stem: print_graph(compiler.load(p)).encode() for p in EXAMPLE_FILES}
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    train = lower(graph, "train", PassContext(batch=2, train=True))
    texts["lenet5-train"] = print_graph(train).encode()
    planned = run_passes(train, CODEGEN, PassContext(options={"persistent": None}))
    texts["lenet5-planned"] = print_graph(planned).encode()
    return texts


IR_NAMES = sorted([p.stem for p in EXAMPLE_FILES] + ["lenet5-train", "lenet5-planned"])
SOURCES = {p.name: p.read_bytes() for p in EXAMPLE_FILES}


def load_or_clean_error(path):
    """compiler.load(path) within 20 s: the graph, or None after a clean one-line NetcError."""
    try:
        with time_limit(20):
            graph = compiler.load(path)
    except NetcError as err:
        message = str(err)
        assert message.strip()
        assert "\n" not in message, repr(message)
        if isinstance(err, (ModelError, ParseError)):
            assert message.startswith(str(path)), message  # names the file
        return None
    text = print_graph(graph)
    assert print_graph(parse(text)) == text
    return graph


@pytest.mark.parametrize("name", sorted(SOURCES))
@fuzz_settings(default=60, long=3000)
@given(data=st.data())
def test_mutated_model_files_load_or_fail_cleanly(workdir, name, data):
    mutated = data.draw(mutations(SOURCES[name]))
    path = workdir / f"mutated{name[name.index('.'):]}"
    path.write_bytes(mutated)
    load_or_clean_error(path)


@pytest.mark.parametrize("name", IR_NAMES)
@fuzz_settings(default=40, long=3000)
@given(data=st.data())
def test_mutated_ir_parses_or_fails_cleanly(workdir, name, data):
    mutated = data.draw(mutations(ir_texts()[name]))
    path = workdir / "mutated.ir"
    path.write_bytes(mutated)
    if load_or_clean_error(path) is None:
        return
    # what parsed from a file parses from a string too, to the same graph
    assert print_graph(parse(mutated.decode())) == print_graph(compiler.load(path))


# ---------------------------------------------------------------- descriptions from the schema

EDGE = {
    "int": st.sampled_from([0, 1, 2, 3, 5, 16, -1, 2**31, 10**12, 10**400]),
    "float": st.sampled_from([0.0, 0.1, 0.5, 0.99, -0.5, 1e-5, 1e30, 10**400, float("nan"),
                              float("inf")]),
    "bool": st.booleans(),
    "window": st.sampled_from([1, 2, 3, [1, 2], [3, 1], 0, -1, [0, 1], [1, 2, 3], 40, 2**31]),
    "padding": st.sampled_from([0, 1, 2, "same", "valid", [1, 0], [0, 1, 2, 0], -1, 10**9,
                                [1, 2, 3], "full"]),
    "shape": st.sampled_from([[-1], [3, -1], [1, -1, 2], [-1, -1], [0], [2, 2], [7], []]),
    "str": st.sampled_from(["a", ""]),
}
SHAPES = st.sampled_from([[1, 8, 8], [3, 7, 9], [2, 5], [6], [4, 11, 6], [1, 1, 1], [2, 3, 3, 3],
                          [0], [2**31, 2], [3, 100000, 100000]])


@st.composite
def layer_specs(draw, names):
    kind = draw(st.sampled_from(sorted(LAYERS)))
    attrs = {}
    for key, field in sorted(LAYERS[kind].items()):
        if field.required or draw(st.booleans()):
            attrs[key] = draw(st.integers(-5, 4) if key == "axis" else EDGE[field.kind])
    attrs["name"] = f"l{len(names)}"
    if kind in ("add", "mul", "sub", "concat"):
        attrs["inputs"] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
    elif draw(st.integers(0, 4)) == 0:
        attrs["inputs"] = draw(st.sampled_from(names))
    if draw(st.integers(0, 9)) == 0:
        return kind  # a bare layer name
    return {kind: attrs}


@st.composite
def descriptions(draw):
    names = ["x"]
    layers = []
    for _ in range(draw(st.integers(1, 6))):
        layers.append(draw(layer_specs(names)))
        names.append(f"l{len(names) - 1}")
    model = {"name": "fuzzed", "input": {"name": "x", "shape": draw(SHAPES)}, "layers": layers}
    if draw(st.booleans()):
        model["loss"] = draw(st.sampled_from(LOSSES))
    return model


def run_reference(graph) -> str | None:
    """Lowers the graph (training too when it has a loss) and runs it at batch 1 in numpy;
    the message of a NetcError, or None."""
    try:
        _run_reference(graph)
    except NetcError as err:
        return str(err)
    return None


def _run_reference(graph) -> None:
    train = graph.loss is not None
    net = compiler.compile(graph, batch=1, backend="reference", train=train)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(v.type.bind(1).shape).astype(np.float32)
          for v in graph.inputs_with_role("input")]
    with np.errstate(all="ignore"):
        net.forward(*xs)
        if train:
            label = graph.inputs_with_role("label")[0].type.bind(1)
            y = np.zeros(label.shape, np.int64 if label.dtype == "i64" else np.float32)
            net.loss_and_grads(*xs, y)


@fuzz_settings(default=120, long=5000)
@given(model=descriptions(), as_json=st.booleans())
def test_random_descriptions_load_or_fail_cleanly(workdir, model, as_json):
    path = workdir / ("model.json" if as_json else "model.yaml")
    text = json.dumps(model) if as_json else yaml.safe_dump(model)
    path.write_text(text)
    graph = load_or_clean_error(path)
    if graph is None:
        return
    with time_limit(30):
        problem = run_reference(graph)
    assert problem is None or "\n" not in problem  # what cannot compile still says why


# ---------------------------------------------------------------- through the CLI

def _mutated_cases(count: int, seed: int) -> list[tuple[str, bytes]]:
    """Deterministic mutations (not hypothesis: each case is a process or a CLI run)."""
    rng = random.Random(seed)
    inputs = [(n[n.index("."):], d) for n, d in SOURCES.items()]
    inputs += [(".ir", d) for _, d in sorted(ir_texts().items())]
    cases = []
    for _ in range(count):
        suffix, data = rng.choice(inputs)
        out = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(out) + 1)
            out[i:i + rng.randint(0, 8)] = rng.choice(
                [b"", bytes([rng.randrange(256)]), b"[", b"-7", b"\n  - relu\n", b"%x"])
        cases.append((suffix, bytes(out)))
    return cases


def check_cli_outcome(code: int, out: str, err: str) -> None:
    assert code in (0, 1), f"exit {code}: {err}"
    assert "Traceback" not in err
    assert "internal error" not in err
    if code == 1:
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("netc: error: "), err
    else:
        assert out


@pytest.mark.parametrize("command", ["check", "dump"])
def test_mutated_files_through_the_cli_in_process(workdir, capsys, command):
    for k, (suffix, data) in enumerate(_mutated_cases(60, seed=1 if command == "check" else 2)):
        path = workdir / f"cli{k}{suffix}"
        path.write_bytes(data)
        with time_limit(20):
            code = cli_main([command, str(path)])
        captured = capsys.readouterr()
        check_cli_outcome(code, captured.out, captured.err)


def test_mutated_files_through_netc_processes(workdir):
    for k, (suffix, data) in enumerate(_mutated_cases(6, seed=3)):
        path = workdir / f"proc{k}{suffix}"
        path.write_bytes(data)
        out = subprocess.run([sys.executable, "-m", "compiler.cli", "check", str(path)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        check_cli_outcome(out.returncode, out.stdout, out.stderr)


# ---------------------------------------------------------------- what the fuzzers found

@pytest.mark.parametrize(("name", "text", "message"), [
    ("nul.yaml", "name: m\x00\n",
     r"nul.yaml:1: character U\+0000 is not allowed in YAML \(column 8\)"),
    ("bell.yaml", "name: m\ninput: {shape: [1]}\nlayers: [relu\x07]\n",
     r"bell.yaml:3: character U\+0007 is not allowed in YAML \(column 14\)"),
    ("long.yaml", "name: m\ninput: {shape: [" + "9" * 5000 + "]}\nlayers: [relu]\n",
     r"long.yaml:2: cannot read '99999999999999999999'...: a number too long to read"),
    ("date.yaml", "input: {shape: [3]}\nlayers: [{leaky_relu: {alpha: 2020-13-01}}]\n",
     r"date.yaml:2: cannot read '2020-13-01': month must be in 1..12"),
    ("bool.yaml", "input: {shape: [3]}\nlayers: [relu]\nloss: !!bool abc\n",
     r"bool.yaml:3: cannot read 'abc': 'abc'"),
    ("int.yaml", "input: {shape: [3]}\nlayers: [{dense: {units: !!int -}}]\n",
     r"int.yaml:2: cannot read '-': string index out of range"),
    ("timestamp.yaml", "!!timestamp 0x\n",
     r"timestamp.yaml:1: cannot read '0x': 'NoneType' object has no attribute 'groupdict'"),
    ("long.json", '{"input": {"shape": [' + "9" * 5000 + ']}, "layers": ["relu"]}',
     "long.json: JSON holds a number too long to read"),
    ("huge_alpha.yaml", f"input: {{shape: [3]}}\nlayers: [{{leaky_relu: {{alpha: {10**400}}}}}]\n",
     "leaky_relu attribute 'alpha' must be a finite number"),
    ("nan_eps.yaml", "input: {shape: [3]}\nlayers: [{batchnorm: {eps: .nan}}]\n",
     "batchnorm attribute 'eps' must be a finite number"),
    ("inf_momentum.yaml", "input: {shape: [3]}\nlayers: [{batchnorm: {momentum: -.inf}}]\n",
     "batchnorm attribute 'momentum' must be a finite number"),
])
def test_found_model_file_crashes_are_clean_errors(tmp_path, name, text, message):
    """Each of these raised a bare ValueError, ReaderError, OverflowError, KeyError, IndexError
    or AttributeError before (exit 3)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(ModelError, match=message) as info:
        compiler.load(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "message"), [
    ("graph @g(%x: f32[N," + "9" * 5000 + "] input) {\n}", "1:20: integer 9999"),
    ("graph @g(%x: f32[N,3] input) {\n  %y = leaky_relu(%x) {alpha=" + "9" * 5000
     + "} : f32[N,3]\n  return %y\n}", "2:30: integer 9999.* does not fit in 64 bits"),
    ("graph @g(%x: f32[N,3] input) {\n  %y = leaky_relu(%x) {alpha=" + "[" * 5000
     + "} : f32[N,3]\n}", "2:38: lists nest deeper than 8 levels"),
    ("graph @g(%x: f32[N,3] input) {\n  %y = leaky_relu(%x) {alpha=9223372036854775808} "
     ": f32[N,3]\n}", "2:30: integer 9223372036854775808 does not fit in 64 bits"),
])
def test_found_ir_crashes_are_parse_errors(text, message):
    """A 5000-digit literal raised ValueError, deep brackets RecursionError."""
    with pytest.raises(ParseError, match=message):
        parse(text)


def test_found_sub_with_three_inputs_is_a_model_error(tmp_path):
    """Builder.sub() got the third input as its name: TypeError (exit 3) before."""
    path = tmp_path / "sub.yaml"
    path.write_text("input: {shape: [3]}\nlayers:\n  - sub: {inputs: [input, input, input]}\n")
    with pytest.raises(ModelError, match=r"sub.yaml:3: layer 'sub': sub takes exactly two inputs "
                                         r"\(the first minus the second\), got 3"):
        compiler.load(path)


@pytest.mark.parametrize("name", ["i#mage", "i- mage", "-1image", ":image", "a%b", "x y", ""])
def test_found_input_names_the_ir_cannot_print_are_refused(tmp_path, name):
    """Such a name loaded, and its IR did not parse back (`netc dump` output was broken)."""
    path = tmp_path / "names.json"
    path.write_text(json.dumps({"input": {"name": name, "shape": [3]}, "layers": ["relu"]}))
    with pytest.raises(ModelError, match="names.json:1: input name must be letters, digits"):
        compiler.load(path)
    with pytest.raises(ModelError, match="input name must be letters, digits, _ . - or /"):
        compiler.Builder("m").input(name, [3])
    b = compiler.Builder("m")
    x = b.input("x", [3])
    with pytest.raises(ModelError, match="layer name must be letters, digits, _ . - or /"):
        b.relu(x, name=name)
