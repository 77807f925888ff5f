"""The library GEMM (compiler/codegen/library.py, gemm.py) through dense and matmul against the
reference interpreter (numpy), at shapes that cross every blocking edge: rows past MC and not
a multiple of MR, K in several blocks, columns in partial NR panels and past NC, a bias that C
accumulates onto, transposed operands (the transposing packers), in f32 and f64, at the
host's vector width and the other one (NETC_VECTOR_BITS: another MR x NR and packing)."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.jit.engine import Engine
from tests.op_graphs import DTYPES, check, feeds_for, op_graph

SHAPES = [
    # (op, operand shapes, attrs): dense y = x W^T (+ b), matmul op(a) op(b)
    ("dense", [(250, 300), (70, 300), (70,)], {}),  # 250 > MC = 240 rows, K in two blocks
    ("dense", [(13, 520), (2100, 520)], {}),  # N past NC (1024 in f64), K in three blocks
    ("matmul", [(300, 37), (37, 45)], {}),  # plain operands (unit-stride packers)
    ("matmul", [(129, 260), (33, 129)], {"transpose_a": True, "transpose_b": True}),
]


def widths() -> list[int]:
    """The host's width first, then the other one tests/test_vector_widths.py picks."""
    own = Engine.get().host.vector_bits
    return [own, 256 if own == 512 else 512]


@pytest.mark.parametrize("bits", widths())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("op", "shapes", "attrs"), SHAPES)
def test_gemm_shapes_against_numpy(monkeypatch, bits, dtype, op, shapes, attrs):
    monkeypatch.setenv("NETC_VECTOR_BITS", str(bits))
    graph = op_graph(op, shapes, attrs, dtype)
    feeds = feeds_for(graph)
    # outputs of order 1 whatever K: the summation orders of netc and numpy then differ by
    # rounding well inside the tolerance (unit normals would grow them as sqrt(K))
    k = shapes[0][0] if attrs.get("transpose_a") else shapes[0][1]
    feeds["in0"] = (feeds["in0"] / np.sqrt(k)).astype(feeds["in0"].dtype)
    check(graph, feeds, dtype, backward=op == "dense" and len(shapes) == 3)
