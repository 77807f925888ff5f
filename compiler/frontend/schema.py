"""The schema of model descriptions: which layers exist and which attributes each accepts.

Where it sits: consulted by compiler/frontend/description.py before anything is lowered, so an
unknown layer or attribute is reported with a did-you-mean and the line it is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One accepted attribute: its check kind, and whether the layer needs it."""

    kind: str  # "int", "float", "bool", "window", "padding", "shape", "str"
    required: bool = False


WINDOW = Field("window")
PADDING = Field("padding")

LAYERS: dict[str, dict[str, Field]] = {
    "conv2d": {"filters": Field("int", True), "kernel": Field("window", True), "stride": WINDOW,
               "padding": PADDING, "dilation": WINDOW, "groups": Field("int"),
               "bias": Field("bool")},
    "dense": {"units": Field("int", True), "bias": Field("bool"), "in_features": Field("int")},
    "maxpool2d": {"kernel": Field("window", True), "stride": WINDOW, "padding": PADDING,
                  "dilation": WINDOW, "ceil_mode": Field("bool")},
    "avgpool2d": {"kernel": Field("window", True), "stride": WINDOW, "padding": PADDING,
                  "ceil_mode": Field("bool"), "count_include_pad": Field("bool")},
    "global_avgpool": {},
    "global_maxpool": {},
    "flatten": {},
    "reshape": {"shape": Field("shape", True)},
    "relu": {},
    "sigmoid": {},
    "tanh": {},
    "leaky_relu": {"alpha": Field("float")},
    "softmax": {"axis": Field("int")},
    "log_softmax": {"axis": Field("int")},
    "dropout": {"rate": Field("float"), "seed": Field("int")},
    "batchnorm": {"eps": Field("float"), "momentum": Field("float")},
    "add": {},
    "mul": {},
    "sub": {},
    "concat": {"axis": Field("int")},
    "relu6": {},
    "clip": {"min": Field("float"), "max": Field("float")},
    "gelu": {},
    "silu": {},
    "hardswish": {},
    "hardsigmoid": {},
    "layer_norm": {"eps": Field("float"), "elementwise_affine": Field("bool")},
    "mean": {"axes": Field("shape", True), "keepdims": Field("bool")},
    "embedding": {"num_embeddings": Field("int", True), "dim": Field("int", True)},
    "attention": {"heads": Field("int", True), "dim": Field("int")},
}
COMMON = {"name", "inputs"}
MULTI_INPUT = {"add", "mul", "sub", "concat"}
LOSSES = ("softmax_cross_entropy", "mse")
TOP_LEVEL = ("name", "input", "inputs", "layers", "loss", "output")


def _finite(value: Any) -> bool:
    """A number that is a float: nan, inf and integers beyond float range are never a
    meaningful rate, eps or slope (and would overflow in the code generator)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def check_field(kind: str, value: Any) -> str | None:
    """None when `value` fits `kind`, else a description of what was expected."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "int":
        return None if is_int else "an integer"
    if kind == "float":
        return None if _finite(value) else "a finite number"
    if kind == "bool":
        return None if isinstance(value, bool) else "true or false"
    if kind == "str":
        return None if isinstance(value, str) else "a string"
    ints = isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind == "window":
        return None if is_int or (ints and len(value) == 2) else "an integer or [h, w]"
    if kind == "padding":
        ok = is_int or value in ("same", "valid") or (ints and len(value) in (2, 4))
        return None if ok else "an integer, [h, w], [top, left, bottom, right], 'same' or 'valid'"
    if kind == "shape":
        return None if ints and value else "a list of integers"
    raise AssertionError(kind)
