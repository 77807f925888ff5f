"""The one error hierarchy of netc: every stage raises a subclass of NetcError.

Where it sits: imported by every layer (ir, compiler, runtime). The CLI catches NetcError and
prints its one-line message (exit 1); anything else escaping is a bug in netc, not in user input.
"""

from __future__ import annotations


class NetcError(Exception):
    """Base of all user-facing errors; `str(err)` is one line a user can act on."""


class ShapeError(NetcError):
    """An op's operands do not fit its shape rule (raised by ir.ops shape rules)."""


class AttrError(NetcError):
    """An attribute is missing, unknown or of the wrong type."""


class ParseError(NetcError):
    """Malformed text IR; carries the 1-based line and column."""

    def __init__(self, message: str, line: int, col: int, source: str = "<ir>") -> None:
        super().__init__(f"{source}:{line}:{col}: {message}")
        self.line = line
        self.col = col
        self.bare_message = message


class VerifyError(NetcError):
    """A graph breaks an IR invariant; the message names the op and shows its printed line."""


class ModelError(NetcError):
    """A model description is wrong; the message names the file, line and layer."""

    def __init__(
        self, message: str, path: str | None = None, line: int | None = None,
        layer: str | None = None,
    ) -> None:
        where = path or "<model>"
        if line is not None:
            where += f":{line}"
        who = f" layer '{layer}':" if layer else ""
        super().__init__(f"{where}:{who} {message}")
        self.path = path
        self.line = line
        self.layer = layer
        self.bare_message = message


class CompileError(NetcError):
    """A pass or the code generator cannot handle this graph; names the pass or op."""


class RuntimeInputError(NetcError):
    """An array handed to a compiled network has the wrong shape, dtype or layout."""
