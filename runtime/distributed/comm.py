"""The communicator a data-parallel network talks through: MPI's world, or one process alone.

Where it sits: under runtime/distributed/step.py and `netc train` (compiler/training/ranks.py).
Only the few collectives data parallelism needs are here (sum-allreduce of one float buffer in
place, broadcast of arrays and objects from rank 0, allgather of small objects, abort), so a
test can hand `compiler.compile(..., distributed=...)` a LocalComm, and the rest of netc never
imports mpi4py (an optional extra: `pip install 'netc[mpi]'`, with OpenMPI from the system).
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import numpy as np

from ir.errors import NetcError

INSTALL_HINT = ("install OpenMPI and mpi4py: `apt-get install openmpi-bin libopenmpi-dev` "
                "(as root), then `pip install 'netc[mpi]'`")
LAUNCH_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE")
"""What mpirun (OpenMPI, MPICH/PMI) sets in every process it starts: the world's size."""


class MPIMissing(NetcError):
    """Ranks were asked for but MPI is not installed; the message says what to install."""


class Comm(Protocol):
    """The collectives a data-parallel network needs; every rank calls each in the same order."""

    rank: int
    size: int

    def allreduce_sum(self, buffer: np.ndarray) -> None:
        """Replaces `buffer` (contiguous, float32 or float64) by its sum over the ranks."""

    def bcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (small Python objects: settings, a checkpoint)."""

    def bcast_array(self, array: np.ndarray) -> None:
        """Overwrites `array` (contiguous) with rank 0's values, in place."""

    def allgather(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank."""

    def abort(self, code: int) -> None:
        """Ends every rank (the last resort when one rank cannot go on alone)."""

    def thread_support(self) -> str | None:
        """None when a background thread may run allreduce_sum while the main thread computes
        (and calls nothing of this communicator meanwhile); else why not, for the log."""


class LocalComm:
    """A world of one process: every collective is the identity. What `netc train` uses
    outside mpirun, and what tests hand `compile(..., distributed=)` to run the split step
    in one process."""

    rank = 0
    size = 1

    def allreduce_sum(self, buffer: np.ndarray) -> None:
        return None

    def bcast(self, obj: Any) -> Any:
        return obj

    def bcast_array(self, array: np.ndarray) -> None:
        return None

    def allgather(self, obj: Any) -> list[Any]:
        return [obj]

    def abort(self, code: int) -> None:
        raise SystemExit(code)

    def thread_support(self) -> str | None:
        return None


class MPIComm:
    """MPI_COMM_WORLD through mpi4py. Buffers go through the buffer protocol (no pickling);
    objects (settings, error messages) through mpi4py's pickled collectives."""

    def __init__(self) -> None:
        from mpi4py import MPI

        self._mpi = MPI
        self._comm = MPI.COMM_WORLD
        self.rank = int(self._comm.Get_rank())
        self.size = int(self._comm.Get_size())

    def allreduce_sum(self, buffer: np.ndarray) -> None:
        self._comm.Allreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM)

    def bcast(self, obj: Any) -> Any:
        return self._comm.bcast(obj, root=0)

    def bcast_array(self, array: np.ndarray) -> None:
        self._comm.Bcast(array, root=0)

    def allgather(self, obj: Any) -> list[Any]:
        return list(self._comm.allgather(obj))

    def abort(self, code: int) -> None:
        self._comm.Abort(code)

    def thread_support(self) -> str | None:
        """MPI_THREAD_SERIALIZED suffices: while the reducer thread reduces, the main thread
        makes no MPI call (it waits for the reducer before the next collective)."""
        level = self._mpi.Query_thread()
        if level >= self._mpi.THREAD_SERIALIZED:
            return None
        names = {self._mpi.THREAD_SINGLE: "MPI_THREAD_SINGLE",
                 self._mpi.THREAD_FUNNELED: "MPI_THREAD_FUNNELED"}
        return (f"the MPI library gives {names.get(level, level)}, and a reducer thread needs "
                "MPI_THREAD_SERIALIZED or more")


def launched_ranks() -> int:
    """How many processes mpirun started this one among (1 outside mpirun)."""
    for name in LAUNCH_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def world() -> Comm:
    """The communicator of this process: MPI's world under mpirun, a LocalComm otherwise (mpi4py
    is then never imported, so netc works without MPI installed)."""
    if launched_ranks() <= 1:
        return LocalComm()
    try:
        return MPIComm()
    except ImportError:
        raise MPIMissing(f"this process was started by mpirun but mpi4py is missing; "
                         f"{INSTALL_HINT}") from None
