"""`netc train` over several processes: which rank this is, its shard, agreeing on errors and
stops, and `--ranks N` (which starts mpirun).

Where it sits: between `netc train` (compiler/commands/train.py) and the communicator
(runtime/distributed/comm.py). Every rank runs the same command; the epoch order is the same
on every rank (compiler/training/data.py's epoch_order), and global batch k of an epoch is
order[k*G : (k+1)*G] with G = ranks x --batch, of which rank r takes the r-th slice of
--batch samples. One process at batch G would see the same samples in the same steps, which
is what makes the two runs' parameters equal (tests/test_distributed.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ir.errors import NetcError
from runtime.distributed.comm import INSTALL_HINT, Comm, MPIMissing

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """This process's part of every global batch: rank `rank` of `ranks`."""

    rank: int = 0
    ranks: int = 1

    @property
    def leader(self) -> bool:
        """Rank 0: the one that writes checkpoints, logs, plots and the progress bar."""
        return self.rank == 0

    def indices(self, order: np.ndarray, step: int, batch: int) -> np.ndarray:
        """This rank's `batch` sample indices of global batch `step` of an epoch's order."""
        start = (step * self.ranks + self.rank) * batch
        return order[start:start + batch]


class RankError(NetcError):
    """An error every rank raised together (`agreed`): each can exit on its own."""


def agreed(comm: Comm, work: Callable[[], T]) -> T:
    """Runs `work` on every rank; if it fails on any rank, every rank raises that rank's error
    (the first failing rank's, named), so no rank goes on to wait for one that stopped."""
    result: T | None = None
    error: NetcError | None = None
    try:
        result = work()
    except NetcError as err:
        error = err
    if comm.size == 1:
        if error is not None:
            raise error
        return result  # type: ignore[return-value]
    failures = [(rank, message) for rank, message in enumerate(
        comm.allgather(str(error) if error is not None else None)) if message is not None]
    if failures:
        rank, message = failures[0]
        raise RankError(f"rank {rank} of {comm.size}: {message}")
    return result  # type: ignore[return-value]


def agreed_stop(comm: Comm, reason: str | None) -> str | None:
    """The reason to stop now if any rank has one (a signal reaches the ranks at different
    steps; they must stop after the same one)."""
    if comm.size == 1:
        return reason
    reasons = [r for r in comm.allgather(reason) if r]
    return reasons[0] if reasons else None


# ---------------------------------------------------------------- netc train --ranks N


def mpirun_command(ranks: int, args: argparse.Namespace) -> list[str]:
    """The mpirun command line that runs this `netc train` as `ranks` processes."""
    launcher = shutil.which("mpirun")
    if launcher is None:
        raise MPIMissing(f"--ranks {ranks} needs mpirun; {INSTALL_HINT}")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        raise MPIMissing(f"--ranks {ranks} needs mpi4py; {INSTALL_HINT}") from None
    command = [launcher, "--oversubscribe", "-np", str(ranks)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # OpenMPI refuses root unless told
        command.append("--allow-run-as-root")
    return [*command, sys.executable, "-m", "compiler.cli", "train", *forwarded(args)]


def forwarded(args: argparse.Namespace) -> list[str]:
    """`args` as the command line of one rank: every option given, `--ranks` left out."""
    argv = [str(args.model)]
    for name, value in sorted(vars(args).items()):
        if name in ("model", "ranks", "run", "command") or value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv


def launch(ranks: int, args: argparse.Namespace) -> int:
    """Runs the job under mpirun and returns its exit code (each rank prints its own errors;
    rank 0 everything else)."""
    import subprocess

    from runtime.jit.pool import thread_count

    command = mpirun_command(ranks, args)
    env = {**os.environ, "OMPI_MCA_rmaps_base_oversubscribe": "1"}
    if "NETC_THREADS" not in env:  # the ranks share the CPUs thread_count() finds here
        env["NETC_THREADS"] = str(max(1, thread_count() // ranks))
    return subprocess.run(command, env=env, check=False).returncode
