"""netc dump MODEL: the IR after any pass (text, DOT, JSON, HTML), or the generated code.

`netc dump MODEL --after PASS` prints the graph after any pass of the pipeline; `--stage
llvm|llvm-opt|asm` prints the generated LLVM IR (before or after optimization) or the host
assembly; `--list-passes` names every pass and pipeline.
"""

from __future__ import annotations

import argparse
import sys

from compiler.commands._lowering import lowered, plan_model
from compiler.frontend import load
from compiler.html import to_html
from ir.dot import to_dot
from ir.errors import NetcError
from ir.graph import Graph
from ir.jsonio import to_json
from ir.printer import print_graph

FORMATS = {"text": print_graph, "dot": to_dot, "json": to_json, "html": to_html}



def cmd_dump(args: argparse.Namespace) -> int:
    if args.list_passes:
        return _list_passes()
    if not args.model:
        raise NetcError("dump needs a MODEL (or --list-passes)")
    if args.stage:
        return dump_stage(args)
    graph = load(args.model)
    kind = "train" if args.train else "forward"
    passes = args.passes.split(",") if args.passes else None
    if args.after:
        from compiler.driver.pipelines import CODEGEN, PIPELINES

        pipeline = passes or (*PIPELINES[kind], *CODEGEN)
        if passes is None and args.after in CODEGEN:
            passes = list(pipeline)
            args.batch = args.batch or 1  # memory needs sizes
        if args.after not in pipeline:
            raise NetcError(f"pass '{args.after}' is not in the {kind} pipeline "
                            f"({', '.join(pipeline)})")
        captured: list[Graph] = []
        lowered(graph, kind, args, passes=passes, dump_after=[args.after],
                dump=lambda label, g: captured.append(g.copy()))
        graph = captured[0]
    elif args.passes or args.train or args.batch:
        graph = lowered(graph, kind, args, passes=passes)
    sys.stdout.write(FORMATS[args.format](graph))
    if args.format == "text" and graph.plan is not None:
        sys.stdout.write("# memory plan\n" + "".join(
            f"# {line}\n" for line in graph.plan.table().splitlines()))
    return 0


def _list_passes() -> int:
    from compiler.driver.pipelines import CODEGEN, PIPELINES
    from compiler.passes import PASSES

    width = max(len(n) for n in PASSES)
    for name, info in sorted(PASSES.items()):
        summary = info.doc.splitlines()[0] if info.doc else ""
        print(f"{name.ljust(width)}  {summary.split(': ', 1)[-1]}")
    print()
    for kind, names in PIPELINES.items():
        print(f"{kind} pipeline: {' -> '.join(names)}")
    print(f"then, for the JIT: {' -> '.join(CODEGEN)}")
    return 0


def dump_stage(args: argparse.Namespace) -> int:
    """LLVM IR of the entry and its kernels, optimized or not, or the assembly."""
    from compiler.driver.jit import generate_entry, host_target
    from runtime.jit.engine import Engine

    kind, planned, _ = plan_model(args)
    generated, modules = generate_entry(planned, kind, host_target())
    names = {k.symbol: k.name for k in generated.kernels}
    engine = Engine.get()
    for symbol, text in modules:
        sys.stdout.write(f"; ===== {names.get(symbol, 'entry')} ({symbol})\n")
        if args.stage == "llvm":
            sys.stdout.write(text)
            continue
        mod = engine.parse(text, symbol)
        engine.optimize(mod)
        sys.stdout.write(str(mod) if args.stage == "llvm-opt" else engine.emit_assembly(mod))
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dump = sub.add_parser("dump", help="print the IR of a model after any pass, or its LLVM "
                                       "IR / assembly")
    dump.add_argument("model", nargs="?", help="model file (.yaml, .json, .ir)")
    dump.add_argument("--format", choices=tuple(FORMATS), default="text")
    dump.add_argument("--train", action="store_true",
                      help="the training step: forward, backward and optimizer update")
    dump.add_argument("--after", metavar="PASS", help="print the graph after this pass")
    dump.add_argument("--passes", metavar="A,B,...", help="run exactly these passes")
    dump.add_argument("--list-passes", action="store_true", help="name every pass and pipeline")
    dump.add_argument("--stage", choices=("llvm", "llvm-opt", "asm"),
                      help="the generated code instead of the IR")
    dump.add_argument("--batch", type=int, help="bind the batch size (default: symbolic N)")
    dump.add_argument("--layout", choices=("nhwc", "nchw8c", "nchw16c"),
                      help="lay activations out this way (the layout pass)")
    dump.add_argument("--time-passes", action="store_true",
                      help="print every pass's time on stderr")
    dump.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    dump.add_argument("--lr", type=float, default=0.01)
    dump.add_argument("--momentum", type=float, default=0.0)
    dump.set_defaults(run=cmd_dump)
