"""The data-parallel training step: backward, allreduce of the gradient buffer, apply.

Where it sits: the Network that `compiler.compile(..., train=True, distributed=comm)` returns
(compiler/driver/network.py builds it). The single-process step is one native call whose
kernels apply each parameter's update where its gradient is made, so no gradient is ever
stored; data parallelism needs the gradients between backward and update, so this network
runs two entries the driver lowers for it instead:

    "backward"  forward + backward: the loss, every parameter's gradient as an output (in
                parameter order) and batchnorm's running statistics updated in place
    "apply"     the optimizer update as IR (compiler/passes/optimizer.py), reading each
                gradient as an external input

Between them the gradients sit in one contiguous buffer (`buffer`), which Allreduce sums over
the ranks in place and one multiply turns into the mean; the apply entry reads views of that
buffer, so nothing is copied after the reduction. A JIT network reduces it bucket by bucket
while backward still runs (runtime/distributed/overlap.py, `bucket_bytes`); otherwise, or
when the gradients fit one bucket, in one Allreduce after backward. `train_step` keeps its
signature and returns this rank's loss. Batchnorm normalizes with each rank's own batch
statistics (as PyTorch's DistributedDataParallel without SyncBatchNorm); its running
statistics are averaged over the ranks after every step (in the last Allreduce), so every
rank, and so every checkpoint, holds the same values.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import numpy as np

from ir.errors import RuntimeInputError
from ir.graph import Graph
from ir.types import NUMPY_DTYPE
from runtime.distributed.buckets import BucketPlan, Gradient, plan_buckets
from runtime.distributed.comm import Comm
from runtime.distributed.overlap import (
    OverlappedBackward,
    Reducer,
    spare_core,
)
from runtime.jit.call import CompiledEntry
from runtime.jit.network import JITNetwork
from runtime.jit.pool import thread_count
from runtime.network import Network, ReferenceNetwork
from runtime.reference import Results

BACKWARD, APPLY = "backward", "apply"
log = logging.getLogger(__name__)


class BackwardSegments(Protocol):
    """What the compiler hands a data-parallel JIT network to overlap the reduction with
    backward (compiler/driver/segments.py)."""

    @property
    def kernels(self) -> int:
        """How many kernels the backward entry runs."""

    def ready(self) -> list[int]:
        """Per gradient (parameter order): the kernel after which it is final (-1: at once)."""

    def compile(self, bounds: list[tuple[int, int]]) -> list[CompiledEntry]:
        """The backward entry as one native entry per kernel range, in order."""


class GradientBuffer:
    """One contiguous array holding every gradient (in the order given: parameter order, or
    bucket after bucket) and then the running statistics the ranks average; `views` are the
    per-tensor slices the apply entry reads."""

    def __init__(self, grads: list[tuple[str, tuple[int, ...]]],
                 stats: list[tuple[str, tuple[int, ...]]], dtype: np.dtype) -> None:
        sizes = [int(np.prod(shape, dtype=np.int64)) for _, shape in (*grads, *stats)]
        self.flat = np.zeros(sum(sizes), dtype=dtype)
        offsets = np.cumsum([0, *sizes])
        self.views: dict[str, np.ndarray] = {}
        self._spans: dict[str, tuple[int, int]] = {}
        for (name, shape), start, end in zip((*grads, *stats), offsets, offsets[1:],
                                             strict=False):
            self.views[name] = self.flat[start:end].reshape(shape)
            self._spans[name] = (int(start), int(end))
        self.grad_names = [name for name, _ in grads]
        self.stat_names = [name for name, _ in stats]

    @property
    def nbytes(self) -> int:
        return int(self.flat.nbytes)

    def span(self, first: str, last: str | None = None) -> np.ndarray:
        """The slice of `flat` from tensor `first` to tensor `last` (to the end when None)."""
        end = self._spans[last][1] if last is not None else self.flat.size
        return self.flat[self._spans[first][0]:end]


DEFAULT_BUCKET_BYTES = 1 << 20
"""The default bucket size; see DataParallel.bucket_bytes for why."""


class DataParallel(Network):
    """A training network whose `train_step` is the data-parallel step over `comm`. Made by
    `data_parallel` (the backend's class with this one in front).

    `bucket_bytes` (JIT only): reduce the gradients in buckets of that many bytes while
    backward runs (runtime/distributed/overlap.py); None reduces the whole buffer after
    backward. The overlap is used only when the gradients make more than one bucket and MPI
    lets a second thread call it (else the step logs why and reduces after backward).

    By default (1 MiB buckets, bucket_bytes never set) it is used only where it pays: when
    the reducer thread has a core that no native thread of this machine's ranks needs
    (overlap.spare_core). Measured on 2 cores, 2 ranks x 1 thread, in one job alternating
    both steps, the overlap made lenet's step 47 -> 61 ms and cifar's 207 -> 245 ms (its
    polling reducer takes the core backward needs), while in one process it costs ~nothing
    (cifar 123.5 -> 125.0 ms): where it can spin on a spare core, what it hides is won.
    Setting bucket_bytes (or --bucket-bytes) overlaps whatever the cores.

    `allreduce_seconds` sums the time spent reducing (copies into the buffer included, on the
    reducer thread when overlapped); `exposed_seconds` the part of it the step waited for, so
    1 - exposed / allreduce is the fraction backward hid (the bench reports both)."""

    comm: Comm
    buffer: GradientBuffer
    _bucket_bytes: int | None = DEFAULT_BUCKET_BYTES
    _bucket_chosen = False
    allreduce_seconds: float = 0.0
    exposed_seconds: float = 0.0

    def join(self, comm: Comm, segments: BackwardSegments | None = None) -> None:
        """Binds the network to `comm` and gives every rank rank 0's parameters and state;
        `segments` (a JIT network's) make the overlapped step possible."""
        self.comm = comm
        self._segments = segments
        self._overlaps: dict[tuple[int, bool], OverlappedBackward | None] = {}
        self._reducer: Reducer | None = None
        backward = self._need(BACKWARD)
        self._grad_shapes = _gradients(backward, list(self._params))
        self._grad_order = [name for name, _ in self._grad_shapes]
        self._stat_shapes = _averaged_state(backward, self._state)
        self._dtype = _float(backward)
        self.buffer = GradientBuffer(self._grad_shapes, self._stat_shapes, self._dtype)
        self.broadcast_parameters()

    @property
    def bucket_bytes(self) -> int | None:
        return self._bucket_bytes

    @bucket_bytes.setter
    def bucket_bytes(self, size: int | None) -> None:
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                 or size < 1):
            raise RuntimeInputError(f"bucket_bytes must be a positive number of bytes or None "
                                    f"(one Allreduce after backward), got {size!r}")
        self._bucket_bytes = size
        self._bucket_chosen = True

    def broadcast_parameters(self) -> None:
        """Rank 0's parameters and state on every rank (after a restore on rank 0)."""
        for array in (*self._params.values(), *self._state.values()):
            self.comm.bcast_array(array)

    def _run(self, entry: str, feeds: dict[str, np.ndarray]) -> Results:
        if entry != "train":
            return super()._run(entry, feeds)
        overlap = self.overlap()
        loss = self._overlapped(overlap, feeds) if overlap is not None else self._whole(feeds)
        views = self.buffer.views
        for name in self.buffer.stat_names:
            self._state[name][...] = views[name]
        super()._run(APPLY, {name: views[name] for name in self.buffer.grad_names})
        return Results([], loss, {}, {})

    def _whole(self, feeds: dict[str, np.ndarray]) -> np.ndarray | None:
        """Backward as one entry, then one Allreduce of the whole buffer; returns the loss."""
        out = super()._run(BACKWARD, feeds)
        views = self.buffer.views
        for name, grad in zip(self._grad_names(), out.outputs, strict=True):
            views[name][...] = grad
        for name in self.buffer.stat_names:
            views[name][...] = self._state[name]
        start = time.perf_counter()
        self._average(self.buffer.flat)
        spent = time.perf_counter() - start
        self.allreduce_seconds += spent
        self.exposed_seconds += spent
        return out.loss

    def _overlapped(self, overlap: OverlappedBackward,
                    feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Backward in segments, each finished bucket reduced on the reducer thread meanwhile."""
        reducer = self._reducer
        assert reducer is not None
        busy = reducer.busy_seconds
        loss = self._segments_run(overlap, feeds, reducer)
        start = time.perf_counter()
        reducer.wait()
        self.exposed_seconds += time.perf_counter() - start
        self.allreduce_seconds += reducer.busy_seconds - busy
        return loss

    def _reduce_bucket(self, overlap: OverlappedBackward, index: int,
                       sources: dict[str, np.ndarray]) -> None:
        """On the reducer thread: bucket `index`'s gradients into the buffer, then their sum
        over the ranks times 1/N (the last bucket carries the running statistics too)."""
        names = overlap.plan.buckets[index].names
        views = self.buffer.views
        for name in names:
            views[name][...] = sources[name]
        last = index == len(overlap.plan.buckets) - 1
        if last:
            for name in self.buffer.stat_names:
                views[name][...] = self._state[name]
        self._average(self.buffer.span(names[0], None if last else names[-1]))

    def _average(self, span: np.ndarray) -> None:
        self.comm.allreduce_sum(span)
        if self.comm.size > 1:
            span *= span.dtype.type(1.0 / self.comm.size)

    def _grad_names(self) -> list[str]:
        """The apply entry's gradient inputs in parameter order (the backward outputs')."""
        return self._grad_order

    def overlap(self) -> OverlappedBackward | None:
        """The overlapped backward the next step runs for the current bucket_bytes (built and
        compiled on first use), or None when the step reduces the whole buffer after backward
        (bucket_bytes None, one bucket, the reference backend, or no thread support)."""
        size = self.bucket_bytes
        if size is None or self._segments is None:
            return None
        key = (size, self._bucket_chosen)  # a default may be refused where a chosen size is not
        if key not in self._overlaps:
            self._overlaps[key] = self._build_overlap(self._segments, size)
        overlap = self._overlaps[key]
        order = overlap.plan.order if overlap is not None else self._grad_names()
        if self.buffer.grad_names != order:  # the buffer follows the buckets
            shapes = dict(self._grad_shapes)
            self.buffer = GradientBuffer([(n, shapes[n]) for n in order], self._stat_shapes,
                                         self._dtype)
        return overlap

    def _build_overlap(self, segments: BackwardSegments, size: int) -> OverlappedBackward | None:
        item = self._dtype.itemsize
        gradients = [Gradient(name, item * int(np.prod(shape, dtype=np.int64)), ready)
                     for (name, shape), ready in zip(self._grad_shapes, segments.ready(),
                                                     strict=True)]
        plan = plan_buckets(gradients, segments.kernels, size)
        if len(plan.buckets) < 2:
            return None  # nothing to overlap: the one bucket is complete when backward ends
        reason = self.comm.thread_support()
        if reason is not None:
            log.warning("allreduce not overlapped with backward: %s", reason)
            return None
        idle = None if self._bucket_chosen else spare_core(self.comm, thread_count())
        if idle is not None:
            log.info("allreduce not overlapped with backward: %s", idle)
            return None
        if self._reducer is None:
            self._reducer = Reducer()
        return self._bind_segments(plan, segments.compile(plan.segments))

    def _bind_segments(self, plan: BucketPlan, compiled: list[CompiledEntry]
                       ) -> OverlappedBackward:
        raise NotImplementedError("only a JIT network runs backward in segments")

    def _segments_run(self, overlap: OverlappedBackward, feeds: dict[str, np.ndarray],
                      reducer: Reducer) -> np.ndarray:
        return overlap.run(feeds, reducer,
                           lambda b, sources: self._reduce_bucket(overlap, b, sources))


def _gradients(backward: Graph, params: list[str]) -> list[tuple[str, tuple[int, ...]]]:
    """(apply-entry input name, shape) of every gradient output of the backward entry."""
    if len(backward.outputs) != len(params):
        raise RuntimeError(f"the backward entry has {len(backward.outputs)} outputs for "
                           f"{len(params)} parameters")
    return [(gradient_name(p), tuple(int(d) for d in g.type.shape))
            for p, g in zip(params, backward.outputs, strict=True)]


def _averaged_state(backward: Graph, state: dict[str, np.ndarray]
                    ) -> list[tuple[str, tuple[int, ...]]]:
    """The floating-point state the backward entry updates (batchnorm's running statistics)."""
    updated = [target.name for target, _ in backward.updates]
    return [(name, tuple(state[name].shape)) for name in updated
            if name in state and state[name].dtype.kind == "f"]


def _float(backward: Graph) -> np.dtype:
    dtypes = {g.type.dtype for g in backward.outputs}
    if len(dtypes) != 1:
        raise RuntimeError(f"the gradients mix dtypes {sorted(dtypes)}")
    return np.dtype(NUMPY_DTYPE[dtypes.pop()])


def gradient_name(param: str) -> str:
    """The apply entry's input that carries `param`'s averaged gradient."""
    return f"{param}.grad"


class DataParallelJIT(DataParallel, JITNetwork):
    """The JIT network with the data-parallel step."""

    def _bind_segments(self, plan: BucketPlan, compiled: list[CompiledEntry]
                       ) -> OverlappedBackward:
        return OverlappedBackward(plan, compiled, self._grad_names(), self.compiler.services,
                                  self._buffers)

    def _segments_run(self, overlap: OverlappedBackward, feeds: dict[str, np.ndarray],
                      reducer: Reducer) -> np.ndarray:
        with self._lock:  # the segments share the arena: no other call of this network between
            return super()._segments_run(overlap, feeds, reducer)


class DataParallelReference(DataParallel, ReferenceNetwork):
    """The reference interpreter's network with the data-parallel step."""
