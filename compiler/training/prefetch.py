"""Batches made ahead of the step: a background thread assembles the next batches.

Where it sits: inside the training loop (compiler/training/loop.py), between the data
(compiler/training/data.py's Feeder: gather, normalize, fit to the model's input) and the
network. While the native step runs (ctypes releases the GIL for it) the thread prepares the
next `depth` batches, so the step never waits for them. The order is the caller's: a prefetched
run computes exactly what an unprefetched one does. An error in the thread (a DataError
naming a file) is raised in the loop at the batch it concerns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")
DEPTH = 2
"""Batches prepared ahead: one in use, one ready is enough when a step is slower than making a
batch; a second ready one absorbs a slow batch."""


class Prefetcher(Generic[T]):
    """Iterates over `make(indices)` for each index array, made `depth` ahead in a thread.
    Use as a context manager: leaving it early stops the thread."""

    def __init__(self, make: Callable[[np.ndarray], T], batches: Sequence[np.ndarray],
                 depth: int = DEPTH) -> None:
        self._make = make
        self._batches = batches
        self._queue: queue.Queue[tuple[T | None, BaseException | None]] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="netc-prefetch", daemon=True)

    def __enter__(self) -> Prefetcher[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a put() waiting for room
            try:
                self._queue.get_nowait()
            except queue.Empty:
                self._thread.join(0.01)

    def __iter__(self) -> Iterator[T]:
        for _ in self._batches:
            item, error = self._queue.get()
            if error is not None:
                raise error
            yield item  # type: ignore[misc]

    def _fill(self) -> None:
        for indices in self._batches:
            if self._stop.is_set():
                return
            try:
                self._put((self._make(indices), None))
            except Exception as err:  # raised in the loop, at this batch
                self._put((None, err))
                return

    def _put(self, item: tuple[T | None, BaseException | None]) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
