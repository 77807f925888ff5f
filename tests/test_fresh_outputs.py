"""Results written straight into caller-owned arrays: plan-memory's output region and the
per-call output block (runtime/jit/call.py).

The kernels write a call's outputs and loss into a block allocated for that call, handed back
as views of it, so nothing is copied out of the arena. These tests pin what the copy used to
guarantee: a returned array is never overwritten by a later call; a result that is (a view of)
an input, a repeated result, or a view of another result is still an array of its own; a
result that a later kernel of the same call reads is correct; guard mode guards the block.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

import compiler
from compiler.driver.jit import compile_graph, plan
from ir.graph import Graph
from ir.types import TensorType
from runtime.guard import BufferOverrun
from runtime.jit.call import COPY_BELOW

GUARD = 128


def several_results() -> Graph:
    """Results of every kind at once: a kernel's result that a later kernel reads (h), a view
    of it (flat), h again, an input viewed (x_flat) and a plain result (y)."""
    g = Graph("several")
    x = g.add_input("x", TensorType("f32", (4, 6)), "input")
    h = g.add_op("relu", [x], {}, "h")
    y = g.add_op("exp", [h], {}, "y")
    flat = g.add_op("reshape", [h], {"shape": [24]}, "flat")
    x_flat = g.add_op("reshape", [x], {"shape": [24]}, "x_flat")
    g.outputs = [h, y, flat, h, x_flat]
    return g


def feeds() -> dict[str, np.ndarray]:
    return {"x": np.linspace(-2.0, 2.0, 24, dtype=np.float32).reshape(4, 6)}


def test_results_are_planned_in_the_output_region_only_when_asked():
    """The JIT's plan puts h and y in the output region (flat, a view, shares h's bytes); the
    bundles' plan (outputs=False) keeps them in scratch."""
    memory = plan(several_results(), {}).plan
    assert {a.value for a in memory.allocations.values() if a.region == "output"} == {"h", "y"}
    assert memory.resolve("flat").region == "output"
    assert memory.resolve("x_flat").region == "input"
    assert memory.output_bytes >= 2 * 96
    bundle = plan(several_results(), {}, outputs=False).plan
    assert not [a for a in bundle.allocations.values() if a.region == "output"]
    assert bundle.output_bytes == 0


def test_every_result_is_its_own_array_and_correct():
    program = compile_graph(several_results())
    x = feeds()["x"]
    (h, y, flat, h_again, x_flat), _ = program(feeds())
    want_h = np.maximum(x, 0)
    np.testing.assert_array_equal(h, want_h)
    np.testing.assert_allclose(y, np.exp(want_h), rtol=1e-6)
    np.testing.assert_array_equal(flat, want_h.ravel())
    np.testing.assert_array_equal(h_again, want_h)
    np.testing.assert_array_equal(x_flat, x.ravel())
    arrays = [h, y, flat, h_again, x_flat, x]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1:]:
            assert not np.shares_memory(a, b)


def test_a_returned_output_survives_later_calls():
    program = compile_graph(several_results())
    first, _ = program(feeds())
    kept = [a.copy() for a in first]
    for scale in (3.0, -1.0):
        program({"x": feeds()["x"] * np.float32(scale)})
    for got, want in zip(first, kept, strict=True):
        np.testing.assert_array_equal(got, want)


def spy_on_output_block(net, entry: str) -> list[int]:
    """Records, for each native call of `entry`, the address of its output block."""
    prepared = net._entries[entry]
    fn, slot = prepared.fn, 3 + len(prepared.compiled.externals)
    seen: list[int] = []

    def call(argv):
        seen.append(int(argv[slot]))
        fn(argv)

    prepared.fn = call
    return seen


def forward_net(tmp_path, units: int = 10):
    """A one-layer dense network at batch 128 (its output 128 x `units` floats) and an input."""
    path = tmp_path / "dense.yaml"
    path.write_text(f"name: d\ninput: {{name: x, shape: [64]}}\nlayers:\n"
                    f"  - dense: {{name: fc, units: {units}}}\n  - relu\n")
    net = compiler.compile(compiler.load(path), batch=128)
    return net, np.random.default_rng(0).standard_normal((128, 64)).astype(np.float32)


