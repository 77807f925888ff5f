"""netc check MODEL: validate a model and print its layer table (shapes, parameters, FLOPs)."""

from __future__ import annotations

import argparse
import sys

from compiler.commands._lowering import lowered
from compiler.frontend import load
from compiler.summary import format_table


def cmd_check(args: argparse.Namespace) -> int:
    graph = load(args.model)
    if args.batch:
        graph = lowered(graph, "forward", args, passes=("bind-batch",))
    sys.stdout.write(format_table(graph, args.model))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check", help="validate a model and print its layer table")
    check.add_argument("model", help="model file (.yaml, .json, .ir)")
    check.add_argument("--batch", type=int, help="count FLOPs for this batch size")
    check.set_defaults(run=cmd_check)
