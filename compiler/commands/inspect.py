"""netc check / dump / gradcheck: look at a model, its IR after any pass, and its gradients."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from compiler.frontend import load
from compiler.html import to_html
from compiler.summary import format_table
from ir.dot import to_dot
from ir.errors import NetcError
from ir.graph import Graph
from ir.jsonio import to_json
from ir.printer import print_graph

FORMATS = {"text": print_graph, "dot": to_dot, "json": to_json, "html": to_html}


def cmd_check(args: argparse.Namespace) -> int:
    graph = load(args.model)
    if args.batch:
        graph = lowered(graph, "forward", args, passes=("bind-batch",))
    sys.stdout.write(format_table(graph, args.model))
    return 0


def lowered(graph: Graph, kind: str, args: argparse.Namespace,
            passes: Sequence[str] | None = None, **kwargs: object) -> Graph:
    """The graph after the `kind` pipeline (or `passes`), with the command's options."""
    from compiler.optim import SGD, Adam
    from compiler.passes import PassContext
    from compiler.pipeline import lower

    opt = None
    if kind == "train":
        opt = Adam(lr=args.lr) if getattr(args, "optimizer", "sgd") == "adam" else SGD(
            lr=getattr(args, "lr", 0.01), momentum=getattr(args, "momentum", 0.0))
    options = {"layout": args.layout} if getattr(args, "layout", "") else {}
    ctx = PassContext(batch=args.batch, train=kind != "forward", optimizer=opt, options=options)
    timings: list[tuple[str, float]] = []
    result = lower(graph, kind, ctx, passes=passes, verify_each=True, timings=timings,
                   **kwargs)  # type: ignore[arg-type]
    if getattr(args, "time_passes", False):
        for name, seconds in timings:
            print(f"# pass {name:16s} {seconds * 1e3:8.2f} ms", file=sys.stderr)
    return result


def cmd_dump(args: argparse.Namespace) -> int:
    if args.list_passes:
        return _list_passes()
    if not args.model:
        raise NetcError("dump needs a MODEL (or --list-passes)")
    if args.stage:
        from compiler.commands.native import dump_stage

        return dump_stage(args)
    graph = load(args.model)
    kind = "train" if args.train else "forward"
    passes = args.passes.split(",") if args.passes else None
    if args.after:
        from compiler.pipeline import CODEGEN, PIPELINES

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
    from compiler.passes import PASSES
    from compiler.pipeline import CODEGEN, PIPELINES

    width = max(len(n) for n in PASSES)
    for name, info in sorted(PASSES.items()):
        summary = info.doc.splitlines()[0] if info.doc else ""
        print(f"{name.ljust(width)}  {summary.split(': ', 1)[-1]}")
    print()
    for kind, names in PIPELINES.items():
        print(f"{kind} pipeline: {' -> '.join(names)}")
    print(f"then, for the JIT: {' -> '.join(CODEGEN)}")
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    import numpy as np

    from compiler.gradcheck import check_gradients
    from compiler.init import initial_values
    from compiler.passes import PassContext
    from compiler.pipeline import lower

    graph = load(args.model)
    graph = lower(graph, "forward", PassContext(batch=args.batch), passes=("bind-batch",))
    rng = np.random.default_rng(args.seed)
    feeds: dict[str, object] = {}
    for v in graph.inputs_with_role("input", "label"):
        shape = tuple(int(d) for d in v.type.shape)
        if v.type.dtype == "i64":
            loss = graph.loss
            classes = int(loss.node.operands[0].type.shape[1]) if loss and loss.node else 2
            feeds[v.name] = rng.integers(0, classes, size=shape)
        else:
            feeds[v.name] = rng.standard_normal(shape)
    feeds.update(initial_values(graph, args.seed))
    checks = check_gradients(graph, feeds, seed=args.seed)
    print(f"gradient check of {graph.name} in float64, batch {args.batch}, central differences "
          f"(eps 1e-6), tolerance {args.tol:g}")
    width = max(len(c.name) for c in checks)
    failed = 0
    for c in checks:
        ok = c.error < args.tol
        failed += not ok
        print(f"  {c.name.ljust(width)}  probes {c.probes:4d}  rel. error {c.error:.2e}  "
              f"{'ok' if ok else 'FAIL'}")
    if failed:
        raise NetcError(f"{failed} gradient(s) disagree with finite differences")
    print(f"all {len(checks)} gradients agree")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = sub.add_parser("check", help="validate a model and print its layer table")
    check.add_argument("model", help="model file (.yaml, .json, .ir)")
    check.add_argument("--batch", type=int, help="count FLOPs for this batch size")
    check.set_defaults(run=cmd_check)

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

    grad = sub.add_parser("gradcheck", help="check every gradient against finite differences")
    grad.add_argument("model", help="model file (.yaml, .json, .ir)")
    grad.add_argument("--batch", type=int, default=2)
    grad.add_argument("--seed", type=int, default=0)
    grad.add_argument("--tol", type=float, default=1e-6)
    grad.set_defaults(run=cmd_gradcheck)
