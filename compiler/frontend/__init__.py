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
from ir.parser import parse


def load(path: str | Path) -> Graph:
    """Loads a model file by its suffix: .yaml/.yml/.json descriptions, .ir text IR."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        return load_description(path)
    if suffix == ".ir":
        return _load_ir(Path(path))
    if suffix == ".onnx":
        try:
            from compiler.frontend.onnx import load_onnx
        except ImportError:
            raise ModelError("ONNX import is not available in this build", str(path)) from None
        return load_onnx(path)
    raise ModelError(f"unknown model file type '{suffix}' (expected .yaml, .yml, .json, .onnx "
                     "or .ir)", str(path))


def _load_ir(path: Path) -> Graph:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ModelError(f"cannot read IR file: {err}", str(path)) from None
    return parse(text, source=str(path))


__all__ = ["Builder", "load"]