def test_forward_returns_the_block_the_kernels_wrote_not_a_copy(tmp_path):
    """A large result handed back is the bytes the kernels wrote: it lies in that call's
    output block; two calls get two blocks, and the first result keeps its values."""
    net, x = forward_net(tmp_path, units=256)
    assert COPY_BELOW <= 128 * 256 * 4
    first = net.forward(x)
    kept = first.copy()
    blocks = spy_on_output_block(net, "forward")
    second = net.forward(x * 2)
    third = net.forward(x)
    size = net._entries["forward"].compiled.output_bytes
    assert len(blocks) == 2
    assert blocks[0] != blocks[1]
    assert blocks[0] <= second.ctypes.data < blocks[0] + size
    assert blocks[1] <= third.ctypes.data < blocks[1] + size
    assert third.ctypes.data % 64 == 0
    assert not np.shares_memory(second, third)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(third, kept)


def test_small_results_are_copied_out_of_a_block_the_entry_reuses(tmp_path):
    """Below COPY_BELOW a fresh block costs more than a copy: the kernels write into one
    block every call reuses, and the results handed back are copies that later calls leave
    alone."""
    net, x = forward_net(tmp_path)
    first = net.forward(x)
    kept = first.copy()
    blocks = spy_on_output_block(net, "forward")
    second = net.forward(x * 2)
    net.forward(x)
    assert blocks[0] == blocks[1]
    size = net._entries["forward"].compiled.output_bytes  # the block's own bytes: a copy may
    assert size < COPY_BELOW  # lie anywhere past them, even within COPY_BELOW of its start
    assert not blocks[0] <= second.ctypes.data < blocks[0] + size
    np.testing.assert_array_equal(first, kept)


@pytest.fixture(params=[10, 256], ids=["reused-block", "fresh-block"])
def guarded_net(request, monkeypatch, tmp_path):
    monkeypatch.setenv("NETC_GUARD", str(GUARD))
    net, x = forward_net(tmp_path, units=request.param)
    net.enable_guards(lambda entry: plan(net.graphs.get(entry), net.compiler.layout).plan)
    net.forward(x)  # compiled and clean
    return net, x


def test_guard_mode_catches_a_write_past_an_output(guarded_net):
    net, x = guarded_net
    compiled = net._entries["forward"].compiled
    start, end, name = compiled.output_values[-1]
    assert start >= GUARD
    assert compiled.output_bytes >= end + GUARD
    prepared = net._entries["forward"]
    fn, slot = prepared.fn, 3 + len(compiled.externals)

    def overrun(argv):
        fn(argv)
        ctypes.memset(argv[slot] + end + 5, 0, 1)

    prepared.fn = overrun
    with pytest.raises(BufferOverrun, match=rf"output block bytes {end + 5}\.\.{end + 5} .* "
                                            rf"after {name}"):
        net.forward(x)


def test_guard_mode_poisons_the_outputs_before_the_kernels_write_them(guarded_net):
    """A kernel that left part of an output unwritten would hand back NaN, not stale bytes."""
    net, x = guarded_net
    compiled = net._entries["forward"].compiled
    start, end, _ = compiled.output_values[0]
    prepared = net._entries["forward"]
    fn, slot = prepared.fn, 3 + len(compiled.externals)
    seen = {}

    def peek(argv):
        block = ctypes.cast(argv[slot], ctypes.POINTER(ctypes.c_uint8))
        seen["block"] = np.ctypeslib.as_array(block, shape=(end,)).copy()
        fn(argv)

    prepared.fn = peek
    assert np.isfinite(net.forward(x)).all()
    assert (seen["block"][start:end] == 0xFF).all()
    assert (seen["block"][:start] != 0xFF).any()  # the canaries before it
