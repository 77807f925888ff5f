"""Native memory safety: generated code never reads or writes outside its buffers.

Guard mode (NETC_GUARD=<bytes>, runtime/guard.py): plan-memory gives every scratch value bytes
of its own between guards and leaves guards before every parameter and state slot; the runtime
guards the end of the arena and of the persistent region and copies each input between guards.
Before each call the guards get canaries and scratch values NaN poison; after it any changed
guard byte raises BufferOverrun. A lenet5 training step and convolutions with odd shapes
(stride 3, padding 0, sizes that are no multiple of the vector width, batch 3) run in guard mode
against the reference interpreter; and the guards are shown to catch writes they must catch.
The README's "Robustness" section has the valgrind recipe for the same programs.
"""

from __future__ import annotations

import copy
import ctypes

import numpy as np
import pytest

import compiler
from compiler.driver.jit import plan
from ir.errors import CompileError
from ir.memory import guard_bytes
from runtime.guard import BufferOverrun
from tests.conftest import EXAMPLES
from tests.synthetic import BATCH, batch_for, odd_convolutions

GUARD = 256


@pytest.fixture
def guarded(monkeypatch):
    """compile(...) in guard mode, every entry's memory plan handed to the runtime."""
    monkeypatch.setenv("NETC_GUARD", str(GUARD))

    def build(graph, dtype="f32", optimizer=None):
        net = compiler.compile(graph, batch=BATCH, train=True, dtype=dtype, optimizer=optimizer)
        net.enable_guards(lambda entry: plan(net.graphs.get(entry), net.compiler.layout).plan)
        return net

    return build


def reference_twin(graph, net, dtype="f32", optimizer=None):
    ref = compiler.compile(graph, batch=BATCH, train=True, backend="reference", dtype=dtype,
                           optimizer=optimizer)
    for name in ref.params:
        net.params[name] = ref.params[name]
    return ref


def run_all_entries(graph, net, ref, dtype=np.float32, steps=2):
    """forward, loss_and_grads and train steps, each checked against the reference (and, in
    guard mode, each call checks every guard)."""
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-9, "atol": 1e-12}
    x, y = batch_for(graph, 0, dtype)
    np.testing.assert_allclose(net.forward(x), ref.forward(x), **tol)
    loss, grads = net.loss_and_grads(x, y)
    want_loss, want = ref.loss_and_grads(x, y)
    assert loss == pytest.approx(want_loss, rel=tol["rtol"])
    for name in want:
        scale = max(float(np.abs(want[name]).max()), 1e-3)
        np.testing.assert_allclose(grads[name] / scale, want[name] / scale, atol=10 * tol["rtol"],
                                   err_msg=name)
    for step in range(steps):
        x, y = batch_for(graph, step + 1, dtype)
        assert net.train_step(x, y) == pytest.approx(ref.train_step(x, y), rel=10 * tol["rtol"])


def assert_scratch_is_guarded(net, entry):
    """Every scratch value has bytes of its own with GUARD free bytes on both sides."""
    memory = plan(net.graphs.get(entry), net.compiler.layout).plan
    spans = sorted((a.offset, a.offset + a.nbytes) for a in memory.allocations.values()
                   if a.region == "scratch")
    assert spans
    assert spans[0][0] >= GUARD
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start - end >= GUARD


def test_lenet5_training_stays_inside_its_buffers(guarded):
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    net = guarded(graph)
    ref = reference_twin(graph, net)
    run_all_entries(graph, net, ref)
    for entry in ("forward", "grads", "train"):
        assert_scratch_is_guarded(net, entry)


def test_lenet5_adam_float64_stays_inside_its_buffers(guarded):
    """Optimizer state (Adam moments, the step) and float64 kernels behind guards too."""
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    net = guarded(graph, dtype="f64", optimizer=compiler.Adam(lr=1e-3))
    ref = reference_twin(graph, net, dtype="f64", optimizer=compiler.Adam(lr=1e-3))
    run_all_entries(graph, net, ref, dtype=np.float64, steps=1)


@pytest.mark.parametrize(("groups", "dilation"), [(1, 1), (1, 2), (3, 1)])
def test_odd_convolutions_stay_inside_their_buffers(guarded, groups, dilation):
    graph = odd_convolutions(groups, dilation)
    net = guarded(graph)
    ref = reference_twin(graph, net)
    run_all_entries(graph, net, ref)
    assert_scratch_is_guarded(net, "train")


# ---------------------------------------------------------------- the guards catch writes

@pytest.fixture
def small(guarded):
    graph = odd_convolutions()
    net = guarded(graph)
    x, y = batch_for(graph, 0)
    net.forward(x)  # compiled and clean
    return net, x, y


def wrap_native(net, entry, after):
    """Runs `after(args)` right after the native call of `entry`, inside the guarded call."""
    prepared = net._entries[entry]
    fn = prepared.fn

    def call(argv):
        fn(argv)
        after(argv)

    prepared.fn = call


