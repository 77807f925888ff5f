"""netc's side of a benchmark cell. Runs in the project venv, from the repository root.

Uses only netc's public API (``compiler.load``, ``compiler.compile``, ``net.params``,
``net.forward``, ``net.train_step``; for the report's header it also reads the vector width
the JIT chose), loads the bench's shared initial parameters into ``net.params`` (a zoo network
brings its own, in its ONNX export) and times steps exactly like the peers do. Compile time is
measured in every cell; ``--compile-only`` measures just load + compile + the first step, which
the harness runs twice on a fresh NETC_CACHE_DIR to get netc's cold and warm compile times.
usage: python -m bench.run_netc --model lenet --mode train --batch 64 [--compile-only]
       python -m bench.run_netc --model resnet18 --mode infer --batch 1 --onnx FILE
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.child import parse_args, run_main, time_steps
from bench.workloads import (
    LR,
    NETC_MODEL_FILES,
    checksums,
    gemm_model_yaml,
    init_params,
    make_data,
    make_gemm,
    netc_param_name,
)

REPO = Path(__file__).resolve().parent.parent


def load_graph(compiler: Any, model: str, batch: int, onnx: str | None) -> Any:
    """The model description: a zoo network's ONNX export, a repo example, or a one-layer GEMM
    model written to a temp dir."""
    if onnx is not None:
        if not Path(onnx).exists():
            raise FileNotFoundError(f"{onnx} missing: its export failed (see the run's log)")
        return compiler.load(onnx)
    if model != "gemm":
        return compiler.load(str(REPO / NETC_MODEL_FILES[model]))
    with tempfile.TemporaryDirectory(prefix="netc-bench-gemm-") as tmp:
        path = Path(tmp) / f"gemm{batch}.yaml"
        path.write_text(gemm_model_yaml(batch))
        return compiler.load(str(path))


def bench_params(model: str, batch: int) -> dict[str, np.ndarray]:
    """Initial parameters under netc's names (gemm: the weight W = B.T, so x @ W.T = A @ B)."""
    if model == "gemm":
        return {"fc.weight": np.ascontiguousarray(make_gemm(batch)[1].T)}
    return {netc_param_name(model, k): v for k, v in init_params(model).items()}


def load_params(net: Any, params: dict[str, np.ndarray]) -> None:
    """Copies the bench's parameters into ``net.params``; every name and shape must match.

    A parameter netc has but the bench does not set would keep netc's own init and silently
    make the cross-framework checks disagree, so it is an error too.
    """
    netc = net.params
    missing = sorted(set(params) - set(netc))
    extra = sorted(set(netc) - set(params))
    if missing or extra:
        raise KeyError(f"parameter names differ: bench-only {missing}, netc-only {extra}")
    for name, value in params.items():
        if tuple(netc[name].shape) != value.shape:
            raise ValueError(f"{name}: netc shape {tuple(netc[name].shape)} != {value.shape}")
        netc[name][...] = value


def compile_net(compiler: Any, args: argparse.Namespace) -> tuple[Any, dict[str, float]]:
    """Loads and compiles the network; returns it with the load/compile times in ms."""
    train = args.mode == "train"
    t0 = time.perf_counter()
    graph = load_graph(compiler, args.model, args.batch, args.onnx)
    t1 = time.perf_counter()
    if train:
        net = compiler.compile(graph, batch=args.batch, train=True,
                               optimizer=compiler.SGD(lr=LR), layout=args.layout)
    else:
        net = compiler.compile(graph, batch=args.batch, layout=args.layout)
    t2 = time.perf_counter()
    if args.onnx is None:  # a zoo network's weights are the export's
        load_params(net, bench_params(args.model, args.batch))
    return net, {"load_ms": (t1 - t0) * 1e3, "compile_ms": (t2 - t1) * 1e3}


def step_fn(net: Any, args: argparse.Namespace, results: list[Any]) -> Callable[[], None]:
    """The timed step: one train_step (its losses kept) or one forward (its output kept)."""
    if args.model == "gemm":
        x = make_gemm(args.batch)[0]
    else:
        x, y = make_data(args.model, args.batch)
    if args.mode == "train":
        def step() -> None:
            loss = net.train_step(x, y)
            if len(results) < 2:
                results.append(float(loss))
    else:
        def step() -> None:
            results[:] = [net.forward(x)]
    return step


def body(args: argparse.Namespace) -> dict[str, Any]:
    """Imports netc, compiles, then times steps (or, with --compile-only, just the first)."""
    t0 = time.perf_counter()
    import compiler  # netc's public API; imported here so its import time is measured

    info: dict[str, Any] = {
        "import_ms": (time.perf_counter() - t0) * 1e3,
        "version": getattr(compiler, "__version__", "dev"),
        "netc_threads": os.environ.get("NETC_THREADS"),
        "cache_dir": os.environ.get("NETC_CACHE_DIR", "default"),
    }
    net, times = compile_net(compiler, args)
    results: list[Any] = []
    step = step_fn(net, args, results)
    if args.compile_only:
        t1 = time.perf_counter()
        step()
        return info | times | {"first_call_ms": (time.perf_counter() - t1) * 1e3}
    timing = time_steps(step, args.warmup, args.iters)
    if args.mode == "train":
        check = {"loss_first": results[0], "loss_second": results[1]}
    else:
        check = checksums(results[0])
        if args.onnx is not None:  # the report compares it with ONNX Runtime's, element-wise
            check["output"] = np.asarray(results[0], dtype=np.float64).ravel().tolist()
    return timing | check | info | times | {"vector_bits": vector_bits()}


def vector_bits() -> int:
    """The SIMD width netc compiled for on this machine (for the report's header)."""
    from runtime.jit.engine import Engine

    return Engine.get().host.vector_bits


def main() -> None:
    """Entry point: one cell, one result line."""
    def extra(p: argparse.ArgumentParser) -> None:
        p.add_argument("--compile-only", action="store_true")
        p.add_argument("--layout", default="auto", help="activation layout (compile's layout=)")

    args = parse_args(extra)
    run_main("netc", body, args)


if __name__ == "__main__":
    main()
