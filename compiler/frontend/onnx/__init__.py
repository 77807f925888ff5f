"""The ONNX frontend: models exported from PyTorch (or anything else) -> ir.Graph.

    graph = compiler.load("lenet5.onnx")                  # dispatches here by suffix
    graph = load_onnx("model.onnx", loss="mse")           # choose the training loss

Where it sits: a frontend like the YAML/JSON one (compiler/frontend/description.py); it builds
on ir/ only. proto.py reads and checks the protobuf (upgrading opsets below 13 with
onnx.version_converter), importer.py builds the graph, convert_*.py hold one converter per ONNX
op type (registry.py is their table). The onnx package is an optional dependency
(`pip install 'netc[onnx]'`); without it loading an .onnx file is a one-line error.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ir.graph import Graph


def load_onnx(path: str | Path, *, loss: str | None = "auto",
              constants: Mapping[str, np.ndarray] | None = None) -> Graph:
    """Imports an ONNX model file as a verified graph with a symbolic batch N.

    loss: the loss `compile(..., train=True)` trains: "softmax_cross_entropy" (integer labels),
    "mse" (a target shaped like the output), "auto" (cross-entropy for an [N, classes] output,
    else MSE) or None (inference only). It reads the model's first output.
    constants: values for graph inputs that are really constants (shapes, axes...), which
    netc must know when it compiles.
    """
    from compiler.frontend.onnx.proto import read_model

    model = read_model(path)
    return import_model(model, source=str(path), name=Path(path).stem, loss=loss,
                        constants=constants)


def import_model(model: Any, *, source: str = "<onnx>", name: str | None = None,
                 loss: str | None = "auto",
                 constants: Mapping[str, np.ndarray] | None = None) -> Graph:
    """Imports an in-memory onnx.ModelProto (checked and upgraded first). The graph keeps the
    model to import it again at another batch (`Graph.rebuild`, what compile(batch=B) uses
    on a model exported at a fixed batch)."""
    from compiler.frontend.onnx.proto import prepare_model

    model = prepare_model(model, source)
    return _imported(model, source, name or model.graph.name, loss, constants, None)


def _imported(model: Any, source: str, name: str, loss: str | None,
              constants: Mapping[str, np.ndarray] | None, batch: int | None) -> Graph:
    """The prepared model imported with its data inputs at `batch` (None: as the file says).
    Importing again re-folds the shape arithmetic for the new batch, which no rewrite of the
    imported graph could do (a Reshape's shape computed from Shape(x) is a constant by then)."""
    from compiler.frontend.onnx.importer import Importer

    graph = Importer(model, source, name, constants=constants, loss=loss, batch=batch).run()
    graph.rebuild = functools.partial(_imported, model, source, name, loss, constants)
    return graph


__all__ = ["import_model", "load_onnx"]
