"""Scalar semantics of the pointwise tensor op of ir/ops_tensor.py: the mask of a maximum.

Where it sits: registers into compiler/codegen/expr.EXPR; the sweep evaluates it with the
maximum broadcast (kept-dims form) over the input's shape, so it fuses like any elementwise op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import llvmlite.ir as ir

from compiler.codegen.expr import ExprEnv, c, expr
from compiler.codegen.kb import KernelBuilder


@expr("max_mask")
def _max_mask(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
              env: ExprEnv) -> ir.Value:
    x, y = a
    return kb.b.select(kb.b.fcmp_ordered("==", x, y), c(kb, x, 1.0), c(kb, x, 0.0))
