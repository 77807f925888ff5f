"""Run under mpirun by tests/test_distributed.py: every rank trains its shard of fixed data
through `compiler.compile(..., distributed=world())` and rank 0 writes what the test compares.

    mpirun -np 2 python tests/distributed_worker.py OUT.npz

Written to OUT.npz (by rank 0): for each case of CASES, the parameters after STEPS steps at
batch PER_RANK per rank, with the allreduce overlapped with backward in buckets of BUCKET
bytes (and, under "whole/", for the first case, reduced in one Allreduce after backward); for
the batchnorm model, its running statistics after one step and whether every rank held the
same parameters and statistics (an allgather of checksums); whether the overlap ran.
"""

from __future__ import annotations

import sys

import numpy as np

import compiler
from runtime.distributed.comm import world
from runtime.distributed.step import DataParallel

STEPS, PER_RANK, SEED = 20, 32, 3
BUCKET = 1024
"""Small enough that every model here makes two buckets or more (mlp8: fc2's gradients, then
fc1's), so the equivalence is checked with the overlap on."""
CASES = {"sgd-f32": ("sgd", "f32"), "sgd-f64": ("sgd", "f64"),
         "adam-f32": ("adam", "f32"), "adam-f64": ("adam", "f64")}


def small_mlp() -> compiler.Graph:
    """A model without batchnorm: two dense layers on 8x8 images."""
    b = compiler.Builder("mlp8")
    x = b.input("image", [64])
    b.loss("softmax_cross_entropy", b.dense(b.relu(b.dense(x, 32, name="fc1")), 10, name="fc2"))
    return b.build()


def small_bn() -> compiler.Graph:
    """A convolution, batchnorm and a dense layer: the running statistics to check."""
    b = compiler.Builder("bn8")
    x = b.input("image", [1, 8, 8])
    x = b.relu(b.batchnorm(b.conv2d(x, filters=4, kernel=3, padding=1, name="conv"), name="bn"))
    b.loss("softmax_cross_entropy", b.dense(b.flatten(x), 10, name="fc"))
    return b.build()


def optimizer(kind: str) -> compiler.SGD | compiler.Adam:
    return compiler.Adam(lr=1e-2) if kind == "adam" else compiler.SGD(lr=0.1, momentum=0.9)


def data(steps: int, batch: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """`steps` global batches of `batch` samples (the same on every rank)."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((steps, batch, *shape))
    return x, rng.integers(0, 10, size=(steps, batch))


def shard(array: np.ndarray, rank: int, size: int) -> np.ndarray:
    """Rank `rank`'s rows of each global batch (the contiguous slice, as netc train takes)."""
    per = array.shape[1] // size
    return array[:, rank * per:(rank + 1) * per]


def train(graph: compiler.Graph, kind: str, dtype: str, steps: int, comm: object,
          bucket: int | None = BUCKET) -> DataParallel:
    size, rank = comm.size, comm.rank  # type: ignore[attr-defined]
    net = compiler.compile(graph, batch=PER_RANK, train=True, optimizer=optimizer(kind),
                           dtype=dtype, seed=SEED + rank, distributed=comm)
    assert isinstance(net, DataParallel)
    net.bucket_bytes = bucket
    x, y = data(steps, PER_RANK * size, tuple(graph.inputs[0].type.shape[1:]))
    xs, ys = shard(x, rank, size), shard(y, rank, size)
    for step in range(steps):
        net.train_step(xs[step].astype(np.float32 if dtype == "f32" else np.float64), ys[step])
    return net


def checksum(net: compiler.Network) -> float:
    return float(sum(np.abs(a).sum() for a in [*net.params.values(), *net.state.values()]))


def main(out: str) -> None:
    comm = world()
    results: dict[str, np.ndarray] = {}
    overlapped = []
    for case, (kind, dtype) in CASES.items():
        net = train(small_mlp(), kind, dtype, STEPS, comm)
        results.update({f"{case}/{k}": v for k, v in net.params.items()})
        overlapped.append(net.overlap() is not None)
    first, (kind, dtype) = next(iter(CASES.items()))
    whole = train(small_mlp(), kind, dtype, STEPS, comm, bucket=None)
    results.update({f"whole/{first}/{k}": v for k, v in whole.params.items()})
    bn = train(small_bn(), "sgd", "f64", 1, comm)
    results.update({f"bn/{k}": v for k, v in bn.state.items()})
    sums = comm.allgather(checksum(bn))
    results["bn-same-on-every-rank"] = np.array(len(set(sums)) == 1)
    results["ranks"] = np.array(comm.size)
    results["overlapped"] = np.array(all(overlapped) and bn.overlap() is not None)
    if comm.rank == 0:
        np.savez(out, **results)


if __name__ == "__main__":
    main(sys.argv[1])
