"""Parses the text IR written by ir/printer.py back into a verified Graph.

Where it sits: the inverse of the printer. Errors are ParseError with line:column; an op the
table does not know, a wrong attribute or a type that disagrees with the shape rule is reported at
the statement that holds it. The `# grad of %x` comment is part of the grammar (provenance);
other comments are ignored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ir.errors import NetcError, ParseError
from ir.graph import Graph, Value
from ir.layouts import ACTIVATION_LAYOUTS, parse_flat, weight_panels_of
from ir.types import BATCH, Dim, TensorType, check_padded, check_total, elements

NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*"
_TOKEN = re.compile(
    rf"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<value>%{NAME})
  | (?P<graphname>@{NAME})
  | (?P<arrow><-)
  | (?P<number>-?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+|inf|nan)(?![A-Za-z0-9_]))
  | (?P<string>"[^"\n]*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[()\[\]{{}},:=@])
    """,
    re.VERBOSE,
)
MAX_NESTING = 8
"""Attribute lists nest at most this deep (shapes are flat lists; this bounds the recursion)."""
_GRAD_OF = re.compile(rf"#\s*grad of %({NAME})\s*$")


@dataclass
class Token:
    kind: str
    text: str
    line: int
    col: int


def tokenize(text: str, source: str = "<ir>") -> list[Token]:
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(f"unexpected character {text[pos]!r}", line, pos - line_start + 1,
                             source)
        kind = m.lastgroup or ""
        if kind == "nl":
            line, line_start = line + 1, m.end()
        elif kind != "ws":
            tokens.append(Token(kind, m.group(), line, pos - line_start + 1))
        pos = m.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.all_tokens = tokenize(text, source)
        self.tokens = [t for t in self.all_tokens if t.kind != "comment"]
        self.comments = {t.line: t for t in self.all_tokens if t.kind == "comment"}
        self.i = 0
        self.stored = 0  # elements of the params and state so far

    # ------------------------------------------------------------ token helpers

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> ParseError:
        tok = tok or self.peek()
        return ParseError(message, tok.line, tok.col, self.source)

    def expect(self, kind: str, text: str | None = None) -> Token:
        tok = self.peek()
        if tok.kind != kind or (text is not None and tok.text != text):
            want = repr(text) if text else kind
            got = repr(tok.text) if tok.text else "end of input"
            raise self.error(f"expected {want}, got {got}")
        return self.next()

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        tok = self.peek()
        if tok.kind == kind and (text is None or tok.text == text):
            return self.next()
        return None

    # ------------------------------------------------------------ grammar

    def parse(self) -> Graph:
        self.expect("ident", "graph")
        graph = Graph(self.expect("graphname").text[1:])
        self.expect("punct", "(")
        while not self.accept("punct", ")"):
            self.parse_input(graph)
            if not self.accept("punct", ","):
                self.expect("punct", ")")
                break
        self.expect("punct", "{")
        while not self.accept("punct", "}"):
            self.parse_statement(graph)
        self.expect("eof")
        return graph

    def parse_input(self, graph: Graph) -> None:
        tok = self.expect("value")
        self.expect("punct", ":")
        type_ = self.parse_type()
        role = self.expect("ident")
        try:
            graph.add_input(tok.text[1:], type_, role.text)
            if role.text in ("param", "state"):
                self.stored += elements(type_.shape)
                check_total(self.stored, "the parameters and state of the graph")
        except NetcError as err:
            raise self.error(str(err), role) from None

    def parse_type(self) -> TensorType:
        start = self.expect("ident")
        self.expect("punct", "[")
        dims: list[Dim] = []
        while not self.accept("punct", "]"):
            dims.append(self.parse_dim())
            if not self.accept("punct", ","):
                self.expect("punct", "]")
                break
        layout = self.parse_layout()
        try:
            return TensorType(start.text, tuple(dims), layout)
        except NetcError as err:
            raise self.error(str(err), start) from None

    def parse_layout(self) -> str:
        """The `@tag` after a type's shape ("" without one): an activation layout, the flat
        and cols tags the layout pass gives a flatten and the dense weight after it, or the
        panels of a packed conv weight (pack-conv-weights)."""
        tag = self.accept("graphname")  # `@nchw8c` lexes as one token, like `@graph`
        if tag is None:
            return ""
        name = tag.text[1:]
        flat = parse_flat(name)
        layout = flat[1].layout if flat is not None else name
        if layout not in ACTIVATION_LAYOUTS[1:] and not weight_panels_of(name):
            raise self.error(f"unknown layout '{tag.text}' (expected @nhwc, @nchw8c, @nchw16c, "
                             "a flat_/cols_ tag of the layout pass or a weight's @oihw<b>o)", tag)
        return name

    def parse_dim(self) -> Dim:
        tok = self.next()
        if tok.kind == "ident" and tok.text == BATCH:
            return BATCH
        if tok.kind == "number" and tok.text.isdigit():
            return self.integer(tok)
        raise self.error(f"expected a dimension (an integer or {BATCH}), got {tok.text!r}", tok)

    def parse_statement(self, graph: Graph) -> None:
        tok = self.peek()
        if tok.kind == "value":
            self.parse_op(graph)
        elif self.accept("ident", "kernel"):
            self.parse_kernel(graph)
        elif self.accept("ident", "return"):
            graph.outputs = self.parse_value_list(graph)
        elif self.accept("ident", "loss"):
            graph.loss = self.parse_operand(graph)
        elif self.accept("ident", "update"):
            target = self.parse_operand(graph)
            self.expect("arrow")
            graph.updates.append((target, self.parse_operand(graph)))
        else:
            raise self.error(f"expected a statement, got {tok.text!r}")

    def parse_kernel(self, graph: Graph) -> None:
        """kernel @name kind stores(%a, ...) { ops }"""
        from ir.schedule import KernelGroup

        name = self.expect("graphname").text[1:]
        kind = self.expect("ident").text
        self.expect("ident", "stores")
        self.expect("punct", "(")
        stores: list[str] = []
        while not self.accept("punct", ")"):
            stores.append(self.expect("value").text[1:])
            if not self.accept("punct", ","):
                self.expect("punct", ")")
                break
        self.expect("punct", "{")
        nodes: list[str] = []
        while not self.accept("punct", "}"):
            nodes.append(self.peek().text[1:])
            self.parse_op(graph)
        if graph.kernels is None:
            graph.kernels = []
        graph.kernels.append(KernelGroup(name, kind, nodes, stores))

    def parse_value_list(self, graph: Graph) -> list[Value]:
        values = [self.parse_operand(graph)]
        while self.accept("punct", ","):
            values.append(self.parse_operand(graph))
        return values

    def parse_operand(self, graph: Graph) -> Value:
        tok = self.expect("value")
        if not graph.has_value(tok.text[1:]):
            raise self.error(f"use of undefined value {tok.text}", tok)
        return graph.value(tok.text[1:])

    def parse_op(self, graph: Graph) -> None:
        name_tok = self.expect("value")
        self.expect("punct", "=")
        op_tok = self.expect("ident")
        self.expect("punct", "(")
        operands: list[Value] = []
        if not self.accept("punct", ")"):
            operands = self.parse_value_list(graph)
            self.expect("punct", ")")
        attrs = self.parse_attrs() if self.peek().text == "{" else {}
        self.accept("ident", "view")
        self.expect("punct", ":")
        type_ = self.parse_type()
        grad_of = self.provenance(self.tokens[self.i - 1].line)
        if graph.has_value(name_tok.text[1:]):
            raise self.error(f"value {name_tok.text} defined twice", name_tok)
        try:
            if operands:
                check_padded(operands[0].type.shape, attrs.get("pad"))
            graph.add_op(op_tok.text, operands, attrs, name_tok.text[1:], type=type_,
                         grad_of=grad_of)
        except NetcError as err:
            raise self.error(str(err), op_tok) from None

    def provenance(self, line: int) -> str | None:
        comment = self.comments.get(line)
        if comment is None:
            return None
        m = _GRAD_OF.match(comment.text)
        return m.group(1) if m else None

    def parse_attrs(self) -> dict[str, Any]:
        self.expect("punct", "{")
        attrs: dict[str, Any] = {}
        while not self.accept("punct", "}"):
            key = self.expect("ident")
            if key.text in attrs:
                raise self.error(f"attribute '{key.text}' given twice", key)
            self.expect("punct", "=")
            attrs[key.text] = self.parse_attr_value()
            if not self.accept("punct", ","):
                self.expect("punct", "}")
                break
        return attrs

    def integer(self, tok: Token) -> int:
        """An integer literal; netc's integers (sizes, axes, seeds) all fit in 64 bits."""
        if len(tok.text.lstrip("-")) > 19 or not -2**63 <= int(tok.text) < 2**63:
            raise self.error(f"integer {tok.text[:24]} does not fit in 64 bits", tok)
        return int(tok.text)

    def parse_attr_value(self, depth: int = 0) -> Any:
        tok = self.next()
        if tok.kind == "number":
            return self.integer(tok) if re.fullmatch(r"-?\d+", tok.text) else _number(tok.text)
        if tok.kind == "string":
            return tok.text[1:-1]
        if tok.kind == "ident" and tok.text in ("true", "false"):
            return tok.text == "true"
        if tok.kind == "ident" and tok.text == BATCH:
            return BATCH
        if tok.kind == "punct" and tok.text == "[":
            if depth >= MAX_NESTING:
                raise self.error(f"lists nest deeper than {MAX_NESTING} levels", tok)
            items: list[Any] = []
            while not self.accept("punct", "]"):
                items.append(self.parse_attr_value(depth + 1))
                if not self.accept("punct", ","):
                    self.expect("punct", "]")
                    break
            return items
        raise self.error(f"expected an attribute value, got {tok.text!r}", tok)


def _number(text: str) -> int | float:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.lstrip("-") == "inf":
        return -math.inf if text.startswith("-") else math.inf
    return float(text)


def parse(text: str, source: str = "<ir>", verify: bool = True) -> Graph:
    """Text IR -> Graph. Verifies the result unless `verify=False` (for verifier tests)."""
    graph = _Parser(text, source).parse()
    if verify:
        from ir.verify import verify as run_verifier

        run_verifier(graph)
    return graph
