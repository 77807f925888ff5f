"""Text IR: golden files for every example, print/parse round trips, parse errors with line:col."""

from __future__ import annotations

import pytest

from compiler.frontend import load
from ir import ParseError, parse, print_graph
from tests.conftest import EXAMPLE_FILES, GOLDEN


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_golden_round_trip(path, update_goldens):
    text = print_graph(load(path))
    golden = GOLDEN / f"{path.stem}.ir"
    if update_goldens:
        golden.write_text(text)
    assert text == golden.read_text(), f"{golden.name} drifted; rerun with --update-goldens"
    assert print_graph(parse(golden.read_text())) == golden.read_text()


def test_user_names_survive():
    text = print_graph(load(GOLDEN.parent.parent / "examples" / "lenet5.yaml"))
    for name in ("%conv1 = conv2d", "%conv1.weight: f32[6,1,5,5] param", "%fc3 = dense",
                 "%flatten = flatten(%pool2) {axis=1} view : f32[N,400]"):
        assert name in text


def test_parse_is_deterministic_and_keeps_provenance():
    text = """graph @g(
    %x: f32[N,4] input,
    %dy: f32[N,4] input
) {
  %r = relu(%x) : f32[N,4]
  %dr = mul(%dy, %r) : f32[N,4]  # grad of %r
  return %dr
}
"""
    graph = parse(text)
    assert graph.value("dr").node.grad_of == "r"
    assert print_graph(graph) == text


def test_layout_tags_round_trip():
    """The layout pass's tags (`@nchw8c`, a flatten's `@flat_...`, a dense weight's `@cols_...`)
    parse back: `netc dump --after layout` output is a file netc reads."""
    text = """graph @g(
    %x: f32[N,16,5,5]@nchw8c input,
    %w: f32[3,400]@cols_nchw8c_16x5x5 param
) {
  %f = reshape(%x) {shape=[N,400]} view : f32[N,400]@flat_nchw8c_16x5x5
  %y = dense(%f, %w) : f32[N,3]
  return %y
}
"""
    graph = parse(text)
    assert graph.value("x").type.layout == "nchw8c"
    assert graph.value("f").type.layout == "flat_nchw8c_16x5x5"
    assert print_graph(graph) == text


@pytest.mark.parametrize(("text", "line", "col", "message"), [
    ("graph @g(\n    %x: f32[4] input\n) {\n  %y = relu(%z) : f32[4]\n}\n", 4, 13,
     "undefined value %z"),
    ("graph @g(\n    %x: f32[4] input\n) {\n  %y = relux(%x) : f32[4]\n}\n", 4, 8,
     "unknown op 'relux' (did you mean 'relu'?)"),
    ("graph @g(\n    %x: f32[4] input\n) {\n  %y = relu(%x) : f32[4\n}\n", 5, 1, "expected ']'"),
    ("graph @g(\n    %x: q32[4] input\n) {\n}\n", 2, 9, "unknown dtype 'q32'"),
    ("graph @g(\n    %x: f32[4] input\n) {\n  %y = relu(%x) : f32[4] ^\n}\n", 4, 26,
     "unexpected character '^'"),
    ("graph @g(\n    %x: f32[N,4] input\n) {\n  %y = leaky_relu(%x) {alpha=true} : f32[N,4]\n}\n",
     4, 8, "attribute 'alpha' must be a number"),
    ("graph @g(\n    %x: f32[4] input\n) {\n  %x = relu(%x) : f32[4]\n}\n", 4, 3,
     "defined twice"),
    ("graph @g(\n    %x: f32[4] toy\n) {\n}\n", 2, 16, "unknown role 'toy'"),
    ("graph @g(\n    %x: f32[N,8,4,4]@nchw9c input\n) {\n}\n", 2, 21,
     "unknown layout '@nchw9c'"),
])
def test_parse_errors_carry_line_and_column(text, line, col, message):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert (info.value.line, info.value.col) == (line, col), str(info.value)
    assert message in str(info.value)
    assert f":{line}:{col}:" in str(info.value)


def test_parse_reports_type_disagreeing_with_shape_rule():
    text = "graph @g(\n    %x: f32[N,4] input\n) {\n  %y = relu(%x) : f32[N,5]\n}\n"
    with pytest.raises(Exception, match=r"disagrees with the shape rule"):
        parse(text)
