"""`netc train` over MPI, through real mpirun: sharding and rank 0's outputs, resuming with
another number of ranks, a killed rank, a rank that cannot load its data.

Each test is one mpirun job of 2 ranks on tiny synthetic IDX data (tests/synthetic.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from compiler.training import checkpoint
from tests.conftest import ROOT
from tests.mpi_launch import mpi_env, mpirun
from tests.synthetic import write_dataset, write_tiny_model


def netc(*args: object, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "compiler.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=mpi_env())


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mpi-train")
    return {"dir": folder, "model": write_tiny_model(folder),
            "data": write_dataset(folder / "data", n_train=200, n_test=50)}


def train_args(work: dict[str, Path], name: str, *extra: object) -> tuple[object, ...]:
    return ("train", work["model"], "--data", work["data"], "--lr", 0.05,
            "--checkpoint", work["dir"] / f"{name}.npz", "--log", work["dir"] / f"{name}.jsonl",
            *extra)


def test_ranks_2_equals_one_process_at_the_global_batch_and_resumes_with_one(
        work: dict[str, Path]) -> None:
    """`--ranks 2 --batch 8` takes the samples one process takes at --batch 16, step for step
    (with the allreduce overlapped with backward); rank 0 alone prints and writes; the
    checkpoint resumes in one process."""
    two = netc(*train_args(work, "two", "--ranks", 2, "--batch", 8, "--epochs", 2,
                           "--bucket-bytes", 1))  # overlapped: one bucket per gradient
    assert two.returncode == 0, two.stderr
    assert "2 ranks (MPI): global batch 2 x 8 = 16" in two.stdout
    assert "buckets, overlapped with backward)" in two.stdout
    assert two.stdout.count("netc train: tiny") == 1
    assert [line.split()[1] for line in two.stdout.splitlines()
            if line.startswith("epoch ")] == ["1/2", "2/2"]
    assert two.stdout.count("test accuracy") == 1
    one = netc(*train_args(work, "one", "--batch", 16, "--epochs", 2))
    assert one.returncode == 0, one.stderr
    a, b = (checkpoint.load(work["dir"] / f"{n}.npz") for n in ("two", "one"))
    assert a.meta["progress"]["step"] == b.meta["progress"]["step"] == 24
    assert a.meta["ranks"] == 2
    for name, value in b.params.items():
        scale = float(np.max(np.abs(value)))
        assert float(np.max(np.abs(a.params[name] - value))) <= 1e-5 * scale, name
    resumed = netc(*train_args(work, "two", "--batch", 8, "--epochs", 3, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.load(work["dir"] / "two.npz").meta["progress"]["step"] == 24 + 25
    assert not [p for p in work["dir"].iterdir() if p.name.endswith(".tmp")]


def _rank_pids(mpirun_pid: int) -> dict[int, int]:
    """rank -> pid of the processes mpirun started (read from their environment)."""
    ranks = {}
    for child in Path(f"/proc/{mpirun_pid}/task/{mpirun_pid}/children").read_text().split():
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        for item in environ:
            if item.startswith(b"OMPI_COMM_WORLD_RANK="):
                ranks[int(item.split(b"=")[1])] = int(child)
    return ranks


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_a_killed_rank_stops_the_others_and_the_checkpoint_resumes(
        work: dict[str, Path]) -> None:
    """Rank 1 dies while the survivor's reducer thread may be inside a bucket's Allreduce:
    mpirun still ends the job and names the rank."""
    args = train_args(work, "killed", "--batch", 4, "--epochs", 1000, "--bucket-bytes", 1)
    proc = subprocess.Popen(["mpirun", "--oversubscribe", "-np", "2", sys.executable, "-m",
                             "compiler.cli", *map(str, args)], cwd=ROOT, env=mpi_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    saved = work["dir"] / "killed.npz"
    _wait_for(saved, proc)  # epoch 1 is done and checkpointed; epoch 2 runs
    time.sleep(0.3)
    os.kill(_rank_pids(proc.pid)[1], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert "rank 1" in stderr
    kept = checkpoint.load(saved)
    done = kept.meta["progress"]["epoch"]
    assert done >= 1
    assert not [p for p in work["dir"].iterdir() if p.name.endswith(".tmp")]
    resumed = netc(*train_args(work, "killed", "--batch", 4, "--epochs", done + 1, "--resume"))
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.load(saved).meta["progress"]["epoch"] == done + 1


def test_a_rank_that_cannot_load_its_data_stops_every_rank_with_its_error(
        work: dict[str, Path]) -> None:
    script = ('import os, sys; from compiler.cli import main; '
              'bad = os.environ["OMPI_COMM_WORLD_RANK"] == "1"; '
              f'sys.exit(main(["train", "{work["model"]}", "--data", '
              f'"{work["dir"]}/missing" if bad else "{work["data"]}"]))')
    out = mpirun(2, "-c", script, timeout=60)
    assert out.returncode != 0
    lines = [line for line in out.stderr.splitlines() if line.startswith("netc: error: ")]
    assert lines == [f"netc: error: rank 1 of 2: data folder {work['dir']}/missing does not "
                     "exist"], out.stderr
    assert "Traceback" not in out.stderr


def test_ranks_without_mpi_say_what_to_install(work: dict[str, Path], tmp_path: Path) -> None:
    env = {**mpi_env(), "PATH": str(tmp_path)}  # no mpirun on the PATH
    out = subprocess.run([sys.executable, "-m", "compiler.cli", "train", work["model"],
                          "--data", work["data"], "--ranks", "2"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 1
    assert out.stderr.strip() == ("netc: error: --ranks 2 needs mpirun; install OpenMPI and "
                                  "mpi4py: `apt-get install openmpi-bin libopenmpi-dev` (as "
                                  "root), then `pip install 'netc[mpi]'`")


@pytest.mark.parametrize(("optimizer", "ranks", "lr"), [
    (None, 1, 0.01), (None, 2, 0.02), ("sgd", 4, 0.04), ("adam", 2, 0.001)])
def test_sgd_default_learning_rate_scales_with_the_ranks(optimizer, ranks, lr):
    """The global batch is ranks x --batch: SGD's default lr scales with it (the linear
    scaling rule), Adam's does not, and a given --lr is kept."""
    from compiler.commands.train import TUNABLE, resolve_settings

    args = argparse.Namespace(**dict.fromkeys(TUNABLE), epochs=None)
    args.optimizer = optimizer
    assert resolve_settings(args, None, ranks).lr == pytest.approx(lr)
    args.lr = 0.05
    assert resolve_settings(args, None, ranks).lr == 0.05
