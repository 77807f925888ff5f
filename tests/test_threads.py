"""Networks compiled and called from several Python threads of one process.

LLVM's context is not thread-safe and the native thread pool serves one caller at a time, so
both are guarded by locks (runtime/jit/engine.py LLVM_LOCK, runtime/jit/pool.py NATIVE_LOCK).
Without them, two threads compiling crashed the process inside LLVM. Each scenario runs in a
child process, so a crash or a hang is a failure of this test, not of the whole suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = textwrap.dedent("""
    import threading
    import numpy as np
    import compiler

    EXAMPLES = {root!r} + "/examples/"

    def batch_for(graph, n, seed):
        rng = np.random.default_rng(seed)
        shape = graph.inputs_with_role("input")[0].type.shape[1:]
        return (rng.standard_normal((n, *shape)).astype(np.float32),
                rng.integers(0, 10, n).astype(np.int64))

    def run_threads(work, count):
        errors = []
        def guarded(i):
            try:
                work(i)
            except BaseException as err:  # reported by the parent
                errors.append(f"thread {{i}}: {{type(err).__name__}}: {{err}}")
        threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
""").format(root=str(ROOT))


def run_child(body: str, tmp_path: Path) -> str:
    env = {"NETC_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
           "NETC_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(body)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_threads_compiling_at_once_get_the_networks_one_thread_gets(tmp_path):
    out = run_child("""
        models = ["lenet5", "mlp", "lenet5", "resnet_small"]
        files = {"resnet_small": "resnet_small.json"}
        graphs = [compiler.load(EXAMPLES + files.get(m, m + ".yaml")) for m in models]
        results = {}

        def work(i):  # an empty cache: every thread parses and optimizes LLVM modules
            net = compiler.compile(graphs[i], batch=3, train=True, seed=i)
            x, y = batch_for(graphs[i], 3, i)
            results[i] = net.loss_and_grads(x, y)

        run_threads(work, len(models))
        for i, graph in enumerate(graphs):  # the same networks, one at a time
            net = compiler.compile(graph, batch=3, train=True, seed=i)
            loss, grads = net.loss_and_grads(*batch_for(graph, 3, i))
            assert loss == results[i][0], (models[i], loss, results[i][0])
            for name, g in grads.items():
                np.testing.assert_array_equal(g, results[i][1][name], err_msg=name)
        print("ok", len(models))
    """, tmp_path)
    assert out.strip() == "ok 4"


def test_threads_calling_networks_at_once_get_their_own_results(tmp_path):
    out = run_child("""
        lenet = compiler.load(EXAMPLES + "lenet5.yaml")
        mlp = compiler.load(EXAMPLES + "mlp.yaml")
        nets = [compiler.compile(lenet, batch=16), compiler.compile(mlp, batch=16)]
        inputs = {(k, s): batch_for(g, 16, s)[0] for k, g in enumerate((lenet, mlp))
                  for s in range(4)}
        expected = {key: nets[key[0]].forward(x) for key, x in inputs.items()}

        def work(i):  # threads share networks, in different orders, many calls each
            for rep in range(40):
                key = ((i + rep) % 2, (i * 3 + rep) % 4)
                out = nets[key[0]].forward(inputs[key])
                np.testing.assert_array_equal(out, expected[key], err_msg=f"{key} call {rep}")

        run_threads(work, 4)
        print("ok", len(expected))
    """, tmp_path)
    assert out.strip() == "ok 8"
