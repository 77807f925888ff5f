"""The data-parallel backward entry in segments, so gradient buckets can be reduced while the
rest of backward runs.

Where it sits: beside compiler/driver/jit.py, for runtime/distributed/overlap.py (the
`segments` a data-parallel JIT network is built with, compiler/driver/network.py). The
backward entry is planned once (fuse, plan-memory, the network's persistent layout); each
segment is then that same planned graph with only a range of its kernels, compiled as an entry
of its own. Every segment shares the one memory plan and the network's one arena, so a value
that one segment writes and a later one reads stays where the plan put it: nothing crosses
between segments by copy, and calling the segments in order computes, kernel for kernel, what
the whole backward entry computes.

    kernels 0..7   forward and loss           |
    kernels 8..12  fc3, fc2 gradients         |  segment 0: kernels [0, 13)
    kernels 13..18 fc1 gradients              |  segment 1: kernels [13, 19)
    kernels 19..24 conv2, conv1 gradients     |  segment 2: kernels [19, 25) + update copies
"""

from __future__ import annotations

import dataclasses

from compiler.driver.jit import EntryCompiler, compile_entry, plan
from ir.errors import CompileError
from ir.graph import Graph
from runtime.jit.call import CompiledEntry
from runtime.network import CompiledGraphs

BACKWARD = "backward"


class BackwardSegments:
    """What runtime/distributed/overlap.py asks of the compiler: when each gradient is final
    (`ready`), and the backward entry compiled as segments (`compile`)."""

    def __init__(self, compiler: EntryCompiler, graphs: CompiledGraphs) -> None:
        self._compiler = compiler
        self._graphs = graphs
        self._planned: Graph | None = None

    @property
    def planned(self) -> Graph:
        """The backward entry, fused and planned with the network's layout (once)."""
        if self._planned is None:
            graph = self._graphs.get(BACKWARD)
            if graph is None:
                raise RuntimeError("this network has no backward entry")
            self._planned = plan(graph, self._compiler.layout, outputs=False)
        return self._planned

    @property
    def kernels(self) -> int:
        return len(self.planned.kernels or [])

    def ready(self) -> list[int]:
        """For every output (the gradients, in parameter order), the index of the kernel after
        which its bytes are final; -1 when no kernel writes it (a constant)."""
        planned = self.planned
        memory = planned.plan
        if memory is None:
            raise CompileError(f"@{planned.name} has no memory plan")
        written = {name: i for i, k in enumerate(planned.kernels or []) for name in k.nodes}
        return [written.get(memory.resolve(v.name).value, -1) for v in planned.outputs]

    def compile(self, bounds: list[tuple[int, int]]) -> list[CompiledEntry]:
        """One entry per kernel range [start, stop) (consecutive, covering every kernel); the
        last also makes the end-of-call copies of updates that could not be done in place."""
        if [b[0] for b in bounds[1:]] != [b[1] for b in bounds[:-1]] or not bounds or \
                bounds[0][0] != 0 or bounds[-1][1] != self.kernels:
            raise CompileError(f"segments {bounds} do not cover kernels [0, {self.kernels})")
        return [compile_entry(segment(self.planned, start, stop), f"{BACKWARD}_{start}_{stop}",
                              self._compiler.target) for start, stop in bounds]


def segment(planned: Graph, start: int, stop: int) -> Graph:
    """`planned` running only kernels [start, stop), with its memory plan unchanged; the
    update copies stay only in the segment that ends the call."""
    if planned.kernels is None or planned.plan is None:
        raise CompileError(f"@{planned.name} is not planned: plan() it before cutting it")
    part = planned.copy()
    part.kernels = planned.kernels[start:stop]
    if stop < len(planned.kernels):
        part.plan = dataclasses.replace(planned.plan, copies=[])
    return part
