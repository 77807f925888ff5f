"""The process's native thread pool: compiled (or loaded from the compile cache) and started
on first use, never stopped.

Where it sits: every compiled network calls `netc_parallel_for(kernel, args, ntasks)` through
slot 0 of the services table (compiler/driver/services.py); the pool runs `kernel(args, task,
thread)` for every task over its worker threads and the calling thread. Its IR, and how the
workers claim tasks and sleep, are runtime/jit/pool_ir.py's; a warm start loads the pool from
the cache without building that IR.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

NATIVE_LOCK = threading.Lock()
"""Held around every call of a compiled entry: the pool runs one parallel region at a time (one
caller), and ctypes releases the GIL during the call, so two Python threads calling networks at
once would otherwise both drive it. The entry itself uses every core, so nothing is lost."""


def thread_count() -> int:
    """NETC_THREADS if set (>= 1), else the CPUs this process may run on."""
    env = os.environ.get("NETC_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n >= 1:
            return min(n, 256)
    return available_cpus()


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, else (not on Linux) the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _ir_fingerprint() -> str:
    """A hash of pool_ir.py, which is all the pool's IR depends on besides the triple."""
    import hashlib

    return hashlib.sha256(Path(__file__).with_name("pool_ir.py").read_bytes()).hexdigest()[:16]


_POOL_LOCK = threading.Lock()
"""Held while the pool is compiled or loaded (never while holding it does anything take it
again; the LLVM lock, which compiling and loading take inside, is never held around it)."""


class Pool:
    """The process's pool: compiled and started on first use, never stopped."""

    _instance: Pool | None = None

    def __init__(self, threads: int) -> None:
        from runtime.jit.cache import compile_program, host

        triple = host().triple

        def build(_: object) -> tuple[list[tuple[str, str]], dict[str, object]]:
            from runtime.jit.pool_ir import pool_module

            return [("netc_pool", str(pool_module(triple)))], {}

        # Keyed by the IR's source, not its text: a warm start builds no IR.
        loaded, _ = compile_program(f"netc_pool {_ir_fingerprint()} {triple}", "netc_pool", build)
        started = loaded.function("netc_pool_start", ctypes.c_int32, ctypes.c_int32)(threads - 1)
        self.threads = int(started) + 1
        self.parallel_for = loaded.address("netc_parallel_for")
        self._loaded = loaded

    @classmethod
    def get(cls) -> Pool:
        if cls._instance is not None:
            return cls._instance
        with _POOL_LOCK:  # one pool per process, even when two threads ask first
            if cls._instance is None:
                cls._instance = Pool(thread_count())
            return cls._instance
