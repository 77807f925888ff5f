"""The `netc` command line.

Where it sits: a thin shell over the public API. Each subcommand lives in its own module of
compiler/commands (registered here automatically). Every user error is a NetcError whose one-line
message is printed as `netc: error: ...` with exit code 1; anything else is a bug in netc and is
reported as such (set NETC_DEBUG=1 for the traceback).

NETC_DEBUG has levels, each showing more of the same `logging` records on stderr (README.md,
"The JIT", lists them): 1 stages and decisions, 2 timings and per-kernel details, 3 the IR after
every pass.
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


DEBUG_LOGGERS: dict[int, dict[str, int]] = {
    1: {"netc": logging.INFO, "netc.cache": logging.DEBUG},
    2: {"netc": logging.DEBUG, "netc.ir": logging.INFO},
    3: {"netc.ir": logging.DEBUG},
}
"""What each NETC_DEBUG level turns on, on top of the levels below it: 1 the stage decisions
(cache hits and misses, a layout not applied) and tracebacks of internal errors; 2 every pass's
time and codegen's per-kernel details; 3 the IR after every pass (`netc.ir`)."""


def debug_level() -> int:
    """NETC_DEBUG as a level: unset or 0 is off, a number is that level (at most 3), any other
    text means 1 (NETC_DEBUG=yes worked before there were levels)."""
    text = os.environ.get("NETC_DEBUG", "").strip()
    if text in ("", "0"):
        return 0
    return max(0, min(int(text), max(DEBUG_LOGGERS))) if text.isdigit() else 1


def configure_logging(level: int) -> None:
    """Warnings always; the `netc.*` loggers opened up to `level`."""
    logging.basicConfig(level=logging.WARNING, format="netc: %(levelname)s: %(name)s: %(message)s")
    for step in range(1, level + 1):
        for name, threshold in DEBUG_LOGGERS[step].items():
            logging.getLogger(name).setLevel(threshold)


def main(argv: Sequence[str] | None = None) -> int:
    level = debug_level()
    configure_logging(level)
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
        if level >= 1:
            traceback.print_exc()
        print(f"netc: internal error: {type(err).__name__}: {err} (this is a bug in netc; "
              "NETC_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
