"""Peer: PyTorch on CPU, eager or torch.compile (inductor), 2 threads. Runs in the peers venv.

train = zero_grad + forward + cross_entropy (mean) + backward + SGD(lr).step();
infer = forward under inference_mode. ``--model gemm`` times torch.mm (eager only). A zoo
network (``bench/zoo.py``) is the function its ONNX export computes (``zoo_torch.trainable``).
usage: python -m bench.peer_torch --model lenet --mode train --batch 64 [--compile]
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bench import zoo_torch
from bench.child import parse_args, run_main, time_steps
from bench.workloads import LR, NETS, checksums, init_params, make_data, make_gemm
from bench.zoo import ZOO

torch.set_num_threads(2)


def build(model: str) -> nn.Sequential:
    """The bench network as nn.Sequential, loaded with the shared initial parameters."""
    mods: list[nn.Module] = []
    named: list[tuple[str, nn.Module]] = []
    for layer in NETS[model]:
        kind = layer[0]
        if kind == "conv":
            mod: nn.Module = nn.Conv2d(layer[2], layer[3], layer[4], padding=layer[5])
            named.append((layer[1], mod))
        elif kind == "dense":
            mod = nn.Linear(layer[2], layer[3])
            named.append((layer[1], mod))
        elif kind == "relu":
            mod = nn.ReLU()
        elif kind == "pool":
            mod = nn.MaxPool2d(2)
        else:
            mod = nn.Flatten()
        mods.append(mod)
    params = init_params(model)
    with torch.no_grad():
        for name, mod in named:
            mod.weight.copy_(torch.from_numpy(params[f"{name}.weight"]))
            mod.bias.copy_(torch.from_numpy(params[f"{name}.bias"]))
    return nn.Sequential(*mods)


def bench_train(args: argparse.Namespace, net: nn.Module, fwd: nn.Module) -> dict[str, Any]:
    """Times full SGD steps; records the losses of steps 1 and 2 (before/after one update)."""
    x_np, y_np = make_data(args.model, args.batch)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    losses: list[float] = []

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(fwd(x), y)
        loss.backward()
        opt.step()
        if len(losses) < 2:
            losses.append(loss.item())

    timing = time_steps(step, args.warmup, args.iters)
    return timing | {"loss_first": losses[0], "loss_second": losses[1]}


def bench_infer(args: argparse.Namespace, net: nn.Module, fwd: nn.Module) -> dict[str, Any]:
    """Times forward passes; records checksums of the logits."""
    x = torch.from_numpy(make_data(args.model, args.batch)[0])
    net.eval()
    out: list[torch.Tensor] = []

    def step() -> None:
        with torch.inference_mode():
            out[:] = [fwd(x)]

    timing = time_steps(step, args.warmup, args.iters)
    return timing | checksums(out[0].numpy())


def bench_gemm(args: argparse.Namespace) -> dict[str, Any]:
    """Times C = A @ B with torch.mm into a preallocated output."""
    a_np, b_np = make_gemm(args.batch)
    a, b = torch.from_numpy(a_np), torch.from_numpy(b_np)
    c = torch.empty((args.batch, args.batch), dtype=torch.float32)
    timing = time_steps(lambda: torch.mm(a, b, out=c), args.warmup, args.iters)
    return timing | checksums(c.numpy())


def body(args: argparse.Namespace) -> dict[str, Any]:
    """Dispatches on the workload; adds version and threading facts to the record."""
    info = {"version": torch.__version__, "threads": torch.get_num_threads()}
    if args.model == "gemm":
        if args.compile:
            raise ValueError("gemm is timed with eager torch.mm only")
        return bench_gemm(args) | info
    net = build(args.model) if args.model not in ZOO else zoo_torch.trainable(args.model)
    fwd = torch.compile(net) if args.compile else net
    if args.mode == "train":
        return bench_train(args, net, fwd) | info
    return bench_infer(args, net, fwd) | info


def main() -> None:
    """Entry point: one cell, one result line."""
    args = parse_args(lambda p: p.add_argument("--compile", action="store_true"))
    run_main("torch.compile" if args.compile else "torch", body, args)


if __name__ == "__main__":
    main()
