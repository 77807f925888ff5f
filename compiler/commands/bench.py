"""netc bench: runs the benchmark harness (bench/, in a source checkout) with its options.

The harness compares netc with PyTorch, torch.compile, JAX and ONNX Runtime side by side on this
machine (see bench/README.md); it is not installed with the package, so this command finds it in
the checkout netc runs from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ir.errors import NetcError

ROOT = Path(__file__).resolve().parents[2]


def cmd_bench(args: argparse.Namespace) -> int:
    if not (ROOT / "bench" / "__main__.py").exists():
        raise NetcError("netc bench needs the source checkout (the bench/ harness is not "
                        "installed with the package): run `python -m bench` there")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.__main__ import main as bench_main

    options = [o for i, o in enumerate(args.options) if not (i == 0 and o == "--")]
    return int(bench_main(options) or 0)


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="benchmark netc against PyTorch, JAX, ONNX Runtime "
                                         "(options as `python -m bench --help`)")
    bench.add_argument("options", nargs=argparse.REMAINDER,
                       help="passed on to the harness, e.g. --only lenet-train --rounds 3")
    bench.set_defaults(run=cmd_bench)
