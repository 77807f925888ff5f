"""The converter table of the ONNX frontend: one entry per ONNX op type netc imports.

Where it sits: compiler/frontend/onnx/convert_*.py register their converters here; the importer
looks nodes up in CONVERTERS. An entry says which inputs must be compile-time constants (shapes,
axes, pads, bounds: netc compiles static shapes) and may carry a `check` that rejects variants
of the op netc does not implement (a 3-D convolution, Pad in reflect mode...) before any
conversion starts, so one error can list every unsupported op of a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compiler.frontend.onnx.importer import NodeContext

Check = Callable[[Any, Mapping[str, Any], "Shapes"], "str | None"]
"""(node, attributes, known ranks) -> a short description of the unsupported variant, or None."""


class Shapes:
    """What the pre-conversion check may know about a value: the rank of graph inputs and
    initializers (not of intermediate values)."""

    def __init__(self, ranks: dict[str, int]) -> None:
        self.ranks = ranks

    def rank(self, name: str) -> int | None:
        return self.ranks.get(name)


@dataclass(frozen=True)
class Converter:
    op_type: str
    convert: Callable[[NodeContext], None]
    static: frozenset[int] = frozenset()
    """Input positions that must be constants (initializers, Constant nodes)."""
    check: Check | None = None
    outputs: int = 1
    """How many outputs netc produces; a node asking for more is an unsupported variant."""


CONVERTERS: dict[str, Converter] = {}


def converter(*op_types: str, static: tuple[int, ...] = (), check: Check | None = None,
              outputs: int = 1) -> Callable[[Callable[[NodeContext], None]],
                                            Callable[[NodeContext], None]]:
    def register(fn: Callable[[NodeContext], None]) -> Callable[[NodeContext], None]:
        for op_type in op_types:
            if op_type in CONVERTERS:
                raise ValueError(f"ONNX op {op_type} registered twice")
            CONVERTERS[op_type] = Converter(op_type, fn, frozenset(static), check, outputs)
        return fn

    return register


def load_converters() -> None:
    """Imports every convert_*.py of this package (each registers its ops)."""
    from ir.extensions import load_modules

    load_modules("compiler.frontend.onnx", "convert_")
