"""The max-pool gradient kernel (compiler/codegen/emitters/maxpool_grad.py) against the
reference interpreter, forward and backward, at both vector widths, in f32 and f64.

The images are wide enough that rows hold several vectors of output pixels, so the vector path
runs beside the scalar borders: overlapping windows (kernel > stride), strides 1 to 3, padding,
ceil_mode, dilation, a last vector that overlaps the one before it, and ties (inputs rounded to
a few values) where the first maximum must win. Gradients by finite differences in f64."""

from __future__ import annotations

import numpy as np
import pytest

from tests.op_graphs import (
    DTYPES,
    assert_gradients,
    check,
    feeds_for,
    gradcheck_feeds,
    op_graph,
    op_loss_graph,
)
from tests.test_gemm import widths

CASES = [
    # resnet's stem pool: 3x3 stride 2 pad 1, windows overlapping by one column and row
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1, 1, 1), dilation=(1, 1), ceil_mode=False),
    # stride 1, asymmetric padding: the vector reads its columns without a shuffle
    dict(kernel=(2, 3), stride=(1, 1), pad=(0, 1, 1, 0), dilation=(1, 1), ceil_mode=False),
    # stride 3 under a wider kernel, ceil_mode overhang, dilated rows
    dict(kernel=(3, 4), stride=(2, 3), pad=(1, 0, 0, 1), dilation=(2, 1), ceil_mode=True),
    # non-overlapping but padded (not the tiled path)
    dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1, 0, 0), dilation=(1, 1), ceil_mode=False),
]
SHAPE = (2, 3, 11, 83)
"""83 columns: at stride 2, 41 output columns, two and a half vectors of 16 lanes."""


def tied(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The pooled input rounded to a handful of values: windows with several equal maxima."""
    x = feeds["in0"]
    return {**feeds, "in0": np.round(x * 2.0).astype(x.dtype)}


@pytest.mark.parametrize("bits", widths())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("attrs", CASES)
def test_maxpool_gradient_matches_the_reference(monkeypatch, bits, dtype, attrs):
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    graph = op_graph("maxpool2d", [SHAPE], attrs, dtype)
    check(graph, tied(feeds_for(graph)), dtype)


@pytest.mark.parametrize("bits", widths())
def test_nan_and_infinite_inputs_follow_the_reference(monkeypatch, bits):
    """A NaN wins its windows, -inf never beats a finite value, whatever lane they fall in."""
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    graph = op_graph("maxpool2d", [SHAPE], CASES[0], "f32")
    feeds = feeds_for(graph)
    x = feeds["in0"]
    x[0, 0, 4, 17] = np.nan
    x[1, 2, 5, 40:60] = -np.inf
    check(graph, feeds, "f32")


@pytest.mark.parametrize("attrs", CASES[:3])
def test_maxpool_gradient_by_finite_differences(attrs):
    graph = op_loss_graph("maxpool2d", [(1, 2, 7, 40)], attrs)
    assert_gradients(graph, gradcheck_feeds(graph))

