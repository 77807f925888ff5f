"""A program's object code linked into one shared object and loaded with ctypes: how a warm start
runs cached machine code without loading LLVM.

Where it sits: beside the engine (runtime/jit/engine.py), which loads object code into MCJIT
engines. The compile cache (runtime/jit/cache.py) links each program it has the objects of
into `<program>.so` in the background and loads that on later starts: dlopen takes about a
millisecond, where importing llvmlite's LLVM and creating engines takes tens. Both loaders take
the same objects, made for MCJIT (object_format.py: absolute addresses, not position-independent
code), so the dynamic loader relocates the shared object's text when it loads it. The system's
C compiler links, with the invocation an ahead-of-time bundle uses too (compiler/bundle/link.py).
Where that cannot be done (no cc, a linker that refuses text relocations, a system that refuses
to load them), every start loads the objects through LLVM as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ir.errors import CompileError

log = logging.getLogger("netc.cache")


def c_compiler() -> str:
    """The C compiler: $CC, else `cc` on PATH; a clear error when there is none."""
    import shutil  # this and the other process tools: not imported on a warm start

    cc = os.environ.get("CC", "cc")
    found = shutil.which(cc)
    if found is None:
        raise CompileError(f"netc build needs a C compiler: '{cc}' is not on PATH (install gcc, "
                           "or set CC)")
    return found


def shared_library_command(inputs: Sequence[str], output: Path) -> list[str]:
    """cc's command line for a shared library of `inputs` (sources, objects, flags) that
    resolves every symbol at link time against libc, libm and pthreads."""
    return [c_compiler(), "-shared", "-o", str(output), *inputs, "-Wl,-z,noexecstack",
            "-Wl,--no-undefined", "-pthread", "-lm"]


def run_cc(command: list[str], output: Path) -> None:
    """Runs a cc command; a failure is a CompileError naming `output` and cc's first lines."""
    import subprocess

    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise CompileError(f"cc could not build {output.name}: "
                           f"{' | '.join(lines[:3]) or f'exit status {done.returncode}'}")


def link_objects(objects: list[bytes], output: Path) -> None:
    """Links object code into the shared object `output`, atomically (a temporary name, then
    a rename). -Bsymbolic binds the program's calls to its own functions, whatever else the
    process has loaded."""
    import shutil
    import tempfile

    # mkdtemp, not TemporaryDirectory: links also run at exit, after weakref finalizers
    # (which a TemporaryDirectory made then would run at once, deleting it under cc)
    folder = Path(tempfile.mkdtemp(prefix=".link-", dir=output.parent))
    try:
        paths = []
        for i, data in enumerate(objects):
            path = folder / f"{i:04d}.o"
            path.write_bytes(data)
            paths.append(str(path))
        linked = folder / output.name
        run_cc(shared_library_command([*paths, "-Wl,-Bsymbolic"], linked), output)
        os.replace(linked, output)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Linked:
    """A shared object loaded into the process (never unloaded, so its code stays callable);
    addresses of its exported functions, as engine.Loaded gives them for an MCJIT engine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.library = ctypes.CDLL(str(path))

    def address(self, name: str) -> int:
        try:
            symbol = getattr(self.library, name)
        except AttributeError:
            raise CompileError(f"compiled module has no function '{name}'") from None
        return int(ctypes.cast(symbol, ctypes.c_void_p).value or 0)

    # The annotations name typeshed's classes (lazy: `from __future__ import annotations`).
    def function(self, name: str, restype: type[ctypes._CData] | None,
                 *argtypes: type[ctypes._CData]) -> ctypes._CFunctionType:
        return ctypes.CFUNCTYPE(restype, *argtypes)(self.address(name))


class LinkQueue:
    """Runs links on a daemon thread, one at a time, each once no program is being built: cc
    would take a core from LLVM, whose work is what a cold start waits for. At exit, what is
    queued is linked (a build still running no longer holds it back), so that the next
    process finds the shared objects; `drain` waits for that."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._jobs: deque[Callable[[], None]] = deque()
        self._building = 0
        self._busy = False
        self._exiting = False
        self._started = False

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Marks a program build in progress (links wait for the end of it)."""
        with self._cond:
            self._building += 1
        try:
            yield
        finally:
            with self._cond:
                self._building -= 1
                self._cond.notify_all()

    def submit(self, job: Callable[[], None]) -> None:
        with self._cond:
            self._jobs.append(job)
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="netc-link", daemon=True).start()
            self._cond.notify_all()

    def drain(self, exiting: bool = False, timeout: float | None = None) -> None:
        """Returns once every queued link has run (or after `timeout` seconds); `exiting`
        stops builds in progress from holding links back."""
        with self._cond:
            self._exiting = self._exiting or exiting
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._jobs and not self._busy, timeout)

    def _ready(self) -> bool:
        return bool(self._jobs) and (self._building == 0 or self._exiting)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(self._ready)
                job = self._jobs.popleft()
                self._busy = True
            try:
                job()
            except Exception:  # a link is an optimization: never the end of the thread
                log.exception("link failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
