"""The services table every entry receives (args[1]): the native thread pool's parallel_for and
the library's GEMM and packers (compiler/codegen/library.py).

Where it sits: in the JIT driver (compiler/driver/), beside jit.py, which asks for the table
when it starts compiling a network and waits for the element types an entry uses before the
entry may run. The library is compiled (or loaded from the compile cache) once per process and
codegen target, per element type (in parts, library_parts, that the scheduler's two workers
compile at once), each in a background thread: an f32 model never waits for the f64 GEMM, and
LLVM compiles the library while the main thread lowers the model and generates its kernels' IR
(llvmlite releases the GIL while LLVM works).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from compiler.codegen.services_table import LIBRARY_VERSION, SERVICES
from compiler.codegen.target import CodegenTarget
from runtime.jit.cache import ModuleSink, compile_program
from runtime.jit.pool import Pool

if TYPE_CHECKING:
    from runtime.jit.engine import Loaded
    from runtime.jit.linked import Linked

LIBRARY_DTYPES = tuple(sorted({service.rsplit("_", 1)[1] for service in SERVICES[1:]}))
"""The element types the library has functions for: the suffixes of its SERVICES slots."""

_LOCK = threading.Lock()
_TABLES: dict[CodegenTarget, ServicesTable] = {}
_WORKER: ThreadPoolExecutor | None = None


def _worker() -> ThreadPoolExecutor:
    """One background thread: it builds a library's IR and waits while the scheduler
    (runtime/jit/scheduler.py) compiles it; a second element type's library queues behind."""
    global _WORKER
    if _WORKER is None:
        _WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netc-library")
    return _WORKER


class ServicesTable:
    """The table of one codegen target. Each element type's library slots are filled when its
    module is loaded, and slot 0 (the pool's parallel_for) by the first `wait`, which every
    entry goes through before it runs (so the library can start before the pool exists)."""

    def __init__(self, target: CodegenTarget, version: str) -> None:
        self.target = target
        self.version = version
        self.table = (ctypes.c_void_p * len(SERVICES))()
        self._jobs: dict[str, Future[Loaded | Linked]] = {}
        self._lock = threading.Lock()

    @property
    def address(self) -> int:
        return ctypes.addressof(self.table)

    def request(self, dtypes: Iterable[str]) -> None:
        """Starts compiling the library of each element type not yet asked for."""
        with self._lock:
            for dtype in dtypes:
                if dtype in LIBRARY_DTYPES and dtype not in self._jobs:
                    self._jobs[dtype] = _worker().submit(self._load, dtype)

    def forget_unfinished(self) -> None:
        self._lock = threading.Lock()
        self._jobs = {dtype: job for dtype, job in self._jobs.items() if job.done()}

    def wait(self, dtypes: Iterable[str]) -> None:
        """Returns once the library of every element type in `dtypes` is in the table; raises
        what compiling it raised."""
        wanted = sorted(set(dtypes) & set(LIBRARY_DTYPES))
        self.request(wanted)
        self.table[0] = Pool.get().parallel_for
        for dtype in wanted:
            self._jobs[dtype].result()

    def _load(self, dtype: str) -> Loaded | Linked:
        # Keyed by a description, not the text: a warm start never builds the library's IR.
        key = f"{LIBRARY_VERSION} {self.version} {self.target.describe()} {dtype}"
        name = f"netc_library_{dtype}"

        def build(sink: ModuleSink) -> tuple[list[tuple[str, str]], dict[str, Any]]:
            from compiler.codegen.library import library_parts  # only on a cold start

            parts = library_parts(self.target, dtype)
            # The pool first: starting it may compile it, under the LLVM lock that the
            # library's compile then holds for a third of a second.
            Pool.get()
            for part, text in parts:  # to the scheduler: both workers, beside the kernels
                sink(part, text)
            return parts, {}

        loaded, _ = compile_program(key, name, build)
        for slot, service in enumerate(SERVICES):
            if service.endswith(f"_{dtype}"):
                self.table[slot] = loaded.address(f"netc_{service}")
        return loaded


def _forget_workers() -> None:
    """In a child made by fork: the library thread was the parent's; libraries it had not
    finished compile again in the child when asked for."""
    global _WORKER
    _WORKER = None
    for table in _TABLES.values():
        table.forget_unfinished()


os.register_at_fork(after_in_child=_forget_workers)


def services_table(target: CodegenTarget, version: str) -> ServicesTable:
    """The process's table for `target` (created on first use; the f32 library starts
    compiling at once, since nearly every model needs it)."""
    with _LOCK:
        if target not in _TABLES:
            _TABLES[target] = ServicesTable(target, version)
        table = _TABLES[target]
    table.request(("f32",))
    return table
