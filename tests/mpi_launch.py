"""Starting real MPI jobs from the tests: `mpirun --oversubscribe -np N` (OpenMPI).

The data-parallel tests never skip: without mpirun or mpi4py they fail and say what to install
(`make test` installs both). As root, OpenMPI refuses to start unless told it may.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mpi_env(**extra: str) -> dict[str, str]:
    """The environment of an mpirun job: one native thread per rank (2 ranks on 2 cores), root
    allowed, and OpenMPI's warnings about the oversubscribed machine off."""
    env = {**os.environ, "NETC_THREADS": "1", "OMPI_ALLOW_RUN_AS_ROOT": "1",
           "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1",
           **extra}
    env.pop("NETC_DEBUG", None)
    return env


def mpirun(ranks: int, *argv: object, cwd: Path = ROOT, timeout: float = 120,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`mpirun -np RANKS python ARGV...`, output captured; fails the test when MPI is missing."""
    launcher = shutil.which("mpirun")
    assert launcher, ("mpirun is missing: apt-get install openmpi-bin libopenmpi-dev, "
                      "pip install 'netc[mpi]' (make test does both)")
    command = [launcher, "--oversubscribe", "-np", str(ranks), sys.executable, *map(str, argv)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env or mpi_env())
