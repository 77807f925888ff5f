"""netc gradcheck MODEL: every gradient against central finite differences in float64."""

from __future__ import annotations

import argparse

from compiler.frontend import load
from ir.errors import NetcError


def cmd_gradcheck(args: argparse.Namespace) -> int:
    import numpy as np

    from compiler.driver.pipelines import run_passes
    from compiler.gradcheck import check_gradients
    from compiler.initializers import initial_values
    from compiler.passes import PassContext

    graph = load(args.model)
    graph = run_passes(graph, ("bind-batch",), PassContext(batch=args.batch))
    rng = np.random.default_rng(args.seed)
    feeds: dict[str, np.ndarray] = {}
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


def register(sub: argparse._SubParsersAction) -> None:
    grad = sub.add_parser("gradcheck", help="check every gradient against finite differences")
    grad.add_argument("model", help="model file (.yaml, .json, .ir)")
    grad.add_argument("--batch", type=int, default=2)
    grad.add_argument("--seed", type=int, default=0)
    grad.add_argument("--tol", type=float, default=1e-6)
    grad.set_defaults(run=cmd_gradcheck)
