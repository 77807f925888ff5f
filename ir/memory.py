"""Memory facts the planner and the runtime must agree on: the alignment and the guard size.

Where it sits: below both compiler/passes/plan_memory.py, which lays out the scratch arena and
the persistent region, and runtime/jit/, which allocates them and (in guard mode) checks them.
It lives in ir/ so that the runtime can share these facts without importing the compiler; were
they written twice, the day the copies disagreed a kernel would read the wrong bytes.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from ir.errors import CompileError

ALIGN = 64
"""Every buffer and every offset in one is a multiple of this: a cache line, and the widest
vector (AVX-512) loads aligned."""


def align(nbytes: int) -> int:
    """`nbytes` rounded up to the next multiple of ALIGN."""
    return -(-nbytes // ALIGN) * ALIGN


def guard_bytes() -> int:
    """NETC_GUARD: the guard-mode padding in bytes (0: off), rounded up to a multiple of ALIGN.
    Read when a network is compiled; a value that is not a number is an error rather than
    silently "off", so a guarded test run cannot quietly run unguarded."""
    text = os.environ.get("NETC_GUARD", "").strip() or "0"
    try:
        value = int(text)
    except ValueError:
        raise CompileError(f"NETC_GUARD must be a number of bytes, got {text!r}") from None
    return align(max(value, 0))


def aligned_bytes(nbytes: int) -> npt.NDArray[np.uint8]:
    """A zeroed uint8 buffer of `nbytes` whose data pointer is a multiple of ALIGN (numpy only
    promises 16)."""
    try:
        raw = np.zeros(nbytes + ALIGN, dtype=np.uint8)
    except MemoryError:
        raise CompileError(f"cannot allocate {nbytes:,} bytes for the network's buffers "
                           "(a smaller batch needs less)") from None
    start = (-raw.ctypes.data) % ALIGN
    return raw[start:start + nbytes]
