"""Lowers a YAML/JSON model description to an IR graph through the Builder.

Where it sits: `compiler.load("model.yaml")` lands here. Checks the description against
compiler/frontend/schema.py, names every layer (user names kept), orders the layers (sequential by
default, a DAG where layers name their `inputs`), and calls the Builder layer by layer. Every
error names the file, the line and the layer, and the numbers that disagree.

    name: lenet5
    input: {name: image, shape: [1, 28, 28]}
    layers:
      - conv2d: {name: conv1, filters: 6, kernel: 5, padding: 2}
      - relu
      ...
    loss: softmax_cross_entropy
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from compiler.frontend.builder import PREFIX, Builder, number_names
from compiler.frontend.schema import COMMON, LAYERS, LOSSES, MULTI_INPUT, TOP_LEVEL, check_field
from compiler.frontend.source import LocDict, LocList, read_model_file
from ir.errors import ModelError
from ir.graph import Graph, Value
from ir.suggest import did_you_mean

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_INPUT_KEYS = ("name", "shape", "dtype")


@dataclass
class Layer:
    kind: str
    attrs: dict[str, Any]
    line: int
    name: str = ""
    user_named: bool = False
    inputs: list[str] = field(default_factory=list)


class _Lowering:
    def __init__(self, data: Any, source: str) -> None:
        self.data = data
        self.source = source

    def error(self, message: str, line: int | None = None, layer: str | None = None) -> ModelError:
        return ModelError(message, self.source, line, layer)

    def run(self) -> Graph:
        data = self.data
        if data is None:
            raise self.error("the model file is empty")
        if not isinstance(data, LocDict):
            raise self.error("a model description must be a mapping with 'input' and 'layers'",
                             getattr(data, "line", 1))
        for key in data:
            if key not in TOP_LEVEL:
                raise self.error(f"unknown key '{key}'{did_you_mean(key, TOP_LEVEL)}",
                                 data.line_of(key))
        builder = Builder(self._model_name(data))
        values = self._inputs(data, builder)
        layers = self._layers(data)
        self._assign_names(layers, set(values))
        self._wire(layers, values)
        for layer in self._order(layers, values):
            values[layer.name] = self._lower(builder, layer, values)
        last = values[layers[-1].name]
        output = self._output(data, values, last)
        builder.output(output)
        if "loss" in data:
            self._loss(data, builder, values, output)
        try:
            return builder.build()
        except ModelError as err:
            raise self.error(err.bare_message, layer=err.layer) from None

    # ------------------------------------------------------------ top level

    def _model_name(self, data: LocDict) -> str:
        name = data.get("name", Path(self.source).stem)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise self.error(f"model name must be letters, digits, _ or -, got {name!r}",
                             data.line_of("name"))
        return name

    def _inputs(self, data: LocDict, builder: Builder) -> dict[str, Value]:
        if "input" in data and "inputs" in data:
            raise self.error("give either 'input' or 'inputs', not both", data.line_of("inputs"))
        if "input" in data:
            specs = [data["input"]]
            lines = [data.line_of("input")]
        elif "inputs" in data and isinstance(data["inputs"], LocList) and data["inputs"]:
            specs = list(data["inputs"])
            lines = [data["inputs"].line_of(i) for i in range(len(specs))]
        else:
            raise self.error("the model needs an 'input' such as {name: image, shape: [1, 28, 28]}",
                             data.line)
        values: dict[str, Value] = {}
        for spec, line in zip(specs, lines, strict=True):
            if not isinstance(spec, LocDict) or "shape" not in spec:
                raise self.error("an input needs a 'shape', e.g. {name: image, shape: [1, 28, 28]}",
                                 line)
            for key in spec:
                if key not in _INPUT_KEYS:
                    raise self.error(f"unknown input key '{key}'"
                                     f"{did_you_mean(key, _INPUT_KEYS)}", spec.line_of(key))
            name = spec.get("name", "input")
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise self.error(f"input name must be letters, digits, _ or -, got {name!r}",
                                 spec.line_of("name"))
            try:
                values[name] = builder.input(name, spec["shape"], spec.get("dtype", "f32"))
            except ModelError as err:
                key = "dtype" if "dtype" in err.bare_message else "shape"
                raise self.error(err.bare_message, spec.line_of(key)) from None
        return values

    def _layers(self, data: LocDict) -> list[Layer]:
        raw = data.get("layers")
        if raw is None or (isinstance(raw, list) and not raw):
            raise self.error("the model has no layers", data.line_of("layers"))
        if not isinstance(raw, LocList):
            raise self.error("'layers' must be a list", data.line_of("layers"))
        return [self._layer(entry, raw.line_of(i)) for i, entry in enumerate(raw)]

    def _layer(self, entry: Any, line: int) -> Layer:
        if isinstance(entry, str):
            kind, attrs = entry, LocDict()
        elif isinstance(entry, LocDict) and len(entry) == 1:
            kind, attrs = next(iter(entry.items()))
            if attrs is None:
                attrs = LocDict()
            if not isinstance(attrs, LocDict):
                raise self.error(f"layer '{kind}' needs a mapping of attributes, got {attrs!r}",
                                 line)
        else:
            raise self.error("a layer is a name such as 'relu' or a mapping such as "
                             "{conv2d: {filters: 6, kernel: 5}}", line)
        if kind not in LAYERS:
            raise self.error(f"unknown layer type '{kind}'{did_you_mean(kind, LAYERS)}", line)
        self._check_attrs(kind, attrs, line)
        layer = Layer(kind, {k: v for k, v in attrs.items() if k not in COMMON}, line)
        if "name" in attrs:
            layer.name, layer.user_named = attrs["name"], True
            if not isinstance(layer.name, str) or not _NAME.fullmatch(layer.name):
                raise self.error(f"layer name must be letters, digits, _ or -, got {layer.name!r}",
                                 attrs.line_of("name"))
        if "inputs" in attrs:
            layer.inputs = self._input_names(attrs)
        return layer

    def _input_names(self, attrs: LocDict) -> list[str]:
        ins = attrs["inputs"]
        if isinstance(ins, str):
            ins = [ins]
        if not isinstance(ins, list) or not ins or not all(isinstance(i, str) for i in ins):
            raise self.error("'inputs' must be a layer name or a list of layer names",
                             attrs.line_of("inputs"))
        return list(ins)

    def _check_attrs(self, kind: str, attrs: LocDict, line: int) -> None:
        schema = LAYERS[kind]
        known = set(schema) | COMMON
        who = attrs.get("name") if isinstance(attrs.get("name"), str) else None
        for key, value in attrs.items():
            if key not in known:
                raise self.error(f"{kind} has no attribute '{key}'{did_you_mean(key, known)}",
                                 attrs.line_of(key), who)
            if key in schema:
                expected = check_field(schema[key].kind, value)
                if expected:
                    raise self.error(f"{kind} attribute '{key}' must be {expected}, got {value!r}",
                                     attrs.line_of(key), who)
        for key, spec in schema.items():
            if spec.required and key not in attrs:
                raise self.error(f"{kind} needs attribute '{key}'", line, who)

    # ------------------------------------------------------------ names and order

    def _assign_names(self, layers: list[Layer], taken: set[str]) -> None:
        for layer in layers:
            if layer.user_named:
                if layer.name in taken:
                    raise self.error(f"name '{layer.name}' is used twice", layer.line, layer.name)
                taken.add(layer.name)
        by_prefix: dict[str, list[Layer]] = {}
        for layer in layers:
            if not layer.user_named:
                by_prefix.setdefault(PREFIX.get(layer.kind, layer.kind), []).append(layer)
        for prefix, group in by_prefix.items():
            for layer, name in zip(group, number_names(prefix, len(group), taken), strict=True):
                layer.name = name
                taken.add(name)

    def _wire(self, layers: list[Layer], values: dict[str, Value]) -> None:
        known = set(values) | {layer.name for layer in layers}
        previous = next(iter(values)) if len(values) == 1 else None
        for layer in layers:
            if not layer.inputs:
                if previous is None:
                    raise self.error("this layer must name its 'inputs' (the model has several "
                                     "inputs)", layer.line, layer.name)
                layer.inputs = [previous]
            for name in layer.inputs:
                if name not in known:
                    raise self.error(f"input '{name}' is not a layer or model input"
                                     f"{did_you_mean(name, known)}", layer.line, layer.name)
            want_many = layer.kind in MULTI_INPUT
            if want_many != (len(layer.inputs) > 1) or (layer.kind == "sub"
                                                         and len(layer.inputs) != 2):
                need = {"sub": "exactly two inputs (the first minus the second)"}.get(
                    layer.kind, "at least two inputs" if want_many else "exactly one input")
                raise self.error(f"{layer.kind} takes {need}, got {len(layer.inputs)}",
                                 layer.line, layer.name)
            previous = layer.name

    def _order(self, layers: list[Layer], values: dict[str, Value]) -> list[Layer]:
        deps: nx.DiGraph[str] = nx.DiGraph()
        index = {layer.name: i for i, layer in enumerate(layers)}
        deps.add_nodes_from(index)
        for layer in layers:
            deps.add_edges_from((src, layer.name) for src in layer.inputs if src in index)
        try:
            cycle = nx.find_cycle(deps)
        except nx.NetworkXNoCycle:
            order = nx.lexicographical_topological_sort(deps, key=index.__getitem__)
            return [layers[index[name]] for name in order]
        names = [edge[0] for edge in cycle] + [cycle[0][0]]
        first = layers[index[names[0]]]
        raise self.error("layers form a cycle: " + " -> ".join(names), first.line, first.name)

    # ------------------------------------------------------------ lowering

    def _lower(self, builder: Builder, layer: Layer, values: dict[str, Value]) -> Value:
        builder.at(f"{self.source}:{layer.line}")
        args = [values[name] for name in layer.inputs]
        method = getattr(builder, layer.kind)
        try:
            if layer.kind == "concat":
                return method(args, name=layer.name, **layer.attrs)
            return method(*args, name=layer.name, **layer.attrs)
        except ModelError as err:
            raise self.error(err.bare_message, layer.line, layer.name) from None

    def _output(self, data: LocDict, values: dict[str, Value], last: Value) -> Value:
        if "output" not in data:
            return last
        name = data["output"]
        if not isinstance(name, str) or name not in values:
            raise self.error(f"output '{name}' is not a layer{did_you_mean(str(name), values)}",
                             data.line_of("output"))
        return values[name]

    def _loss(self, data: LocDict, builder: Builder, values: dict[str, Value],
              output: Value) -> None:
        spec = data["loss"]
        line = data.line_of("loss")
        target = output
        if isinstance(spec, LocDict):
            for key in spec:
                if key not in ("type", "input"):
                    raise self.error(f"unknown loss key '{key}'"
                                     f"{did_you_mean(key, ('type', 'input'))}", spec.line_of(key))
            if "input" in spec:
                if spec["input"] not in values:
                    raise self.error(f"loss input '{spec['input']}' is not a layer", line)
                target = values[spec["input"]]
            spec = spec.get("type")
        if spec not in LOSSES:
            raise self.error(f"unknown loss '{spec}'{did_you_mean(str(spec), LOSSES)} "
                             f"(expected one of {', '.join(LOSSES)})", line)
        try:
            builder.at(f"{self.source}:{line}").loss(spec, target)
        except ModelError as err:
            raise self.error(err.bare_message, line, "loss") from None


def lower_description(data: Any, source: str) -> Graph:
    """Plain (Loc-annotated) description data -> verified forward graph."""
    return _Lowering(data, source).run()


def load_description(path: str | Path) -> Graph:
    """Reads and lowers a .yaml/.yml/.json model description."""
    return lower_description(read_model_file(path), str(path))
