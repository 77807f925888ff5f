"""Allreduce overlapped with backward: the backward entry as segments, each bucket reduced on a
background thread while the segments after it run (Horovod's design).

Where it sits: inside runtime/distributed/step.py's data-parallel JIT network, which runs this
step instead of "backward, one Allreduce, apply" when the gradients make more than one bucket
(runtime/distributed/buckets.py) and MPI lets a second thread call it. The compiler hands the
segments in (compiler/driver/segments.py: one memory plan, a range of kernels each), so they
share the network's arena: after segment k the gradients it completed sit in the arena, where
the reducer thread copies them into their slice of the gradient buffer and all-reduces that
slice while the main thread runs segment k + 1. Native calls release the GIL (ctypes) and so
do mpi4py's blocking collectives, so both run at once. The step then waits for every bucket
and runs the apply entry on the averaged buffer, as without overlap.

Per element the reduction is the one of the whole-buffer step (the same ranks' values summed,
then times 1/N), so the two steps give the same parameters (tests/test_distributed.py).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from runtime.distributed.buckets import BucketPlan
from runtime.distributed.comm import Comm
from runtime.jit.call import Buffers, CompiledEntry, NativeEntry, Slot, slot_view
from runtime.jit.pool import available_cpus


class Reducer:
    """The background thread that runs the bucket reductions in the order they are handed in
    (every rank hands them in the same order, so the collectives match). `busy_seconds` sums
    the time it spent on them; `wait` re-raises on the main thread what failed on this one."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._error: BaseException | None = None
        self.busy_seconds = 0.0
        threading.Thread(target=self._serve, name="netc-allreduce", daemon=True).start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def wait(self) -> None:
        """Returns when every job handed in has run; raises the first one's error if any."""
        self._jobs.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            start = time.perf_counter()
            try:
                if self._error is None:  # after a failure the step is lost: skip the rest
                    job()
            except BaseException as err:  # handed to the main thread by wait()
                self._error = err
            finally:
                self.busy_seconds += time.perf_counter() - start
                self._jobs.task_done()


class OverlappedBackward:
    """The backward segments of one network bound to its buffers, the bucket plan and the
    gradient buffer's views; `run` is one overlapped backward + reduction."""

    def __init__(self, plan: BucketPlan, segments: list[CompiledEntry], gradients: list[str],
                 services: int, buffers: Buffers) -> None:
        self.plan = plan
        self._buffers = buffers
        self._entries = [NativeEntry(_quiet(entry, keep_loss=i == 0), services, buffers,
                                     f"entry '{entry.name}'") for i, entry in enumerate(segments)]
        self._arena_bytes = max(entry.arena_bytes for entry in segments)
        self._slots = dict(zip(gradients, segments[-1].outputs, strict=True))
        self._bound: np.ndarray | None = None
        self._sources: dict[str, np.ndarray] = {}
        self.segment_seconds = [0.0] * len(segments)
        """Time spent in each segment, summed over calls (the bench's scaling model)."""

    def run(self, feeds: dict[str, np.ndarray], reducer: Reducer,
            reduce: Callable[[int, dict[str, np.ndarray]], None]) -> np.ndarray:
        """Runs the segments in order; after each, hands `reduce(bucket index, sources)` of
        the buckets it completed to `reducer` (`sources`: each gradient's bytes in the arena).
        Returns the loss; the caller waits for the reducer."""
        self._buffers.reserve(self._arena_bytes)  # never regrown (and moved) between segments
        if self._bound is not self._buffers.arena:
            self._bind()
        loss = None
        for index, entry in enumerate(self._entries):
            start = time.perf_counter()
            results = entry(feeds)
            self.segment_seconds[index] += time.perf_counter() - start
            if index == 0:
                loss = results.loss
            for b, bucket in enumerate(self.plan.buckets):
                if bucket.segment == index:
                    reducer.submit(functools.partial(reduce, b, self._sources))
        if loss is None:
            raise RuntimeError("the first backward segment computed no loss")
        return loss

    def _bind(self) -> None:
        """Views of every gradient where the plan put it in the (current) arena."""
        self._bound = self._buffers.arena
        self._sources = {name: _view(slot, self._buffers) for name, slot in self._slots.items()}


def _quiet(entry: CompiledEntry, keep_loss: bool) -> CompiledEntry:
    """`entry` reading back nothing but (in the first segment) the loss: the gradients are read
    in place by the reducer, and copying every output after every segment would cost what the
    overlap saves."""
    return dataclasses.replace(entry, outputs=[], loss=entry.loss if keep_loss else None)


def _view(slot: Slot, buffers: Buffers) -> np.ndarray:
    view = slot_view(slot, buffers)
    if view is None:
        raise RuntimeError("a gradient that is an input cannot be reduced in place")
    return view


LOCAL_SIZE_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS")
"""What mpirun (OpenMPI, MPICH) sets in every process: how many ranks run on this machine."""


def spare_core(comm: Comm, threads: int) -> str | None:
    """None when the reducer thread has a core of its own; else why not, for the log.

    The reducer waits inside Allreduce by polling (OpenMPI's progress engine spins), so on a
    core that a native thread of backward also needs it slows backward by what it hides: 2
    ranks x 1 thread on 2 cores ran the overlapped step 18-28% slower (README, bench). A rank
    bound to its own CPUs (affinity narrower than the machine) shares them with nobody; else
    every rank on this machine shares them."""
    mine = available_cpus()
    here = next((int(v) for v in (os.environ.get(n, "") for n in LOCAL_SIZE_VARIABLES)
                 if v.isdigit()), comm.size)
    sharing = 1 if mine < (os.cpu_count() or mine) else here
    if mine > threads * sharing:
        return None
    return (f"no core left for it ({sharing} rank(s) x {threads} thread(s) on {mine} CPU(s); "
            "set bucket_bytes or --bucket-bytes to overlap anyway)")
