"""JIT-compiled networks: parameters in a persistent region, one native call per entry point.

Where it sits: the runtime face of the JIT, what `compiler.compile(..., backend="jit")` returns.
The compile driver (compiler/driver/jit.py's EntryCompiler) is handed in as the network's
`compiler`: the persistent layout, the services table and, per entry point (forward, grads,
train), a CompiledEntry on first use. A call validates the arrays (runtime/network.py) and goes
through the one native-call path (runtime/jit/call.py): no copies of the inputs, nothing
allocated per step except the arrays handed back to the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ir.schedule import MemoryPlan
from runtime.jit.call import Buffers, CompiledEntry, NativeEntry
from runtime.jit.folding import FoldedConstants, WatchedArrayDict, folded_input_names
from runtime.network import CompiledGraphs, Network
from runtime.reference import Results


class EntrySource(Protocol):
    """What a JITNetwork needs from the compiler (compiler/driver/jit.py's EntryCompiler)."""

    layout: dict[str, int]
    """Byte offset of every parameter and state tensor in the persistent region."""
    persistent_bytes: int
    services: int
    """Address of the services table every entry receives (args[1])."""

    def __call__(self, entry: str) -> CompiledEntry: ...


class JITNetwork(Network):
    backend = "jit"

    def __init__(self, graphs: CompiledGraphs, values: dict[str, np.ndarray], batch: int,
                 compiler: EntrySource) -> None:
        layout = compiler.layout
        self._buffers = Buffers(compiler.persistent_bytes, [
            (layout[n], layout[n] + a.nbytes, f"%{n}") for n, a in values.items()])
        views = {}
        for name, array in values.items():
            views[name] = np.ndarray(array.shape, dtype=array.dtype,
                                     buffer=self._buffers.region, offset=layout[name])
        super().__init__(graphs, views, batch)
        for name, array in values.items():  # the initial values, in each tensor's own order
            store = self.params if name in self._params else self.state
            store[name] = array
        self.compiler = compiler
        """Compiles the entries (its layout, and the EntryCompiler's per-entry `stages`, are
        what `netc compile` and the tests read)."""
        self._entries: dict[str, NativeEntry] = {}
        self._lock = threading.RLock()
        self._plan_for: Callable[[str], MemoryPlan] | None = None
        self._folds: FoldedConstants | None = None
        if not self.graphs.has("train"):  # inference only: forward is the primary graph
            folded = folded_input_names(self.graphs.forward)
            self._inputs = [v for v in self._inputs if v.name not in folded]
            self._ready = self._ready_spec()
        self.params = WatchedArrayDict(self.params, self._touch_folds)
        self.state = WatchedArrayDict(self.state, self._touch_folds)

    def _touch_folds(self) -> None:
        if self._folds is not None:
            self._folds.touch()

    def _folded(self) -> dict[str, np.ndarray]:
        """The forward entry's folded and packed constants (runtime/jit/folding), up to date."""
        if self._folds is None:
            self._folds = FoldedConstants(self.graphs.forward,
                                          lambda: {**self._params, **self._state}, self.layouts)
        return self._folds.feeds()

    def _with_folds(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The forward entry's feeds plus its folded constants."""
        return {**feeds, **self._folded()}

    def enable_guards(self, plan_for: Callable[[str], MemoryPlan]) -> None:
        """Guard mode (NETC_GUARD set when the network was compiled): `plan_for(entry)` gives
        the entry's memory plan, so every scratch value is checked, not only the arena's end."""
        if not self._buffers.guard:
            raise RuntimeError("compile the network with NETC_GUARD=<bytes> set")
        self._plan_for = plan_for

    def entry(self, name: str) -> CompiledEntry:
        """The compiled entry point (compiling it on first use)."""
        with self._lock:
            if name not in self._entries:
                self._entries[name] = NativeEntry(self.compiler(name), self.compiler.services,
                                                  self._buffers, f"entry '{name}'")
            return self._entries[name].compiled

    def _run(self, entry: str, feeds: dict[str, np.ndarray]) -> Results:
        """One call of the entry's native function. Calls from several threads are safe: the
        network's lock keeps its arena to one call at a time (results are read from it), and
        NATIVE_LOCK keeps the process's thread pool to one caller."""
        with self._lock:
            if entry != "forward":
                self._need(entry)
            self.entry(entry)
            plan = self._plan_for(entry) if self._plan_for is not None else None
            if entry == "forward":
                feeds = self._with_folds(feeds)
            results = self._entries[entry](feeds, plan)
            if entry in ("train", "apply"):  # the entries that update the parameters
                self._touch_folds()
            return results

    def _forward_checked(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """forward() on checked arrays: the native call of `_run` with the constants' addresses
        written only when they change, and no Results built (NativeEntry.first). Guard mode
        takes `_run`, which copies and checks every input, constants included."""
        if self._buffers.guard:
            return self._run("forward", feeds).outputs[0]
        with self._lock:
            native = self._entries.get("forward")
            if native is None:
                self.entry("forward")
                native = self._entries["forward"]
            folds = self._folds
            return native.first(feeds, folds.feeds() if folds is not None else self._folded())

    def profile(self, name: str) -> list[tuple[str, int]]:
        """(kernel, timestamp-counter cycles summed over calls) and resets the counters;
        empty unless the entry was compiled with NETC_PROFILE=1."""
        self.entry(name)
        return self._entries[name].cycle_counts()
