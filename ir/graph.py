"""The IR graph: SSA values, op nodes and graph inputs with roles, over a networkx container.

Where it sits: the data structure every stage speaks. Passes see `Graph`, `Node` and `Value`;
networkx stays behind this wrapper (it answers topological order, reachability and cycle
questions). A node's ordered operand list is the truth: `mul(x, x)` has two operands and two
parallel edges.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ir import ops as opdefs
from ir.errors import AttrError, VerifyError
from ir.schedule import KernelGroup, MemoryPlan
from ir.types import TensorType

ROLES = ("input", "label", "param", "state", "const")
"""Graph-input roles: data fed per call (input, label), trained tensors (param), optimizer or
normalization statistics carried between calls (state), and fixed tensors (const)."""


@dataclass(eq=False)
class Value:
    """One SSA value: a graph input (`role` set) or the result of exactly one node."""

    name: str
    type: TensorType
    role: str | None = None
    node: Node | None = None

    def __repr__(self) -> str:
        return f"%{self.name}: {self.type}"


@dataclass(eq=False)
class Node:
    """One op application. `grad_of` names the forward node a backward op differentiates;
    `loc` remembers where the user wrote the layer (file:line) for later error messages."""

    op: str
    operands: list[Value]
    attrs: dict[str, Any]
    result: Value
    grad_of: str | None = None
    loc: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.result.name

    @property
    def type(self) -> TensorType:
        return self.result.type

    @property
    def opdef(self) -> opdefs.OpDef:
        return opdefs.get(self.op)

    def __repr__(self) -> str:
        args = ", ".join(f"%{v.name}" for v in self.operands)
        return f"%{self.name} = {self.op}({args})"


class Graph:
    """A function from its inputs to its outputs, plus an optional loss and in-place updates.

    `updates` pairs a graph input (a param or state) with the value written back into its buffer
    at the end of a call: that is how one training-step graph updates parameters in place.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._nx: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self._values: dict[str, Value] = {}
        self._inputs: list[Value] = []
        self._order: dict[str, int] = {}
        self._counter = itertools.count()
        self._topo: list[Node] | None = None
        self.outputs: list[Value] = []
        self.loss: Value | None = None
        self.updates: list[tuple[Value, Value]] = []
        self.initializers: dict[str, Any] = {}
        """Known contents of some inputs (e.g. ONNX weights), name -> numpy array."""
        self.rebuild: Callable[[int], Graph] | None = None
        """How the frontend that made this graph makes it again with its data inputs at another
        batch (the ONNX importer re-imports, re-folding the shape arithmetic); None if it
        cannot."""
        self.kernels: list[KernelGroup] | None = None
        """Set by the fuse pass: the kernels in execution order."""
        self.plan: MemoryPlan | None = None
        """Set by the plan-memory pass: where every value lives."""

    # ------------------------------------------------------------ construction

    def add_input(self, name: str, type: TensorType, role: str) -> Value:
        if role not in ROLES:
            raise VerifyError(f"input %{name}: unknown role '{role}' (expected {', '.join(ROLES)})")
        self._claim(name)
        value = Value(name, type, role=role)
        self._values[name] = value
        self._inputs.append(value)
        self._nx.add_node(name)
        return value

    def add_op(
        self, op: str, operands: Sequence[Value], attrs: Mapping[str, Any] | None = None,
        name: str | None = None, *, type: TensorType | None = None, grad_of: str | None = None,
        loc: str | None = None,
    ) -> Value:
        """Appends `op(operands) {attrs}` and returns its result.

        Attributes are checked and defaulted; the result type comes from the op's shape rule
        unless `type` is given (the parser passes the printed type; the verifier checks it).
        """
        opdef = opdefs.get(op)
        full_attrs = opdefs.normalize_attrs(opdef, attrs or {})
        check_arity(opdef, len(operands))
        for v in operands:
            if self._values.get(v.name) is not v:
                raise VerifyError(f"{op}: operand %{v.name} does not belong to graph @{self.name}")
        if type is None:
            type = opdef.infer([v.type for v in operands], full_attrs)
        name = self.fresh_name(op) if name is None else name
        self._claim(name)
        result = Value(name, type)
        node = Node(op, list(operands), full_attrs, result, grad_of=grad_of, loc=loc)
        result.node = node
        self._values[name] = result
        self._nx.add_node(name)
        for i, v in enumerate(operands):
            self._nx.add_edge(v.name, name, key=i)
        self._topo = None
        return result

    def _claim(self, name: str) -> None:
        if name in self._values:
            raise VerifyError(f"value %{name} defined twice")
        self._order[name] = next(self._counter)

    def fresh_name(self, base: str) -> str:
        """`base` if unused, else `base.1`, `base.2`, ... (deterministic)."""
        if base not in self._values:
            return base
        for i in itertools.count(1):
            candidate = f"{base}.{i}"
            if candidate not in self._values:
                return candidate
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ queries

    @property
    def inputs(self) -> list[Value]:
        return list(self._inputs)

    def inputs_with_role(self, *roles: str) -> list[Value]:
        return [v for v in self._inputs if v.role in roles]

    @property
    def params(self) -> list[Value]:
        return self.inputs_with_role("param")

    def value(self, name: str) -> Value:
        try:
            return self._values[name]
        except KeyError:
            raise VerifyError(f"no value %{name} in graph @{self.name}") from None

    def node(self, name: str) -> Node:
        """The node that computes %name. A graph input has none: asking for one is a caller's
        bug, reported like a missing value rather than as a None that fails later."""
        node = self.value(name).node
        if node is None:
            raise VerifyError(f"%{name} is an input of graph @{self.name}, not an op's result")
        return node

    def has_value(self, name: str) -> bool:
        return name in self._values

    def values(self) -> Iterator[Value]:
        yield from self._inputs
        for node in self.nodes():
            yield node.result

    def nodes(self) -> list[Node]:
        """Nodes in a deterministic topological order (ties broken by insertion order)."""
        if self._topo is None:
            try:
                names = nx.lexicographical_topological_sort(self._nx, key=self._order.__getitem__)
                self._topo = [n for name in names if (n := self._values[name].node) is not None]
            except nx.NetworkXUnfeasible:
                raise VerifyError(f"graph @{self.name} has a cycle") from None
        return list(self._topo)

    def users(self, value: Value) -> list[Node]:
        """Nodes that read `value`, each once, in topological order."""
        names = sorted(set(self._nx.successors(value.name)), key=self._order.__getitem__)
        return [self.node(n) for n in names]

    def is_output(self, value: Value) -> bool:
        return (
            any(o is value for o in self.outputs) or self.loss is value
            or any(new is value for _, new in self.updates)
        )

    def ancestors(self, value: Value) -> set[str]:
        return set(nx.ancestors(self._nx, value.name))

    def descendants(self, value: Value) -> set[str]:
        return set(nx.descendants(self._nx, value.name))

    def result_values(self) -> list[Value]:
        """Everything the graph hands back: outputs, loss, then updated values."""
        out = list(self.outputs)
        if self.loss is not None and all(self.loss is not o for o in out):
            out.append(self.loss)
        out.extend(new for _, new in self.updates)
        return out

    # ------------------------------------------------------------ mutation

    def replace_uses(self, old: Value, new: Value) -> None:
        """Makes every reader of `old` (nodes and graph results) read `new` instead."""
        for node in self.users(old):
            for i, v in enumerate(node.operands):
                if v is old:
                    node.operands[i] = new
                    self._nx.remove_edge(old.name, node.name, key=i)
                    self._nx.add_edge(new.name, node.name, key=i)
        self.outputs = [new if o is old else o for o in self.outputs]
        if self.loss is old:
            self.loss = new
        self.updates = [(t, new if v is old else v) for t, v in self.updates]
        self._topo = None

    def substitute(self, node: Node, op: str, operands: Sequence[Value],
                   attrs: Mapping[str, Any] | None = None) -> Value:
        """Replaces `node` by `op(operands) {attrs}` under the same name and in the same place
        of the order, rewiring every reader (rewrites keep the user's layer names)."""
        name, place = node.name, self._order[node.name]
        new = self.add_op(op, operands, attrs or {}, self.fresh_name(f"{name}.new"),
                          grad_of=node.grad_of, loc=node.loc)
        self.replace_uses(node.result, new)
        self.remove_node(node)
        self.rename(new, name)
        self._order[name] = place
        self._topo = None
        return new

    def remove_node(self, node: Node) -> None:
        if self.users(node.result) or self.is_output(node.result):
            raise VerifyError(f"cannot remove %{node.name}: it is still used")
        del self._values[node.name]
        del self._order[node.name]
        self._nx.remove_node(node.name)
        self._topo = None

    def remove_input(self, value: Value) -> None:
        if self.users(value) or any(t is value for t, _ in self.updates):
            raise VerifyError(f"cannot remove input %{value.name}: it is still used")
        self._inputs.remove(value)
        del self._values[value.name]
        del self._order[value.name]
        self._nx.remove_node(value.name)
        self.initializers.pop(value.name, None)

    def rename(self, value: Value, new_name: str) -> None:
        """Gives a value a new name (the builder names auto-named layers once all are known)."""
        if new_name == value.name:
            return
        self._claim(new_name)
        old = value.name
        self._order[new_name] = self._order.pop(old)
        self._values[new_name] = self._values.pop(old)
        nx.relabel_nodes(self._nx, {old: new_name}, copy=False)
        value.name = new_name
        if old in self.initializers:
            self.initializers[new_name] = self.initializers.pop(old)
        for v in self._values.values():
            if v.node is not None and v.node.grad_of == old:
                v.node.grad_of = new_name
        self._topo = None

    def retype(self, value: Value, type: TensorType) -> None:
        """Changes a value's type in place (used by batch binding and the layout pass)."""
        value.type = type

    def copy(self, name: str | None = None) -> Graph:
        """A structurally identical graph with fresh Value/Node objects."""
        g = Graph(name or self.name)
        for v in self._inputs:
            g.add_input(v.name, v.type, v.role or "input")
        for n in self.nodes():
            g.add_op(n.op, [g.value(v.name) for v in n.operands], n.attrs, n.name, type=n.type,
                     grad_of=n.grad_of, loc=n.loc)
            g.node(n.name).meta = dict(n.meta)
        g.outputs = [g.value(v.name) for v in self.outputs]
        g.loss = g.value(self.loss.name) if self.loss is not None else None
        g.updates = [(g.value(t.name), g.value(v.name)) for t, v in self.updates]
        g.initializers = dict(self.initializers)
        g.rebuild = self.rebuild
        if self.kernels is not None:
            g.kernels = [KernelGroup(k.name, k.kind, list(k.nodes), list(k.stores))
                         for k in self.kernels]
        g.plan = self.plan
        return g

    def __repr__(self) -> str:
        return f"<Graph @{self.name}: {len(self._inputs)} inputs, {len(self.nodes())} nodes>"


def check_arity(opdef: opdefs.OpDef, count: int) -> None:
    lo, hi = opdef.arity()
    if count < lo or (hi is not None and count > hi):
        expected = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi is not None else f"{lo} or more"
        raise AttrError(f"op '{opdef.name}' takes {expected} operands, got {count}")


def infer_type(op: str, operands: Iterable[Value], attrs: Mapping[str, Any]) -> TensorType:
    """Runs an op's shape rule on values (used by the verifier and by rewrites)."""
    return opdefs.get(op).infer([v.type for v in operands], attrs)
