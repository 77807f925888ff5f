"""netc plot METRICS.jsonl -o curves.png: the loss and accuracy curves of a training run."""

from __future__ import annotations

import argparse
from pathlib import Path

from compiler.training.data import (
    DataError,
)


def cmd_plot(args: argparse.Namespace) -> int:
    from compiler.training.loop import read_metrics
    from compiler.training.plot import plot_curves

    path = Path(args.metrics)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    print(f"wrote {plot_curves(read_metrics(path), args.output, title=path.stem)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    plot = sub.add_parser("plot", help="draw the curves of a metrics.jsonl as a PNG")
    plot.add_argument("metrics", help="metrics file written by netc train --log")
    plot.add_argument("-o", "--output", required=True, metavar="PNG")
    plot.set_defaults(run=cmd_plot)
