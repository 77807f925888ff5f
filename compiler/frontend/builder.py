"""The Python builder API: write a network in Python, get the same IR a model file gives.

Where it sits: the common lowering of every frontend. The YAML/JSON frontend calls these methods
layer by layer, so a model file and its Python transcription produce identical graphs.

    b = Builder("lenet5")
    x = b.input("image", [1, 28, 28])
    x = b.conv2d(x, filters=6, kernel=5, padding=2, name="conv1")
    x = b.maxpool2d(b.relu(x), kernel=2)
    ...
    b.loss("softmax_cross_entropy", b.dense(x, units=10, name="fc3"))
    graph = b.build()

Layers the user does not name are named after their kind: the bare kind when it occurs once
(`flatten`), numbered when it repeats (`relu1`, `relu2`, ...). Parameters are `<layer>.weight` and
`<layer>.bias` in PyTorch layouts (conv OIHW, dense [out, in]).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from compiler.frontend.layers_sequence import SequenceLayers
from ir.errors import ModelError, NetcError
from ir.graph import Graph, Value
from ir.parser import NAME
from ir.types import (
    BATCH,
    Dim,
    TensorType,
    check_padded,
    check_size,
    check_total,
    elements,
    format_shape,
)
from ir.verify import verify

PREFIX = {
    "conv2d": "conv", "dense": "fc", "maxpool2d": "pool", "avgpool2d": "avgpool",
    "global_avgpool": "gap", "global_maxpool": "gmp", "batchnorm": "bn",
}
_IR_NAME = re.compile(NAME)
"""What the text IR can print and parse back as a value or graph name."""
_AUTO = "~"  # marks a provisional auto-name until build() knows how many of each kind exist


def pair(value: Any, what: str) -> tuple[int, int]:
    """An int or a list of two ints -> (h, w)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return int(value[0]), int(value[1])
    raise ModelError(f"'{what}' must be an integer or a list of two integers, got {value!r}")


