"""Scalar semantics of the elementwise and update ops, as LLVM instructions.

Where it sits: the table every fused loop uses: a kernel's epilogue (and an elementwise kernel's
whole body) evaluates its nodes one after another with these functions, on scalars; LLVM's loop
vectorizer turns the loops into vector code. NaN behaves as in numpy/PyTorch (relu(NaN) = NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import llvmlite.ir as ir

from compiler.codegen import vmath
from compiler.codegen.kernel_builder import F64, I64, KernelBuilder
from ir.graph import Node
from ir.ops import OPS, POINTWISE

Expr = Callable[[KernelBuilder, Sequence[ir.Value], dict[str, Any], "ExprEnv"], ir.Value]
EXPR: dict[str, Expr] = {}

SHAPE_ONLY: dict[str, frozenset[int]] = {
    n: OPS[n].positions(OPS[n].shape_only) for n in sorted(POINTWISE) if OPS[n].shape_only
}
"""Operands a pointwise op reads only for their shape: never loaded (declared in the op
table's `shape_only`)."""

CHANNEL_OPERANDS: dict[str, frozenset[int]] = {
    n: OPS[n].positions(OPS[n].per_channel) for n in sorted(POINTWISE) if OPS[n].per_channel
}
"""Per-channel [C] operands of pointwise ops: they broadcast along axis 1 of the domain (not
numpy's last), as the op table's `per_channel` declares."""


class ExprEnv:
    """What an expression may need besides its operands: the node, the element's linear index,
    and per-channel counts for batch statistics."""

    def __init__(self, node: Node, linear: ir.Value | None = None) -> None:
        self.node = node
        self.linear = linear

    def count_per_channel(self, operand: int) -> int:
        shape = self.node.operands[operand].type.shape
        total = 1
        for d in shape:
            total *= int(d)
        return total // int(shape[1])


def expr(*names: str) -> Callable[[Expr], Expr]:
    def register(fn: Expr) -> Expr:
        for n in names:
            EXPR[n] = fn
        return fn

    return register


def c(kb: KernelBuilder, like: ir.Value, value: float) -> ir.Constant:
    return kb.const(like.type, value)


def gt0(kb: KernelBuilder, x: ir.Value) -> ir.Value:
    return kb.b.fcmp_ordered(">", x, c(kb, x, 0.0))


@expr("add")
def _add(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    return kb.b.fadd(a[0], a[1])


@expr("sub")
def _sub(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    return kb.b.fsub(a[0], a[1])


@expr("mul")
def _mul(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    return kb.b.fmul(a[0], a[1])


@expr("div")
def _div(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    return kb.b.fdiv(a[0], a[1])


@expr("neg")
def _neg(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    return kb.b.fneg(a[0])


@expr("abs")
def _abs(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    return kb.intrinsic("fabs", a[0].type, [a[0]])


@expr("maximum", "minimum")
def _extremum(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
              env: ExprEnv) -> ir.Value:
    """numpy's maximum/minimum: the larger (smaller) operand, NaN when either is NaN."""
    x, y = a
    order = ">" if env.node.op == "maximum" else "<"
    picked = kb.b.select(kb.b.fcmp_ordered(order, y, x), y, x)  # x when x is NaN
    return kb.b.select(kb.b.fcmp_unordered("uno", y, y), y, picked)


@expr("pow")
def _pow(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    return kb.intrinsic("pow", a[0].type, [a[0], a[1]])


@expr("relu")
def _relu(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    x = a[0]
    return kb.b.select(kb.b.fcmp_ordered("<", x, c(kb, x, 0.0)), c(kb, x, 0.0), x)


@expr("leaky_relu")
def _leaky(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    x = a[0]
    return kb.b.select(kb.b.fcmp_ordered("<", x, c(kb, x, 0.0)),
                       kb.b.fmul(x, c(kb, x, at["alpha"])), x)


@expr("sigmoid")
def _sigmoid(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
             env: ExprEnv) -> ir.Value:
    x = a[0]
    e = vmath.exp(kb, kb.b.fneg(x))
    return kb.b.fdiv(c(kb, x, 1.0), kb.b.fadd(c(kb, x, 1.0), e))


@expr("tanh")
def _tanh(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    x = a[0]
    # tanh(x) = 1 - 2 / (exp(2x) + 1): exact at both ends (exp overflow gives 1, underflow -1)
    e = vmath.exp(kb, kb.b.fmul(x, c(kb, x, 2.0)))
    return kb.b.fsub(c(kb, x, 1.0), kb.b.fdiv(c(kb, x, 2.0), kb.b.fadd(e, c(kb, x, 1.0))))


@expr("exp", "log", "sqrt")
def _libm(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    if env.node.op == "exp":
        return vmath.exp(kb, a[0])
    return kb.intrinsic(env.node.op, a[0].type, [a[0]])


@expr("erf")
def _erf(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    """libm's erff / erf: LLVM has no erf intrinsic, and glibc's are within 1 ulp."""
    x = a[0]
    name = "erf" if x.type == F64 else "erff"
    fn = kb.module.globals.get(name)
    if fn is None:
        fn = ir.Function(kb.module, ir.FunctionType(x.type, [x.type]), name)
        fn.attributes.add("nounwind")
    return kb.b.call(fn, [x])


@expr("clip")
def _clip(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    x = a[0]
    low = kb.b.select(kb.b.fcmp_ordered("<", x, c(kb, x, at["min"])), c(kb, x, at["min"]), x)
    return kb.b.select(kb.b.fcmp_ordered(">", low, c(kb, x, at["max"])), c(kb, x, at["max"]),
                       low)


@expr("dropout", "broadcast_to")
def _identity(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
              env: ExprEnv) -> ir.Value:
    return a[0]


# ---------------------------------------------------------------- activation gradients

@expr("relu_grad")
def _relu_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
               env: ExprEnv) -> ir.Value:
    dy, y = a
    return kb.b.select(gt0(kb, y), dy, c(kb, dy, 0.0))


@expr("leaky_relu_grad")
def _leaky_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                env: ExprEnv) -> ir.Value:
    dy, x = a
    return kb.b.select(gt0(kb, x), dy, kb.b.fmul(dy, c(kb, dy, at["alpha"])))


@expr("sigmoid_grad")
def _sigmoid_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                  env: ExprEnv) -> ir.Value:
    dy, y = a
    return kb.b.fmul(kb.b.fmul(dy, y), kb.b.fsub(c(kb, y, 1.0), y))


@expr("tanh_grad")
def _tanh_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
               env: ExprEnv) -> ir.Value:
    dy, y = a
    return kb.b.fmul(dy, kb.b.fsub(c(kb, y, 1.0), kb.b.fmul(y, y)))


@expr("clip_grad")
def _clip_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
               env: ExprEnv) -> ir.Value:
    dy, x = a
    inside = kb.b.and_(kb.b.fcmp_ordered(">=", x, c(kb, x, at["min"])),
                       kb.b.fcmp_ordered("<=", x, c(kb, x, at["max"])))
    return kb.b.select(inside, dy, c(kb, dy, 0.0))


# ---------------------------------------------------------------- batch normalization

def _inv_std(kb: KernelBuilder, var: ir.Value, eps: float) -> ir.Value:
    return kb.b.fdiv(c(kb, var, 1.0), kb.intrinsic("sqrt", var.type,
                                                   [kb.b.fadd(var, c(kb, var, eps))]))


@expr("batchnorm")
def _batchnorm(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
               env: ExprEnv) -> ir.Value:
    x, scale, shift, mean, var = a
    scaled = kb.b.fmul(kb.b.fsub(x, mean), kb.b.fmul(_inv_std(kb, var, at["eps"]), scale))
    return kb.b.fadd(scaled, shift)


@expr("batchnorm_grad_input")
def _bn_grad_input(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                   env: ExprEnv) -> ir.Value:
    dy, scale, var = a
    return kb.b.fmul(dy, kb.b.fmul(scale, _inv_std(kb, var, at["eps"])))


@expr("batch_var_grad")
def _batch_var_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                    env: ExprEnv) -> ir.Value:
    dvar, x, mean = a
    scale = 2.0 / env.count_per_channel(1)
    return kb.b.fmul(kb.b.fmul(dvar, c(kb, x, scale)), kb.b.fsub(x, mean))


@expr("batch_mean_grad")
def _batch_mean_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                     env: ExprEnv) -> ir.Value:
    return kb.b.fmul(a[0], c(kb, a[0], 1.0 / env.count_per_channel(1)))


# ---------------------------------------------------------------- optimizer updates

def _decayed(kb: KernelBuilder, g: ir.Value, w: ir.Value, wd: float) -> ir.Value:
    return g if wd == 0.0 else kb.b.fadd(g, kb.b.fmul(w, c(kb, w, wd)))


@expr("sgd_step")
def _sgd_step(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
              env: ExprEnv) -> ir.Value:
    w, g = a
    return kb.b.fsub(w, kb.b.fmul(c(kb, w, at["lr"]), _decayed(kb, g, w, at["weight_decay"])))


@expr("sgd_momentum_buf")
def _momentum_buf(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                  env: ExprEnv) -> ir.Value:
    buf, g, w = a
    return kb.b.fadd(kb.b.fmul(c(kb, buf, at["momentum"]), buf),
                     _decayed(kb, g, w, at["weight_decay"]))


@expr("sgd_momentum_step")
def _momentum_step(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                   env: ExprEnv) -> ir.Value:
    w, g, buf = a
    direction = buf
    if at["nesterov"]:
        direction = kb.b.fadd(_decayed(kb, g, w, at["weight_decay"]),
                              kb.b.fmul(c(kb, buf, at["momentum"]), buf))
    return kb.b.fsub(w, kb.b.fmul(c(kb, w, at["lr"]), direction))


@expr("adam_m")
def _adam_m(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
            env: ExprEnv) -> ir.Value:
    m, g, w = a
    b1 = at["beta1"]
    return kb.b.fadd(kb.b.fmul(c(kb, m, b1), m),
                     kb.b.fmul(c(kb, m, 1.0 - b1), _decayed(kb, g, w, at["weight_decay"])))


@expr("adam_v")
def _adam_v(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
            env: ExprEnv) -> ir.Value:
    v, g, w = a
    b2 = at["beta2"]
    d = _decayed(kb, g, w, at["weight_decay"])
    return kb.b.fadd(kb.b.fmul(c(kb, v, b2), v), kb.b.fmul(c(kb, v, 1.0 - b2), kb.b.fmul(d, d)))


@expr("adam_step")
def _adam_step(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
               env: ExprEnv) -> ir.Value:
    w, m, v, step = a
    # bias corrections in double precision; loop-invariant, so LLVM hoists them
    t = kb.b.sitofp(kb.b.add(step, ir.Constant(I64, 1)), F64)
    c1 = kb.b.fsub(ir.Constant(F64, 1.0), kb.intrinsic("pow", F64, [ir.Constant(F64, at["beta1"]),
                                                                     t]))
    c2 = kb.b.fsub(ir.Constant(F64, 1.0), kb.intrinsic("pow", F64, [ir.Constant(F64, at["beta2"]),
                                                                     t]))
    ty = w.type
    c1t = kb.b.fptrunc(c1, ty) if ty != F64 else c1
    c2t = kb.b.fptrunc(c2, ty) if ty != F64 else c2
    denom = kb.b.fadd(kb.intrinsic("sqrt", ty, [kb.b.fdiv(v, c2t)]), c(kb, w, at["eps"]))
    return kb.b.fsub(w, kb.b.fmul(c(kb, w, at["lr"]), kb.b.fdiv(kb.b.fdiv(m, c1t), denom)))


@expr("ema_update")
def _ema(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any], env: ExprEnv) -> ir.Value:
    running, stat = a[0], a[1]
    mom = at["momentum"]
    if at["unbiased"]:
        count = env.count_per_channel(2)
        stat = kb.b.fmul(stat, c(kb, stat, count / max(count - 1, 1)))
    return kb.b.fadd(kb.b.fmul(c(kb, running, 1.0 - mom), running),
                     kb.b.fmul(c(kb, stat, mom), stat))


# ---------------------------------------------------------------- generated data

@expr("const")
def _const(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
           env: ExprEnv) -> ir.Value:
    from compiler.codegen.kernel_builder import FLOAT_TYPES

    return ir.Constant(FLOAT_TYPES[at["dtype"]], at["value"])


def _splitmix64(kb: KernelBuilder, z: ir.Value) -> ir.Value:
    b = kb.b

    def k(v: int) -> ir.Constant:
        return ir.Constant(I64, v)

    z = b.add(z, k(0x9E3779B97F4A7C15))
    z = b.mul(b.xor(z, b.lshr(z, k(30))), k(0xBF58476D1CE4E5B9 - (1 << 64)))
    z = b.mul(b.xor(z, b.lshr(z, k(27))), k(0x94D049BB133111EB - (1 << 64)))
    return b.xor(z, b.lshr(z, k(31)))


@expr("dropout_mask")
def _dropout_mask(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
                  env: ExprEnv) -> ir.Value:
    """Same draw as runtime/ref_ops_train.dropout_keep: splitmix64((step*numel + i) ^ key)."""
    from compiler.codegen.kernel_builder import FLOAT_TYPES

    assert env.linear is not None
    (step,) = a
    numel = 1
    for d in env.node.type.shape:
        numel *= int(d)
    key = (at["seed"] * 0x2545F4914F6CDD1D) & ((1 << 64) - 1)
    if key >= 1 << 63:
        key -= 1 << 64
    counter = kb.b.add(kb.b.mul(step, ir.Constant(I64, numel)), env.linear)
    bits = _splitmix64(kb, kb.b.xor(counter, ir.Constant(I64, key)))
    top = kb.b.lshr(bits, ir.Constant(I64, 40))
    threshold = int(at["rate"] * (1 << 24))
    # u = top / 2^24 >= rate  <=>  top >= ceil(rate * 2^24) for integers top
    if threshold < at["rate"] * (1 << 24):
        threshold += 1
    keep = kb.b.icmp_unsigned(">=", top, ir.Constant(I64, threshold))
    ty = FLOAT_TYPES[at["dtype"]]
    return kb.b.select(keep, ir.Constant(ty, 1.0 / (1.0 - at["rate"])), ir.Constant(ty, 0.0))


@expr("increment")
def _increment(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
               env: ExprEnv) -> ir.Value:
    return kb.b.add(a[0], ir.Constant(I64, 1))


@expr("mse_grad")
def _mse_grad(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
              env: ExprEnv) -> ir.Value:
    pred, target, dloss = a
    numel = 1
    for d in env.node.type.shape:
        numel *= int(d)
    scale = kb.b.fmul(dloss, c(kb, dloss, 2.0 / numel))
    return kb.b.fmul(kb.b.fsub(pred, target), scale)


@expr("max_mask")
def _max_mask(kb: KernelBuilder, a: Sequence[ir.Value], at: dict[str, Any],
              env: ExprEnv) -> ir.Value:
    """1 where x equals the (broadcast) maximum y: the mask reduce_max's gradient spreads by."""
    x, y = a
    return kb.b.select(kb.b.fcmp_ordered("==", x, y), c(kb, x, 1.0), c(kb, x, 0.0))
