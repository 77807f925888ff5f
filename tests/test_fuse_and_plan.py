"""The fuse and plan-memory passes: which ops share a kernel, what is stored, where bytes go."""

from __future__ import annotations

import pytest

import compiler
from compiler.driver.pipelines import CODEGEN, lower, run_passes
from compiler.passes import PassContext
from ir import parse, print_graph
from tests.conftest import EXAMPLES, netc


def planned(name="lenet5.yaml", kind="train", batch=8, optimizer=None):
    graph = compiler.load(EXAMPLES / name)
    ctx = PassContext(batch=batch, train=kind != "forward", optimizer=optimizer)
    lowered = lower(graph, kind, ctx)
    return run_passes(lowered, CODEGEN, PassContext(), verify_each=True)


def group_of(graph, value):
    return next(k for k in graph.kernels if value in k.nodes)


def test_conv_bias_relu_are_one_kernel():
    g = planned(kind="forward")
    k = group_of(g, "conv1")
    assert k.nodes == ["conv1", "relu1"]
    assert k.kind == "contraction"


def test_activation_gradient_rides_on_the_contraction_that_makes_its_dy():
    g = planned()
    assert group_of(g, "fc2.grad").nodes == ["relu4.grad", "fc2.grad"]
    assert group_of(g, "fc2.grad").anchor == "relu4.grad"
    assert g.value("relu4.grad").node.op == "matmul"
    assert group_of(g, "conv2.grad").nodes[0] == "relu2.grad"  # maxpool2d_grad + relu_grad


def test_parameter_update_rides_on_its_gradient():
    g = planned(optimizer=compiler.SGD(lr=0.1, momentum=0.9))
    k = group_of(g, "fc1.weight.next")
    assert k.nodes == ["fc1.weight.grad", "fc1.weight.momentum.next", "fc1.weight.next"]
    bias = group_of(g, "fc1.bias.next")
    assert bias.kind == "reduce"
    assert bias.anchor == "fc1.bias.grad"


def test_views_and_constants_are_never_kernels():
    g = planned()
    in_kernels = {n for k in g.kernels for n in k.nodes}
    for node in g.nodes():
        if node.op in ("reshape", "const"):
            assert node.name not in in_kernels


def test_every_node_in_exactly_one_kernel_in_topological_order():
    g = planned("resnet_small.json")
    seen = []
    for k in g.kernels:
        seen.extend(k.nodes)
    assert len(seen) == len(set(seen))
    position = {n.name: i for i, n in enumerate(g.nodes())}
    for k in g.kernels:  # an epilogue reads only what exists when its kernel starts
        start = position[k.anchor]
        for name in k.nodes[1:]:
            for v in g.value(name).node.operands:
                if v.name not in k.nodes and v.node is not None and v.node.op != "const":
                    assert position.get(v.name, -1) < start or v.node.op == "reshape"


def test_fused_text_round_trips():
    g = planned()
    text = print_graph(g)
    assert "kernel @k1_conv1 contraction stores(" in text
    assert print_graph(parse(text)) == text


def test_memory_plan_beats_the_naive_sum_and_never_overlaps_live_values():
    g = planned(batch=64)
    plan = g.plan
    assert plan.scratch_bytes < plan.naive_bytes
    scratch = [a for a in plan.allocations.values() if a.region == "scratch"]
    for i, a in enumerate(scratch):
        for b in scratch[i + 1:]:
            overlap_time = a.start <= b.end and b.start <= a.end
            overlap_bytes = a.offset < b.offset + b.nbytes and b.offset < a.offset + a.nbytes
            assert not (overlap_time and overlap_bytes), (a, b)


def test_flatten_and_its_gradient_take_zero_bytes():
    g = planned()
    for name in ("flatten", "pool2.grad"):
        a = g.plan.allocations[name]
        assert a.region == "alias"
        assert a.nbytes == 0


def test_updates_are_in_place():
    g = planned(optimizer=compiler.SGD(lr=0.1, momentum=0.9))
    assert g.plan.copies == []
    for target, new in g.updates:
        assert g.plan.resolve(new.name) is g.plan.resolve(target.name)


def test_raw_contraction_result_shares_its_epilogue_output():
    g = planned(kind="forward")
    assert g.plan.resolve("conv1") is g.plan.resolve("relu1")


@pytest.mark.parametrize("after", ["fuse", "plan-memory"])
def test_cli_dump_after_codegen_passes(after):
    out = netc("dump", EXAMPLES / "lenet5.yaml", "--train", "--after", after, "--batch", "4")
    assert out.returncode == 0, out.stderr
    assert "kernel @k1_conv1" in out.stdout
    if after == "plan-memory":
        assert "# scratch peak" in out.stdout
        assert "naive sum" in out.stdout
