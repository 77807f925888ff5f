"""JIT-compiled networks: parameters in a persistent region, one native call per entry point.

Where it sits: the runtime face of the JIT. The compile driver (compiler/jit.py) hands over, per
entry point (forward, grads, train), a way to get a CompiledEntry: the address of its one native
function and where its results land. Entries compile on first use. A call validates the arrays
(runtime/network.py), fills a preallocated argument vector (scratch arena, thread pool, the
persistent region, the caller's input arrays: no copies) and calls the native entry once.
Nothing is allocated per step except the arrays handed back to the caller.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ir.errors import CompileError
from ir.schedule import MemoryPlan
from ir.types import NUMPY_DTYPE
from runtime.guard import GuardedBuffer, arena_values, guard_bytes, guarded_copy
from runtime.jit.pool import NATIVE_LOCK
from runtime.network import CompiledGraphs, Network
from runtime.reference import Results

ALIGN = 64


@dataclass(frozen=True)
class Slot:
    """Where a result lives after a call: region ("scratch" | "persistent" | "input", whose
    offset is then the external input's index), bytes, type."""

    region: str
    offset: int
    shape: tuple[int, ...]
    dtype: str


@dataclass
class CompiledEntry:
    name: str
    address: int
    arena_bytes: int
    externals: list[str]
    outputs: list[Slot]
    loss: Slot | None
    info: Any = None
    kernels: list[dict] = field(default_factory=list)  # type: ignore[type-arg]
    profile_offset: int | None = None
    """Arena offset of the per-kernel cycle counters (compiled with NETC_PROFILE=1)."""


@dataclass
class _Prepared:
    """An entry ready to call: its ctypes function, its argument vector (arena, services and
    persistent region filled in) and views of its results in the current arena."""

    compiled: CompiledEntry
    fn: Any
    args: Any
    views: list[np.ndarray | None] | None = None
    loss_view: np.ndarray | None = None


def address(array: np.ndarray) -> int:
    """The data pointer of a (checked, contiguous) array: through the buffer protocol, a few
    times cheaper than array.ctypes.data, which read-only arrays still need."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError):
        return array.ctypes.data


def aligned_bytes(nbytes: int) -> np.ndarray:
    """A zeroed uint8 buffer whose data pointer is 64-byte aligned."""
    try:
        raw = np.zeros(nbytes + ALIGN, dtype=np.uint8)
    except MemoryError:
        raise CompileError(f"cannot allocate {nbytes:,} bytes for the network's buffers "
                           "(a smaller batch needs less)") from None
    start = (-raw.ctypes.data) % ALIGN
    return raw[start:start + nbytes]


class JITNetwork(Network):
    backend = "jit"

    def __init__(self, graphs: CompiledGraphs, values: dict[str, np.ndarray], batch: int,
                 layout: dict[str, int], persistent_bytes: int,
                 compile_entry: Callable[[str], CompiledEntry], services: int) -> None:
        self._guard = guard_bytes()
        self._region = aligned_bytes(max(persistent_bytes, ALIGN) + self._guard)
        views = {}
        for name, array in values.items():
            views[name] = np.ndarray(array.shape, dtype=array.dtype, buffer=self._region,
                                     offset=layout[name])
        super().__init__(graphs, views, batch)
        for name, array in values.items():  # the initial values, in each tensor's own order
            store = self.params if name in self._params else self.state
            store[name] = array
        self._compile_entry = compile_entry
        self._services = services
        self._entries: dict[str, _Prepared] = {}
        self._lock = threading.RLock()
        self._arena = aligned_bytes(ALIGN)
        self._plan_for: Callable[[str], MemoryPlan] | None = None
        self._region_guard = GuardedBuffer(self._region, [
            (layout[n], layout[n] + a.nbytes, f"%{n}") for n, a in values.items()],
            "persistent region")

    def enable_guards(self, plan_for: Callable[[str], MemoryPlan]) -> None:
        """Guard mode (NETC_GUARD set when the network was compiled): `plan_for(entry)` gives
        the entry's memory plan, so every scratch value is checked, not only the arena's end."""
        if not self._guard:
            raise RuntimeError("compile the network with NETC_GUARD=<bytes> set")
        self._plan_for = plan_for

    def entry(self, name: str) -> CompiledEntry:
        """The compiled entry point (compiling it on first use)."""
        with self._lock:
            return self._entry(name)

    def _entry(self, name: str) -> CompiledEntry:
        if name not in self._entries:
            compiled = self._compile_entry(name)
            fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(compiled.address)
            args = (ctypes.c_void_p * (3 + len(compiled.externals)))()
            args[1] = self._services
            args[2] = self._region.ctypes.data
            self._entries[name] = _Prepared(compiled, fn, args)
        return self._entries[name].compiled

    def _run(self, entry: str, feeds: dict[str, np.ndarray]) -> Results:
        """One call of the entry's native function. Calls from several threads are safe: the
        network's lock keeps its arena to one call at a time (results are read from it), and
        NATIVE_LOCK keeps the process's thread pool to one caller."""
        with self._lock:
            return self._run_locked(entry, feeds)

    def _run_locked(self, entry: str, feeds: dict[str, np.ndarray]) -> Results:
        if entry != "forward":
            self._need(entry)
        self.entry(entry)
        prepared = self._entries[entry]
        compiled, args = prepared.compiled, prepared.args
        if self._arena.nbytes < compiled.arena_bytes + self._guard:
            self._arena = aligned_bytes(compiled.arena_bytes + self._guard)
            for other in self._entries.values():
                other.views = None
        if prepared.views is None:  # after (re)allocating the arena
            args[0] = self._arena.ctypes.data
            prepared.views = [self._view(s) for s in compiled.outputs]
            prepared.loss_view = self._view(compiled.loss) if compiled.loss else None
        checks: list[GuardedBuffer] = []
        if self._guard:
            feeds, checks = self._arm_guards(compiled, feeds)
        for k, name in enumerate(compiled.externals):
            args[3 + k] = address(feeds[name])
        with NATIVE_LOCK:
            prepared.fn(args)
        for check in checks:
            check.check(f"entry '{entry}'")
        outputs = [self._read(s, v, compiled, feeds)
                   for s, v in zip(compiled.outputs, prepared.views, strict=True)]
        loss = (self._read(compiled.loss, prepared.loss_view, compiled, feeds)
                if compiled.loss is not None else None)
        return Results(outputs, loss, {}, {})

    def _arm_guards(self, compiled: CompiledEntry, feeds: dict[str, np.ndarray]
                    ) -> tuple[dict[str, np.ndarray], list[GuardedBuffer]]:
        """Guard mode: inputs copied between guards, canaries in every guard of the arena and
        the persistent region, poison in every scratch value."""
        checks = [self._region_guard]
        guarded = dict(feeds)
        for name in compiled.externals:
            guarded[name], check = guarded_copy(feeds[name], self._guard, name)
            checks.append(check)
        data = [(0, compiled.arena_bytes, "the arena")]
        if self._plan_for is not None:
            data = arena_values(self._plan_for(compiled.name),
                                int(compiled.info.meta.get("workspace", 0)))
        arena = GuardedBuffer(self._arena, data, "arena")
        arena.arm(poison=self._plan_for is not None)
        self._region_guard.arm()
        return guarded, [*checks, arena]

    def profile(self, name: str) -> list[tuple[str, int]]:
        """(kernel, timestamp-counter cycles summed over calls) and resets the counters;
        empty unless the entry was compiled with NETC_PROFILE=1."""
        compiled = self.entry(name)
        if compiled.profile_offset is None:
            return []
        counters = np.ndarray((len(compiled.kernels),), dtype=np.int64, buffer=self._arena,
                              offset=compiled.profile_offset)
        out = [(k["name"], int(c)) for k, c in zip(compiled.kernels, counters, strict=True)]
        counters[...] = 0
        return out

    def _view(self, slot: Slot) -> np.ndarray | None:
        """A result's bytes as an array (None for results that are the caller's inputs)."""
        if slot.region == "input":
            return None
        buffer = self._region if slot.region == "persistent" else self._arena
        return np.ndarray(slot.shape, dtype=NUMPY_DTYPE[slot.dtype], buffer=buffer,
                          offset=slot.offset)

    @staticmethod
    def _read(slot: Slot, view: np.ndarray | None, compiled: CompiledEntry,
              feeds: dict[str, np.ndarray]) -> np.ndarray:
        if view is None:  # the result is (a view of) the caller's own array
            return feeds[compiled.externals[slot.offset]].reshape(slot.shape).copy()
        return view.copy()
