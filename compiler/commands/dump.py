"""netc dump MODEL: the IR after any pass (text, DOT, JSON, HTML), or the generated code.

`netc dump MODEL --after PASS` (or `--before PASS`) prints the graph after (before) any pass of
the pipeline, and `--after all` after every pass, each under a heading; `--stage
llvm|llvm-opt|asm` prints the generated LLVM IR (before or after optimization) or the host
assembly; `--list-passes` names every pass and pipeline.
"""

from __future__ import annotations

import argparse
import sys

from compiler.codegen.target import CodegenTarget
from compiler.commands._lowering import lowered, plan_model
from compiler.frontend import load
from compiler.html import to_html
from ir.dot import to_dot
from ir.errors import NetcError
from ir.graph import Graph
from ir.jsonio import to_json
from ir.layouts import LAYOUT_CHOICES
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
    if args.before or args.after:
        sys.stdout.write(pass_dumps(graph, kind, passes, args))
        return 0
    if args.passes or args.train or args.batch:
        graph = lowered(graph, kind, args, passes=passes)
    sys.stdout.write(render(graph, args.format))
    return 0


def pass_dumps(graph: Graph, kind: str, passes: list[str] | None,
               args: argparse.Namespace) -> str:
    """The graph before/after the passes `--before` and `--after` name. One named pass prints
    the bare graph (a file `netc dump FILE.ir` reads back); `all`, or both switches, print one
    section per dump, each headed `# ===== after NAME` (like LLVM's -print-after-all)."""
    from compiler.driver.pipelines import CODEGEN, PIPELINES

    wanted = [name for name in (args.before, args.after) if name]
    pipeline = tuple(passes or (*PIPELINES[kind], *CODEGEN))
    for name in wanted:
        if name != "all" and name not in pipeline:
            raise NetcError(f"pass '{name}' is not in the {kind} pipeline "
                            f"({', '.join(pipeline)}; or all)")
    sectioned = "all" in wanted or len(wanted) == 2
    if sectioned and args.format != "text":
        raise NetcError(f"--before/--after all (or both) print one section per pass, in text "
                        f"only; use --format text, not {args.format}")
    if passes is None and any(name == "all" or name in CODEGEN for name in wanted):
        passes = list(pipeline)  # the JIT's own passes too, which need sizes
        args.batch = args.batch or 1
    sections: list[tuple[str, str]] = []
    lowered(graph, kind, args, passes=passes, dump_before=[args.before] if args.before else [],
            dump_after=[args.after] if args.after else [],
            dump=lambda label, g: sections.append((label, render(g, args.format))))
    if not sectioned:
        return sections[0][1]
    return "".join(f"# ===== {label}\n{text}" for label, text in sections)


def render(graph: Graph, fmt: str) -> str:
    """The graph in `fmt`; text ends with the memory plan once plan-memory has run."""
    text = FORMATS[fmt](graph)
    if fmt == "text" and graph.plan is not None:
        text += "# memory plan\n" + "".join(f"# {line}\n" for line in
                                             graph.plan.table().splitlines())
    return text


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
    from compiler.driver.jit import host_target
    from runtime.jit.engine import Engine

    kind, planned, _ = plan_model(args)
    modules = entry_modules(planned, kind, host_target())
    if args.stage == "llvm":
        sys.stdout.write(llvm_listing(modules))
        return 0
    engine = Engine.get()
    for label, symbol, text in modules:
        mod = engine.parse(text, symbol)
        engine.optimize(mod)
        sys.stdout.write(_heading(label, symbol))
        sys.stdout.write(str(mod) if args.stage == "llvm-opt" else engine.emit_assembly(mod))
    return 0


def entry_modules(planned: Graph, kind: str,
                  target: CodegenTarget) -> list[tuple[str, str, str]]:
    """(kernel name or 'entry', symbol, LLVM text) of every module of one planned entry, the
    kernels first: what the JIT compiles for `target`. The stored LLVM goldens
    (tests/test_llvm_goldens.py) come from here with a fixed target, so they show exactly what
    `--stage llvm` shows."""
    from compiler.driver.jit import generate_entry

    generated, modules = generate_entry(planned, kind, target)
    names = {k.symbol: k.name for k in generated.kernels}
    return [(names.get(symbol, "entry"), symbol, text) for symbol, text in modules]


def llvm_listing(modules: list[tuple[str, str, str]]) -> str:
    """The modules as `netc dump --stage llvm` prints them, each under its heading."""
    return "".join(_heading(label, symbol) + text for label, symbol, text in modules)


def _heading(label: str, symbol: str) -> str:
    return f"; ===== {label} ({symbol})\n"


def register(sub: argparse._SubParsersAction) -> None:
    dump = sub.add_parser("dump", help="print the IR of a model after any pass, or its LLVM "
                                       "IR / assembly")
    dump.add_argument("model", nargs="?", help="model file (.yaml, .json, .ir)")
    dump.add_argument("--format", choices=tuple(FORMATS), default="text")
    dump.add_argument("--train", action="store_true",
                      help="the training step: forward, backward and optimizer update")
    dump.add_argument("--before", metavar="PASS|all",
                      help="print the graph before this pass (all: before every pass, fuse and "
                           "plan-memory included, at batch 1 unless --batch)")
    dump.add_argument("--after", metavar="PASS|all",
                      help="print the graph after this pass (all: after every pass)")
    dump.add_argument("--passes", metavar="A,B,...", help="run exactly these passes")
    dump.add_argument("--list-passes", action="store_true", help="name every pass and pipeline")
    dump.add_argument("--stage", choices=("llvm", "llvm-opt", "asm"),
                      help="the generated code instead of the IR")
    dump.add_argument("--batch", type=int, help="bind the batch size (default: symbolic N)")
    dump.add_argument("--layout", choices=LAYOUT_CHOICES, default="nchw",
                      help="lay activations out this way (the layout pass; default nchw, the "
                           "plain order; auto: what the JIT picks on this host)")
    dump.add_argument("--time-passes", action="store_true",
                      help="print every pass's time on stderr")
    dump.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    dump.add_argument("--lr", type=float, default=0.01)
    dump.add_argument("--momentum", type=float, default=0.0)
    dump.set_defaults(run=cmd_dump)
