"""The ONNX importer: a ModelProto (opset >= 13) -> a verified ir.Graph named after the model.

Where it sits: compiler/frontend/onnx/__init__.load_onnx calls it; the converters of
convert_*.py translate one node each through a NodeContext. The steps:
1. every node is checked first, so one error lists every unsupported op (name, nodes, count);
2. graph inputs become `input` values (a symbolic leading dimension is the batch N; any other
   symbolic dimension is an error: netc compiles static shapes);
3. nodes convert in order. Initializers are parameters (`param`, trainable, named as in the
   file, e.g. `conv1.weight`), BatchNormalization's running statistics are `state`; rank-0
   initializers and Constant nodes filled with one value are `const` ops; other Constant
   tensors are `state` inputs nothing updates. Inputs that give shapes, axes, pads or bounds
   must be constants and never become values at all.
4. the outputs are the graph's results; a loss is attached for training (`loss`).

Layer names: a node that reads an initializer `<p>.weight` (the PyTorch naming) is named `<p>`,
so an exported LeNet shows conv1, fc1, ... as its YAML twin does; other nodes keep their ONNX
node name (else their first output's name), made a valid IR name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import numpy as np

from compiler.frontend.onnx.fold import FOLDS, fold
from compiler.frontend.onnx.proto import (
    FLOAT_TYPES,
    attributes,
    elem_name,
    input_dims,
    sanitize,
    tensor_array,
)
from compiler.frontend.onnx.rebatch import Exported, rebatched_targets
from compiler.frontend.onnx.registry import CONVERTERS, Shapes, load_converters
from ir.errors import ModelError, NetcError
from ir.graph import Graph, Value
from ir.types import BATCH, TensorType, format_shape
from ir.verify import verify

LOSSES = ("auto", "softmax_cross_entropy", "mse")
_NUMPY_FLOAT = {np.dtype("float32"): "f32", np.dtype("float64"): "f64"}

Static = np.ndarray


class BatchUnknownError(ModelError):
    """Shape arithmetic reads the symbolic batch of a dynamic-batch export: the model imports at
    a concrete batch only (load_onnx imports it at batch 1; compile(batch=B) imports it anew)."""


class Importer:
    """Builds one graph. `constants` binds graph inputs to known values (they are then treated
    like Constant nodes); `loss` is "auto", "softmax_cross_entropy", "mse" or None."""

    def __init__(self, model: Any, source: str, name: str,
                 constants: Mapping[str, np.ndarray] | None = None,
                 loss: str | None = "auto", batch: int | None = None,
                 reference: Exported | None = None, readings: Sequence[int] = ()) -> None:
        if loss is not None and loss not in LOSSES:
            raise ModelError(f"unknown loss '{loss}' (expected one of {', '.join(LOSSES)} or "
                             "None)", source)
        load_converters()
        self.model = model
        self.source = source
        self.loss = loss
        self.graph = Graph(sanitize(name) or "model")
        self.constants = {k: np.asarray(v) for k, v in (constants or {}).items()}
        self.env: dict[str, Value | Static] = {}
        self.initializer_names: set[str] = set()
        self.made: dict[tuple[str, str, str], Value] = {}
        self.batch = batch
        """The leading dimension the data inputs get instead of the exported one (re-batching);
        None keeps the file's shapes (a symbolic one becomes N)."""
        self.reference = reference
        """When re-batching: the shape of every ONNX value in the import at the file's batch
        (a Reshape's constant target that carries the batch is scaled: rebatch.py)."""
        self.readings = list(readings)
        """Which reading of each ambiguous Reshape target to take, in the order they are met
        (missing: the first); `decisions` records (node, reading, readings) as they are met."""
        self.decisions: list[tuple[str, int, int]] = []
        self.exported_batch: int | str | None = None
        """The leading dimension of the first data input as the file gives it: the inputs that
        share it are the batched ones."""

    # ------------------------------------------------------------ the steps

    def run(self) -> Graph:
        onnx_graph = self.model.graph
        for tensor in onnx_graph.initializer:
            self.env[tensor.name] = tensor_array(tensor, self.source)
            self.initializer_names.add(tensor.name)
        self._check_support(onnx_graph)
        self._declare_inputs(onnx_graph)
        for node in onnx_graph.node:
            self._convert(node)
        self.graph.outputs = [self.data(o.name, None, f"output '{o.name}'")
                              for o in onnx_graph.output]
        if not self.graph.outputs:
            raise ModelError("the model has no outputs", self.source)
        self._attach_loss()
        try:
            return verify(self.graph)
        except NetcError as err:
            raise ModelError(f"imported graph does not verify: {err}", self.source) from None

    def _check_support(self, onnx_graph: Any) -> None:
        """Raises one error naming every unsupported op (and variant) with its nodes."""
        ranks = {t.name: len(t.dims) for t in onnx_graph.initializer}
        for vi in onnx_graph.input:
            dims = input_dims(vi)
            if dims is not None:
                ranks.setdefault(vi.name, len(dims[1]))
        used = {i for n in onnx_graph.node for i in n.input} | {o.name for o in onnx_graph.output}
        problems: dict[str, list[str]] = {}
        for node in onnx_graph.node:
            what = _unsupported(node, Shapes(ranks), used)
            if what is not None:
                problems.setdefault(what, []).append(display(node))
        if not problems:
            return
        parts = []
        for what, nodes in problems.items():
            shown = ", ".join(f"'{n}'" for n in nodes[:3]) + (", ..." if len(nodes) > 3 else "")
            parts.append(f"{what} x{len(nodes)} ({shown})")
        total = sum(len(n) for n in problems.values())
        raise ModelError(f"{total} node(s) use ONNX ops netc does not import: "
                         + "; ".join(parts), self.source)

    def _declare_inputs(self, onnx_graph: Any) -> None:
        static = static_uses(onnx_graph)
        skip = self.env.keys() | self.constants.keys() | static.keys()
        shapes = [info[1] for vi in onnx_graph.input
                  if vi.name not in skip and (info := input_dims(vi)) is not None]
        self.exported_batch = next((dims[0] for dims in shapes if dims), None)
        for vi in onnx_graph.input:
            if vi.name in self.env:
                continue  # an initializer listed as an input (older exporters): a parameter
            if vi.name in self.constants:
                self.env[vi.name] = self.constants[vi.name]
                continue
            if vi.name in static:
                raise ModelError(
                    f"input '{vi.name}' gives {static[vi.name]}; netc compiles static shapes, "
                    "so it must be a constant: an initializer, or a value passed as "
                    "load_onnx(..., constants={name: array})", self.source)
            self.env[vi.name] = self._graph_input(vi)

    def _graph_input(self, vi: Any) -> Value:
        info = input_dims(vi)
        if info is None:
            raise ModelError(f"input '{vi.name}' is not a tensor with a known shape",
                             self.source)
        elem, dims = info
        dtype = FLOAT_TYPES.get(elem, "i64" if elem == 7 else None)  # 7: int64 (embedding ids)
        if dtype is None:
            raise ModelError(f"input '{vi.name}' is {elem_name(elem)}; netc computes on float32 "
                             "and float64 tensors (and reads int64 ids)", self.source)
        shape: list[int | str] = []
        for i, d in enumerate(dims):
            if isinstance(d, int):
                shape.append(d)
            elif i == 0:
                shape.append(BATCH)  # the batch: bound by compile(batch=...)
            else:
                raise ModelError(
                    f"input '{vi.name}' has a dynamic dimension {i} ('{d}'); netc compiles "
                    "static shapes: export with a fixed size for every dimension but the "
                    "first (the batch)", self.source)
        if self.batch is not None and shape and (shape[0] == BATCH
                                                 or dims[0] == self.exported_batch):
            shape[0] = self.batch
        name = self.graph.fresh_name(sanitize(vi.name) or "input")
        return self.graph.add_input(name, TensorType(dtype, tuple(shape)), "input")

    def _convert(self, node: Any) -> None:
        if self.reference is not None:
            node = self._rebatched(node)
        attrs = attributes(node)
        cx = NodeContext(self, node, attrs, self._layer_name(node))
        if self._fold(cx):
            return
        entry = CONVERTERS.get(node.op_type)
        if entry is None:  # an op netc only folds, here on a value known at run time only
            self._not_foldable(cx)
        for i in entry.static:
            if cx.has(i) and not isinstance(self.env.get(node.input[i]), np.ndarray):
                raise cx.fail(f"input {i} ('{node.input[i]}') must be a constant (an initializer "
                              "or a Constant node): netc compiles static shapes")
        try:
            entry.convert(cx)
        except ModelError:
            raise
        except NetcError as err:
            raise cx.fail(str(err)) from None
        except (ValueError, IndexError) as err:  # numpy, folding constants of a broken model
            raise cx.fail(f"cannot convert: {err}") from None

    def _rebatched(self, node: Any) -> Any:
        """The node, or a copy of it reading a Reshape target scaled to the new batch."""
        if node.op_type != "Reshape" or len(node.input) < 2 or self.reference is None:
            return node
        x, target = (self.env.get(name) for name in node.input[:2])
        before = self.reference.shapes.get(node.input[0])
        if (not isinstance(x, Value) or not isinstance(target, np.ndarray) or before is None
                or not x.type.is_concrete):
            return node
        exported = [int(t) for t in target.reshape(-1)]
        if (tuple(exported) != self.reference.integers.get(node.input[1])
                or not isinstance(self.exported_batch, int)):
            return node  # folded anew from the new shapes
        now = tuple(int(d) for d in x.type.shape)
        allowzero = bool(attributes(node).get("allowzero", 0))
        try:
            readings = rebatched_targets(exported, before, now, allowzero, self.exported_batch)
        except ValueError as err:
            raise ModelError(f"Reshape: {err}", self.source, layer=display(node)) from None
        scaled = readings[0]
        if len(readings) > 1:
            k = len(self.decisions)
            pick = self.readings[k] if k < len(self.readings) else 0
            self.decisions.append((display(node), pick, len(readings)))
            scaled = readings[pick]
        if scaled is None:
            return node
        copy = type(node)()
        copy.CopyFrom(node)
        copy.input[1] = f"{node.input[1]}@{display(node)}"  # the shared constant stays as is
        self.env[copy.input[1]] = np.asarray(scaled, dtype=np.int64)
        return copy

    def _fold(self, cx: NodeContext) -> bool:
        """Evaluates the node with numpy when all its inputs are constants (or it asks for the
        known shape of a value): the shape arithmetic of exporters (fold.py)."""
        if cx.op_type not in FOLDS:
            return False
        inputs: list[np.ndarray | None] = []
        for i, name in enumerate(cx.node.input):
            found = self.env.get(name) if name else None
            if isinstance(found, Value):
                shape = found.type.shape
                if cx.op_type not in ("Shape", "Size") or i or BATCH in shape:
                    return False
                found = np.broadcast_to(np.zeros((), np.float32), tuple(int(d) for d in shape))
            elif found is None and name:
                return False  # undefined: the converter path reports it
            inputs.append(found)
        try:
            outputs = fold(cx.op_type, inputs, cx.attrs)
        except (ValueError, IndexError, TypeError, KeyError) as err:
            raise cx.fail(f"cannot fold: {err}") from None
        for i, out in enumerate(outputs):
            cx.set_output(np.asarray(out), i)
        if cx.op_type == "Identity" and cx.node.input[0] in self.initializer_names:
            # Exporters merge equal initializers (the zero biases of freshly folded batch
            # norms) and hand each reader an Identity of the one copy: each reader gets a
            # parameter of its own, as in the model that was exported.
            self.initializer_names.add(cx.node.output[0])
        return True

    def _not_foldable(self, cx: NodeContext) -> NoReturn:
        for name in cx.node.input:
            found = self.env.get(name) if name else None
            if isinstance(found, Value) and BATCH in found.type.shape:
                error = cx.fail(f"reads %{found.name} of shape {format_shape(found.type.shape)}, "
                                "whose batch N is not known at import")
                raise BatchUnknownError(str(error))
        raise cx.fail("netc imports it only as shape arithmetic on constants; here an input is "
                      "computed data")

    def _layer_name(self, node: Any) -> str:
        for name in node.input:
            if name in self.initializer_names and name.endswith(".weight"):
                prefix = sanitize(name[: -len(".weight")])
                if prefix:
                    return prefix
        for candidate in (node.name, *node.output):
            if sanitize(candidate):
                return sanitize(candidate)
        return node.op_type.lower()

    def _attach_loss(self) -> None:
        if self.loss is None:
            return
        pred = self.graph.outputs[0]
        if pred.type.dtype not in ("f32", "f64"):
            return
        kind = self.loss
        if kind == "auto":
            kind = "softmax_cross_entropy" if pred.type.rank == 2 else "mse"
        if kind == "softmax_cross_entropy":
            labels = self.graph.add_input(self.graph.fresh_name("labels"),
                                          TensorType("i64", (pred.type.shape[0],)), "label")
        else:
            labels = self.graph.add_input(self.graph.fresh_name("target"), pred.type, "label")
        try:
            self.graph.loss = self.graph.add_op(kind, [pred, labels], {},
                                                self.graph.fresh_name("loss"))
        except NetcError as err:
            raise ModelError(f"cannot attach a {kind} loss to output %{pred.name}: {err}",
                             self.source) from None

    # ------------------------------------------------------------ values

    def data(self, name: str, like: TensorType | None, what: str,
             role: str = "param", layer: str = "") -> Value:
        """The IR value behind ONNX value `name` read as data (constants materialized)."""
        if name not in self.env:
            raise ModelError(f"{what} reads '{name}', which no node or input defines",
                             self.source)
        found = self.env[name]
        if isinstance(found, Value):
            return found
        return self._materialize(name, found, like, role, layer)

    def _materialize(self, name: str, array: np.ndarray, like: TensorType | None, role: str,
                     layer: str) -> Value:
        if array.dtype.kind != "f":
            raise ModelError(f"'{name}' is a {array.dtype} tensor used as data; netc computes "
                             "on float tensors", self.source)
        dtype = like.dtype if like is not None else _NUMPY_FLOAT.get(array.dtype, "f32")
        # Parameters are shared by every reader (tied weights); each BatchNormalization keeps
        # running statistics of its own, since training updates them in place.
        key = (name, role if role == "param" else f"{role}@{layer}", dtype)
        if key in self.made:
            return self.made[key]
        if name in self.initializer_names and array.ndim > 0:
            value = self._initializer(name, array, dtype, role, layer)
        elif array.size and np.all(array == array.flat[0]):
            value = self.graph.add_op("const", [], {
                "value": float(array.flat[0]), "dtype": dtype, "shape": array.shape},
                self.graph.fresh_name(sanitize(name) or "const"))
        else:  # a Constant tensor: carried like state, never updated, never trained
            value = self._input_with(sanitize(name) or "const", array, dtype, "state")
        self.made[key] = value
        return value

    def _initializer(self, name: str, array: np.ndarray, dtype: str, role: str,
                     layer: str) -> Value:
        """An initializer as a `param`, or as BatchNormalization `state` (role running_mean or
        running_var). An initializer read in several roles (exporters merge equal tensors: a
        fresh BN's running_var equals its all-ones weight) gives each role a copy of its own,
        the statistics named as PyTorch names them (`<layer>.running_var`)."""
        shared = any(k[0] == name for k in self.made)
        if role == "param":
            base = f"{sanitize(name)}.param" if shared else sanitize(name)
            return self._input_with(base or "param", array, dtype, "param")
        base = f"{layer}.{role}" if shared else sanitize(name)
        return self._input_with(base or role, array, dtype, "state")

    def _input_with(self, base: str, array: np.ndarray, dtype: str, role: str) -> Value:
        name = self.graph.fresh_name(base)
        value = self.graph.add_input(name, TensorType(dtype, tuple(array.shape)), role)
        self.graph.initializers[name] = array.astype(np.float64 if dtype == "f64" else np.float32)
        return value


