"""Reads a YAML or JSON model file into plain data that remembers source lines.

Where it sits: the first step of the model-description frontend. YAML goes through PyYAML's
safe loader only (a model file never executes code: no python tags, no pickle). Every mapping
and list comes back as `LocDict` / `LocList`, which carry the line of each entry, so later errors
can name the file and line. Alias expansion is bounded so a tiny file cannot explode in memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from ir.errors import ModelError

MAX_NODES = 100_000
"""Upper bound on decoded YAML/JSON nodes (counting alias expansions): models are small."""
MAX_FILE_BYTES = 16 * 1024 * 1024


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap")


class LocDict(dict[Any, Any]):
    """A mapping that knows the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocList(list[Any]):
    """A list that knows the line of itself and of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def read_model_file(path: str | Path) -> Any:
    """Loads the file as YAML (.yaml/.yml) or JSON (.json) into LocDict/LocList data."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read model file: {err.strerror or err}", str(path)) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ModelError(f"model file is {len(raw)} bytes; the limit is {MAX_FILE_BYTES}",
                         str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelError(f"model file is not UTF-8 text (byte {err.start})", str(path)) from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        return parse_json(text, str(path))
    if suffix in (".yaml", ".yml"):
        return parse_yaml(text, str(path))
    raise ModelError(f"unknown model file type '{suffix}' (expected .yaml, .yml or .json)",
                     str(path))


def parse_json(text: str, source: str) -> Any:
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        raise ModelError(f"JSON syntax error: {err.msg} (column {err.colno})", source,
                         err.lineno) from None
    except RecursionError:
        raise ModelError("JSON nesting is too deep", source) from None
    except ValueError:  # Python refuses to convert integers of more than 4300 digits
        raise ModelError("JSON holds a number too long to read", source) from None
    # JSON is a subset of YAML's flow style: reuse the YAML composer to learn line numbers.
    return parse_yaml(text, source)


def parse_yaml(text: str, source: str) -> Any:
    try:
        loader = yaml.SafeLoader(text)  # its reader already rejects control characters
    except yaml.reader.ReaderError as err:
        raise _reader_error(err, text, source) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _Converter(loader, source).convert(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        col = f" (column {mark.column + 1})" if mark else ""
        context = ""
        if err.context and err.context_mark and err.context_mark.line + 1 != line:
            opened = err.context.replace("while parsing ", "")
            opened = opened.removeprefix("a ").removeprefix("an ")
            context = f"; the {opened} opened on line {err.context_mark.line + 1}"
        raise ModelError(f"YAML syntax error: {err.problem or err.context}{col}{context}", source,
                         line) from None
    except yaml.reader.ReaderError as err:
        raise _reader_error(err, text, source) from None
    except yaml.YAMLError as err:
        raise ModelError(f"YAML error: {' '.join(str(err).split())}", source) from None
    except RecursionError:
        raise ModelError("YAML nesting is too deep", source) from None
    finally:
        loader.dispose()


def _reader_error(err: yaml.reader.ReaderError, text: str, source: str) -> ModelError:
    """PyYAML's own message spans lines; this one names the character and where it is."""
    before = text[:err.position]
    line, col = before.count("\n") + 1, err.position - (before.rfind("\n") + 1) + 1
    code = err.character if isinstance(err.character, int) else ord(err.character)
    return ModelError(f"character U+{code:04X} is not allowed in YAML (column {col})", source,
                      line)


class _Converter:
    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.count = 0

    def convert(self, node: yaml.Node) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise ModelError(f"model file expands to more than {MAX_NODES} entries "
                             "(nested aliases?)", self.source, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise ModelError(f"tag '{node.tag}' is not allowed in a model file", self.source,
                             node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            out = LocList(self.convert(item) for item in node.value)
            out.line = node.start_mark.line + 1
            out.item_lines = [item.start_mark.line + 1 for item in node.value]
            return out
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as err:  # noqa: BLE001 - PyYAML's scalar constructors raise ValueError
            # (over 4300 digits, 2020-13-01), KeyError (`!!bool abc`), AttributeError, ...
            text = str(node.value)
            why = "a number too long to read" if len(text) > 4300 else " ".join(str(err).split())
            raise ModelError(f"cannot read {text[:20]!r}{'...' if len(text) > 20 else ''}: "
                             f"{why}", self.source, node.start_mark.line + 1) from None

    def _mapping(self, node: yaml.MappingNode) -> LocDict:
        self.loader.flatten_mapping(node)
        out = LocDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise ModelError(f"keys must be strings, got {key!r}", self.source, line)
            if key in out:
                raise ModelError(f"key '{key}' appears twice", self.source, line)
            out[key] = self.convert(value_node)
            out.key_lines[key] = line
        return out
