"""The program of the README's valgrind recipe (not a pytest module): a lenet5 training step and
convolutions with odd shapes, JIT-compiled and checked against the reference interpreter.

    PYTHONMALLOC=malloc valgrind --tool=memcheck --smc-check=all-non-file --error-exitcode=99 \\
        --leak-check=no .venv/bin/python tests/valgrind_step.py

Prints "valgrind step: ok" when every result matches the reference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import compiler  # noqa: E402
from tests.synthetic import BATCH, batch_for, odd_convolutions  # noqa: E402


def check(graph) -> None:
    net = compiler.compile(graph, batch=BATCH, train=True)
    ref = compiler.compile(graph, batch=BATCH, train=True, backend="reference")
    for name in ref.params:
        net.params[name] = ref.params[name]
    x, y = batch_for(graph, 0)
    np.testing.assert_allclose(net.forward(x), ref.forward(x), rtol=1e-4, atol=1e-5)
    loss, grads = net.loss_and_grads(x, y)
    want_loss, want = ref.loss_and_grads(x, y)
    assert abs(loss - want_loss) <= 1e-4 * abs(want_loss), (loss, want_loss)
    for name, g in want.items():
        scale = max(float(np.abs(g).max()), 1e-3)
        np.testing.assert_allclose(grads[name] / scale, g / scale, atol=1e-3, err_msg=name)
    a, b = net.train_step(x, y), ref.train_step(x, y)
    assert abs(a - b) <= 1e-4 * abs(b), (a, b)


if __name__ == "__main__":
    check(compiler.load(Path(__file__).resolve().parent.parent / "examples" / "lenet5.yaml"))
    check(odd_convolutions())
    check(odd_convolutions(groups=3))
    print("valgrind step: ok")