def test_guards_catch_a_scratch_value_written_past_its_end(small):
    """Told that one scratch value is 4 bytes shorter, the guards see the kernel write them."""
    net, x, _ = small
    memory = copy.deepcopy(plan(net.graphs.get("forward"), net.compiler.layout).plan)
    victim = max((a for a in memory.allocations.values() if a.region == "scratch"),
                 key=lambda a: a.nbytes)
    victim.nbytes -= 4
    net.enable_guards(lambda entry: memory)
    with pytest.raises(BufferOverrun, match=rf"arena bytes .* the guard after %{victim.value}"):
        net.forward(x)


def test_guards_catch_a_write_past_a_parameter(small):
    net, x, _ = small
    end = net.compiler.layout["conv2.bias"] + net.params["conv2.bias"].nbytes
    wrap_native(net, "forward", lambda argv: ctypes.memset(argv[2] + end + 3, 0, 1))
    with pytest.raises(BufferOverrun, match=r"persistent region bytes .* after %conv2.bias"):
        net.forward(x)


def test_guards_catch_a_write_before_an_input(small):
    net, x, _ = small
    wrap_native(net, "forward", lambda argv: ctypes.memset(argv[3] - 1, 0, 1))
    with pytest.raises(BufferOverrun, match=r"input 'x' bytes .* the guard after the start"):
        net.forward(x)


def test_guards_catch_a_write_past_the_arena(small):
    net, x, y = small
    net.loss_and_grads(x, y)
    compiled = net._entries["grads"].compiled
    wrap_native(net, "grads", lambda argv: ctypes.memset(argv[0] + compiled.arena_bytes, 0, 1))
    with pytest.raises(BufferOverrun, match="arena bytes"):
        net.loss_and_grads(x, y)


def test_scratch_holds_poison_and_guards_hold_canaries_before_a_call(small):
    """A kernel that read scratch it had not written would see NaN (and turn the logits into
    NaN); a guard holds the canary pattern."""
    net, x, _ = small
    memory = plan(net.graphs.get("forward"), net.compiler.layout).plan
    first = min((a for a in memory.allocations.values() if a.region == "scratch"),
                key=lambda a: a.offset)
    seen = {}

    def peek(argv):
        arena = ctypes.cast(argv[0], ctypes.POINTER(ctypes.c_uint8))
        seen["arena"] = np.ctypeslib.as_array(arena, shape=(first.offset + first.nbytes,)).copy()

    prepared = net._entries["forward"]
    fn = prepared.fn

    def call(argv):
        peek(argv)
        fn(argv)

    prepared.fn = call
    assert np.isfinite(net.forward(x)).all()
    assert first.offset >= GUARD
    pattern = np.resize(np.frombuffer(b"\xde\xad\xbe\xef\x0b\xad\xf0\x0d", np.uint8), GUARD)
    np.testing.assert_array_equal(seen["arena"][:GUARD], pattern)
    assert (seen["arena"][first.offset:] == 0xFF).all()
    assert np.isnan(seen["arena"][first.offset:].view(np.float32)).all()


# ---------------------------------------------------------------- programs (IR files, ONNX)

def forward_program(graph):
    """The forward graph at batch BATCH as a GraphProgram (what the ONNX backend runs), with
    its feeds: the reference network's parameters and an input."""
    from compiler.driver.jit import compile_graph
    from compiler.driver.pipelines import lower
    from compiler.passes import PassContext

    forward = lower(graph, "forward", PassContext(batch=BATCH))
    ref = compiler.compile(graph, batch=BATCH, backend="reference")
    x, _ = batch_for(graph, 1)
    name = graph.inputs_with_role("input")[0].name
    return compile_graph(forward), {name: x, **ref.params}, ref.forward(x)


def test_programs_run_inside_their_buffers(monkeypatch):
    monkeypatch.setenv("NETC_GUARD", str(GUARD))
    program, feeds, expected = forward_program(odd_convolutions(3, 2))
    assert program.guard == GUARD
    outs, _ = program(feeds)
    np.testing.assert_allclose(outs[0], expected, rtol=1e-4, atol=1e-5)


def test_program_guards_catch_a_scratch_value_written_past_its_end(monkeypatch):
    monkeypatch.setenv("NETC_GUARD", str(GUARD))
    program, feeds, _ = forward_program(odd_convolutions())
    program(feeds)  # clean
    victim = max((a for a in program.planned.plan.allocations.values()
                  if a.region == "scratch"), key=lambda a: a.nbytes)
    victim.nbytes -= 4
    with pytest.raises(BufferOverrun, match=rf"program .* arena bytes .* after %{victim.value}"):
        program(feeds)


def test_one_guard_size_rule_for_the_planner_and_the_runtime(monkeypatch):
    """NETC_GUARD rounds up to whole 64-byte lines, and a value that is not a number stops the
    compile with a clear error instead of silently running unguarded."""
    monkeypatch.setenv("NETC_GUARD", "100")
    assert guard_bytes() == 128
    graph = odd_convolutions()
    net = compiler.compile(graph, batch=BATCH)
    assert net.compiler.layout["conv1.weight"] == 128  # plan-memory's guard before the slot
    assert np.isfinite(net.forward(batch_for(graph, 0)[0])).all()  # the runtime's guards hold
    monkeypatch.setenv("NETC_GUARD", "lots")
    with pytest.raises(CompileError, match="NETC_GUARD must be a number of bytes, got 'lots'"):
        compiler.compile(odd_convolutions(), batch=BATCH)
