"""The data-parallel training step: backward, allreduce of one gradient buffer, apply.

Where it sits: the Network that `compiler.compile(..., train=True, distributed=comm)` returns
(compiler/driver/network.py builds it). The single-process step is one native call whose
kernels apply each parameter's update where its gradient is made, so no gradient is ever
stored; data parallelism needs the gradients between backward and update, so this network
runs two entries the driver lowers for it instead:

    "backward"  forward + backward: the loss, every parameter's gradient as an output (in
                parameter order) and batchnorm's running statistics updated in place
    "apply"     the optimizer update as IR (compiler/passes/optimizer.py), reading each
                gradient as an external input

Between them the gradients sit in one contiguous buffer (`grads`), which one Allreduce sums
over the ranks in place and one multiply turns into the mean; the apply entry reads views of
that buffer, so nothing is copied after the reduction. `train_step` keeps its signature and
returns this rank's loss. Batchnorm normalizes with each rank's own batch statistics (as
PyTorch's DistributedDataParallel without SyncBatchNorm); its running statistics are averaged
over the ranks after every step (in the same Allreduce), so every rank, and so every
checkpoint, holds the same values.
"""

from __future__ import annotations

import time

import numpy as np

from ir.graph import Graph
from ir.types import NUMPY_DTYPE
from runtime.distributed.comm import Comm
from runtime.jit.network import JITNetwork
from runtime.network import Network, ReferenceNetwork
from runtime.reference import Results

BACKWARD, APPLY = "backward", "apply"


class GradientBuffer:
    """One contiguous array holding every gradient (parameter order) and then the running
    statistics the ranks average; `views` are the per-tensor slices the apply entry reads."""

    def __init__(self, grads: list[tuple[str, tuple[int, ...]]],
                 stats: list[tuple[str, tuple[int, ...]]], dtype: np.dtype) -> None:
        sizes = [int(np.prod(shape, dtype=np.int64)) for _, shape in (*grads, *stats)]
        self.flat = np.zeros(sum(sizes), dtype=dtype)
        offsets = np.cumsum([0, *sizes])
        self.views: dict[str, np.ndarray] = {}
        for (name, shape), start, end in zip((*grads, *stats), offsets, offsets[1:],
                                             strict=False):
            self.views[name] = self.flat[start:end].reshape(shape)
        self.grad_names = [name for name, _ in grads]
        self.stat_names = [name for name, _ in stats]

    @property
    def nbytes(self) -> int:
        return int(self.flat.nbytes)


class DataParallel(Network):
    """A training network whose `train_step` is the data-parallel step over `comm`. Made by
    `data_parallel` (the backend's class with this one in front); `allreduce_seconds` sums the
    time spent in the reduction, for the bench."""

    comm: Comm
    buffer: GradientBuffer
    allreduce_seconds: float = 0.0

    def join(self, comm: Comm) -> None:
        """Binds the network to `comm` and gives every rank rank 0's parameters and state."""
        self.comm = comm
        backward = self._need(BACKWARD)
        self.buffer = GradientBuffer(_gradients(backward, list(self._params)),
                                     _averaged_state(backward, self._state), _float(backward))
        self.broadcast_parameters()

    def broadcast_parameters(self) -> None:
        """Rank 0's parameters and state on every rank (after a restore on rank 0)."""
        for array in (*self._params.values(), *self._state.values()):
            self.comm.bcast_array(array)

    def _run(self, entry: str, feeds: dict[str, np.ndarray]) -> Results:
        if entry != "train":
            return super()._run(entry, feeds)
        out = super()._run(BACKWARD, feeds)
        views = self.buffer.views
        for name, grad in zip(self.buffer.grad_names, out.outputs, strict=True):
            views[name][...] = grad
        for name in self.buffer.stat_names:
            views[name][...] = self._state[name]
        self._average()
        for name in self.buffer.stat_names:
            self._state[name][...] = views[name]
        super()._run(APPLY, {name: views[name] for name in self.buffer.grad_names})
        return Results([], out.loss, {}, {})

    def _average(self) -> None:
        start = time.perf_counter()
        self.comm.allreduce_sum(self.buffer.flat)
        if self.comm.size > 1:
            self.buffer.flat *= self.buffer.flat.dtype.type(1.0 / self.comm.size)
        self.allreduce_seconds += time.perf_counter() - start


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


class DataParallelReference(DataParallel, ReferenceNetwork):
    """The reference interpreter's network with the data-parallel step."""
