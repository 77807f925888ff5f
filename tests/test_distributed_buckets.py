"""Gradient buckets (runtime/distributed/buckets.py): which gradients are reduced together and
where backward is cut for them, on made-up readiness (no compile, no MPI); and when the default
overlaps at all (a core spare for the reducer thread, runtime/distributed/overlap.py)."""

from __future__ import annotations

import os

import pytest

from runtime.distributed.buckets import Gradient, plan_buckets
from runtime.distributed.comm import LocalComm
from runtime.distributed.overlap import spare_core

# lenet-like: the last layers' gradients are ready first (kernel index), parameter order kept
GRADS = [Gradient("conv1.w", 600, 23), Gradient("conv1.b", 24, 24),
         Gradient("fc1.w", 192_000, 16), Gradient("fc1.b", 480, 17),
         Gradient("fc3.w", 3_360, 10), Gradient("fc3.b", 40, 11)]
KERNELS = 25


def test_a_bucket_larger_than_every_gradient_is_one_bucket_and_one_segment() -> None:
    plan = plan_buckets(GRADS, KERNELS, 1 << 30)
    assert [b.names for b in plan.buckets] == [
        ("fc3.w", "fc3.b", "fc1.w", "fc1.b", "conv1.w", "conv1.b")]
    assert plan.segments == [(0, KERNELS)]
    assert plan.buckets[0].segment == 0


def test_a_bucket_smaller_than_the_smallest_gradient_holds_one_gradient_each() -> None:
    plan = plan_buckets(GRADS, KERNELS, 1)
    assert [b.names for b in plan.buckets] == [
        ("fc3.w",), ("fc3.b",), ("fc1.w",), ("fc1.b",), ("conv1.w",), ("conv1.b",)]
    # a cut after every gradient's kernel but the last one's; the last segment runs to the end
    assert plan.segments == [(0, 11), (11, 12), (12, 17), (17, 18), (18, 24), (24, 25)]
    assert [b.segment for b in plan.buckets] == [0, 1, 2, 3, 4, 5]


def test_buckets_close_once_full_and_never_split_a_gradient() -> None:
    plan = plan_buckets(GRADS, KERNELS, 4_000)
    assert [b.names for b in plan.buckets] == [
        ("fc3.w", "fc3.b", "fc1.w"), ("fc1.b", "conv1.w", "conv1.b")]
    assert [b.nbytes for b in plan.buckets] == [195_400, 1_104]
    assert plan.segments == [(0, 17), (17, KERNELS)]
    assert plan.order == [name for b in plan.buckets for name in b.names]


def test_gradients_ready_together_share_a_segment() -> None:
    same = [Gradient("a", 8, 3), Gradient("b", 8, 3), Gradient("c", 8, 5)]
    plan = plan_buckets(same, 6, 1)
    assert [b.names for b in plan.buckets] == [("a",), ("b",), ("c",)]
    assert plan.segments == [(0, 4), (4, 6)]
    assert [b.segment for b in plan.buckets] == [0, 0, 1]


def test_a_gradient_no_kernel_writes_is_ready_at_once() -> None:
    plan = plan_buckets([Gradient("zero", 8, -1), Gradient("w", 8, 2)], 4, 1)
    assert plan.segments == [(0, 4)]
    assert [b.segment for b in plan.buckets] == [0, 0]


@pytest.mark.parametrize(("size", "kernels", "message"), [
    (0, 4, "bucket_bytes must be positive"), (8, 0, "no kernels")])
def test_bad_arguments_are_refused(size: int, kernels: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_buckets(GRADS, kernels, size)


@pytest.mark.parametrize(("cpus", "affinity", "ranks_here", "threads", "spare"), [
    (4, 4, 2, 1, True),    # 2 ranks x 1 thread leave 2 of 4 CPUs
    (4, 4, 2, 2, False),   # 2 ranks x 2 threads take all 4
    (2, 2, 2, 1, False),   # this machine under `mpirun -np 2`, NETC_THREADS=1
    (4, 1, 4, 1, False),   # bound to one core: the reducer would share it
    (4, 2, 2, 1, True),    # bound to two cores of its own, one thread
])
def test_the_default_overlaps_only_with_a_core_to_spare(
        monkeypatch: pytest.MonkeyPatch, cpus: int, affinity: int, ranks_here: int,
        threads: int, spare: bool) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(affinity)),
                        raising=False)
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_SIZE", str(ranks_here))
    reason = spare_core(LocalComm(), threads)
    assert (reason is None) == spare, reason
    if not spare:
        assert reason is not None
        assert reason.startswith("no core left for it")
