"""Guard mode: canary bytes around every buffer a native call may touch, checked after the call.

Where it sits: a test aid of the JIT runtime (runtime/jit/call.py arms and checks the guards of
every native call), switched on by NETC_GUARD=<bytes> (ir/memory.py reads it) before a network
or program is compiled. plan-memory then gives every scratch value
bytes of its own between guards and leaves guard bytes before every parameter and state slot
(compiler/passes/plan_memory.py); the runtime adds a guard after the persistent region and after
the arena, and copies every input array between guards of its own; the block a call's outputs
are written to (fresh for each call) has guards around every output. Before each call the guards
get a canary pattern and scratch values a poison (all bits set: NaN as a float, so a kernel that
reads scratch it never wrote is caught by any comparison with the reference); after the call
any changed guard byte raises BufferOverrun naming the buffer it follows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ir.memory import aligned_bytes
from ir.schedule import MemoryPlan

PATTERN = np.frombuffer(b"\xde\xad\xbe\xef\x0b\xad\xf0\x0d", dtype=np.uint8)
POISON = 0xFF


class BufferOverrun(AssertionError):  # noqa: N818 - named for what it reports
    """Native code wrote outside its buffers (a bug in netc, never in the user's input)."""


class GuardedBuffer:
    """One buffer whose `data` ranges (offset, end, name) belong to values; every other byte
    is guard and must be unchanged by a call."""

    def __init__(self, buffer: np.ndarray, data: Sequence[tuple[int, int, str]], what: str) -> None:
        self.buffer = buffer
        self.what = what
        self.data = sorted(data)
        self.guards: list[tuple[int, int, str]] = []
        cursor, before = 0, "the start"
        for lo, hi, name in self.data:
            if lo > cursor:
                self.guards.append((cursor, lo, before))
            cursor, before = max(cursor, hi), name
        if cursor < buffer.nbytes:
            self.guards.append((cursor, buffer.nbytes, before))

    def arm(self, poison: bool = False) -> None:
        """Canaries into the guards (and poison into the values when `poison`)."""
        for lo, hi, _ in self.guards:
            self.buffer[lo:hi] = np.resize(PATTERN, hi - lo)
        if poison:
            for lo, hi, _ in self.data:
                self.buffer[lo:hi] = POISON

    def check(self, call: str) -> None:
        for lo, hi, before in self.guards:
            changed = np.flatnonzero(self.buffer[lo:hi] != np.resize(PATTERN, hi - lo))
            if changed.size:
                first, last = lo + int(changed[0]), lo + int(changed[-1])
                raise BufferOverrun(
                    f"{call} wrote outside its buffers: {self.what} bytes {first}..{last} "
                    f"({changed.size} changed) lie in the guard after {before} (guard bytes "
                    f"[{lo}, {hi}))")


def arena_values(plan: MemoryPlan, workspace_bytes: int) -> list[tuple[int, int, str]]:
    """The arena's data ranges for a call planned by `plan`: every scratch value, then the
    kernels' workspace (after the values, at the next aligned offset, as compile_entry puts it)."""
    data = [(a.offset, a.offset + a.nbytes, f"%{a.value}")
            for a in plan.allocations.values() if a.region == "scratch"]
    workspace = plan.workspace_offset
    data.append((workspace, workspace + workspace_bytes, "the kernels' workspace"))
    return data


def output_values(plan: MemoryPlan) -> list[tuple[int, int, str]]:
    """The output region's data ranges (the results, between guards in guard mode)."""
    return [(a.offset, a.offset + a.nbytes, f"%{a.value}")
            for a in plan.allocations.values() if a.region == "output"]


def guarded_copy(array: np.ndarray, guard: int, name: str) -> tuple[np.ndarray, GuardedBuffer]:
    """A copy of `array` between guards of its own, and the buffer to check."""
    nbytes = array.nbytes
    buffer = aligned_bytes(guard + nbytes + guard)
    view = np.ndarray(array.shape, dtype=array.dtype, buffer=buffer, offset=guard)
    view[...] = array
    checked = GuardedBuffer(buffer, [(guard, guard + nbytes, f"input '{name}'")],
                            f"input '{name}'")
    checked.arm()
    return view, checked
