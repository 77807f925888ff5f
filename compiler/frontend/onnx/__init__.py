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
    """Imports an in-memory onnx.ModelProto (checked and upgraded first)."""
    from compiler.frontend.onnx.importer import Importer
    from compiler.frontend.onnx.proto import prepare_model

    model = prepare_model(model, source)
    importer = Importer(model, source, name or model.graph.name, constants=constants, loss=loss)
    return importer.run()


__all__ = ["import_model", "load_onnx"]
