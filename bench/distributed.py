"""Data-parallel training speed: images/s at 1 and 2 ranks, allreduce time, a scaling estimate.

    .venv/bin/python -m bench.distributed [--rounds 3] [--steps 30] [--gbits 10]

Where it sits: beside the main harness (bench/__main__.py), for the MPI step of
runtime/distributed/ (issue 15). For the lenet (batch 64) and cifar (batch 32) training steps
it runs, in interleaved rounds of fresh processes:

    1 rank    one process, NETC_THREADS=1, the fused single-process step at batch B
    2 ranks   `mpirun -np 2`, NETC_THREADS=1 each, batch B per rank (global 2B): the
              data-parallel step (backward, allreduce of one buffer, apply)
    2 threads one process, NETC_THREADS=2, the fused step at batch 2B (the same global batch)

and prints the medians: images/s, the step time, the allreduce's share and the gradient bytes
per step. The estimate for 8 and 64 machines assumes a ring allreduce over a link of --gbits
(2 (N-1)/N x bytes each way, plus 2 (N-1) latencies of --latency-us) added to the 1-thread
compute time of one step, with no overlap.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"lenet": ("examples/lenet5.yaml", 64), "cifar": ("examples/cifar_cnn.yaml", 32)}
CONFIGS = ("1 rank", "2 ranks", "2 threads")


def worker(model: str, batch: int, steps: int) -> None:
    """One process (or rank) of a measurement: compile, warm up, time `steps` steps; rank 0
    prints one JSON line."""
    import numpy as np

    import compiler
    from runtime.distributed.comm import world

    comm = world()
    path, _ = MODELS[model]
    graph = compiler.load(ROOT / path)
    net = compiler.compile(graph, batch=batch, train=True,
                           distributed=comm if comm.size > 1 else None)
    shape = tuple(int(d) for d in graph.inputs[0].type.shape[1:])
    rng = np.random.default_rng(comm.rank)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    for _ in range(3):
        net.train_step(x, y)
    reduced = getattr(net, "allreduce_seconds", 0.0)
    start = time.perf_counter()
    for _ in range(steps):
        net.train_step(x, y)
    seconds = (time.perf_counter() - start) / steps
    allreduce = (getattr(net, "allreduce_seconds", 0.0) - reduced) / steps
    buffer = getattr(net, "buffer", None)
    if comm.rank == 0:
        print(json.dumps({"step_s": seconds, "allreduce_s": allreduce,
                          "bytes": buffer.nbytes if buffer is not None else 0,
                          "images": batch * comm.size}), flush=True)


def measure(model: str, config: str, steps: int) -> dict[str, float]:
    """One fresh process (or mpirun job) of `config`."""
    _, batch = MODELS[model]
    env = {**os.environ, "NETC_THREADS": "2" if config == "2 threads" else "1",
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    command = [sys.executable, "-m", "bench.distributed", "--worker", model,
               str(batch * 2 if config == "2 threads" else batch), str(steps)]
    if config == "2 ranks":
        command = [shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np", "2", *command]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def ring_seconds(nbytes: int, machines: int, gbits: float, latency_us: float) -> float:
    """A ring allreduce of `nbytes` over `machines`: 2 (N-1)/N of the bytes cross each link,
    in 2 (N-1) latency-bound steps."""
    if machines == 1:
        return 0.0
    return (2 * (machines - 1) / machines * nbytes * 8 / (gbits * 1e9)
            + 2 * (machines - 1) * latency_us * 1e-6)


def report(runs: dict[tuple[str, str], list[dict[str, float]]], gbits: float,
           latency_us: float) -> str:
    lines = ["| model | run | global batch | step ms | images/s | allreduce ms/step | "
             "grad bytes/step |", "|---|---|---:|---:|---:|---:|---:|"]
    for (model, config), samples in runs.items():
        step = statistics.median(s["step_s"] for s in samples)
        reduce = statistics.median(s["allreduce_s"] for s in samples)
        images = samples[0]["images"]
        lines.append(f"| {model} | {config} | {images:g} | {step * 1e3:.2f} | "
                     f"{images / step:,.0f} | {reduce * 1e3:.3f} | {samples[0]['bytes']:,.0f} |")
    lines += ["", f"Estimate, {gbits:g} Gbit/s links, {latency_us:g} us latency, ring allreduce, "
              "no overlap, each machine one 1-thread rank at the measured compute time:", "",
              "| model | bytes/step | machines | allreduce ms | step ms | images/s | efficiency |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for model, (_, batch) in MODELS.items():
        nbytes = int(runs[(model, "2 ranks")][0]["bytes"])
        compute = statistics.median(s["step_s"] for s in runs[(model, "1 rank")])
        for machines in (1, 8, 64):
            ring = ring_seconds(nbytes, machines, gbits, latency_us)
            rate = machines * batch / (compute + ring)
            lines.append(f"| {model} | {nbytes:,} | {machines} | {ring * 1e3:.3f} | "
                         f"{(compute + ring) * 1e3:.2f} | {rate:,.0f} | "
                         f"{compute / (compute + ring):.0%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--gbits", type=float, default=10.0, help="link bandwidth (Gbit/s)")
    parser.add_argument("--latency-us", type=float, default=20.0)
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "BATCH", "STEPS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    runs: dict[tuple[str, str], list[dict[str, float]]] = {
        (m, c): [] for m in MODELS for c in CONFIGS}
    for _ in range(args.rounds):  # interleaved: every config once per round
        for model in MODELS:
            for config in CONFIGS:
                runs[(model, config)].append(measure(model, config, args.steps))
    print(report(runs, args.gbits, args.latency_us))


if __name__ == "__main__":
    main()
