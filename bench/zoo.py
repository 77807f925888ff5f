"""The zoo benchmark's networks: the models users bring, exported from PyTorch to ONNX.

Imported by every zoo process -- the exporter and the torch / ONNX Runtime cells (peers venv),
the netc cell and the report (project venv) -- so it depends on the standard library only.
``python -m bench --only zoo`` exports each network once (``bench.zoo_torch``, peers venv,
cached outside the repository), then times netc's import + compile, its latency beside ONNX
Runtime's and its training step beside PyTorch eager's, all on the same weights and data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OPSET = 17
SEED = 0  # torch.manual_seed before building a network: the weights of the export and of torch


@dataclass(frozen=True)
class ZooModel:
    """One network of the zoo: its input (without the batch) and its number of classes."""

    name: str
    in_shape: tuple[int, ...]
    classes: int
    what: str  # one line for the report


ZOO: dict[str, ZooModel] = {m.name: m for m in (
    ZooModel("resnet18", (3, 224, 224), 1000, "torchvision resnet18"),
    ZooModel("mobilenet_v2", (3, 224, 224), 1000, "torchvision mobilenet_v2"),
    ZooModel("efficientnet_b0", (3, 224, 224), 1000, "torchvision efficientnet_b0"),
    ZooModel("transformer", (32, 16), 10,
             "Linear(16->128), TransformerEncoderLayer(128, 4 heads, ff 256), mean, Linear(->10)"),
)}

# The batches the zoo measures: latency at 1 and 8, the training step at 8.
INFER_BATCHES = (1, 8)
TRAIN_BATCH = 8


def netc_export_batch(batch: int) -> int:
    """The batch of the ONNX export that netc's cell at ``batch`` loads: always the batch-1
    export, re-batched by ``compile(graph, batch=B)`` as a user would (issue 12, item 2); ONNX
    Runtime runs the export at ``batch`` (the same seeded weights)."""
    return 1


def export_path(folder: Path, model: str, batch: int) -> Path:
    """Where the export of ``model`` at ``batch`` is cached."""
    return folder / f"{model}_b{batch}_opset{OPSET}.onnx"


def exports_needed(models: list[str]) -> list[tuple[str, int]]:
    """Every (model, batch) export a zoo run of ``models`` reads: ONNX Runtime's and netc's."""
    batches = set(INFER_BATCHES) | {TRAIN_BATCH}
    batches |= {netc_export_batch(b) for b in batches}
    return [(m, b) for m in models for b in sorted(batches)]
