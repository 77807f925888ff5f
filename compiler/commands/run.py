"""netc run MODEL [--params P.npz] --input x.npy [--output y.npy]: the model's output.

The input is float32 in the model's input shape, or uint8 pixels normalized as training did;
the last batch is padded and only its real rows are returned.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from compiler.commands._trained import compiled_with
from compiler.commands.train import positive_int
from compiler.frontend import load
from compiler.training import checkpoint, model
from compiler.training.data import (
    InputFit,
    Normalization,
)
from ir.errors import RuntimeInputError

MAX_PRINTED_ROWS = 20



def _load_input(path: str) -> np.ndarray:
    """The one array of an .npy file; anything else np.load accepts (an .npz archive, a
    pickle) or fails on (an empty file, a folder) is one line naming the file."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise RuntimeInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RuntimeInputError(f"{path}: is a folder, not an .npy file") from None
    except EOFError:
        raise RuntimeInputError(f"{path}: empty file, not an .npy array") from None
    except ValueError as err:
        raise RuntimeInputError(f"{path}: not a plain numeric .npy array ({err})") from None
    except OSError as err:
        raise RuntimeInputError(f"{path}: cannot read: {err.strerror or err}") from None
    if not isinstance(loaded, np.ndarray):
        loaded.close()
        raise RuntimeInputError(f"{path}: an .npz archive of arrays; --input takes one .npy "
                                "array (np.save)")
    return loaded


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
    net = compiled_with(graph, min(args.batch, len(x)), ckpt, str(args.params))
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


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a model's forward pass on an .npy array")
    run.add_argument("model", help="model file (.yaml, .json, .ir)")
    run.add_argument("--params", metavar="P.npz", help="trained parameters (default: the "
                     "seeded initialization)")
    run.add_argument("--input", required=True, metavar="x.npy", help="float32 [N, ...] in "
                     "the model's input shape, or uint8 pixels [N, H, W]")
    run.add_argument("--output", metavar="y.npy", help="write the outputs here")
    run.add_argument("--batch", type=positive_int, default=256, help="largest batch to compile")
    run.set_defaults(run=cmd_run)
