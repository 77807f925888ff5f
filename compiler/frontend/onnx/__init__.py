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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ir.errors import ModelError
from ir.graph import Graph

if TYPE_CHECKING:
    from compiler.frontend.onnx.rebatch import Exported


def load_onnx(path: str | Path, *, loss: str | None = "auto",
              constants: Mapping[str, np.ndarray] | None = None) -> Graph:
    """Imports an ONNX model file as a verified graph with a symbolic batch N (at batch 1 when
    its shape arithmetic reads the batch: compile(batch=B) then imports it anew at B).

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
    return _imported(model, source, name or model.graph.name, loss, constants)


def _imported(model: Any, source: str, name: str, loss: str | None,
              constants: Mapping[str, np.ndarray] | None) -> Graph:
    """The prepared model imported as the file gives it, able to import itself again at
    another batch (Graph.rebuild)."""
    from compiler.frontend.onnx.importer import BatchUnknownError, Importer
    from compiler.frontend.onnx.rebatch import Exported

    importer = Importer(model, source, name, constants=constants, loss=loss)
    try:
        graph = importer.run()
    except BatchUnknownError:
        # A dynamic-batch export whose shape arithmetic reads the batch (Shape(x)[0] feeding a
        # Reshape): its shapes are known only at a concrete batch. Imported at batch 1, it
        # re-batches like a fixed-batch export: compile(batch=B) folds the arithmetic at B.
        importer = Importer(model, source, name, constants=constants, loss=loss, batch=1)
        graph = importer.run()
    graph.rebuild = Reimport(model, source, name, loss, constants, Exported.of(importer.env))
    return graph


@dataclass(frozen=True)
class Reimport:
    """A model imported again with its data inputs at another batch. Importing again folds
    the shape arithmetic anew, which no rewrite of the imported graph could do (a Reshape's
    shape computed from Shape(x) is a constant by then); `exported` (what the import at the
    file's batch saw) lets the importer scale the Reshape targets an exporter folded itself."""

    model: Any
    source: str
    name: str
    loss: str | None
    constants: Mapping[str, np.ndarray] | None
    exported: Exported

    def __call__(self, batch: int) -> Graph:
        """The model imported at `batch`. Where a Reshape target can carry the batch in
        several dimensions, the readings are tried in order (rebatch.py) until the model
        imports and keeps its samples apart; the error is the first reading's."""
        readings: list[int] = []
        first: ModelError | None = None
        for _ in range(MAX_READINGS):
            importer = self._importer(batch, readings)
            try:
                graph = importer.run()
                outputs = [o.name for o in self.model.graph.output]
                mixed = self.exported.mixed(importer.env, outputs, importer.exported_batch) \
                    if importer.decisions else None
                if mixed is None:
                    graph.rebuild = self
                    return graph
                node = importer.decisions[0][0]
                raise ModelError(f"Reshape: no reading of its constant shape keeps the samples "
                                 f"apart at batch {batch} ({mixed})", self.source, layer=node)
            except ModelError as err:
                first = first or err
            following = next_readings(importer.decisions)
            if following is None:
                break
            readings = following
        assert first is not None
        raise first

    def _importer(self, batch: int, readings: list[int]) -> Any:
        from compiler.frontend.onnx.importer import Importer

        return Importer(self.model, self.source, self.name, constants=self.constants,
                        loss=self.loss, batch=batch, reference=self.exported, readings=readings)


MAX_READINGS = 64
"""How many combinations of ambiguous Reshape readings a re-import tries (each one imports the
model again; real exports have one or two ambiguous Reshapes, each with two readings)."""


def next_readings(decisions: list[tuple[str, int, int]]) -> list[int] | None:
    """The next combination to try after `decisions` (node, reading, readings) failed: the
    last decision that has another reading takes it, those after it start again (depth
    first); None when every combination was tried."""
    for k in range(len(decisions) - 1, -1, -1):
        _, pick, count = decisions[k]
        if pick + 1 < count:
            return [d[1] for d in decisions[:k]] + [pick + 1]
    return None


__all__ = ["Reimport", "import_model", "load_onnx"]
