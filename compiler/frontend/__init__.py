"""Frontends: model descriptions (YAML/JSON), the Python builder, later ONNX -> ir.Graph.

Where it sits: the first stage of the pipeline. Everything a frontend returns is verified and
names every value after the user's layers.
"""

from __future__ import annotations

from pathlib import Path

from compiler.frontend.builder import Builder
from compiler.frontend.description import load_description
from ir.errors import ModelError
from ir.graph import Graph


def load(path: str | Path) -> Graph:
    """Loads a model file by its suffix: .yaml/.yml/.json (more formats as they land)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        return load_description(path)
    raise ModelError(f"unknown model file type '{suffix}' (expected .yaml, .yml or .json)",
                     str(path))


__all__ = ["Builder", "load"]
