"""netc as an ONNX backend (onnx.backend.base.Backend): import, compile with the JIT, run.

    from compiler.onnx_backend import NetcBackend
    rep = NetcBackend.prepare(model)          # an onnx.ModelProto
    outputs = rep.run([x])                    # numpy arrays, one per graph output

Where it sits: beside compiler/driver/, tying the ONNX frontend to the JIT (a GraphProgram from
compiler/driver/jit.py's compile_graph); the official conformance runner
(onnx.backend.test.BackendTest, tests/test_onnx_conformance.py) drives it. netc compiles static
shapes, so inputs that only give shapes, axes, pads or bounds (ONNX node tests feed Reshape's
shape as an input) are constants to it: the first run binds them to the values it receives and
compiles; a run with other values for them compiles again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from compiler.frontend.onnx.importer import Importer, static_uses
from compiler.frontend.onnx.proto import prepare_model, require_onnx
from ir.errors import RuntimeInputError
from ir.graph import Value

onnx = require_onnx()
from onnx.backend.base import Backend, BackendRep  # noqa: E402


def static_inputs(model: Any) -> list[str]:
    """Graph inputs (not initializers) read at positions that must be constants."""
    initializers = {t.name for t in model.graph.initializer}
    static = static_uses(model.graph)
    return [vi.name for vi in model.graph.input
            if vi.name not in initializers and vi.name in static]


class NetcRep(BackendRep):
    """A prepared model: compiled for the first inputs it runs on (and again for new shapes
    or new constant inputs)."""

    def __init__(self, model: Any) -> None:
        self.model = prepare_model(model, "<onnx model>")
        initializers = {t.name for t in self.model.graph.initializer}
        self.inputs = [vi.name for vi in self.model.graph.input if vi.name not in initializers]
        self.static = static_inputs(self.model)
        self._programs: dict[tuple[Any, ...], tuple[Any, dict[str, str], dict[str, Any]]] = {}

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        arrays = self._feeds(inputs)
        key = tuple((name, a.shape, a.dtype.str, a.tobytes() if name in self.static else b"")
                    for name, a in arrays.items())
        if key not in self._programs:
            self._programs[key] = self._compile(arrays)
        program, names, params = self._programs[key]
        feeds = {**params, **{names[n]: a for n, a in arrays.items() if n in names}}
        outputs, _ = program(feeds)
        return tuple(outputs)

    def _feeds(self, inputs: Any) -> dict[str, np.ndarray]:
        if isinstance(inputs, dict):
            inputs = [inputs[name] for name in self.inputs]
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(self.inputs):
            raise RuntimeInputError(f"the model takes {len(self.inputs)} inputs, got "
                                    f"{len(inputs)}")
        return {name: np.asarray(a) for name, a in zip(self.inputs, inputs, strict=True)}

    def _compile(self, arrays: dict[str, np.ndarray]) -> tuple[Any, dict[str, str],
                                                                dict[str, Any]]:
        from compiler.driver.jit import compile_graph
        from compiler.driver.pipelines import lower
        from compiler.passes import PassContext

        constants = {n: a for n, a in arrays.items() if n in self.static}
        importer = Importer(self.model, "<onnx model>", self.model.graph.name or "model",
                            constants=constants, loss=None)
        graph = importer.run()
        names = {n: v.name for n, v in importer.env.items()
                 if n in arrays and isinstance(v, Value) and v.role == "input"}
        batch = next((int(arrays[n].shape[0]) for n, v in importer.env.items()
                      if n in names and isinstance(v, Value) and not v.type.is_concrete), None)
        forward = lower(graph, "forward", PassContext(batch=batch))
        params = {name: value for name, value in graph.initializers.items()}
        return compile_graph(forward), names, params


class NetcBackend(Backend):
    """The ONNX backend interface over netc's JIT (CPU only)."""

    @classmethod
    def is_compatible(cls, model: Any, device: str = "CPU", **kwargs: Any) -> bool:
        return device == "CPU"

    @classmethod
    def prepare(cls, model: Any, device: str = "CPU", **kwargs: Any) -> NetcRep:
        return NetcRep(model)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


__all__ = ["NetcBackend", "NetcRep", "static_inputs"]
