"""KernelBuilder.transpose, the in-register transpose of the GEMM packers, for every vector
width a host may use (2 to 16 lanes), compiled by LLVM for this machine and compared with numpy.
Widths this CPU lacks (AVX-512's 16 floats on an AVX2 host) are legalized by LLVM, so the shuffle
masks are checked here even where the packers never use them."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import llvmlite.ir as ir
import numpy as np
import pytest

from compiler.codegen.kernel_builder import VOID, KernelBuilder
from ir.errors import CompileError
from runtime.jit.engine import Engine
from tests.conftest import ROOT


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


@pytest.mark.parametrize(("count", "lanes", "message"), [
    (6, 6, "got 6 vectors of 6 lanes"),
    (4, 8, "got 4 vectors of 8 lanes"),
])
def test_transpose_refuses_shapes_it_cannot_transpose(count, lanes, message):
    """A CompileError, not an assert: the check must hold under `python -O` too."""
    module = ir.Module("bad")
    fn = ir.Function(module, ir.FunctionType(VOID, []), "bad")
    kb = KernelBuilder(module, fn)
    vty = ir.VectorType(ir.FloatType(), lanes)
    rows = [ir.Constant(vty, [0.0] * lanes)] * count
    with pytest.raises(CompileError, match=message):
        kb.transpose(rows)


def test_transpose_check_survives_python_O():
    code = ("import llvmlite.ir as ir\n"
            "from compiler.codegen.kernel_builder import VOID, KernelBuilder\n"
            "from ir.errors import CompileError\n"
            "m = ir.Module('bad'); f = ir.Function(m, ir.FunctionType(VOID, []), 'bad')\n"
            "v = ir.Constant(ir.VectorType(ir.FloatType(), 6), [0.0] * 6)\n"
            "try:\n    KernelBuilder(m, f).transpose([v] * 6)\n"
            "except CompileError as err:\n    print('refused:', err)\n")
    out = subprocess.run([sys.executable, "-O", "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused: transpose needs L vectors of L lanes")
