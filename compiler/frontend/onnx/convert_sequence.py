"""ONNX converters of Erf and Gelu (opset 20), the activations of transformer blocks.

Where it sits: registers into compiler/frontend/onnx/registry.CONVERTERS. Erf is the IR op
`erf` (ir/ops_sequence.py); Gelu is compiler/frontend/compose.py's composition of it, the one
the model description's `gelu` layer uses; its tanh approximation (approximate='tanh') is
compose.gelu_tanh.
"""

from __future__ import annotations

from typing import Any

from compiler.frontend import compose
from compiler.frontend.onnx.convert_compose import emitter
from compiler.frontend.onnx.importer import NodeContext
from compiler.frontend.onnx.registry import Shapes, converter


@converter("Erf")
def _erf(cx: NodeContext) -> None:
    cx.finish(cx.add("erf", [cx.value(0)]))


def _known_form(node: Any, attrs: Any, shapes: Shapes) -> str | None:
    approximate = attrs.get("approximate", "none")
    return None if approximate in ("none", "tanh") else f"approximate='{approximate}'"


@converter("Gelu", check=_known_form)
def _gelu(cx: NodeContext) -> None:
    form = compose.gelu_tanh if cx.attrs.get("approximate", "none") == "tanh" else compose.gelu
    cx.finish(form(emitter(cx), cx.value(0)))
