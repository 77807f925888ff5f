"""Data-parallel training speed: images/s at 1 and 2 ranks, with and without the allreduce
overlapped with backward, allreduce time hidden and not, and a scaling estimate.

    .venv/bin/python -m bench.distributed [--rounds 3] [--steps 30] [--gbits 10] [--bucket-kb K]

Where it sits: beside the main harness (bench/__main__.py), for the MPI step of
runtime/distributed/ (issue 15). For the lenet (batch 64) and cifar (batch 32) training steps
it runs, in interleaved rounds of fresh processes (NETC_THREADS=1 unless said):

    1 rank            one process, the fused single-process step at batch B
    1 rank split      one process, the data-parallel step over a world of one (backward,
                      buffer, apply), the whole buffer after backward
    1 rank overlap    the same, backward in segments, buckets of --bucket-kb on the reducer
                      thread (no communication: what the split and the thread cost)
    2 ranks           `mpirun -np 2`, batch B per rank (global 2B), one Allreduce after backward
    2 ranks overlap   the same, each bucket all-reduced while the rest of backward runs
    2 threads         one process, NETC_THREADS=2, the fused step at batch 2B

and prints the medians: images/s, the step time, the allreduce time per step (on the reducer
thread when overlapped, copies into the buffer included), the part of it the step waited for
(not hidden), the hidden fraction, the gradient bytes and the buckets.

The estimate for 8 and 64 machines (one 1-thread rank each) assumes a ring allreduce over a
link of --gbits (2 (N-1)/N x bytes each way, plus 2 (N-1) latencies of --latency-us per
Allreduce call). Without overlap a step is the 1-rank fused step plus the ring of all the
bytes. With overlap it is replayed from the "1 rank overlap" run's measured segment times:
after segment k the buckets it completed go onto the link in order (one at a time, each
starting when both it and the link are ready), and the step ends when both backward and the
last bucket are done, plus the measured rest of the step (apply, copies); that step's ratio
to the same replay on one machine scales the 1-rank fused compute time.
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
from typing import Any

from runtime.distributed.step import DEFAULT_BUCKET_BYTES

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"lenet": ("examples/lenet5.yaml", 64), "cifar": ("examples/cifar_cnn.yaml", 32)}
CONFIGS = ("1 rank", "1 rank split", "1 rank overlap", "2 ranks", "2 ranks overlap",
           "2 threads")


def worker(model: str, batch: int, steps: int, bucket: int) -> None:
    """One process (or rank) of a measurement: compile, warm up, time `steps` steps; rank 0
    prints one JSON line. bucket < 0: the fused step; 0: the data-parallel step reducing the
    whole buffer after backward; else buckets of that many bytes, overlapped."""
    import numpy as np

    import compiler
    from runtime.distributed.comm import world

    comm = world()
    path, _ = MODELS[model]
    graph = compiler.load(ROOT / path)
    net: Any = compiler.compile(graph, batch=batch, train=True,
                                distributed=comm if bucket >= 0 else None)
    if bucket >= 0:
        net.bucket_bytes = bucket or None
    shape = tuple(int(d) for d in graph.inputs[0].type.shape[1:])
    rng = np.random.default_rng(comm.rank)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    for _ in range(3):
        net.train_step(x, y)
    counters = ("allreduce_seconds", "exposed_seconds")
    before = {c: getattr(net, c, 0.0) for c in counters}
    overlap = net.overlap() if bucket > 0 else None
    segments = list(overlap.segment_seconds) if overlap is not None else []
    start = time.perf_counter()
    for _ in range(steps):
        net.train_step(x, y)
    seconds = (time.perf_counter() - start) / steps
    out = {"step_s": seconds, "images": batch * comm.size,
           "bytes": net.buffer.nbytes if bucket >= 0 else 0,
           **{c: (getattr(net, c, 0.0) - before[c]) / steps for c in counters}}
    if overlap is not None:
        out["segments"] = [(after - was) / steps for after, was in
                           zip(overlap.segment_seconds, segments, strict=True)]
        out["buckets"] = [[b.segment, b.nbytes] for b in overlap.plan.buckets]
    if comm.rank == 0:
        print(json.dumps(out), flush=True)


def measure(model: str, config: str, steps: int, bucket_kb: float) -> dict[str, Any]:
    """One fresh process (or mpirun job) of `config`."""
    _, batch = MODELS[model]
    env = {**os.environ, "NETC_THREADS": "2" if config == "2 threads" else "1",
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    bucket = (int(bucket_kb * 1024) if config.endswith("overlap")
              else 0 if config in ("1 rank split", "2 ranks") else -1)
    command = [sys.executable, "-m", "bench.distributed", "--worker", model,
               str(batch * 2 if config == "2 threads" else batch), str(steps), str(bucket)]
    if config.startswith("2 ranks"):
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


def _median(samples: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(s.get(key, 0.0)) for s in samples)


def speed_table(runs: dict[tuple[str, str], list[dict[str, Any]]]) -> list[str]:
    lines = ["| model | run | global batch | step ms | images/s | allreduce ms/step | "
             "not hidden ms/step | hidden | grad bytes/step | buckets |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (model, config), samples in runs.items():
        step = _median(samples, "step_s")
        reduce, exposed = (_median(samples, k) for k in ("allreduce_seconds", "exposed_seconds"))
        hidden = f"{1 - exposed / reduce:.0%}" if reduce > 0 and "overlap" in config else "-"
        images = samples[0]["images"]
        lines.append(f"| {model} | {config} | {images:g} | {step * 1e3:.2f} | "
                     f"{images / step:,.0f} | {reduce * 1e3:.3f} | {exposed * 1e3:.3f} | "
                     f"{hidden} | {samples[0]['bytes']:,.0f} | "
                     f"{len(samples[0].get('buckets', [])) or '-'} |")
    return lines


def overlapped_seconds(sample: dict[str, Any], machines: int, gbits: float,
                       latency_us: float) -> float:
    """One step on `machines` with overlap, replayed from a 1-rank overlap run: segments at
    their measured times, each bucket on the link when both it and the link are free."""
    segments = sample["segments"]
    clock = link = 0.0
    for index, seconds in enumerate(segments):
        clock += seconds
        for segment, nbytes in sample["buckets"]:
            if segment == index:
                link = max(clock, link) + ring_seconds(nbytes, machines, gbits, latency_us)
    rest = sample["step_s"] - sum(segments) - sample["exposed_seconds"]
    return max(clock, link) + max(rest, 0.0)


def estimate_table(runs: dict[tuple[str, str], list[dict[str, Any]]], gbits: float,
                   latency_us: float) -> list[str]:
    lines = [f"Estimate, {gbits:g} Gbit/s links, {latency_us:g} us latency per Allreduce step, "
             "ring allreduce, each machine one 1-thread rank at the measured compute time "
             "(overlap: replayed from the median 1-rank overlap run's segment times, its "
             "slowdown over one machine applied to the same compute time):", "",
             "| model | bytes/step | machines | allreduce ms | step ms | images/s | efficiency "
             "| overlapped step ms | images/s | efficiency |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for model, (_, batch) in MODELS.items():
        nbytes = int(runs[(model, "2 ranks")][0]["bytes"])
        compute = _median(runs[(model, "1 rank")], "step_s")
        overlap = runs[(model, "1 rank overlap")]
        median = sorted(overlap, key=lambda s: s["step_s"])[len(overlap) // 2]
        alone = (overlapped_seconds(median, 1, gbits, latency_us) if "segments" in median
                 else compute)
        for machines in (1, 8, 64):
            ring = ring_seconds(nbytes, machines, gbits, latency_us)
            step = compute + ring
            # one bucket: nothing overlaps, the step is the plain one; else the replay's
            # slowdown over its own one machine, applied to the fused step's compute (one
            # baseline for both columns, whatever the load did to either run)
            lapped = (compute * overlapped_seconds(median, machines, gbits, latency_us) / alone
                      if "segments" in median else step)
            lines.append(f"| {model} | {nbytes:,} | {machines} | {ring * 1e3:.3f} | "
                         f"{step * 1e3:.2f} | {machines * batch / step:,.0f} | "
                         f"{compute / step:.0%} | {lapped * 1e3:.2f} | "
                         f"{machines * batch / lapped:,.0f} | {compute / lapped:.0%} |")
    return lines


def report(runs: dict[tuple[str, str], list[dict[str, Any]]], gbits: float,
           latency_us: float) -> str:
    return "\n".join([*speed_table(runs), "", *estimate_table(runs, gbits, latency_us)])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--gbits", type=float, default=10.0, help="link bandwidth (Gbit/s)")
    parser.add_argument("--latency-us", type=float, default=20.0)
    parser.add_argument("--bucket-kb", type=float, default=DEFAULT_BUCKET_BYTES / 1024,
                        help="bucket size of the overlap runs (default: the step's default)")
    parser.add_argument("--models", default=",".join(MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--configs", default=",".join(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs=4, metavar=("MODEL", "BATCH", "STEPS", "BUCKET"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], *(int(a) for a in args.worker[1:]))
        return
    models, configs = args.models.split(","), args.configs.split(",")
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {
        (m, c): [] for m in models for c in configs}
    for _ in range(args.rounds):  # interleaved: every config once per round
        for model in models:
            for config in configs:
                runs[(model, config)].append(measure(model, config, args.steps, args.bucket_kb))
    print("\n".join(speed_table(runs)) if set(models) != set(MODELS) or
          set(configs) != set(CONFIGS) else report(runs, args.gbits, args.latency_us))


if __name__ == "__main__":
    main()
