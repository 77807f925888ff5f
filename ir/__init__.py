"""netc's intermediate representation: typed SSA values, declared ops, graphs, text and pictures.

Where it sits: the bottom layer. `ir` imports nothing from `compiler` or `runtime` (and never
llvmlite); every other layer builds on it.
"""

from ir.errors import (
    AttrError,
    CompileError,
    ModelError,
    NetcError,
    ParseError,
    RuntimeInputError,
    ShapeError,
    VerifyError,
)
from ir.graph import ROLES, Graph, Node, Value
from ir.ops import OPS, Kind, OpDef
from ir.parser import parse
from ir.printer import print_graph
from ir.types import BATCH, TensorType
from ir.verify import verify

__all__ = [
    "BATCH", "OPS", "ROLES", "AttrError", "CompileError", "Graph", "Kind", "ModelError",
    "NetcError", "Node", "OpDef", "ParseError", "RuntimeInputError", "ShapeError",
    "TensorType", "Value", "VerifyError", "parse", "print_graph", "verify",
]
