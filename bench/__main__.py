"""``python -m bench``: runs netc and its peers side by side on this machine and reports.

Only side-by-side figures from one run are comparable: the machine is noisy and the peers'
published figures come from other CPUs. So every invocation measures everything it reports.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from bench import report
from bench.runner import (
    NETC,
    PEERS,
    PEERS_VENV,
    Framework,
    Settings,
    build_plan,
    machine_info,
    prepare_zoo,
    probe,
    resolve_peers,
    run_plan,
)
from bench.workloads import WORKLOADS, ZOO_WORKLOADS, select


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The harness's command line."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", default="",
                   help="comma-separated workload ids or prefixes, e.g. lenet-train,mlp,gemm "
                        "(see --list)")
    p.add_argument("--peers", default=",".join(PEERS),
                   help=f"comma-separated peers to compare with (default: {','.join(PEERS)}; "
                        "'none' for netc alone; netc-nhwc, netc-nchw8c, netc-nchw16c add netc "
                        "in another activation layout)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--quick", action="store_true", help="fewer warm-up and timed iterations")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per process")
    p.add_argument("--peers-python", type=Path, default=PEERS_VENV / "bin" / "python",
                   help="interpreter of the peers venv")
    p.add_argument("--json", type=Path, help="write raw runs and the summary as JSON")
    p.add_argument("--markdown", type=Path, help="write a RESULTS.md-style report")
    p.add_argument("--list", action="store_true", help="list the workload ids and exit")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be >= 1")
    return args


def availability(peers: list[Framework], s: Settings) -> dict[str, str]:
    """Why each unavailable peer cannot run (peers missing here are n/a, never a crash)."""
    out = {}
    for fw in peers:
        why = probe(fw, s)
        if why:
            print(f"{fw.name}: {why}", file=sys.stderr)
            out[fw.name] = why
    return out


def write_outputs(args: argparse.Namespace, payload: dict[str, Any], md: str) -> None:
    """The optional --json and --markdown files."""
    if args.json:
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    if args.markdown:
        args.markdown.write_text(md)
        print(f"wrote {args.markdown}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Plans, runs (strictly sequentially) and reports one benchmark run."""
    args = parse_args(argv)
    if args.list:
        print("\n".join(w.id for w in WORKLOADS + ZOO_WORKLOADS), "bundle", sep="\n")
        return 0
    if args.only == "bundle":  # C calling a bundle beside Python calling the JIT
        from bench import bundle_latency

        return bundle_latency.main(["--rounds", str(args.rounds)])
    workloads = select([o for o in args.only.split(",") if o])
    if not workloads:
        print(f"--only {args.only!r} matches no workload (see --list)", file=sys.stderr)
        return 2
    peers = [] if args.peers == "none" else resolve_peers(
        [n for n in args.peers.split(",") if n])
    s = Settings(rounds=args.rounds, quick=args.quick, timeout_s=args.timeout,
                 peers_python=args.peers_python)
    try:
        unavailable = availability(peers, s)
        why = prepare_zoo(workloads, s)
        if why:
            print(why, file=sys.stderr)
            unavailable["zoo exports"] = why
        plan = build_plan(workloads, [NETC] + [p for p in peers if p.name not in unavailable])
        runs = run_plan(plan, s)
    finally:
        shutil.rmtree(s.tmp, ignore_errors=True)
    cells = report.aggregate(runs)
    meta = {"machine": machine_info(), "rounds": s.rounds, "quick": s.quick}
    print(report.document(workloads, peers, cells, unavailable, meta, markdown=False))
    md = report.document(workloads, peers, cells, unavailable, meta, markdown=True)
    payload = meta | {"workloads": [w.id for w in workloads], "peers": [p.name for p in peers],
                      "unavailable": unavailable, "cells": cells,
                      "checks": report.checks(workloads, cells), "runs": runs}
    write_outputs(args, payload, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
