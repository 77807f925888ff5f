"""netc explain MODEL LAYER: the flatten (or the dense layer after it) of a model, explained; in
a sequence model, the mean over tokens that feeds its classifier.

Prints the flat index map j = c*H*W + h*W + w with examples, its inverse (what backprop uses),
the physical layout and the dense weight's permutation, the tensor-contraction form and its
gradients, each formula checked numerically against netc (compiler/explain/seam.py).
"""

from __future__ import annotations

import argparse
import json
import sys

from compiler.frontend import load
from ir.layouts import LAYOUT_CHOICES


def cmd_explain(args: argparse.Namespace) -> int:
    from compiler.explain import explain, to_data, to_text

    graph = load(args.model)
    result = explain(graph, args.layer, layout=args.layout, seed=args.seed,
                     source_file=args.model)
    if args.format == "json":
        sys.stdout.write(json.dumps(to_data(result), indent=2) + "\n")
    else:
        sys.stdout.write(to_text(result))
    if not result.ok:
        print("netc: error: a formula disagrees with what netc computes (see FAILED above); "
              "this is a bug in netc", file=sys.stderr)
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("explain", help="show what a flatten does, how backprop goes through "
                                         "it and why flatten + dense is a tensor contraction")
    cmd.add_argument("model", help="model file (.yaml, .json, .onnx, .ir)")
    cmd.add_argument("layer", help="a flatten layer, a mean over tokens, or the dense layer "
                                    "right after either")
    cmd.add_argument("--layout", choices=LAYOUT_CHOICES, default="auto",
                     help="physical layout of the activations (default: what "
                          "compile(..., layout=\"auto\") chooses; nchw = plain)")
    cmd.add_argument("--format", choices=("text", "json"), default="text")
    cmd.add_argument("--seed", type=int, default=0, help="random data of the checks")
    cmd.set_defaults(run=cmd_explain)
