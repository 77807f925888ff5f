"""What every benchmark process shares: its command line, the timing loop and the result line.

Each cell of the benchmark is one fresh process (netc or a peer) that prints exactly one
result line ``@@bench {json}`` on stdout. The marker keeps the harness independent of whatever
else a framework prints. Depends on the standard library only (plus numpy via workloads).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench.zoo import ZOO

RESULT_MARKER = "@@bench "


def parse_args(
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The common command line: --model --mode --batch --warmup --iters [--onnx] (+ extra)."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, choices=["lenet", "cifar", "mlp", "gemm", *ZOO])
    p.add_argument("--mode", default="train", choices=["train", "infer"])
    p.add_argument("--batch", type=int, required=True, help="batch size, or n for gemm")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--onnx", default=None, help="a zoo network's ONNX export (bench/zoo.py)")
    if extra is not None:
        extra(p)
    args = p.parse_args()
    if args.warmup < 1 or args.iters < 5:
        p.error("need --warmup >= 1 and --iters >= 5 for a meaningful median")
    return args


def time_steps(step: Callable[[], None], warmup: int, iters: int) -> dict[str, float]:
    """Runs step() warmup+iters times; returns the timing summary in ms.

    ``step`` must block until its result is ready (frameworks with async dispatch sync inside
    it), so each wall-clock sample is one whole step. The first call is reported apart: for
    JIT frameworks it includes tracing and compilation.
    """
    samples = []
    for _ in range(warmup + iters):
        t0 = time.perf_counter()
        step()
        samples.append((time.perf_counter() - t0) * 1e3)
    timed = samples[warmup:]
    return {
        "median_ms": statistics.median(timed),
        "min_ms": min(timed),
        "max_ms": max(timed),
        "first_call_ms": samples[0],
        "warmup": warmup,
        "iters": iters,
    }


def emit(record: dict[str, Any]) -> None:
    """Prints the one result line the harness parses."""
    record.setdefault("pid", os.getpid())
    record.setdefault("python", platform.python_version())
    print(RESULT_MARKER + json.dumps(record), flush=True)


def run_main(framework: str, body: Callable[[argparse.Namespace], dict[str, Any]],
             args: argparse.Namespace) -> None:
    """Runs ``body(args)`` and emits its record; an exception becomes an error record.

    Errors are reported as data (exit code 1 plus a record) so the harness can show the cell
    as n/a with the reason instead of losing the whole run.
    """
    base = {"framework": framework, "model": args.model, "mode": args.mode, "batch": args.batch}
    try:
        record = body(args)
    except Exception as e:  # any failure of the framework is a result here
        traceback.print_exc(file=sys.stderr)
        emit(base | {"error": f"{type(e).__name__}: {e}"[:600]})
        sys.exit(1)
    emit(base | record)