class NodeContext:
    """What a converter sees of one node: its attributes, inputs (as IR values or as constant
    arrays), its layer name, and how to add ops and set its outputs."""

    def __init__(self, importer: Importer, node: Any, attrs: dict[str, Any], layer: str) -> None:
        self.importer = importer
        self.node = node
        self.attrs = attrs
        self.layer = layer
        self.graph = importer.graph
        self.parts: set[str] = set()
        """Names of the intermediate steps this node added (`<layer>.<part>`)."""

    @property
    def op_type(self) -> str:
        return str(self.node.op_type)

    def has(self, i: int) -> bool:
        return i < len(self.node.input) and self.node.input[i] != ""

    def value(self, i: int, like: TensorType | None = None) -> Value:
        return self.importer.data(self.node.input[i], like, f"{self.op_type} '{self.layer}'")

    def parameter(self, i: int, role: str) -> Value:
        """Input i as a parameter-like value; role "param", "running_mean" or "running_var"."""
        name = self.node.input[i]
        found = self.importer.env.get(name)
        if isinstance(found, Value) or found is None:
            return self.value(i)
        return self.importer.data(name, None, f"{self.op_type} '{self.layer}'", role=role,
                                  layer=self.layer)

    def static(self, i: int) -> np.ndarray | None:
        """Input i as a constant array (None when the optional input is absent)."""
        if not self.has(i):
            return None
        found = self.importer.env.get(self.node.input[i])
        if not isinstance(found, np.ndarray):
            raise self.fail(f"input {i} ('{self.node.input[i]}') must be a constant")
        return found

    def ints(self, i: int) -> list[int] | None:
        array = self.static(i)
        return None if array is None else [int(v) for v in array.reshape(-1)]

    def scalar(self, i: int) -> float | None:
        array = self.static(i)
        if array is None or array.size == 0:
            return None
        if array.size != 1:
            raise self.fail(f"input {i} must hold one value, got shape {list(array.shape)}")
        return float(array.reshape(-1)[0])

    def add(self, op: str, operands: Sequence[Value], attrs: dict[str, Any] | None = None,
            part: str | None = None) -> Value:
        """Adds an op named after the layer (`<layer>.<part>` for intermediate steps)."""
        base = self.layer if part is None else f"{self.layer}.{part}"
        value = self.graph.add_op(op, operands, attrs or {}, self.graph.fresh_name(base))
        if part is not None:
            self.parts.add(value.name)
        return value

    def set_output(self, result: Value | np.ndarray, i: int = 0) -> None:
        if i < len(self.node.output) and self.node.output[i]:
            self.importer.env[self.node.output[i]] = result

    def finish(self, result: Value | np.ndarray) -> None:
        """Sets the node's output; the op that computes it, if this node added it, takes the
        layer's own name (its intermediate steps keep `<layer>.<part>`)."""
        if isinstance(result, Value) and result.name in self.parts:
            self.graph.rename(result, self.graph.fresh_name(self.layer))
        self.set_output(result)

    def fail(self, message: str) -> ModelError:
        return ModelError(f"{self.op_type}: {message}", self.importer.source,
                          layer=display(self.node))


def static_uses(onnx_graph: Any) -> dict[str, str]:
    """Values read at positions that must be constants -> what they give ("the input 1 of
    Reshape 'r'")."""
    load_converters()
    out: dict[str, str] = {}
    for node in onnx_graph.node:
        entry = CONVERTERS.get(node.op_type)
        for i in sorted(entry.static) if entry is not None else ():
            if i < len(node.input) and node.input[i]:
                out.setdefault(node.input[i], f"input {i} of {node.op_type} '{display(node)}'")
    return out


def display(node: Any) -> str:
    return str(node.name or (node.output[0] if node.output else node.op_type))


def _unsupported(node: Any, shapes: Shapes, used: set[str]) -> str | None:
    if node.domain not in ("", "ai.onnx"):
        return f"{node.domain}::{node.op_type}"
    entry = CONVERTERS.get(node.op_type)
    if entry is None:
        return None if node.op_type in FOLDS else str(node.op_type)
    extra = [o for o in node.output[entry.outputs:] if o and o in used]
    if extra:
        return f"{node.op_type} with {entry.outputs + len(extra)} outputs"
    if entry.check is not None:
        what = entry.check(node, attributes(node), shapes)
        if what is not None:
            return f"{node.op_type} ({what})"
    return None
