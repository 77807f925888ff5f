"""``python -m bench --only bundle``: the latency of a bundle called from C beside the JIT
called from Python, at batch 1, for LeNet-5 and the CIFAR-style network.

What it answers: how much of a small network's latency is the per-call Python overhead (array
checks, ctypes, result copies). Each model is built once (`netc build`, host target) and a tiny
C timing driver is compiled against it; then, in rounds, fresh processes alternate: the C
driver timing the bundle, Python timing the same bundle through compiler.load_bundle, Python
timing the JIT (compiler.compile). Each process reports the median of its timed calls; the
table gives the median over rounds. Every process uses the same threads (NETC_THREADS if set).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.runner import machine_info
from bench.workloads import NETC_MODEL_FILES

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("lenet", "cifar")
WARMUP, ITERS = 50, 1000
KINDS = ("C -> bundle", "Python -> bundle", "Python -> JIT")

DRIVER = r"""/* timing driver: median latency of NAME_forward at batch 1, in microseconds */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "NAME.h"

static float input[UPPER_IMAGE_SIZE], output[UPPER_OUTPUT_SIZE];

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int warmup = atoi(argv[2]), iters = atoi(argv[3]);
    NAME_net *net;
    if (NAME_create(argv[1], &net)) {
        fprintf(stderr, "%s\n", NAME_last_error());
        return 1;
    }
    for (int i = 0; i < UPPER_IMAGE_SIZE; i++)
        input[i] = (float)((i * 7919) % 255) / 255.0f;
    double *times = malloc(sizeof(double) * (size_t)iters);
    for (int i = 0; i < warmup + iters; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        NAME_forward(net, input, output);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (i >= warmup)
            times[i - warmup] = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3;
    }
    qsort(times, (size_t)iters, sizeof(double), compare);
    printf("%.3f\n", times[iters / 2]);
    NAME_destroy(net);
    return 0;
}
"""

PYTHON = r"""
import statistics, sys, time
import numpy as np
import compiler
kind, model, folder, warmup, iters = sys.argv[1:6]
if kind == "bundle":
    net = compiler.load_bundle(folder)
else:
    net = compiler.compile(compiler.load(model), batch=1)
shape = net.graphs.forward.inputs_with_role("input")[0].type.shape
x = np.random.default_rng(0).random(tuple(int(d) for d in shape), dtype=np.float32)
times = []
for i in range(int(warmup) + int(iters)):
    t = time.perf_counter()
    net.forward(x)
    times.append(time.perf_counter() - t)
print(f"{statistics.median(times[int(warmup):]) * 1e6:.3f}")
"""


def build(model: str, folder: Path) -> tuple[Path, Path]:
    """The bundle of `model` in `folder` and its timing driver."""
    from compiler.bundle import build_bundle
    from compiler.bundle.link import compile_program
    from compiler.frontend import load

    spec = build_bundle(load(ROOT / NETC_MODEL_FILES[model]), folder, batch=1)
    source = folder / "timing.c"
    source.write_text(DRIVER.replace("UPPER", spec.name.upper()).replace("NAME", spec.name))
    driver = folder / "timing"
    compile_program(source, folder, spec.name, driver)
    return folder / f"{spec.name}.weights", driver


def measure(kind: str, model: str, folder: Path, weights: Path, driver: Path) -> float:
    """One fresh process's median latency in microseconds."""
    if kind == KINDS[0]:
        command = [str(driver), str(weights), str(WARMUP), str(ITERS)]
    else:
        which = "bundle" if kind == KINDS[1] else "jit"
        command = [sys.executable, "-c", PYTHON, which, str(ROOT / NETC_MODEL_FILES[model]),
                   str(folder), str(WARMUP), str(ITERS)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT,
                          timeout=600)
    return float(done.stdout.strip().splitlines()[-1])


def run(rounds: int) -> dict[str, dict[str, list[float]]]:
    """{model: {kind: [median per round]}}, the kinds interleaved within every round."""
    results: dict[str, dict[str, list[float]]] = {m: {k: [] for k in KINDS} for m in MODELS}
    with tempfile.TemporaryDirectory(prefix="netc-bench-bundle-") as tmp:
        built = {m: build(m, Path(tmp) / m) for m in MODELS}
        for _ in range(rounds):
            for model in MODELS:
                for kind in KINDS:
                    weights, driver = built[model]
                    results[model][kind].append(
                        measure(kind, model, Path(tmp) / model, weights, driver))
    return results


def table(results: dict[str, dict[str, list[float]]], rounds: int) -> str:
    info = machine_info()
    lines = [f"Machine: {info.get('cpu', '?')} ({info.get('cpu_family_model', '?')}), "
             f"{info.get('nproc')} CPUs, {', '.join(info.get('simd', []))}; {rounds} rounds, "
             f"{ITERS} timed calls per process; medians in microseconds.", "",
             "| model, batch 1 | C -> bundle | Python -> bundle | Python -> JIT | "
             "Python overhead per call (JIT - C) |", "|---|---|---|---|---|"]
    for model, by_kind in results.items():
        c, pb, pj = (statistics.median(by_kind[k]) for k in KINDS)
        lines.append(f"| {model} | {c:.1f} | {pb:.1f} | {pj:.1f} | {pj - c:.1f} "
                     f"({(pj - c) / pj:.0%} of the JIT's latency) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bundle_latency", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    print(table(run(args.rounds), args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
