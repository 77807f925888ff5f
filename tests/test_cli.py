"""The CLI through a subprocess, as users run it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import EXAMPLES, netc


def test_check_lenet5():
    out = netc("check", EXAMPLES / "lenet5.yaml")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.split()[:3] == ["flatten", "flatten", "Nx400"] for line in lines)
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1] == "61,706"
    conv1 = next(line for line in lines if line.startswith("conv1"))
    assert conv1.split()[2:5] == ["Nx6x28x28", "156", "239,904"]


@pytest.mark.parametrize("fmt", ["text", "dot", "json"])
def test_dump_formats(fmt):
    out = netc("dump", EXAMPLES / "lenet5.yaml", "--format", fmt)
    assert out.returncode == 0, out.stderr
    if fmt == "text":
        assert "%flatten = flatten(%pool2) {axis=1} view : f32[N,400]" in out.stdout
    elif fmt == "json":
        data = json.loads(out.stdout)
        assert data["name"] == "lenet5"
        assert [n["name"] for n in data["nodes"]][:3] == ["conv1", "relu1", "pool1"]
    else:
        assert '"conv1.weight"' in out.stdout
        assert '"fc3"' in out.stdout


def test_dot_is_valid_graphviz():
    dot = shutil.which("dot")
    assert dot, "graphviz 'dot' must be installed (make test installs it)"
    for path in sorted(EXAMPLES.glob("*.*")):
        out = netc("dump", path, "--format", "dot")
        svg = subprocess.run([dot, "-Tsvg"], input=out.stdout, capture_output=True, text=True)
        assert svg.returncode == 0, svg.stderr
        assert "<svg" in svg.stdout
        assert f">{path.stem}" in svg.stdout or "fc" in svg.stdout  # a title or a layer name


@pytest.mark.parametrize(("content", "message"), [
    ("name: m\ninput: {shape: [4]}\nlayers:\n  - dense: {unit: 3}\n",
     "dense has no attribute 'unit' (did you mean 'units'?)"),
    ("name: m\ninput: {shape: [4]}\nlayers:\n  - dense: {units: 3\n", "YAML syntax error"),
])
def test_errors_are_one_line_exit_1(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    out = netc("check", path)
    assert out.returncode == 1
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_missing_file():
    out = netc("check", "no/such/model.yaml")
    assert out.returncode == 1
    assert "cannot read model file" in out.stderr


def test_dump_train_after_autodiff_shows_provenance():
    out = netc("dump", EXAMPLES / "lenet5.yaml", "--train", "--after", "autodiff")
    assert out.returncode == 0, out.stderr
    assert "%pool2.grad = reshape(%flatten.grad) {shape=[N,16,5,5]} view" in out.stdout
    assert "# grad of %flatten" in out.stdout


@pytest.mark.parametrize("train", [[], ["--train"]])
def test_dump_after_layout_keeps_the_batch_symbolic(train):
    """Without --batch the layout pass sees N: the flatten's tag needs only C, H, W (it was an
    internal error)."""
    out = netc("dump", EXAMPLES / "lenet5.yaml", "--layout", "nchw8c", *train, "--after", "layout")
    assert out.returncode == 0, out.stderr
    assert "%flatten = reshape(%pool2) {shape=[N,400]} view : f32[N,400]@flat_nchw8c_16x5x5" in (
        out.stdout)


def test_dump_after_unknown_pass():
    out = netc("dump", EXAMPLES / "lenet5.yaml", "--train", "--after", "fuse-all")
    assert out.returncode == 1
    assert "pass 'fuse-all' is not in the train pipeline" in out.stderr


def pipeline_of(*args):
    """The pass names `netc dump --list-passes` gives for a pipeline, then the JIT's own."""
    lines = netc("dump", "--list-passes").stdout.splitlines()
    kind = "train" if "--train" in args else "forward"
    names = next(line for line in lines if line.startswith(f"{kind} pipeline: "))
    jit = next(line for line in lines if line.startswith("then, for the JIT: "))
    return [n for line in (names, jit) for n in line.split(": ", 1)[1].split(" -> ")]


def headings(stdout):
    return [line.removeprefix("# ===== ") for line in stdout.splitlines()
            if line.startswith("# ===== ")]


