"""Reading ONNX protobufs: the file, its opset, tensors, attributes and graph-input types.

Where it sits: the bottom of the ONNX frontend; compiler/frontend/onnx/importer.py builds the IR
from what these helpers return. Every failure becomes a ModelError naming the file: a file that
is not a protobuf, a protobuf that is not a valid model, an opset that cannot be upgraded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ir.errors import ModelError

MIN_OPSET = 13
"""Older models are upgraded to this opset with onnx.version_converter before import."""

FLOAT_TYPES = {1: "f32", 11: "f64"}
"""ONNX element types netc computes with: FLOAT and DOUBLE."""

ELEM_NAMES = {0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16",
              6: "int32", 7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64",
              12: "uint32", 13: "uint64", 16: "bfloat16"}

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-/]")


def require_onnx() -> Any:
    """The onnx package, or a ModelError saying how to get it (it is an optional extra)."""
    try:
        import onnx
    except ImportError:
        raise ModelError("ONNX import needs the onnx package: pip install 'netc[onnx]'") from None
    return onnx


def read_model(path: str | Path) -> Any:
    """Parses `path` into a ModelProto (with its external weights, if any)."""
    onnx = require_onnx()
    from google.protobuf.message import DecodeError

    where = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read ONNX file: {err.strerror or err}", where) from None
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as err:
        raise ModelError(f"not a valid ONNX protobuf ({err})", where) from None
    base = Path(path).resolve().parent
    if any(t.data_location == 1 for t in model.graph.initializer):
        check_external_data(model, base, where)
        try:
            onnx.external_data_helper.load_external_data_for_model(model, str(base))
        except (OSError, ValueError, onnx.checker.ValidationError) as err:
            raise ModelError(f"cannot load the model's external weights: {err}", where) from None
    return model


def check_external_data(model: Any, base: Path, where: str) -> None:
    """Every external weight file lies inside the model's folder (symbolic links resolved) and
    is a regular file: a model can never make netc read /etc/passwd or ../secret.bin."""
    for tensor in model.graph.initializer:
        if tensor.data_location != 1:
            continue
        location = {e.key: e.value for e in tensor.external_data}.get("location", "")
        target = None if "\0" in location or not location else (base / location).resolve()
        if (target is None or Path(location).is_absolute() or not target.is_relative_to(base)
                or not target.is_file()):
            raise ModelError(f"initializer '{tensor.name}': its external data {location!r} must "
                             f"be a file inside the model's folder {base}", where)


def prepare_model(model: Any, where: str) -> Any:
    """Checks a ModelProto, inlines its local functions and upgrades old opsets."""
    onnx = require_onnx()
    if not model.HasField("graph") or not model.opset_import:
        raise ModelError("not an ONNX model (no graph or no opset); is this the right file?",
                         where)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "invalid model"
        raise ModelError(f"malformed ONNX model: {first}", where) from None
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    version = opset_version(model)
    if version < MIN_OPSET:
        try:
            model = onnx.version_converter.convert_version(model, MIN_OPSET)
        except Exception as err:  # the converter raises bare RuntimeErrors and more
            raise ModelError(f"opset {version} cannot be upgraded to opset {MIN_OPSET} (netc "
                             f"imports opset {MIN_OPSET} and later): {err}", where) from None
    return model


def opset_version(model: Any) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def tensor_array(tensor: Any, where: str | None = None) -> np.ndarray:
    from onnx import numpy_helper

    try:
        return np.asarray(numpy_helper.to_array(tensor))
    except ValueError as err:  # data that does not fill the dims (or overfills them)
        raise ModelError(f"tensor '{tensor.name}' of shape {list(tensor.dims)}: its data does "
                         f"not fit ({' '.join(str(err).split())})", where) from None


def attributes(node: Any) -> dict[str, Any]:
    """Attribute name -> Python value (tensors as numpy arrays, strings decoded)."""
    from onnx import AttributeProto, helper

    out: dict[str, Any] = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if attr.type == AttributeProto.TENSOR:
            value = tensor_array(value)
        elif attr.type == AttributeProto.FLOAT:
            value = _float32(value)
        elif attr.type == AttributeProto.FLOATS:
            value = [_float32(v) for v in value]
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8", "replace") for v in value]
        out[attr.name] = value
    return out


def _float32(value: float) -> float:
    """A float32 attribute as the shortest decimal that rounds to it (0.9f is 0.9, not
    0.8999999761581421): the value the exporter wrote, so printed IR reads naturally."""
    return float(str(np.float32(value)))


def sanitize(name: str) -> str:
    """An ONNX name as an IR name: [A-Za-z0-9_] first, then [A-Za-z0-9_.-/] ("" if nothing
    is left): `/conv1/Conv_output_0` -> `conv1/Conv_output_0`."""
    return _NAME_CHARS.sub("_", name).lstrip("./-")


def input_dims(value_info: Any) -> tuple[int, list[int | str]] | None:
    """(elem type, dims) of a graph input; a dim is an int or the name of a symbolic size
    ("?" when unnamed). None when the input is not a tensor or has no shape."""
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        return None
    tt = value_info.type.tensor_type
    if not tt.HasField("shape"):
        return None
    dims: list[int | str] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param or "?")
    return int(tt.elem_type), dims


def elem_name(elem_type: int) -> str:
    return ELEM_NAMES.get(elem_type, f"type {elem_type}")
