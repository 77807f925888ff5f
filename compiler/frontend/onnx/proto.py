"""Reading ONNX protobufs: the file, its opset, tensors, attributes and graph-input types.

Where it sits: the bottom of the ONNX frontend; compiler/frontend/onnx/importer.py builds the IR
from what these helpers return. Every failure becomes a ModelError naming the file: a file that
is not a protobuf, a protobuf that is not a valid model, an opset that cannot be upgraded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ir.errors import ModelError

MIN_OPSET = 13
"""Older models are upgraded to this opset with onnx.version_converter before import."""

EXTERNAL = 1
"""TensorProto.DataLocation.EXTERNAL: the values live in a file named by `external_data`."""

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
    external = [(w, t) for w, t in all_tensors(model) if t.data_location == EXTERNAL]
    if external:
        check_external_data(external, base, where)
        try:
            onnx.external_data_helper.load_external_data_for_model(model, str(base))
        except (OSError, ValueError, onnx.checker.ValidationError) as err:
            raise ModelError(f"cannot load the model's external weights: {err}", where) from None
    return model


def all_tensors(model: Any) -> Iterator[tuple[str, Any]]:
    """(what, TensorProto) for every tensor of the model: initializers (dense and sparse),
    node attributes (a Constant's `value`, tensor lists, sparse tensors) and the graphs nested
    in attributes and local functions. External data may hide in any of them."""
    graphs = [model.graph, *model.functions]
    while graphs:
        graph = graphs.pop()
        for tensor in getattr(graph, "initializer", ()):
            yield f"initializer '{tensor.name}'", tensor
        for sparse in getattr(graph, "sparse_initializer", ()):
            for tensor in (sparse.values, sparse.indices):
                yield f"sparse initializer '{tensor.name}'", tensor
        for node in graph.node:
            for attr in node.attribute:
                where = f"attribute '{attr.name}' of node '{node.name or node.op_type}'"
                sparse = [*([attr.sparse_tensor] if attr.HasField("sparse_tensor") else []),
                          *attr.sparse_tensors]
                for tensor in [*([attr.t] if attr.HasField("t") else []), *attr.tensors,
                               *(t for s in sparse for t in (s.values, s.indices))]:
                    yield f"tensor '{tensor.name}' in {where}", tensor
                graphs.extend([*([attr.g] if attr.HasField("g") else []), *attr.graphs])


def still_external(what: str, where: str | None) -> ModelError:
    """The error for a tensor whose data is still in an external file when netc needs it."""
    return ModelError(f"{what} keeps its data in an external file; netc reads external data "
                      "only when it loads the model from its file, and only from the model's "
                      "folder", where)


def check_external_data(tensors: Iterable[tuple[str, Any]], base: Path, where: str) -> None:
    """Every external data file lies inside the model's folder (symbolic links resolved) and
    is a regular file: a model can never make netc read /etc/passwd or ../secret.bin."""
    for what, tensor in tensors:
        location = {e.key: e.value for e in tensor.external_data}.get("location", "")
        target = None if "\0" in location or not location else (base / location).resolve()
        if (target is None or Path(location).is_absolute() or not target.is_relative_to(base)
                or not target.is_file()):
            raise ModelError(f"{what}: its external data {location!r} must be a file inside "
                             f"the model's folder {base}", where)


def prepare_model(model: Any, where: str) -> Any:
    """Checks a ModelProto, inlines its local functions and upgrades old opsets."""
    onnx = require_onnx()
    if not model.HasField("graph") or not model.opset_import:
        raise ModelError("not an ONNX model (no graph or no opset); is this the right file?",
                         where)
    for what, tensor in all_tensors(model):
        if tensor.data_location == EXTERNAL:  # read_model loaded all it may: in memory
            raise still_external(what, where)
    check_opset(model, where)
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


def newest_opset() -> int:
    """The newest ai.onnx opset netc knows: that of the installed onnx package, whose checker,
    shape inference and version converter netc relies on (and whose conformance tests netc
    passes)."""
    from onnx import defs

    return int(defs.onnx_opset_version())


def check_opset(model: Any, where: str) -> None:
    """Refuses a model whose opset is newer than newest_opset().

    Refused rather than imported with a warning: ops change meaning between opsets (Reshape,
    Squeeze, Resize, Split each moved attributes to inputs or changed defaults), and neither
    netc's converters nor onnx's checker know what an unknown opset means, so importing it
    could compute different numbers than the exporter intended, and a warning scrolls away
    while wrong numbers stay. The fix is one export option (opset_version=...)."""
    version, newest = opset_version(model), newest_opset()
    if version > newest:
        raise ModelError(f"opset {version} is newer than the newest opset netc knows ({newest});"
                         f" export the model with opset {newest} or older (e.g. torch.onnx."
                         f"export(..., opset_version={newest}))", where)


def opset_version(model: Any) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def tensor_array(tensor: Any, where: str | None = None) -> np.ndarray:
    """A tensor's values. A tensor whose data is still external here (a ModelProto handed over
    in memory, or a kind read_model does not load) is refused: numpy_helper would read it
    relative to the current directory, which no model may choose."""
    from onnx import numpy_helper

    if tensor.data_location == EXTERNAL:
        raise still_external(f"tensor '{tensor.name}'", where)
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
