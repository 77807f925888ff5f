"""netc eval / run / plot: use trained parameters.

    netc eval MODEL --params P.npz [--data DIR] [--split test]   accuracy, confusion matrix
    netc run MODEL [--params P.npz] --input x.npy [--output y.npy]   the model's output
    netc plot METRICS.jsonl -o curves.png                        curves of a training run

P.npz is a checkpoint of `netc train` or any npz of parameters under the names of
`net.params`. Every sample is evaluated: the last batch is padded and only its real rows count.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from compiler.commands.train import positive_int
from compiler.frontend import load
from compiler.training import checkpoint, model
from compiler.training.data import (
    DataError,
    Feeder,
    InputFit,
    Normalization,
    check_classes,
    data_dir,
    load_split,
)
from compiler.training.loop import evaluate
from ir.errors import RuntimeInputError

MAX_PRINTED_ROWS = 20


def _compiled(graph: Any, batch: int, params: checkpoint.Checkpoint | None, path: str) -> Any:
    import compiler

    net = compiler.compile(graph, batch=batch)
    if params is not None:
        checkpoint.restore(net, params, path, with_state=False)
    return net


def _normalization(ckpt: checkpoint.Checkpoint, folder: Path) -> tuple[Normalization, str]:
    """The checkpoint's normalization, or else the statistics of the folder's training set."""
    stored = ckpt.meta.get("normalization")
    if stored:
        return Normalization(**stored), ""
    norm = Normalization.of(load_split(folder, "train").images)
    return norm, (f"note: the parameters carry no normalization; using the training set's "
                  f"(mean {norm.mean:.4f}, std {norm.std:.4f})")


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
    norm, note = _normalization(ckpt, folder)
    if note:
        print(note)
    fit = InputFit(split.images.shape[1:], model.input_shape(graph, args.model))
    net = _compiled(graph, min(args.batch, len(split)), ckpt, args.params)
    result = evaluate(net, Feeder(split, fit, norm))
    correct = int((result.predictions == split.labels).sum())
    print(f"{graph.name} on {folder} ({args.split}): {len(split):,} images, accuracy "
          f"{result.accuracy:.2%} ({correct:,} / {len(split):,}), loss {result.loss:.4f}")
    print(format_confusion(confusion(split.labels, result.predictions, classes)))
    return 0


def _load_input(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise RuntimeInputError(f"{path}: no such file") from None
    except ValueError as err:
        raise RuntimeInputError(f"{path}: not a plain numeric .npy array ({err})") from None
    except OSError as err:
        raise RuntimeInputError(f"{path}: cannot read: {err.strerror or err}") from None


def model_inputs(x: np.ndarray, shape: tuple[int, ...], ckpt: checkpoint.Checkpoint | None,
                 path: str) -> np.ndarray:
    """x as float32 [N, *shape]. uint8 input is raw pixels ([N, H, W] or [H, W]), normalized
    and fitted the way training did; float input must already have the model's shape."""
    if x.dtype == np.uint8:
        stored = ckpt.meta.get("normalization") if ckpt else None
        if not stored:
            raise RuntimeInputError(f"{path}: uint8 pixels need the normalization of training; "
                                    "pass --params with a checkpoint of netc train, or "
                                    "normalized float32 input")
        images = x[None] if x.ndim == 2 else x
        if images.ndim != 3:
            raise RuntimeInputError(f"{path}: uint8 images must be [N, H, W] or [H, W], got "
                                    f"{list(x.shape)}")
        return InputFit(images.shape[1:], shape)(images, Normalization(**stored))
    if x.dtype.kind != "f":
        raise RuntimeInputError(f"{path}: expected float32 (or uint8 pixels), got {x.dtype}")
    if x.shape == shape:
        x = x[None]
    if x.shape[1:] != shape:
        want = "x".join(map(str, shape))
        raise RuntimeInputError(f"{path}: the model takes [N, {want}] (or one [{want}] "
                                f"sample), got {list(x.shape)}")
    return np.ascontiguousarray(x, dtype=np.float32)


def run_batches(net: Any, x: np.ndarray) -> np.ndarray:
    """net.forward over x in chunks of the compiled batch, the last one padded."""
    outs = []
    for start in range(0, len(x), net.batch):
        chunk = x[start:start + net.batch]
        count = len(chunk)
        if count < net.batch:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], net.batch - count, axis=0)])
        outs.append(net.forward(chunk)[:count])
    return np.concatenate(outs)


def cmd_run(args: argparse.Namespace) -> int:
    graph = load(args.model)
    ckpt = checkpoint.load(args.params) if args.params else None
    x = model_inputs(_load_input(args.input), model.input_shape(graph, args.model), ckpt,
                     args.input)
    if len(x) == 0:
        raise RuntimeInputError(f"{args.input}: no samples")
    net = _compiled(graph, min(args.batch, len(x)), ckpt, str(args.params))
    y = run_batches(net, x)
    if args.output:
        checkpoint.atomic_write(Path(args.output), lambda f: np.save(f, y))
        print(f"wrote {args.output}: {y.dtype} {list(y.shape)}")
    params = {v.name for v in graph.params}
    if not ckpt and not params <= set(graph.initializers):  # an ONNX model brings its weights
        print("note: no --params: the output is that of freshly initialized parameters")
    if y.ndim == 2 and not args.output:
        for i in range(min(len(y), MAX_PRINTED_ROWS)):
            print(f"sample {i}: class {int(y[i].argmax())} (score {float(y[i].max()):.4f})")
        if len(y) > MAX_PRINTED_ROWS:
            print(f"... {len(y) - MAX_PRINTED_ROWS} more (write them all with --output y.npy)")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from compiler.training.loop import read_metrics
    from compiler.training.plot import plot_curves

    path = Path(args.metrics)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    print(f"wrote {plot_curves(read_metrics(path), args.output, title=path.stem)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ev = sub.add_parser("eval", help="accuracy and confusion matrix of trained parameters")
    ev.add_argument("model", help="model file (.yaml, .json, .ir)")
    ev.add_argument("--params", required=True, metavar="P.npz",
                    help="a checkpoint of netc train, or an npz of parameters")
    ev.add_argument("--data", metavar="DIR", help="IDX folder (default: Fashion-MNIST)")
    ev.add_argument("--split", choices=("test", "train"), default="test")
    ev.add_argument("--batch", type=positive_int, default=250, help="batch to compile for")
    ev.set_defaults(run=cmd_eval)

    run = sub.add_parser("run", help="run a model's forward pass on an .npy array")
    run.add_argument("model", help="model file (.yaml, .json, .ir)")
    run.add_argument("--params", metavar="P.npz", help="trained parameters (default: the "
                     "seeded initialization)")
    run.add_argument("--input", required=True, metavar="x.npy", help="float32 [N, ...] in "
                     "the model's input shape, or uint8 pixels [N, H, W]")
    run.add_argument("--output", metavar="y.npy", help="write the outputs here")
    run.add_argument("--batch", type=positive_int, default=256, help="largest batch to compile")
    run.set_defaults(run=cmd_run)

    plot = sub.add_parser("plot", help="draw the curves of a metrics.jsonl as a PNG")
    plot.add_argument("metrics", help="metrics file written by netc train --log")
    plot.add_argument("-o", "--output", required=True, metavar="PNG")
    plot.set_defaults(run=cmd_plot)

