"""Issue 17, class 3: native code reads only memory netc owns once an array is checked.

Labels were range-checked in the caller's own int64 buffer, which then went to the native
cross-entropy kernel; the kernel runs without the GIL, so a second Python thread that wrote a
bad label after the check made it read far out of bounds (SIGBUS, every time). Network now
checks a copy it owns (runtime/network.py owned_copy). Each test races a writer thread that
keeps flipping the caller's arrays between valid and hostile values against calls of one entry
point (forward, loss_and_grads, train_step, each positionally and by name, and the ONNX
backend's program), in a child process: a crash is a failed test, not a dead suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = textwrap.dedent("""
    import sys, threading
    import numpy as np
    import compiler
    from ir.errors import RuntimeInputError

    sys.setswitchinterval(1e-6)  # hand the GIL over as often as possible: widen every window
    graph = compiler.load({root!r} + "/examples/mlp.yaml")
    BATCH = 64
    shape = (BATCH, *graph.inputs_with_role("input")[0].type.shape[1:])
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    labels = rng.integers(0, 10, BATCH).astype(np.int64)
    HOSTILE = [np.int64(1) << 40, np.int64(-(1 << 40)), np.int64(10), np.int64(-1)]

    def race(call, arrays, rounds=200):
        '''call() again and again while a writer flips `arrays` between their valid values and
        hostile ones; returns (calls that ran, calls refused with RuntimeInputError).'''
        valid = [a.copy() for a in arrays]
        stop = threading.Event()

        def writer():  # each hostile value lives briefly: most calls see valid arrays
            i = 0
            while not stop.is_set():
                for a, v in zip(arrays, valid):
                    j = i % a.size
                    a.flat[j] = HOSTILE[i % len(HOSTILE)] if a.dtype == np.int64 else np.nan
                    a.flat[j] = v.flat[j]
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        ran = refused = 0
        try:
            for _ in range(rounds):
                try:
                    call()
                    ran += 1
                except RuntimeInputError as err:
                    assert "outside the 10 classes" in str(err), err
                    refused += 1
        finally:
            stop.set()
            thread.join()
        return ran, refused
""").format(root=str(ROOT))

ENTRIES = {
    "forward": "net.forward(x)",
    "loss_and_grads": "net.loss_and_grads(x, labels)",
    "train_step": "net.train_step(x, labels)",
    "train_step_by_name": "net.train_step({'image': x, 'labels': labels})",
    "loss_and_grads_by_name": "net.loss_and_grads({'image': x, 'labels': labels})",
}


def run_child(body: str, tmp_path: Path) -> str:
    env = {"NETC_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
           "NETC_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (f"exit {proc.returncode} (a negative exit is the signal that "
                                  f"killed the child)\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return proc.stdout


def test_the_input_name_of_the_race_model_is_image():
    import compiler

    graph = compiler.load(ROOT / "examples" / "mlp.yaml")
    assert [v.name for v in graph.inputs_with_role("input")] == ["image"]
    assert [v.name for v in graph.inputs_with_role("label")] == ["labels"]


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_a_writer_thread_cannot_change_what_native_code_reads(tmp_path, entry):
    out = run_child(f"""
        net = compiler.compile(graph, batch=BATCH, train=True)
        ran, refused = race(lambda: {ENTRIES[entry]}, [x, labels])
        assert ran + refused == 200
        print("ok", ran > 0)
    """, tmp_path)
    assert out.split() == ["ok", "True"]


def test_labels_are_checked_in_a_copy_the_caller_cannot_reach(tmp_path):
    """Without a thread: what the kernel reads is a copy, taken before the check."""
    out = run_child("""
        from runtime.network import owned_copy
        net = compiler.compile(graph, batch=BATCH, train=True)
        checked = net._check_labels("labels", labels, net._labels[0].type)
        assert not np.shares_memory(checked, labels)
        labels[0] = 1 << 40
        assert checked[0] != labels[0]
        shared = owned_copy(labels)
        assert not np.shares_memory(shared, labels) and shared.flags.c_contiguous
        print("ok")
    """, tmp_path)
    assert out.strip() == "ok"


def test_a_writer_thread_against_the_onnx_backend_program(tmp_path):
    out = run_child("""
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        from compiler.onnx_backend import NetcBackend

        w = numpy_helper.from_array(rng.standard_normal((256, 256)).astype(np.float32), "w")
        nodes = [helper.make_node("MatMul", ["a", "w"], ["h"]),
                 helper.make_node("Relu", ["h"], ["y"])]
        g = helper.make_graph(nodes, "race",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [64, 256])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 256])],
                              initializer=[w])
        rep = NetcBackend.prepare(helper.make_model(g, opset_imports=[
            helper.make_opsetid("", 17)]))
        a = rng.standard_normal((64, 256)).astype(np.float32)
        ran, refused = race(lambda: rep.run([a]), [a])
        assert (ran, refused) == (200, 0)
        print("ok")
    """, tmp_path)
    assert out.strip() == "ok"
