"""netc build MODEL --batch B [--train] [--target T] [--embed-weights] [--params P.npz] -o DIR.

It compiles the model ahead of time (compiler/bundle/) into DIR: lib<name>.so, <name>.h,
<name>.weights, README.md and an example main.c, and prints what it wrote.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from compiler.commands.train import positive_int

if TYPE_CHECKING:
    from runtime.network import Network


def cmd_build(args: argparse.Namespace) -> int:
    from compiler.bundle import build_bundle
    from compiler.bundle.target import bundle_target
    from compiler.frontend import load
    from compiler.optim import SGD, Adam

    graph = load(args.model)
    bundle_target(args.target)  # an unknown target fails before any compiling
    optimizer = (Adam(lr=args.lr or 1e-3) if args.optimizer == "adam" else
                 SGD(lr=args.lr or 0.01, momentum=args.momentum))
    prepare = None
    if args.params:
        from compiler.training import checkpoint

        ckpt = checkpoint.load(args.params)

        def prepare(net: Network) -> None:
            checkpoint.restore(net, ckpt, args.params, with_state=False)

    start = time.perf_counter()
    spec = build_bundle(graph, Path(args.output), batch=args.batch, train=args.train,
                        optimizer=optimizer if args.train else None, target=args.target,
                        embed_weights=args.embed_weights, seed=args.seed, threads=args.threads,
                        prepare=prepare)
    seconds = time.perf_counter() - start
    entries = ", ".join(spec.entries)
    print(f"netc build: {spec.model}, batch {spec.batch}, entries {entries}, target "
          f"{spec.target}, up to {spec.threads} threads, in {seconds:.1f} s")
    out = Path(args.output)
    for name in (f"lib{spec.name}.so", f"{spec.name}.h", f"{spec.name}.weights", "main.c",
                 "README.md"):
        print(f"  {out / name}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    build = sub.add_parser("build", help="compile a model ahead of time into a C library")
    build.add_argument("model", help="model file (.yaml, .json, .onnx)")
    build.add_argument("-o", "--output", required=True, help="folder to write the bundle into")
    build.add_argument("--batch", type=positive_int, default=1)
    build.add_argument("--train", action="store_true",
                       help="also loss-and-gradients and the train step")
    build.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    build.add_argument("--lr", type=float, default=None,
                       help="learning rate (default 0.01 for sgd, 0.001 for adam)")
    build.add_argument("--momentum", type=float, default=0.0)
    build.add_argument("--target", default="host",
                       help="host (this CPU, default), x86-64-v3 (AVX2) or x86-64-v4 (AVX-512)")
    build.add_argument("--embed-weights", action="store_true",
                       help="also put the weights inside the library")
    build.add_argument("--threads", type=positive_int, default=None,
                       help="most threads the library runs (default: this machine's CPUs)")
    build.add_argument("--seed", type=int, default=0, help="initial parameters")
    build.add_argument("--params", metavar="P.npz",
                       help="the weights to ship: a checkpoint of netc train, or an npz of "
                            "parameters under the names of net.params")
    build.set_defaults(run=cmd_build)
