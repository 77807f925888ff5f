"""Names from model files as file names, and paths that must stay inside their folder.

Where it sits: beside the IR, because the names it guards come from there (a graph's `@name`,
an ONNX `graph.name`, layer and parameter names); used by every stage that derives a file path
from such a name (the default checkpoint of `netc train`, its `--dump-ir` files, the compile
cache's program entries). A model file is untrusted input: a name like `../../x`, `/etc/x`, a NUL
or 5,000 characters must never choose where netc writes. So names are mapped, never trusted:

    safe_file_name("lenet5")        -> "lenet5"                 (unchanged when already safe)
    safe_file_name("../../x")       -> "x-9cdf6a50"             (mapped, plus a hash)
    safe_file_name("")              -> "unnamed-e3b0c442"

and every derived path is checked once more by `inside()`, which resolves symbolic links, so a
folder that links elsewhere cannot carry a write out either.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ir.errors import NetcError

MAX_NAME = 80
"""Characters of a mapped name (plus its hash): far below every filesystem's 255-byte limit,
so suffixes such as `.train.kernels.ir` still fit."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


class PathEscapeError(NetcError):
    """A path that netc derived lies outside the folder it belongs in."""


def safe_file_name(name: str) -> str:
    """`name` as one path component of [A-Za-z0-9_.-], not starting with a dot or dash.

    A name that is already such a component (and short) is returned unchanged, so ordinary
    models keep their readable file names. Any other name is mapped (each run of other
    characters becomes `_`, leading dots and dashes dropped, cut to MAX_NAME) and gets the first
    8 hex digits of its SHA-256, so two names that map alike (`a/b`, `a_b`) still differ."""
    if _is_safe(name):
        return name
    readable = _UNSAFE.sub("_", name).lstrip(".-_")[:MAX_NAME] or "unnamed"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{readable}-{digest}"


def _is_safe(name: str) -> bool:
    return (0 < len(name) <= MAX_NAME and _UNSAFE.search(name) is None
            and not name.startswith((".", "-")))


def inside(folder: str | Path, path: str | Path) -> Path:
    """`path`, after checking that it resolves (symbolic links followed) into `folder`.

    The last line of defence behind safe_file_name: raises PathEscapeError naming both paths
    when a derived path would leave its folder."""
    root = Path(folder).resolve()
    target = Path(path).resolve()
    if target != root and not target.is_relative_to(root):
        raise PathEscapeError(f"refusing to write {path}: it lies outside {folder}")
    return Path(path)
