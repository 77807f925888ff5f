"""Baseline: numpy's float32 GEMM (its bundled BLAS, default threads). Runs in the project venv.

This is the reference point for netc's own GEMM kernels: same data, same thread budget.
usage: python -m bench.peer_numpy --model gemm --mode infer --batch 1024
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from bench.child import parse_args, run_main, time_steps
from bench.workloads import checksums, make_gemm


def blas_info() -> str:
    """Which BLAS numpy runs, when numpy can tell (best effort, for the record only)."""
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{deps.get('name')} {deps.get('version')}"
    except Exception:  # older numpy or an unexpected layout: the name is optional
        return "unknown"


def body(args: argparse.Namespace) -> dict[str, Any]:
    """Times C = A @ B into a preallocated output."""
    if args.model != "gemm":
        raise ValueError("the numpy baseline covers gemm only")
    a, b = make_gemm(args.batch)
    c = np.empty((args.batch, args.batch), dtype=np.float32)
    timing = time_steps(lambda: np.matmul(a, b, out=c), args.warmup, args.iters)
    return timing | checksums(c) | {"version": np.__version__, "blas": blas_info()}


def main() -> None:
    """Entry point: one cell, one result line."""
    run_main("numpy", body, parse_args())


if __name__ == "__main__":
    main()
