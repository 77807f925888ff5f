"""netc eval MODEL --params P.npz [--data DIR] [--split test]: accuracy and confusion matrix.

Every sample is evaluated: the last batch is padded and only its real rows count.
"""

from __future__ import annotations

import argparse

import numpy as np

from compiler.commands._trained import compiled_with, normalization
from compiler.commands.train import positive_int
from compiler.frontend import load
from compiler.training import checkpoint, model
from compiler.training.data import (
    Feeder,
    InputFit,
    check_classes,
    data_dir,
    load_split,
)
from compiler.training.loop import evaluate


def confusion(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def format_confusion(matrix: np.ndarray) -> str:
    """Rows: true class; columns: predicted; last column: per-class accuracy (recall)."""
    k = len(matrix)
    width = max(len(f"{matrix.max():,}"), len(str(k - 1)), 4)
    lines = ["confusion matrix (rows: true class, columns: predicted class)",
             "true " + " ".join(f"{c:>{width}}" for c in range(k)) + "  accuracy"]
    for c in range(k):
        total = matrix[c].sum()
        acc = f"{matrix[c, c] / total:8.2%}" if total else "       -"
        lines.append(f"{c:>4} " + " ".join(f"{v:>{width},}" for v in matrix[c]) + f"  {acc}")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    graph = load(args.model)
    ckpt = checkpoint.load(args.params)
    folder = data_dir(args.data)
    split = load_split(folder, args.split)
    classes = model.classes(graph, args.model)
    check_classes(split, classes)
    norm, note = normalization(ckpt, folder)
    if note:
        print(note)
    fit = InputFit(split.images.shape[1:], model.input_shape(graph, args.model))
    net = compiled_with(graph, min(args.batch, len(split)), ckpt, args.params)
    result = evaluate(net, Feeder(split, fit, norm))
    correct = int((result.predictions == split.labels).sum())
    print(f"{graph.name} on {folder} ({args.split}): {len(split):,} images, accuracy "
          f"{result.accuracy:.2%} ({correct:,} / {len(split):,}), loss {result.loss:.4f}")
    print(format_confusion(confusion(split.labels, result.predictions, classes)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="accuracy and confusion matrix of trained parameters")
    ev.add_argument("model", help="model file (.yaml, .json, .ir)")
    ev.add_argument("--params", required=True, metavar="P.npz",
                    help="a checkpoint of netc train, or an npz of parameters")
    ev.add_argument("--data", metavar="DIR", help="IDX folder (default: Fashion-MNIST)")
    ev.add_argument("--split", choices=("test", "train"), default="test")
    ev.add_argument("--batch", type=positive_int, default=250, help="batch to compile for")
    ev.set_defaults(run=cmd_eval)
