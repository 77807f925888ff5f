"""exp for generated code: float32 inline, without libm.

Where it sits: every exp of generated code comes from here (compiler/codegen/expr.py's exp,
sigmoid and tanh, which the pointwise sweeps and the in-register epilogues of the direct
convolutions evaluate, and the softmax rows and losses). LLVM turns `llvm.exp.v16f32` into 16
calls of libm's expf, which cost more than the convolution itself in EfficientNet's
SiLU-activated 1x1 layers (about 16 cycles per output element), and a call in a loop keeps
LLVM from vectorizing it.

exp(x) = 2^n * p(r): n = round(x * log2(e)), r = x - n*ln(2) (ln 2 split in two parts so r is
exact), p Cephes' degree-7 polynomial for |r| <= ln(2)/2 (relative error below 2e-7, about one
float32 ulp), 2^n built in the exponent bits as 2^(n>>1) * 2^(n - (n>>1)), two factors that
are normal floats for every n in [-150, 128], so the results near the overflow and in the
denormal range are right too. Past 88.72 the result is +inf, below -103.97 zero; NaN stays NaN.
"""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.kernel_builder import I32, KernelBuilder

EXP_HI = 88.72283935546875
EXP_LO = -103.97207708
LOG2E = 1.4426950408889634
LN2_HI = 0.693359375
LN2_LO = -2.12194440e-4
POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
        1.6666665459e-1, 5.0000001201e-1)
"""Cephes expf: p(r) = 1 + r + r^2 * (((((c0 r + c1) r + c2) r + c3) r + c4) r + c5)."""


def _c(kb: KernelBuilder, like: ir.Value, value: float) -> ir.Constant:
    return kb.const(like.type, value)


def exp(kb: KernelBuilder, x: ir.Value) -> ir.Value:
    """e**x of a float32 or float64 scalar or vector, the one exp of generated code (pointwise
    formulas in expr.py, softmax rows and losses, in-register epilogues): float32 inline
    (exp_f32), float64 through libm (the reference checks need its last bits)."""
    element = x.type.element if isinstance(x.type, ir.VectorType) else x.type
    if element != ir.FloatType():
        return kb.intrinsic("exp", x.type, [x])
    return exp_f32(kb, x)


def exp_f32(kb: KernelBuilder, x: ir.Value) -> ir.Value:
    """exp of a float32 scalar or vector."""
    b = kb.b
    clamped = b.select(b.fcmp_ordered("<", x, _c(kb, x, EXP_LO)), _c(kb, x, EXP_LO), x)
    clamped = b.select(b.fcmp_ordered(">", clamped, _c(kb, x, EXP_HI)), _c(kb, x, EXP_HI),
                       clamped)
    nan = b.fcmp_unordered("uno", x, x)
    safe = b.select(nan, _c(kb, x, 0.0), clamped)  # no NaN reaches the integer conversion
    n = kb.intrinsic("rint", x.type, [b.fmul(safe, _c(kb, x, LOG2E))])
    r = kb.fma(n, _c(kb, x, -LN2_HI), safe)
    r = kb.fma(n, _c(kb, x, -LN2_LO), r)
    poly = _c(kb, x, POLY[0])
    for coefficient in POLY[1:]:
        poly = kb.fma(poly, r, _c(kb, x, coefficient))
    p = b.fadd(kb.fma(b.fmul(r, r), poly, r), _c(kb, x, 1.0))
    ity = ir.VectorType(I32, x.type.count) if isinstance(x.type, ir.VectorType) else I32

    def power(e: ir.Value) -> ir.Value:  # 2^e for a normal exponent e
        biased = b.add(e, kb.const_int(ity, 127))
        return b.bitcast(b.shl(biased, kb.const_int(ity, 23)), x.type)

    whole = b.fptosi(n, ity)
    half = b.ashr(whole, kb.const_int(ity, 1))
    value = b.fmul(b.fmul(p, power(half)), power(b.sub(whole, half)))
    value = b.select(b.fcmp_ordered(">", x, _c(kb, x, EXP_HI)), _c(kb, x, float("inf")), value)
    value = b.select(b.fcmp_ordered("<", x, _c(kb, x, EXP_LO)), _c(kb, x, 0.0), value)
    return b.select(nan, x, value)
