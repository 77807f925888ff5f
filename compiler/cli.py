"""The `netc` command line: check, dump (and, as they land, compile, run, train, ...).

Where it sits: a thin shell over the public API. Every user error is a NetcError whose one-line
message is printed as `netc: error: ...` with exit code 1; anything else is a bug in netc and is
reported as such (set NETC_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from compiler import __version__
from compiler.frontend import load
from compiler.summary import format_table
from ir.dot import to_dot
from ir.errors import NetcError
from ir.jsonio import to_json
from ir.printer import print_graph


def cmd_check(args: argparse.Namespace) -> int:
    graph = load(args.model)
    sys.stdout.write(format_table(graph, args.model))
    return 0


def cmd_dump(args: argparse.Namespace) -> int:
    graph = load(args.model)
    out = {"text": print_graph, "dot": to_dot, "json": to_json}[args.format](graph)
    sys.stdout.write(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netc", description="netc: compile, run, train and inspect neural networks.")
    parser.add_argument("--version", action="version", version=f"netc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = sub.add_parser("check", help="validate a model and print its layer table")
    check.add_argument("model", help="model file (.yaml, .json)")
    check.set_defaults(run=cmd_check)

    dump = sub.add_parser("dump", help="print the IR of a model")
    dump.add_argument("model", help="model file (.yaml, .json)")
    dump.add_argument("--format", choices=("text", "dot", "json"), default="text")
    dump.set_defaults(run=cmd_dump)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except NetcError as err:
        print(f"netc: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("netc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # a bug in netc, not in the user's input
        if os.environ.get("NETC_DEBUG"):
            traceback.print_exc()
        print(f"netc: internal error: {type(err).__name__}: {err} (this is a bug in netc; "
              "NETC_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