def padding4(value: Any, kernel: tuple[int, int], dilation: tuple[int, int],
             stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """int | [h, w] | [top, left, bottom, right] | "valid" | "same" -> (top, left, bottom, right)"""
    if value == "valid":
        return 0, 0, 0, 0
    if value == "same":
        if stride != (1, 1):
            raise ModelError("padding 'same' needs stride 1")
        th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return th // 2, tw // 2, th - th // 2, tw - tw // 2  # extra on bottom/right, as PyTorch
    if (isinstance(value, (list, tuple)) and len(value) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        top, left, bottom, right = (int(v) for v in value)
        return top, left, bottom, right
    ph, pw = pair(value, "padding")
    return ph, pw, ph, pw


class Builder(SequenceLayers):
    """Builds a forward graph (with an optional loss) one layer at a time; the layers of
    compiler/frontend/layers_sequence.py are mixed in."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not _IR_NAME.fullmatch(name):
            raise ModelError(f"model name must be letters, digits, _ . - or /, got {name!r}")
        self.graph = Graph(name)
        self._auto: dict[str, list[str]] = {}
        self._loc: str | None = None

    # ------------------------------------------------------------ plumbing

    def at(self, loc: str | None) -> Builder:
        """Sets the source location recorded on the next layers (file:line)."""
        self._loc = loc
        return self

    def _name(self, kind: str, name: str | None) -> str:
        if name is not None:
            if not isinstance(name, str) or not _IR_NAME.fullmatch(name):
                raise ModelError(f"layer name must be letters, digits, _ . - or /, got {name!r}")
            if self.graph.has_value(name):
                raise ModelError(f"layer name '{name}' is used twice", layer=name)
            return name
        prefix = PREFIX.get(kind, kind)
        names = self._auto.setdefault(prefix, [])
        provisional = f"{_AUTO}{prefix}{len(names) + 1}"
        names.append(provisional)
        return provisional

    def _op(self, op: str, layer: str, operands: Sequence[Value],
            attrs: dict[str, Any] | None = None) -> Value:
        try:
            return self.graph.add_op(op, operands, attrs or {}, layer, loc=self._loc)
        except NetcError as err:
            raise ModelError(str(err), layer=_display(layer)) from None

    def _param(self, layer: str, suffix: str, shape: Sequence[Dim], dtype: str,
               role: str = "param") -> Value:
        kind = "parameter" if role == "param" else "state"
        try:
            check_size(shape, f"{kind} '{_display(layer)}.{suffix}'")
        except NetcError as err:
            raise ModelError(str(err), layer=_display(layer)) from None
        return self.graph.add_input(f"{layer}.{suffix}", TensorType(dtype, tuple(shape)), role)

    # ------------------------------------------------------------ inputs and outputs

    def input(self, name: str, shape: Sequence[int], dtype: str = "f32") -> Value:
        """A per-sample input shape; the batch dimension N is added in front. dtype f32, f64,
        or i64 for the ids an embedding reads."""
        if dtype not in ("f32", "f64", "i64"):
            raise ModelError(f"input dtype must be f32, f64 or i64, got {dtype!r}")
        if not isinstance(name, str) or not _IR_NAME.fullmatch(name):
            raise ModelError(f"input name must be letters, digits, _ . - or /, got {name!r}")
        if (not isinstance(shape, (list, tuple)) or not shape
                or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                           for d in shape)):
            raise ModelError(f"input shape must be a list of positive integers, got {shape!r}")
        if self.graph.has_value(name):
            raise ModelError(f"name '{name}' is used twice")
        try:
            check_size((BATCH, *shape), f"input '{name}'")
        except NetcError as err:
            raise ModelError(str(err)) from None
        return self.graph.add_input(name, TensorType(dtype, (BATCH, *shape)), "input")

    def output(self, value: Value) -> None:
        self.graph.outputs = [value]

    def loss(self, kind: str, prediction: Value, name: str = "loss") -> Value:
        """Adds the loss and its label input (`labels`: class indices, or `target`)."""
        dtype = prediction.type.dtype
        if kind == "softmax_cross_entropy":
            labels = self.graph.add_input(self.graph.fresh_name("labels"),
                                          TensorType("i64", (prediction.type.shape[0],)), "label")
        elif kind == "mse":
            labels = self.graph.add_input(self.graph.fresh_name("target"),
                                          prediction.type.with_dtype(dtype), "label")
        else:
            raise ModelError(f"unknown loss '{kind}' (expected softmax_cross_entropy or mse)")
        if not self.graph.outputs:
            self.graph.outputs = [prediction]
        value = self._op(kind, name, [prediction, labels])
        self.graph.loss = value
        return value

    def build(self) -> Graph:
        """Names the auto-named layers, verifies and returns the graph."""
        self._resolve_auto_names()
        if not self.graph.nodes():
            raise ModelError("the model has no layers")
        try:
            check_total(sum(elements(v.type.shape) for v in self.graph.inputs_with_role(
                "param", "state")), "the parameters and state of the model")
        except NetcError as err:
            raise ModelError(str(err)) from None
        if not self.graph.outputs:
            self.graph.outputs = [self.graph.nodes()[-1].result]
        verify(self.graph)
        return self.graph

    def _resolve_auto_names(self) -> None:
        taken = {v.name.partition(".")[0] for v in self.graph.values() if _AUTO not in v.name}
        renames: dict[str, str] = {}
        for prefix, provisional in self._auto.items():
            finals = number_names(prefix, len(provisional), taken)
            renames.update(zip(provisional, finals, strict=True))
            taken.update(finals)
        for value in list(self.graph.values()):
            layer, dot, rest = value.name.partition(".")
            if layer in renames:
                self.graph.rename(value, renames[layer] + dot + rest)

    # ------------------------------------------------------------ layers

    def conv2d(self, x: Value, filters: int, kernel: Any, stride: Any = 1, padding: Any = 0,
               dilation: Any = 1, groups: int = 1, bias: bool = True,
               name: str | None = None) -> Value:
        layer = self._name("conv2d", name)
        try:
            k, s, d = pair(kernel, "kernel"), pair(stride, "stride"), pair(dilation, "dilation")
            pad = padding4(padding, k, d, s)
        except ModelError as err:
            raise ModelError(err.bare_message, layer=_display(layer)) from None
        _positive(layer, filters=filters, groups=groups)
        _check_padded(x, pad, layer)
        cin = x.type.shape[1] if x.type.rank == 4 else None
        if not isinstance(cin, int) or cin % groups:
            raise ModelError(f"conv2d needs an (N,C,H,W) input whose {cin} channels divide into "
                             f"groups={groups}; got {x.type}", layer=_display(layer))
        w = self._param(layer, "weight", (filters, cin // groups, *k), x.type.dtype)
        operands = [x, w]
        if bias:
            operands.append(self._param(layer, "bias", (filters,), x.type.dtype))
        attrs = {"stride": s, "pad": pad, "dilation": d, "groups": groups}
        return self._op("conv2d", layer, operands, attrs)

    def dense(self, x: Value, units: int, bias: bool = True, in_features: int | None = None,
              name: str | None = None) -> Value:
        layer = self._name("dense", name)
        _positive(layer, units=units)
        if x.type.rank == 3:  # [N, tokens, features]: PyTorch's Linear over the last axis
            return self._dense_tokens(x, units, bias, in_features, layer)
        if x.type.rank != 2:
            raise ModelError(f"dense needs a 2-D (N, features) input, got "
                             f"{format_shape(x.type.shape)}; add a flatten layer before it",
                             layer=_display(layer))
        features = x.type.shape[1]
        if in_features is not None and in_features != features:
            raise ModelError(self._features_mismatch(x, layer, in_features),
                             layer=_display(layer))
        w = self._param(layer, "weight", (units, features), x.type.dtype)
        operands = [x, w]
        if bias:
            operands.append(self._param(layer, "bias", (units,), x.type.dtype))
        return self._op("dense", layer, operands)

    def _dense_tokens(self, x: Value, units: int, bias: bool, in_features: int | None,
                      layer: str) -> Value:
        features = self._features(x, layer, "dense")
        if in_features is not None and in_features != features:
            raise ModelError(f"input has {features} features, dense '{_display(layer)}' "
                             f"expects {in_features}", layer=_display(layer))

        def build(layer: str, emit: Any) -> Value:
            return self.linear(x, units, bias, layer, emit)

        return self._compose_as(layer, build)

    def _features_mismatch(self, x: Value, layer: str, expected: int) -> str:
        node = x.node
        if node is not None and node.op == "flatten":
            src = node.operands[0].type.shape[1:]
            dims = "x".join(str(d) for d in src)
            return (f"flatten gives {dims}={x.type.shape[1]} features, "
                    f"dense '{_display(layer)}' expects {expected}")
        return f"input has {x.type.shape[1]} features, dense '{_display(layer)}' expects {expected}"

    def _pool(self, op: str, x: Value, kernel: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, name: str | None, **extra: Any) -> Value:
        layer = self._name(op, name)
        try:
            k = pair(kernel, "kernel")
            s = k if stride is None else pair(stride, "stride")
            d = pair(dilation, "dilation")
            pad = padding4(padding, k, d, s)
        except ModelError as err:
            raise ModelError(err.bare_message, layer=_display(layer)) from None
        _check_padded(x, pad, layer)
        attrs = {"kernel": k, "stride": s, "pad": pad, "dilation": d, "ceil_mode": ceil_mode,
                 **extra}
        return self._op(op, layer, [x], attrs)

    def maxpool2d(self, x: Value, kernel: Any, stride: Any = None, padding: Any = 0,
                  dilation: Any = 1, ceil_mode: bool = False, name: str | None = None) -> Value:
        return self._pool("maxpool2d", x, kernel, stride, padding, dilation, ceil_mode, name)

    def avgpool2d(self, x: Value, kernel: Any, stride: Any = None, padding: Any = 0,
                  ceil_mode: bool = False, count_include_pad: bool = True,
                  name: str | None = None) -> Value:
        return self._pool("avgpool2d", x, kernel, stride, padding, 1, ceil_mode, name,
                          count_include_pad=count_include_pad)

    def global_avgpool(self, x: Value, name: str | None = None) -> Value:
        return self._op("global_avgpool", self._name("global_avgpool", name), [x])

    def global_maxpool(self, x: Value, name: str | None = None) -> Value:
        return self._op("global_maxpool", self._name("global_maxpool", name), [x])

    def flatten(self, x: Value, name: str | None = None) -> Value:
        return self._op("flatten", self._name("flatten", name), [x], {"axis": 1})

    def reshape(self, x: Value, shape: Sequence[int], name: str | None = None) -> Value:
        """Per-sample target shape; one entry may be -1 (inferred)."""
        layer = self._name("reshape", name)
        target = resolve_reshape(x.type.shape[1:], shape, _display(layer))
        return self._op("reshape", layer, [x], {"shape": (x.type.shape[0], *target)})

    def relu(self, x: Value, name: str | None = None) -> Value:
        return self._op("relu", self._name("relu", name), [x])

    def sigmoid(self, x: Value, name: str | None = None) -> Value:
        return self._op("sigmoid", self._name("sigmoid", name), [x])

    def tanh(self, x: Value, name: str | None = None) -> Value:
        return self._op("tanh", self._name("tanh", name), [x])

    def leaky_relu(self, x: Value, alpha: float = 0.01, name: str | None = None) -> Value:
        return self._op("leaky_relu", self._name("leaky_relu", name), [x], {"alpha": alpha})

    def softmax(self, x: Value, axis: int = -1, name: str | None = None) -> Value:
        return self._op("softmax", self._name("softmax", name), [x], {"axis": axis})

    def log_softmax(self, x: Value, axis: int = -1, name: str | None = None) -> Value:
        return self._op("log_softmax", self._name("log_softmax", name), [x], {"axis": axis})

    def dropout(self, x: Value, rate: float = 0.5, seed: int = 0,
                name: str | None = None) -> Value:
        layer = self._name("dropout", name)
        if not (isinstance(rate, (int, float)) and 0.0 <= rate < 1.0):
            raise ModelError(f"dropout rate must be in [0, 1), got {rate!r}", layer=_display(layer))
        return self._op("dropout", layer, [x], {"rate": rate, "seed": seed})

    def batchnorm(self, x: Value, eps: float = 1e-5, momentum: float = 0.1,
                  name: str | None = None) -> Value:
        layer = self._name("batchnorm", name)
        if x.type.rank not in (2, 4):
            raise ModelError(f"batchnorm needs an (N,C) or (N,C,H,W) input, got {x.type}",
                             layer=_display(layer))
        c = (x.type.shape[1],)
        dtype = x.type.dtype
        operands = [x, self._param(layer, "weight", c, dtype), self._param(layer, "bias", c, dtype),
                    self._param(layer, "running_mean", c, dtype, "state"),
                    self._param(layer, "running_var", c, dtype, "state")]
        return self._op("batchnorm", layer, operands, {"eps": eps, "momentum": momentum})

    def _nary(self, op: str, xs: Sequence[Value], name: str | None) -> Value:
        layer = self._name(op, name)
        if len(xs) < 2:
            raise ModelError(f"{op} needs at least two inputs, got {len(xs)}",
                             layer=_display(layer))
        acc = xs[0]
        for i, x in enumerate(xs[1:], start=1):
            last = i == len(xs) - 1
            acc = self._op(op, layer if last else self.graph.fresh_name(f"{layer}.part{i}"),
                           [acc, x])
        return acc

    def add(self, *xs: Value, name: str | None = None) -> Value:
        return self._nary("add", xs, name)

    def mul(self, *xs: Value, name: str | None = None) -> Value:
        return self._nary("mul", xs, name)

    def sub(self, a: Value, b: Value, name: str | None = None) -> Value:
        return self._op("sub", self._name("sub", name), [a, b])

    def concat(self, xs: Sequence[Value], axis: int = 1, name: str | None = None) -> Value:
        layer = self._name("concat", name)
        if len(xs) < 2:
            raise ModelError(f"concat needs at least two inputs, got {len(xs)}",
                             layer=_display(layer))
        return self._op("concat", layer, list(xs), {"axis": axis})


def number_names(prefix: str, count: int, taken: set[str]) -> list[str]:
    """Names for `count` unnamed layers of one kind: the bare prefix when there is one,
    prefix1..prefixK otherwise, skipping names the user already took."""
    if count == 1 and prefix not in taken:
        return [prefix]
    names: list[str] = []
    k = 0
    while len(names) < count:
        k += 1
        if f"{prefix}{k}" not in taken:
            names.append(f"{prefix}{k}")
    return names


def resolve_reshape(sample: Sequence[Any], shape: Any, layer: str) -> tuple[int, ...]:
    """Resolves one -1 in a per-sample reshape target against the per-sample input shape."""
    if not isinstance(shape, (list, tuple)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in shape
    ) or sum(1 for d in shape if d == -1) > 1:
        raise ModelError(f"reshape shape must be positive integers with at most one -1, got "
                         f"{shape!r}", layer=layer)
    total = 1
    for d in sample:
        total *= int(d)
    known = 1
    for d in shape:
        known *= d if d != -1 else 1
    if -1 in shape:
        if total % known:
            raise ModelError(f"cannot reshape {format_shape(sample)} ({total} values per sample) "
                             f"to {list(shape)}", layer=layer)
        return tuple(total // known if d == -1 else d for d in shape)
    if known != total:
        raise ModelError(f"cannot reshape {format_shape(sample)} ({total} values per sample) to "
                         f"{format_shape(shape)} ({known})", layer=layer)
    return tuple(shape)


def _check_padded(x: Value, pad: tuple[int, int, int, int], layer: str) -> None:
    try:
        check_padded(x.type.shape, pad)
    except NetcError as err:
        raise ModelError(str(err), layer=_display(layer)) from None


def _positive(layer: str, **values: Any) -> None:
    for key, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ModelError(f"'{key}' must be a positive integer, got {v!r}",
                             layer=_display(layer))


def _display(layer: str) -> str:
    """A provisional auto-name as users will see it (the final number is not known yet)."""
    return layer.lstrip(_AUTO)
