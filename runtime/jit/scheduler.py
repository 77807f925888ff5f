"""Where LLVM modules compile: a queue that a thread of netc's process and, on a machine with a
second core, a helper process drain at once.

Where it sits: between the compile cache (runtime/jit/cache.py, which hands over the modules
it has no object for, as codegen produces them) and LLVM: the engine's machine in this process
(runtime/jit/engine.py), runtime/jit/llvm_worker.py in the helper. llvmlite serializes every
LLVM call of a process behind one lock, so one process compiles one module at a time; the
helper, started with the first module that needs compiling (a warm start never starts it),
compiles another meanwhile. Both emit the same bytes for the same text (llvm_worker builds the
machine and the pipeline for both from the host's triple, CPU name and features), so the
compile cache's keys stay what they were. Each worker takes the next module when it is free.
If the helper cannot start or dies, its module compiles here and the thread goes on alone.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sys
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from runtime.jit import llvm_worker
from runtime.jit.engine import LLVM_LOCK, Engine, rejected
from runtime.jit.pool import thread_count

log = logging.getLogger("netc.scheduler")
"""Which worker compiled each module, at DEBUG (NETC_DEBUG=2); a helper that could not start or
was lost, at INFO (NETC_DEBUG=1)."""
STAGES = ("parse", "optimize", "machine code")
"""The stages' names in a program's timings (summed over both workers)."""
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Job:
    name: str
    text: str
    timings: dict[str, float]
    future: Future[bytes] = field(default_factory=Future)


def _count(timings: dict[str, float], seconds: tuple[float, float, float], name: str,
           where: str) -> None:
    for stage, spent in zip(STAGES, seconds, strict=True):
        timings[stage] = timings.get(stage, 0.0) + spent
    log.debug("compiled %s in %s: %.1f ms", name, where, 1e3 * sum(seconds))


def compile_here(name: str, text: str, timings: dict[str, float]) -> bytes:
    """Object code of one module, compiled in this process (stage times added to timings)."""
    engine = Engine.get()
    with LLVM_LOCK:  # the module is disposed of inside too: it belongs to LLVM's shared context
        try:
            data, seconds = llvm_worker.compile_text(engine.machine, engine.host.triple, text)
        except RuntimeError as err:
            raise rejected(name, str(err)) from None
    _count(timings, seconds, name, "this process")
    return data


class HelperGone(Exception):
    """The helper process ended or its pipe broke."""


class Helper:
    """A helper process running llvm_worker.serve for this host."""

    def __init__(self) -> None:
        import subprocess  # not imported on a warm start

        host = Engine.get().host
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runtime.jit.llvm_worker", host.triple, host.cpu,
             host.features], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env)
        requests, replies = self.process.stdin, self.process.stdout
        if requests is None or replies is None:  # cannot happen with PIPE; typed as optional
            raise HelperGone("no pipes to the helper")
        self.requests, self.replies = requests, replies
        try:
            if self._read(1) != b"r":
                raise HelperGone("the helper did not start")
        except HelperGone:
            self.close()
            raise

    def _read(self, size: int) -> bytes:
        data = self.replies.read(size)
        if len(data) != size:
            raise HelperGone("the helper ended")
        return data

    def compile(self, job: Job) -> bytes:
        text = job.text.encode()
        try:
            self.requests.write(llvm_worker.REQUEST.pack(len(text)) + text)
            self.requests.flush()
        except OSError as err:
            raise HelperGone(str(err)) from None
        if self._read(1) == b"e":
            size, = llvm_worker.ERROR.unpack(self._read(llvm_worker.ERROR.size))
            raise rejected(job.name, self._read(size).decode(errors="replace"))
        size, *seconds = llvm_worker.OBJECT.unpack(self._read(llvm_worker.OBJECT.size))
        _count(job.timings, (seconds[0], seconds[1], seconds[2]), job.name, "the helper")
        return self._read(size)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def helper_wanted() -> bool:
    """A helper only pays where a second core can run it, and netc may use one: NETC_THREADS=1
    (runtime/jit/pool.py's thread_count) keeps compiling to one core too."""
    return thread_count() >= 2


class Scheduler:
    """The process's queue of modules to compile and its two workers (started on first use)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = False
        self.helper: Helper | None = None
        """The helper process while it serves."""
        self._stopping = False

    def submit(self, name: str, text: str, timings: dict[str, float]) -> Future[bytes]:
        """The object code of the module, once a worker has compiled it."""
        job = Job(name, text, timings)
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._here, name="netc-llvm", daemon=True).start()
                if helper_wanted():
                    threading.Thread(target=self._helper, name="netc-llvm-helper",
                                     daemon=True).start()
        self._jobs.put(job)
        return job.future

    def forget_workers(self) -> None:
        """In a child made by fork: the workers were threads and a pipe of the parent; the
        child starts its own on its first module."""
        self._jobs = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = False
        self.helper = None

    def stop(self) -> None:
        """At exit: lets the module LLVM is compiling here finish and starts no other (a
        thread inside LLVM while the interpreter tears LLVM down can crash the process, e.g.
        after an error ended a compile early)."""
        self._stopping = True
        LLVM_LOCK.acquire()  # held until the process ends

    def _here(self) -> None:
        while True:
            job = self._jobs.get()
            if self._stopping:
                job.future.cancel()
                continue
            self._run_here(job)

    @staticmethod
    def _run_here(job: Job) -> None:
        try:
            job.future.set_result(compile_here(job.name, job.text, job.timings))
        except Exception as err:  # the waiting caller raises it
            job.future.set_exception(err)

    def _helper(self) -> None:
        try:
            helper = self.helper = Helper()
        except (OSError, HelperGone) as err:
            log.info("no LLVM helper process (%s): compiling in this process only", err)
            return
        while True:
            job = self._jobs.get()
            try:
                job.future.set_result(helper.compile(job))
            except HelperGone as err:
                log.info("LLVM helper process lost (%s): compiling in this process only", err)
                self._run_here(job)
                helper.close()
                self.helper = None
                return
            except Exception as err:
                job.future.set_exception(err)


SCHEDULER = Scheduler()
atexit.register(SCHEDULER.stop)
os.register_at_fork(after_in_child=SCHEDULER.forget_workers)
