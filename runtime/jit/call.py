"""The one native-call path: how a compiled entry point is called and its results read.

Where it sits: the bottom of the JIT runtime. The compile driver (compiler/driver/jit.py)
describes each compiled entry as a CompiledEntry: the address of its one native function and
where its results land. JITNetwork (runtime/jit/network.py) and GraphProgram
(runtime/jit/program.py) bind entries to their Buffers as NativeEntry objects and call them;
nothing else calls native code. A call fills a preallocated argument vector (no copies), calls
the entry once under NATIVE_LOCK and hands back the results. Results in the output region
(every output and loss of the JIT's entries that is not an input or a parameter) are written by
the kernels straight into a block allocated for that call alone, and handed back as views of it:
no later call can overwrite them, and nothing is copied (OutputBlock; below COPY_BELOW bytes a
block the entry reuses, copied out, is cheaper). Any other result (an input handed back, a
parameter, a result in the arena of an entry planned without an output region) is copied, as
is a result whose bytes an earlier result of the same call already holds. In guard mode
(NETC_GUARD, runtime/guard.py) it arms canaries around every buffer first and checks them after.

The native ABI, which compiler/codegen/module.py generates: `void entry(void **args)` with
args[0] the scratch arena, args[1] the services table (thread pool, library), args[2] the
persistent region (parameters and state) and args[3 + k] the k-th external input
(CompiledEntry.externals, in order), then, if the entry has an output region
(CompiledEntry.output_bytes), args[3 + len(externals)] that call's output block.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ir.memory import ALIGN, aligned_bytes, guard_bytes
from ir.schedule import MemoryPlan
from ir.types import NUMPY_DTYPE
from runtime.guard import GuardedBuffer, arena_values, guarded_copy
from runtime.jit.pool import NATIVE_LOCK
from runtime.reference import Results


@dataclass(frozen=True)
class Slot:
    """Where a result lives after a call: region ("scratch" | "persistent" | "output" | "input",
    whose offset is then the external input's index), bytes, type."""

    region: str
    offset: int
    shape: tuple[int, ...]
    dtype: str


@dataclass
class CompiledEntry:
    """One entry point in machine code, as the compile driver hands it to the runtime."""

    name: str
    address: int
    arena_bytes: int
    externals: list[str]
    outputs: list[Slot]
    loss: Slot | None
    workspace_bytes: int = 0
    """The kernels' workspace at the end of the arena (guard mode checks it as one value)."""
    info: Any = None
    kernels: list[dict[str, Any]] = field(default_factory=list)
    profile_offset: int | None = None
    """Arena offset of the per-kernel cycle counters (compiled with NETC_PROFILE=1)."""
    output_bytes: int = 0
    """Size of the block each call's results are written to (0: no output region)."""
    output_values: list[tuple[int, int, str]] = field(default_factory=list)
    """(start, end, name) of every value in that block (guard mode checks the bytes between)."""


_addressof, _char_from_buffer = ctypes.addressof, ctypes.c_char.from_buffer
"""Bound once: after a native call streamed megabytes through the caches, each lookup of a
module attribute per call is a cache miss (forward at batch 1 reads one address a call)."""


def address(array: np.ndarray) -> int:
    """The data pointer of a (checked, contiguous) array: through the buffer protocol, a few
    times cheaper than array.ctypes.data, which read-only arrays still need."""
    try:
        # numpy's stubs do not declare ndarray's buffer protocol, which from_buffer uses
        return _addressof(_char_from_buffer(array))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return int(array.ctypes.data)


class Buffers:
    """The memory the native calls of one network or program share: the persistent region
    (parameters and state at the offsets of the network's layout, `slots`) and the scratch
    arena, grown to the largest entry's need. In guard mode (NETC_GUARD when they are made)
    each is followed by `guard` bytes, and `region_guard` watches every byte between slots."""

    def __init__(self, persistent_bytes: int, slots: Sequence[tuple[int, int, str]]) -> None:
        self.guard = guard_bytes()
        self.region = aligned_bytes(max(persistent_bytes, ALIGN) + self.guard)
        self.arena = aligned_bytes(ALIGN)
        self.region_guard = GuardedBuffer(self.region, slots, "persistent region")

    def reserve(self, arena_bytes: int) -> None:
        """Grows the arena (and its guard) to fit an entry; entries that pointed into the old
        one rebind on their next call."""
        if self.arena.nbytes < arena_bytes + self.guard:
            self.arena = aligned_bytes(arena_bytes + self.guard)


class NativeEntry:
    """A compiled entry bound to its Buffers: the ctypes function, the argument vector (arena,
    services and persistent region filled in) and views of its results in the current arena.
    `what` names the call in a guard's report ("entry 'forward'", "program 'lenet5'")."""

    def __init__(self, compiled: CompiledEntry, services: int, buffers: Buffers,
                 what: str) -> None:
        self.compiled = compiled
        self.buffers = buffers
        self.what = what
        self.fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(compiled.address)
        self.args = (ctypes.c_void_p * (3 + len(compiled.externals)
                                        + (1 if compiled.output_bytes else 0)))()
        self.args[1] = services
        self.args[2] = buffers.region.ctypes.data
        self._arena: np.ndarray | None = None
        self._views: list[np.ndarray | None] = []
        self._loss_view: np.ndarray | None = None
        self._outputs = OutputBlock(compiled, buffers.guard)
        self._constants: dict[str, np.ndarray] | None = None
        """The arrays whose addresses `first` last wrote into `args` (kept alive here: the
        native code reads them); None after `__call__` wrote every external."""
        self._per_call: list[tuple[int, str]] = []
        """(argument index, name) of the externals `first` writes on every call."""
        first_in_reused = (self._outputs.reused is not None and bool(compiled.outputs)
                           and compiled.outputs[0].region == "output")
        self._first_copied = self._outputs.reused_views[0] if first_in_reused else None
        """The first result's view of the reused output block, when that is where it lands."""

    def __call__(self, feeds: dict[str, np.ndarray], plan: MemoryPlan | None = None) -> Results:
        """One native call on `feeds` (checked, contiguous arrays by input name). In guard mode
        `plan`, the entry's memory plan, lets every scratch value be guarded and poisoned;
        without it the arena is guarded as one value."""
        compiled, args = self.compiled, self.args
        self._fit_arena()
        checks: list[GuardedBuffer] = []
        if self.buffers.guard:
            feeds, checks = self._arm_guards(feeds, plan)
        block = self._outputs.next(args, checks)
        self._constants = None  # every external's slot is rewritten: `first` rebinds
        for k, name in enumerate(compiled.externals):
            args[3 + k] = address(feeds[name])
        with NATIVE_LOCK:
            self.fn(args)
        for check in checks:
            check.check(self.what)
        results = [self._read(slot, view, feeds, block, i) for i, (slot, view) in
                   enumerate(zip(compiled.outputs, self._views, strict=True))]
        if compiled.loss is not None:
            results.append(self._read(compiled.loss, self._loss_view, feeds, block,
                                      len(results)))
            return Results(results[:-1], results[-1], {}, {})
        return Results(results, None, {}, {})

    def first(self, feeds: dict[str, np.ndarray], constants: dict[str, np.ndarray]
              ) -> np.ndarray:
        """The first result of one call on `feeds` plus `constants` (a forward's output), as
        `__call__` would give it, with less Python around the native call (after it every line
        runs from cold caches): the constants' addresses are written only when `constants` is
        another dict than last time (the folded constants hand back a new one whenever they
        are recomputed) or the arena moved, and no Results is built. Not for guard mode, which
        copies and checks every external on every call."""
        args = self.args
        if constants is not self._constants or self._arena is not self.buffers.arena:
            self._prepare(constants)
        outputs = self._outputs
        block = outputs.reused if outputs.reused is not None else outputs.next(args, [])
        for k, name in self._per_call:
            args[k] = address(feeds[name])
        with NATIVE_LOCK:
            self.fn(args)
        if self._first_copied is not None:
            return self._first_copied.copy()
        slot = self.compiled.outputs[0]
        if slot.region == "output":
            return outputs.read(block, 0)
        return self._read(slot, self._views[0], {**feeds, **constants}, block, 0)

    def _prepare(self, constants: dict[str, np.ndarray]) -> None:
        """What `first` keeps across calls: the arena (grown and bound), the reused output
        block's address and the addresses of `constants` in `args`, and which externals
        remain to be written per call."""
        self._fit_arena()
        if self._outputs.reused is not None:
            self.args[self._outputs.slot] = self._outputs.reused_at
        self._per_call = []
        for k, name in enumerate(self.compiled.externals):
            if name in constants:
                self.args[3 + k] = address(constants[name])
            else:
                self._per_call.append((3 + k, name))
        self._constants = constants

    def cycle_counts(self) -> list[tuple[str, int]]:
        """(kernel, timestamp-counter cycles summed over calls), then resets the counters;
        empty unless the entry was compiled with NETC_PROFILE=1."""
        compiled = self.compiled
        if compiled.profile_offset is None:
            return []
        counters = np.ndarray((len(compiled.kernels),), dtype=np.int64,
                              buffer=self.buffers.arena, offset=compiled.profile_offset)
        out = [(k["name"], int(c)) for k, c in zip(compiled.kernels, counters, strict=True)]
        counters[...] = 0
        return out

    def _fit_arena(self) -> None:
        """The shared arena grown to this entry's need, and `args` and the result views
        pointing into it (again after another entry grew it)."""
        self.buffers.reserve(self.compiled.arena_bytes)
        if self._arena is not self.buffers.arena:
            self._bind(self.buffers.arena)

    def _bind(self, arena: np.ndarray) -> None:
        """Points the argument vector and the result views at `arena` (after it grew)."""
        self._arena = arena
        self.args[0] = arena.ctypes.data
        self._views = [self._view(s) for s in self.compiled.outputs]
        self._loss_view = self._view(self.compiled.loss) if self.compiled.loss else None

    def _arm_guards(self, feeds: dict[str, np.ndarray], plan: MemoryPlan | None
                    ) -> tuple[dict[str, np.ndarray], list[GuardedBuffer]]:
        """Inputs copied between guards of their own, canaries in every guard of the arena and
        the persistent region, poison in every scratch value when the plan names them."""
        buffers, compiled = self.buffers, self.compiled
        checks = [buffers.region_guard]
        guarded = dict(feeds)
        for name in compiled.externals:
            guarded[name], check = guarded_copy(feeds[name], buffers.guard, name)
            checks.append(check)
        data = [(0, compiled.arena_bytes, "the arena")]
        if plan is not None:
            data = arena_values(plan, compiled.workspace_bytes)
        arena = GuardedBuffer(buffers.arena, data, "arena")
        arena.arm(poison=plan is not None)
        buffers.region_guard.arm()
        return guarded, [*checks, arena]

    def _view(self, slot: Slot) -> np.ndarray | None:
        return slot_view(slot, self.buffers)

    def _read(self, slot: Slot, view: np.ndarray | None, feeds: dict[str, np.ndarray],
              block: np.ndarray | None, index: int) -> np.ndarray:
        """The `index`-th result (outputs, then the loss) as an array of the caller's own."""
        if slot.region == "output":
            return self._outputs.read(block, index)
        if view is None:  # the result is (a view of) the caller's own array
            return feeds[self.compiled.externals[slot.offset]].reshape(slot.shape).copy()
        return view.copy()


COPY_BELOW = 64 * 1024
"""Output blocks smaller than this are reused by every call and their results copied out: a
fresh block (allocate, find its address, make the views) costs about 1.3 us, what copying
64 KiB costs; copying a 1024 x 1024 float32 result cost 40 us, or 0.4 ms inside a call."""


class OutputBlock:
    """Where one entry's kernels write the results of the output region: a block allocated
    for each call, handed back as views (no copy), or, for small results, one block the entry
    reuses, copied out. In guard mode each call arms the block's guards (poison in its values)
    and adds its check."""

    def __init__(self, compiled: CompiledEntry, guard: int) -> None:
        self.nbytes = compiled.output_bytes + guard if compiled.output_bytes else 0
        self.slot = 3 + len(compiled.externals)
        self.values = compiled.output_values
        self.guard = guard
        self.reused = fresh_bytes(self.nbytes) if 0 < self.nbytes < COPY_BELOW else None
        self.reused_at = address(self.reused) if self.reused is not None else 0
        results = [*compiled.outputs, *([compiled.loss] if compiled.loss else [])]
        self.spans: list[tuple[int, int, np.dtype, tuple[int, ...]] | None] = []
        self.repeated: list[bool] = []
        """Whether an earlier result of the call holds the same bytes (then it is copied)."""
        handed: list[tuple[int, int]] = []
        for slot in results:
            if slot.region != "output":
                self.spans.append(None)
                self.repeated.append(False)
                continue
            dtype = np.dtype(NUMPY_DTYPE[slot.dtype])
            start, end = slot.offset, slot.offset + int(np.prod(slot.shape)) * dtype.itemsize
            self.repeated.append(any(lo < end and start < hi for lo, hi in handed))
            handed.append((start, end))
            self.spans.append((start, end, dtype, slot.shape))
        self.reused_views = [self._view(self.reused, i) for i in range(len(self.spans))
                             if self.reused is not None]

    def next(self, args: ctypes.Array[ctypes.c_void_p],
             checks: list[GuardedBuffer]) -> np.ndarray | None:
        """The block of the coming call, its address in `args` (None: no output region)."""
        if not self.nbytes:
            return None
        if self.reused is not None:
            block, args[self.slot] = self.reused, self.reused_at
        else:
            block = fresh_bytes(self.nbytes)
            args[self.slot] = address(block)
        if self.guard:
            guarded = GuardedBuffer(block, self.values, "output block")
            guarded.arm(poison=True)
            checks.append(guarded)
        return block

    def read(self, block: np.ndarray | None, index: int) -> np.ndarray:
        """The `index`-th result (outputs, then the loss): a view of a fresh block, unless an
        earlier result holds the same bytes or the block is reused (then a copy)."""
        if block is None:  # a compile-driver bug, checked even under `python -O`
            raise RuntimeError("a result in the output region of an entry without one")
        if block is self.reused:
            return self.reused_views[index].copy()
        out = self._view(block, index)
        return out.copy() if self.repeated[index] else out

    def _view(self, block: np.ndarray, index: int) -> np.ndarray:
        span = self.spans[index]
        if span is None:
            return block[:0]  # not in the output region: never read from the block
        start, end, dtype, shape = span
        return block[start:end].view(dtype).reshape(shape)


def fresh_bytes(nbytes: int) -> np.ndarray:
    """An uninitialised uint8 block of `nbytes` starting at a multiple of ALIGN (kernels load
    and store aligned vectors; numpy promises 16 bytes). Not zeroed: the kernels write every
    byte of a result, and zeroing would touch every page before they do."""
    raw = np.empty(nbytes + ALIGN, dtype=np.uint8)
    start = (-address(raw)) % ALIGN
    return raw[start:start + nbytes]


def slot_view(slot: Slot, buffers: Buffers) -> np.ndarray | None:
    """A result's bytes where the plan put them, as an array (None for results that are the
    caller's inputs, or in a call's output block)."""
    if slot.region in ("input", "output"):
        return None
    buffer = buffers.region if slot.region == "persistent" else buffers.arena
    return np.ndarray(slot.shape, dtype=NUMPY_DTYPE[slot.dtype], buffer=buffer,
                      offset=slot.offset)
