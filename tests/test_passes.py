"""The pass manager and the simplification passes: goldens per pass, each pass's contract,
verification after each pass, and a failing pass that names itself and saves its input."""

from __future__ import annotations

from pathlib import Path

import pytest

import compiler
from compiler.cli import build_parser
from compiler.driver.pipelines import PIPELINES, lower
from compiler.passes import PASSES, PassContext, PassManager, register
from ir import CompileError, Graph, TensorType, parse, print_graph
from tests.conftest import EXAMPLES, GOLDEN


@pytest.mark.parametrize("after", ["canonicalize", "autodiff", "optimizer", "dce"])
def test_golden_lenet5_train_pipeline(after, update_goldens):
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    captured = []
    lower(graph, "train", PassContext(train=True), verify_each=True, dump_after=[after],
          dump=lambda label, g: captured.append(print_graph(g)))
    golden = GOLDEN / f"lenet5.train.after-{after}.ir"
    if update_goldens:
        golden.write_text(captured[0])
    assert captured[0] == golden.read_text()
    assert print_graph(parse(captured[0])) == captured[0]


@pytest.mark.parametrize(("options", "golden_name"), [
    (["--layout", "nchw8c", "--after", "layout"], "lenet5.forward.nchw8c.after-layout.ir"),
    (["--train", "--batch", "2", "--after", "fuse"], "lenet5.train.b2.after-fuse.ir"),
    (["--train", "--batch", "2", "--after", "plan-memory"], "lenet5.train.b2.after-plan-memory.ir"),
])
def test_golden_lenet5_codegen_passes(options, golden_name, update_goldens, capsys, monkeypatch):
    """What `netc dump lenet5.yaml OPTIONS` prints after the layout pass (a blocked layout, the
    batch still symbolic), the fusion (kernel groups) and the memory plan (its table)."""
    monkeypatch.delenv("NETC_GUARD", raising=False)  # guard mode changes the memory plan
    args = build_parser().parse_args(["dump", str(EXAMPLES / "lenet5.yaml"), *options])
    assert args.run(args) == 0
    text = capsys.readouterr().out
    golden = GOLDEN / golden_name
    if update_goldens:
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden_name} drifted; rerun with --update-goldens"
    graph_text = text.split("# memory plan\n")[0]
    assert print_graph(parse(graph_text)) == graph_text


@pytest.mark.parametrize("kind", sorted(PIPELINES))
@pytest.mark.parametrize("name", ["lenet5.yaml", "resnet_small.json", "cifar_cnn.yaml"])
def test_every_pass_keeps_the_graph_valid(kind, name):
    graph = compiler.load(EXAMPLES / name)
    dumps = []
    lower(graph, kind, PassContext(batch=4, train=kind != "forward"), verify_each=True,
          dump_after=["all"], dump=lambda label, g: dumps.append(print_graph(g)))
    assert len(dumps) == len(PIPELINES[kind])
    for text in dumps:
        assert print_graph(parse(text)) == text


def test_pass_names_are_kebab_case_file_names():
    import compiler.passes as pkg

    for name, info in PASSES.items():
        assert name == info.run.__module__.rsplit(".", 1)[1].replace("_", "-")
        assert "Pre:" in pkg.__dict__.get("__doc__", "") or info.doc


def _graph_xy():
    g = Graph("g")
    x = g.add_input("x", TensorType("f32", (2, 3)), "input")
    return g, x


def test_cse_merges_repeats_and_dce_drops_dead():
    g, x = _graph_xy()
    a = g.add_op("relu", [x], name="a")
    b = g.add_op("relu", [x], name="b")
    g.add_op("sigmoid", [x], name="dead")
    g.outputs = [g.add_op("add", [a, b], name="c")]
    out = PassManager(["cse", "dce"], verify_each=True).run(g, PassContext())
    assert [n.name for n in out.nodes()] == ["a", "c"]
    assert [v.name for v in out.value("c").node.operands] == ["a", "a"]


def test_constant_folding_and_identities():
    g, x = _graph_xy()
    two = g.add_op("const", [], {"value": 2.0}, name="two")
    half = g.add_op("const", [], {"value": 0.5}, name="half")
    one = g.add_op("mul", [two, half], name="one")
    y = g.add_op("mul", [x, one], name="y")
    z = g.add_op("neg", [g.add_op("neg", [y], name="n1")], name="n2")
    r = g.add_op("reshape", [g.add_op("reshape", [z], {"shape": [3, 2]}, name="r1")],
                 {"shape": [6]}, name="r2")
    g.outputs = [g.add_op("relu", [r], name="out")]
    out = PassManager(["fold-constants", "algebraic", "dce"], verify_each=True).run(
        g, PassContext())
    text = print_graph(out)
    assert "%r2 = reshape(%x) {shape=[6]} view" in text
    assert [n.op for n in out.nodes()] == ["reshape", "relu"]


def test_failing_pass_names_itself_and_saves_its_input(tmp_path):
    @register("explode-for-test")
    def explode(graph, ctx):
        raise CompileError("boom")

    try:
        g, x = _graph_xy()
        g.outputs = [g.add_op("relu", [x], name="y")]
        with pytest.raises(CompileError) as info:
            PassManager(["dce", "explode-for-test"]).run(g, PassContext())
        msg = str(info.value)
        assert msg.startswith("pass 'explode-for-test' failed: boom; its input IR is in ")
        path = msg.split("its input IR is in ")[1].split(" (")[0]
        assert "%y = relu(%x)" in Path(path).read_text()
    finally:
        del PASSES["explode-for-test"]


def test_pass_that_breaks_the_graph_is_caught_by_verify_each():
    @register("break-for-test")
    def breaker(graph, ctx):
        graph.value("y").type = TensorType("f32", (9,))
        return graph

    try:
        g, x = _graph_xy()
        g.outputs = [g.add_op("relu", [x], name="y")]
        with pytest.raises(CompileError, match=r"pass 'break-for-test' failed: op relu \(%y\)"):
            PassManager(["break-for-test"], verify_each=True).run(g, PassContext())
    finally:
        del PASSES["break-for-test"]


def test_unknown_pass_suggests():
    with pytest.raises(CompileError, match=r"unknown pass 'autodif' \(did you mean 'autodiff'"):
        PassManager(["autodif"]).run(_graph_xy()[0], PassContext())


def _batchnorm_model() -> Graph:
    b = compiler.Builder("bn")
    x = b.batchnorm(b.conv2d(b.input("x", [3, 6, 6]), filters=4, kernel=3, name="conv"),
                    name="bn")
    b.loss("softmax_cross_entropy", b.dense(b.flatten(b.relu(x)), units=2, name="fc"))
    return b.build()


def test_lower_honours_the_kind_on_a_copy_of_the_context():
    """The kind sets what it implies (loss_and_grads never updates batchnorm's running
    statistics; a training step does) in lower()'s own copy of the context; the caller's
    context is never changed, and what a pass reports comes back through `reported`."""
    graph = _batchnorm_model()
    ctx = PassContext(batch=2, train=True, options={"layout": "nhwc"})
    reported: dict[str, object] = {}
    grads = lower(graph, "grads", ctx, reported=reported)
    train = lower(graph, "train", ctx)
    assert not [t.name for t, _ in grads.updates if t.name.startswith("bn.running")]
    assert [t.name for t, _ in train.updates if t.name.startswith("bn.running")]
    assert ctx.update_running_stats is True
    assert ctx.options == {"layout": "nhwc"}
    assert reported["layout_applied"] == "nhwc"
