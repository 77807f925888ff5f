"""The `netc` command line.

Where it sits: a thin shell over the public API. Each subcommand lives in its own module of
compiler/commands (registered here automatically). Every user error is a NetcError whose one-line
message is printed as `netc: error: ...` with exit code 1; anything else is a bug in netc and is
reported as such (set NETC_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from compiler import __version__
from ir.errors import NetcError
from ir.extensions import load_modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netc", description="netc: compile, run, train and inspect neural networks.")
    parser.add_argument("--version", action="version", version=f"netc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in load_modules("compiler.commands"):
        if hasattr(module, "register"):  # helper modules of the commands have none
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    level = os.environ.get("NETC_DEBUG", "")
    logging.basicConfig(level=logging.DEBUG if level not in ("", "0") else logging.WARNING,
                        format="netc: %(levelname)s: %(name)s: %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # every option belongs to the harness: no parsing here
        argv = ["bench", "--", *argv[1:]]
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
        if level not in ("", "0"):
            traceback.print_exc()
        print(f"netc: internal error: {type(err).__name__}: {err} (this is a bug in netc; "
              "NETC_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
