"""Gradient buckets: which gradients are reduced together, and where backward is cut for them.

Where it sits: under runtime/distributed/overlap.py, which reduces each bucket on a background
thread while the backward segments after it run. Pure arithmetic on (name, size, ready) so the
edge cases are tested without compiling anything (tests/test_distributed_buckets.py).

A gradient is ready after the kernel that writes it; backward runs the last layers first, so
their gradients are ready first. Buckets take the gradients in that order and close as soon as
they hold `bucket_bytes` (as PyTorch DDP's bucket_cap_mb and Horovod's fusion buffer): a bucket
is therefore at least `bucket_bytes` unless it is the last, and a gradient larger than the
bucket size is a bucket of its own. Buckets never split a gradient: a gradient's elements are
all ready after the same kernel, so a split would only add an Allreduce call, not start one
earlier. Backward is cut after the kernel that completes each bucket but the last; the last
segment runs to the end of backward.

    gradients (ready order)  fc3.b 40B  fc3.w 3.4K | fc2.w 40K fc2.b 336B | fc1.w 192K ...
    bucket_bytes 32K         bucket 0 ------------------------- | bucket 1 --------- ...
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Gradient:
    """One gradient to reduce: its name, its size and the kernel after which it is final."""

    name: str
    nbytes: int
    ready: int


@dataclass(frozen=True)
class Bucket:
    """Gradients reduced by one Allreduce (contiguous, in this order, in the gradient buffer),
    handed to the reducer after backward segment `segment`."""

    names: tuple[str, ...]
    nbytes: int
    segment: int


@dataclass(frozen=True)
class BucketPlan:
    buckets: list[Bucket]
    segments: list[tuple[int, int]]
    """Kernel ranges [start, stop) of the backward segments, in order, covering every kernel."""

    @functools.cached_property
    def order(self) -> list[str]:
        """The gradients in buffer order (bucket after bucket); worked out once, read every
        step."""
        return [name for bucket in self.buckets for name in bucket.names]


def plan_buckets(gradients: list[Gradient], kernels: int, bucket_bytes: int) -> BucketPlan:
    """Buckets of at least `bucket_bytes` (but the last) in ready order, and the backward
    segments that end where each bucket but the last is complete."""
    if bucket_bytes < 1:
        raise ValueError(f"bucket_bytes must be positive, got {bucket_bytes}")
    if kernels < 1:
        raise ValueError("backward has no kernels to cut")
    ordered = sorted(gradients, key=lambda g: g.ready)  # stable: ties keep parameter order
    groups: list[list[Gradient]] = [[]]
    for gradient in ordered:
        if sum(g.nbytes for g in groups[-1]) >= bucket_bytes:
            groups.append([])
        groups[-1].append(gradient)
    # a cut after kernel k starts the next segment at k + 1; the last bucket needs no cut
    starts = sorted({max(0, group[-1].ready + 1) for group in groups[:-1]} - {0, kernels})
    bounds = list(zip([0, *starts], [*starts, kernels], strict=True))
    buckets = [Bucket(tuple(g.name for g in group), sum(g.nbytes for g in group),
                      _segment_of(group[-1].ready, bounds) if i < len(groups) - 1
                      else len(bounds) - 1)
               for i, group in enumerate(groups) if group]
    return BucketPlan(buckets, bounds)


def _segment_of(kernel: int, bounds: list[tuple[int, int]]) -> int:
    """The segment that runs `kernel` (a gradient no kernel writes, -1, is ready at once)."""
    return next(i for i, (start, stop) in enumerate(bounds) if kernel < stop)
