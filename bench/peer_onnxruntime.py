"""Peer: ONNX Runtime, CPU execution provider, inference only. Runs in the peers venv.

The PyTorch model (same init) is exported to ONNX with a static batch, then run with 2
intra-op threads, sequential execution and all graph optimisations. Export and session
creation are timed apart from the steps. ``--onnx-dir`` lets the harness keep the exported
files of one run, so later rounds skip the (slow, untimed) export. A zoo network comes with
``--onnx``, the very file netc imports; its output is reported whole for the element-wise check.
usage: python -m bench.peer_onnxruntime --model lenet --mode infer --batch 64
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from bench.child import parse_args, run_main, time_steps
from bench.peer_torch import build
from bench.workloads import checksums, make_data


def export(model: str, batch: int, path: str) -> str:
    """Exports the torch model to ``path``: the dynamo exporter, else the TorchScript one."""
    net = build(model).eval()
    x = torch.from_numpy(make_data(model, batch)[0])
    errors = []
    for dynamo in (True, False):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(net, (x,), path, input_names=["x"], output_names=["logits"],
                                  dynamo=dynamo, opset_version=18)
            return "dynamo" if dynamo else "torchscript"
        except Exception as e:  # the other exporter may still work
            errors.append(f"dynamo={dynamo}: {type(e).__name__}: {str(e)[:200]}")
    raise RuntimeError("ONNX export failed: " + "; ".join(errors))


def session(path: str) -> ort.InferenceSession:
    """A CPU session with 2 intra-op threads and every graph optimisation."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def model_file(args: argparse.Namespace) -> tuple[str, str, float]:
    """(path, how it was obtained, export ms): a zoo network's export, else exported here."""
    if args.onnx is not None:
        if not os.path.exists(args.onnx):
            raise FileNotFoundError(f"{args.onnx} missing: its export failed (see the run's log)")
        return args.onnx, "zoo export", 0.0
    out_dir = args.onnx_dir or tempfile.mkdtemp(prefix="netc-bench-onnx-")
    path = os.path.join(out_dir, f"{args.model}_b{args.batch}.onnx")
    t0 = time.perf_counter()
    exporter = "reused" if os.path.exists(path) else export(args.model, args.batch, path)
    return path, exporter, (time.perf_counter() - t0) * 1e3


def body(args: argparse.Namespace) -> dict[str, Any]:
    """Exports (or reuses) the model, opens a session and times session.run."""
    if args.mode != "infer" or args.model == "gemm":
        raise ValueError("onnxruntime is benchmarked for network inference only")
    torch.set_num_threads(2)
    path, exporter, export_ms = model_file(args)
    t0 = time.perf_counter()
    sess = session(path)
    session_ms = (time.perf_counter() - t0) * 1e3
    feed = {sess.get_inputs()[0].name: make_data(args.model, args.batch)[0]}
    out: list[Any] = []

    def step() -> None:
        out[:] = sess.run(None, feed)

    timing = time_steps(step, args.warmup, args.iters)
    if args.onnx is not None:  # the report compares netc's with it, element-wise
        timing["output"] = np.asarray(out[0], dtype=np.float64).ravel().tolist()
    return timing | checksums(out[0]) | {
        "version": ort.__version__, "exporter": exporter, "export_ms": export_ms,
        "session_create_ms": session_ms}


def main() -> None:
    """Entry point: one cell, one result line."""
    args = parse_args(lambda p: p.add_argument("--onnx-dir", default=None))
    run_main("onnxruntime", body, args)


if __name__ == "__main__":
    main()
