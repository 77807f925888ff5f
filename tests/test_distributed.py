"""Data-parallel training (runtime/distributed/): the split step in one process, and under a
real `mpirun -np 2` the equivalence with one process at the global batch.

The mpirun job (tests/distributed_worker.py) runs once for the module; every test reads what
its rank 0 wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import compiler
from ir.errors import CompileError, RuntimeInputError
from runtime.distributed.comm import LocalComm
from runtime.distributed.step import DataParallel
from tests import distributed_worker as worker
from tests.mpi_launch import mpirun


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("mpi") / "ranks.npz"
    done = mpirun(2, Path(worker.__file__), out)
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(out) as stored:
        return dict(stored)


def one_process(graph: compiler.Graph, kind: str, dtype: str, steps: int, batch: int,
                seed: int = worker.SEED) -> compiler.Network:
    """The same samples as the two ranks, as one process at the global batch."""
    net = compiler.compile(graph, batch=batch, train=True, optimizer=worker.optimizer(kind),
                           dtype=dtype, seed=seed)
    x, y = worker.data(steps, batch, tuple(graph.inputs[0].type.shape[1:]))
    for step in range(steps):
        net.train_step(x[step].astype(np.float32 if dtype == "f32" else np.float64), y[step])
    return net


@pytest.mark.parametrize("case", list(worker.CASES))
def test_two_ranks_match_one_process_at_the_global_batch(two_ranks: dict[str, np.ndarray],
                                                         case: str) -> None:
    """2 ranks x batch 32 == 1 process x batch 64 after 20 steps (rank 1 started from other
    parameters: the broadcast of rank 0's is part of what is checked)."""
    kind, dtype = worker.CASES[case]
    assert int(two_ranks["ranks"]) == 2
    assert bool(two_ranks["overlapped"])  # every case ran with the allreduce overlapped
    net = one_process(worker.small_mlp(), kind, dtype, worker.STEPS, 2 * worker.PER_RANK)
    tolerance = 1e-5 if dtype == "f32" else 1e-12
    for name, expected in net.params.items():
        got = two_ranks[f"{case}/{name}"]
        scale = float(np.max(np.abs(expected)))
        assert float(np.max(np.abs(got - expected))) <= tolerance * scale, name


def test_two_ranks_overlapped_equal_the_whole_buffer_reduced_after_backward_exactly(
        two_ranks: dict[str, np.ndarray]) -> None:
    """Buckets change when each element is reduced, not how: over two ranks each element is
    the same a + b, times the same 1/2, so the parameters are bit for bit the same."""
    case = next(iter(worker.CASES))
    names = [k.split("/", 2)[2] for k in two_ranks if k.startswith(f"whole/{case}/")]
    assert names
    for name in names:
        np.testing.assert_array_equal(two_ranks[f"{case}/{name}"],
                                      two_ranks[f"whole/{case}/{name}"], err_msg=name)


def test_batchnorm_batch_statistics_are_local_and_running_statistics_averaged(
        two_ranks: dict[str, np.ndarray]) -> None:
    """Documented behaviour: each rank normalizes with its own shard's statistics; the running
    statistics every rank holds after a step are the mean of the ranks' own updates."""
    assert bool(two_ranks["bn-same-on-every-rank"])
    per_rank = [_one_shard_step(rank) for rank in (0, 1)]
    for name in per_rank[0]:
        expected = (per_rank[0][name] + per_rank[1][name]) / 2
        np.testing.assert_allclose(two_ranks[f"bn/{name}"], expected, rtol=1e-12, atol=1e-15)
    global_batch = one_process(worker.small_bn(), "sgd", "f64", 1, 2 * worker.PER_RANK)
    var = next(n for n in per_rank[0] if "var" in n)
    assert not np.allclose(two_ranks[f"bn/{var}"], global_batch.state[var], rtol=1e-9)


def _one_shard_step(rank: int) -> dict[str, np.ndarray]:
    """The running statistics after one step of one process on rank `rank`'s shard alone."""
    graph = worker.small_bn()
    net = compiler.compile(graph, batch=worker.PER_RANK, train=True,
                           optimizer=worker.optimizer("sgd"), dtype="f64", seed=worker.SEED)
    x, y = worker.data(1, 2 * worker.PER_RANK, (1, 8, 8))
    net.train_step(worker.shard(x, rank, 2)[0], worker.shard(y, rank, 2)[0])
    return {k: v.copy() for k, v in net.state.items() if v.dtype.kind == "f"}


@pytest.mark.parametrize(("kind", "bucket"), [("sgd", None), ("adam", None), ("sgd", 1),
                                             ("adam", 16 << 10)])
def test_the_split_step_in_one_process_is_the_fused_step(kind: str, bucket: int | None) -> None:
    """With a world of one, backward + allreduce + apply computes what the fused step does,
    bit for bit, whether the gradients are reduced after backward or bucket by bucket while
    it runs (buckets of 1 byte: one per gradient; 16 KiB: lenet's three)."""
    graph = compiler.load(Path(__file__).parent.parent / "examples" / "lenet5.yaml")
    nets = [compiler.compile(graph, batch=8, train=True, optimizer=worker.optimizer(kind),
                             distributed=comm) for comm in (None, LocalComm())]
    split = nets[1]
    assert isinstance(split, DataParallel)
    split.bucket_bytes = bucket
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, 8)
        assert nets[0].train_step(x, y) == split.train_step(x, y)
    for name, value in nets[0].params.items():
        np.testing.assert_array_equal(split.params[name], value, err_msg=name)
    assert split.buffer.nbytes == 4 * sum(v.size for v in nets[0].params.values())
    overlap = split.overlap()
    assert (overlap is not None) == (bucket is not None)
    if overlap is not None:
        assert len(overlap.plan.buckets) == (10 if bucket == 1 else 3)
        assert split.buffer.grad_names == overlap.plan.order