@pytest.mark.parametrize("train", [[], ["--train"]])
def test_dump_after_all_heads_a_section_per_pass(train):
    out = netc("dump", EXAMPLES / "lenet5.yaml", *train, "--after", "all")
    assert out.returncode == 0, out.stderr
    passes = pipeline_of(*train)
    assert headings(out.stdout) == [f"after {name}" for name in passes]
    sections = out.stdout.split("# ===== ")[1:]
    assert all("graph @lenet5(" in section for section in sections)
    assert "%image: f32[1,1,28,28] input" in sections[0], "all binds batch 1 for plan-memory"
    assert "kernel @" not in sections[-3]
    assert "kernel @" in sections[-2]
    assert "# memory plan" in sections[-1]
    assert "# memory plan" not in sections[-2]


def test_dump_before_all_and_after_one_pass_interleave():
    out = netc("dump", EXAMPLES / "mlp.yaml", "--before", "all", "--after", "cse", "--batch", "2")
    assert out.returncode == 0, out.stderr
    expected = []
    for name in pipeline_of():
        expected += [f"before {name}"] + ([f"after {name}"] if name == "cse" else [])
    assert headings(out.stdout) == expected


def test_dump_before_a_pass_is_the_graph_after_the_one_before_it():
    before = netc("dump", EXAMPLES / "lenet5.yaml", "--layout", "nhwc", "--before", "layout")
    after = netc("dump", EXAMPLES / "lenet5.yaml", "--layout", "nhwc", "--after", "dce")
    assert before.returncode == 0, before.stderr
    assert before.stdout == after.stdout
    assert not headings(before.stdout), "one named pass prints the bare graph"
    assert "@nhwc" not in before.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--before", "fuse-all"], "pass 'fuse-all' is not in the forward pipeline (bind-batch, "),
    (["--train", "--after", "all", "--before", "lower"],
     "pass 'lower' is not in the train pipeline (bind-batch, "),
    (["--after", "all", "--format", "json"], "print one section per pass, in text only"),
])
def test_dump_before_after_errors_are_one_line(args, message):
    out = netc("dump", EXAMPLES / "mlp.yaml", *args)
    assert out.returncode == 1
    assert out.stderr.startswith("netc: error: ")
    assert message in out.stderr
    assert out.stderr.count("\n") == 1


def test_list_passes():
    out = netc("dump", "--list-passes")
    assert out.returncode == 0
    assert "autodiff" in out.stdout
    assert "train pipeline:" in out.stdout


def test_ir_files_reproduce_a_pipeline(tmp_path):
    out = netc("dump", EXAMPLES / "lenet5.yaml", "--train", "--after", "canonicalize")
    path = tmp_path / "lenet5.ir"
    path.write_text(out.stdout)
    again = netc("dump", path, "--passes", "autodiff")
    assert again.returncode == 0, again.stderr
    assert "conv2d_grad_weight" in again.stdout


def test_gradcheck_command():
    out = netc("gradcheck", EXAMPLES / "mlp.yaml")
    assert out.returncode == 0, out.stderr
    assert "all 6 gradients agree" in out.stdout


def test_compile_reports_the_kernels_the_jit_network_runs():
    """`netc compile` lowers with the JIT's own options (layout "auto" and batchnorm folded),
    so its kernel list, layouts included, is the one compiler.compile's network runs."""
    import compiler

    model = EXAMPLES / "cifar_cnn.yaml"
    net = compiler.compile(compiler.load(model), batch=2)
    expected = [(k["name"], k.get("layout") or "logical")
                for k in net.entry("forward").kernels]
    assert any(layout != "logical" for _, layout in expected)  # auto picked a blocked layout

    def listed(*options: object) -> list[tuple[str, str]]:
        run = netc("compile", model, "--batch", 2, *options)
        assert run.returncode == 0, run.stderr
        rows = run.stdout.split("kernels (", 1)[1].splitlines()[1:]
        return [(row.split()[0], row.split()[2]) for row in rows if row.startswith("  k")]

    assert listed() == expected
    assert {layout for _, layout in listed("--layout", "nchw")} == {"logical"}


def test_dump_at_a_bound_batch_shows_folded_and_packed_weights():
    """What the JIT runs: batchnorm folded into the convolution and its weight read as panels;
    at the symbolic batch the dump keeps batchnorm as the model has it."""
    model = EXAMPLES / "resnet18.yaml"
    dumped = netc("dump", model, "--layout", "nchw16c", "--batch", 1,
                  "--after", "pack-conv-weights")
    assert dumped.returncode == 0, dumped.stderr
    assert "= batchnorm(" not in dumped.stdout
    assert ".packed_weight" in dumped.stdout
    assert "@oihw" in dumped.stdout
    symbolic = netc("dump", model, "--layout", "nchw16c", "--after", "pack-conv-weights")
    assert symbolic.returncode == 0, symbolic.stderr
    assert "= batchnorm(" in symbolic.stdout
    assert ".packed_weight" not in symbolic.stdout
