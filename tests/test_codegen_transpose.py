"""KernelBuilder.transpose, the in-register transpose of the GEMM packers, for every vector
width a host may use (2 to 16 lanes), compiled by LLVM for this machine and compared with numpy.
Widths this CPU lacks (AVX-512's 16 floats on an AVX2 host) are legalized by LLVM, so the shuffle
masks are checked here even where the packers never use them."""

from __future__ import annotations

import ctypes

import llvmlite.ir as ir
import numpy as np
import pytest

from compiler.codegen.kernel_builder import VOID, KernelBuilder
from runtime.jit.engine import Engine


def compiled_transpose(lanes: int, dtype: str):
    ty = ir.FloatType() if dtype == "f32" else ir.DoubleType()
    module = ir.Module("transpose")
    module.triple = Engine.get().host.triple
    fn = ir.Function(module, ir.FunctionType(VOID, [ty.as_pointer(), ty.as_pointer()]),
                     "transpose")
    kb = KernelBuilder(module, fn)
    src, dst = fn.args
    vty = ir.VectorType(ty, lanes)
    rows = [kb.vload(src, i * lanes, vty) for i in range(lanes)]
    for j, row in enumerate(kb.transpose(rows)):
        kb.vstore(row, dst, j * lanes)
    kb.b.ret_void()
    engine = Engine.get()
    mod = engine.parse(str(module), "transpose")
    engine.optimize(mod)
    loaded = engine.load_object(engine.emit_object(mod))
    return loaded.function("transpose", None, ctypes.c_void_p, ctypes.c_void_p)


@pytest.mark.parametrize("dtype", ["f32", "f64"])
@pytest.mark.parametrize("lanes", [2, 4, 8, 16])
def test_transpose_matches_numpy(lanes, dtype):
    np_dtype = np.float32 if dtype == "f32" else np.float64
    matrix = np.arange(lanes * lanes, dtype=np_dtype).reshape(lanes, lanes) * 1.5 - 7
    out = np.full_like(matrix, np.nan)
    compiled_transpose(lanes, dtype)(matrix.ctypes.data, out.ctypes.data)
    np.testing.assert_array_equal(out, matrix.T)


def test_transpose_refuses_widths_that_are_not_powers_of_two():
    module = ir.Module("bad")
    fn = ir.Function(module, ir.FunctionType(VOID, []), "bad")
    kb = KernelBuilder(module, fn)
    vty = ir.VectorType(ir.FloatType(), 6)
    rows = [ir.Constant(vty, [0.0] * 6)] * 6
    with pytest.raises(AssertionError):
        kb.transpose(rows)