def test_one_bucket_is_not_overlapped_and_batchnorm_rides_in_the_last_bucket() -> None:
    """Gradients that fit one bucket are reduced after backward (nothing to overlap); with a
    batchnorm model in buckets the running statistics and parameters are the fused step's,
    and so is forward() after the steps."""
    graph = worker.small_bn()
    nets = [compiler.compile(graph, batch=8, train=True, optimizer=worker.optimizer("sgd"),
                             dtype="f64", distributed=comm) for comm in (None, LocalComm())]
    split = nets[1]
    assert isinstance(split, DataParallel)
    assert split.overlap() is None  # the default bucket holds all of bn8's gradients
    split.bucket_bytes = 1
    x, y = worker.data(2, 8, (1, 8, 8))
    for net in nets:
        net.forward(x[0])  # the folded constants exist before the steps
    for step in range(2):
        assert nets[0].train_step(x[step], y[step]) == split.train_step(x[step], y[step])
    # inference folds batchnorm into the convolution: the step must refresh the folded weights
    # (checked first: reading net.params refreshes them too)
    np.testing.assert_array_equal(split.forward(x[0]), nets[0].forward(x[0]))
    overlap = split.overlap()
    assert overlap is not None
    assert len(overlap.plan.segments) > 1
    for name, value in [*nets[0].params.items(), *nets[0].state.items()]:
        got = split.params[name] if name in split.params else split.state[name]
        np.testing.assert_array_equal(got, value, err_msg=name)


def test_distributed_needs_training_and_a_communicator_and_buckets_bytes() -> None:
    graph = worker.small_mlp()
    with pytest.raises(CompileError, match="needs train=True"):
        compiler.compile(graph, batch=4, distributed=LocalComm())
    with pytest.raises(CompileError, match="takes a communicator"):
        compiler.compile(graph, batch=4, train=True, distributed="mpi")
    net = compiler.compile(graph, batch=4, train=True, distributed=LocalComm())
    assert isinstance(net, DataParallel)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(RuntimeInputError, match="bucket_bytes must be a positive number"):
            net.bucket_bytes = bad
