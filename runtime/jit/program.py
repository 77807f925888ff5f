"""One concrete graph compiled as one native call, without a Network around it.

Where it sits: beside runtime/jit/network.py, for what has no compiler.compile() behind it: the
ONNX backend (compiler/onnx_backend.py) and tests that run one lowered graph against the
reference interpreter. compiler/driver/jit.py's compile_graph() plans and compiles the graph and
builds this; calls go through the same native-call path as a network's (runtime/jit/call.py),
guard mode included.
"""

from __future__ import annotations

import numpy as np

from ir.graph import Graph
from ir.types import NUMPY_DTYPE
from runtime.jit.call import Buffers, CompiledEntry, NativeEntry


class GraphProgram:
    """A planned graph and its compiled entry. Params and state get a persistent region of
    their own, written from the feeds on every call; every other input is external."""

    def __init__(self, planned: Graph, compiled: CompiledEntry, layout: dict[str, int],
                 persistent_bytes: int, services: int) -> None:
        self.planned = planned
        self.layout = layout
        self._stored = planned.inputs_with_role("param", "state")
        self._buffers = Buffers(persistent_bytes, [
            (layout[v.name], layout[v.name] + v.type.nbytes(), f"%{v.name}")
            for v in self._stored])
        self.entry = NativeEntry(compiled, services, self._buffers,
                                 f"program '{planned.name}'")

    @property
    def guard(self) -> int:
        """Guard bytes around every buffer (NETC_GUARD when the program was built; 0: off)."""
        return self._buffers.guard

    def __call__(self, feeds: dict[str, np.ndarray]) -> tuple[list[np.ndarray],
                                                               np.ndarray | None]:
        """(outputs, loss) for `feeds`, arrays by input name (params and state included)."""
        for v in self._stored:
            view = np.ndarray(tuple(int(d) for d in v.type.shape),
                              dtype=NUMPY_DTYPE[v.type.dtype], buffer=self._buffers.region,
                              offset=self.layout[v.name])
            view[...] = feeds[v.name]
        arrays = {name: np.ascontiguousarray(feeds[name], dtype=NUMPY_DTYPE[
            self.planned.value(name).type.dtype]) for name in self.entry.compiled.externals}
        results = self.entry(arrays, self.planned.plan)
        return results.outputs, results.loss
