"""Dumps for learners: the training step as DOT (forward and backward side by side, views dashed
and sharing a buffer) and as one self-contained HTML page."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import compiler
from compiler.driver.pipelines import lower
from compiler.html import to_html
from compiler.passes import PassContext
from ir.dot import phases, to_dot
from tests.conftest import EXAMPLE_FILES, EXAMPLES, netc

MODELS = EXAMPLE_FILES  # the ImageNet examples' training graphs take graphviz minutes


def train_graph(name="lenet5.yaml", optimizer=None):
    graph = compiler.load(EXAMPLES / name)
    return lower(graph, "train", PassContext(train=True, optimizer=optimizer))


def cluster(dot: str, name: str) -> str:
    start = dot.index(f'subgraph "cluster_{name}" {{')
    return dot[start:dot.index("\n  }\n", start)]


def graphviz(dot: str) -> subprocess.CompletedProcess:
    program = shutil.which("dot")
    assert program, "graphviz 'dot' must be installed (make test installs it)"
    return subprocess.run([program, "-Tsvg"], input=dot, capture_output=True, text=True,
                          timeout=120)


def test_forward_and_backward_are_side_by_side():
    graph = train_graph()
    dot = to_dot(graph)
    forward, backward, update = (cluster(dot, n) for n in ("forward", "backward", "update"))
    for node in graph.nodes():
        home = {"forward": forward, "backward": backward, "update": update}[phases(graph)[
            node.name]]
        assert f'  "{node.name}" [shape=box' in home, node.name
    assert '"conv1" [shape=box' in forward
    assert '"conv1.grad" [shape=box' in backward
    assert '"fc1.weight.next" [shape=box' in update
    assert "newrank=true;" in dot
    # each gradient op level with the op it differentiates: the picture's mirror
    assert '{rank=same; "flatten"; "pool2.grad";}' in dot
    assert '{rank=same; "pool2"; "relu2.grad";}' in dot
    # gradient edges are laid out upwards, drawn as usual
    assert '"relu2.grad" -> "pool2.grad" [headlabel="0", dir=back];' in dot
    # forward values feeding the backward pass do not pull it around
    assert '"relu2" -> "conv2.grad" [taillabel="1", constraint=false, color=gray55];' in dot


def test_views_are_dashed_edges_that_share_a_buffer():
    dot = to_dot(train_graph())
    assert '"pool2" -> "flatten" [style=dashed, label="view: same buffer"];' in dot
    assert ('"pool2.grad" -> "flatten.grad" [style=dashed, label="view: same buffer", '
            'dir=back];') in dot
    flatten = next(line for line in dot.splitlines() if line.strip().startswith('"flatten" ['))
    assert 'style="rounded,filled,dashed"' in flatten
    assert "view of pool2: 0 bytes" in flatten


def test_labels_break_lines_once():
    dot = to_dot(train_graph())
    assert 'label="pool2\\nmaxpool2d\\nf32[N,16,5,5]"' in dot
    assert "\\\\n" not in dot


def test_forward_only_dump_has_no_clusters():
    dot = to_dot(compiler.load(EXAMPLES / "lenet5.yaml"))
    assert "cluster" not in dot
    assert "rank=same" not in dot
    assert '"pool2" -> "flatten" [style=dashed, label="view: same buffer"];' in dot


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.name)
def test_training_dot_renders_cleanly(model, optimizer):
    out = netc("dump", model, "--train", "--format", "dot", "--optimizer", optimizer)
    assert out.returncode == 0, out.stderr
    svg = graphviz(out.stdout)
    assert svg.returncode == 0, svg.stderr
    assert svg.stderr == ""  # no routing failures or dropped edges
    assert "<svg" in svg.stdout


def test_html_page_is_self_contained():
    out = netc("dump", EXAMPLES / "lenet5.yaml", "--train", "--format", "html")
    assert out.returncode == 0, out.stderr
    page = out.stdout
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert page.count("<svg") == 1
    assert "<?xml" not in page
    assert "<!DOCTYPE svg" not in page
    assert not re.search(r"https?://|<script|<link|<img|<iframe|\bsrc=|url\(", page)
    assert "side by side" in page
    assert "%flatten = reshape(%pool2) {shape=[N,400]} view : f32[N,400]" in page  # text IR
    assert "digraph &quot;lenet5&quot;" in page  # DOT source


def test_html_without_graphviz_says_so():
    page = to_html(train_graph(), dot_program=None)
    assert "<svg" not in page
    assert "is not installed" in page
    assert "<details open><summary>Text IR</summary>" in page
    assert "<details open><summary>DOT source</summary>" in page
    assert "%pool2.grad = reshape(%flatten.grad)" in page


def test_html_when_graphviz_fails():
    page = to_html(train_graph(), dot_program=shutil.which("false") or "/bin/false")
    assert "<svg" not in page
    assert "Graphviz&#x27;s dot failed" in page or "Graphviz's dot failed" in page
