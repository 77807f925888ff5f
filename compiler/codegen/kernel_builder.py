"""KernelBuilder: the small vocabulary codegen writes loop nests in, over llvmlite's IRBuilder.

Where it sits: every emitter in compiler/codegen uses it. Loops are `with kb.loop(...) as i:`
blocks, loop-carried values are allocas in the entry block (LLVM's SROA turns them into
registers), and LLVM values are named after the IR values they compute so the LLVM dump reads
like the netc dump.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TypeAlias

import llvmlite.ir as ir

from ir.errors import CompileError

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F32 = ir.FloatType()
F64 = ir.DoubleType()
I8P = I8.as_pointer()
VOID = ir.VoidType()
FLOAT_TYPES = {"f32": F32, "f64": F64}
Value: TypeAlias = ir.Value | int


class KernelBuilder:
    """Builds one function. `entry` holds only the allocas (then branches to `start`); `b` is
    positioned where code goes next."""

    def __init__(self, module: ir.Module, fn: ir.Function) -> None:
        self.module = module
        self.fn = fn
        self.entry = fn.append_basic_block("entry")
        start = fn.append_basic_block("start")
        self._alloca_builder = ir.IRBuilder(self.entry)
        self._entry_branch = self._alloca_builder.branch(start)
        self.b = ir.IRBuilder(start)

    # ------------------------------------------------------------ constants and types

    @staticmethod
    def i64(value: Value) -> ir.Value:
        return value if isinstance(value, ir.Value) else ir.Constant(I64, int(value))

    @staticmethod
    def const(ty: ir.Type, value: float) -> ir.Constant:
        if isinstance(ty, ir.VectorType):
            return ir.Constant(ty, [float(value)] * ty.count)
        return ir.Constant(ty, float(value))

    def var(self, ty: ir.Type, init: ir.Value | None = None, name: str = "") -> ir.Value:
        """A mutable local (an alloca in the entry block)."""
        self._alloca_builder.position_before(self._entry_branch)
        slot = self._alloca_builder.alloca(ty, name=name)
        if init is not None:
            self.b.store(init, slot)
        return slot

    # ------------------------------------------------------------ integer helpers

    def add(self, a: Value, b: Value, name: str = "") -> ir.Value:
        if isinstance(b, int) and b == 0:
            return self.i64(a)
        if isinstance(a, int) and a == 0:
            return self.i64(b)
        return self.b.add(self.i64(a), self.i64(b), name=name)

    def mul(self, a: Value, b: Value, name: str = "") -> ir.Value:
        if isinstance(b, int) and b == 1:
            return self.i64(a)
        if isinstance(a, int) and a == 1:
            return self.i64(b)
        if (isinstance(a, int) and a == 0) or (isinstance(b, int) and b == 0):
            return self.i64(0)
        return self.b.mul(self.i64(a), self.i64(b), name=name)

    def sub(self, a: Value, b: Value, name: str = "") -> ir.Value:
        if isinstance(b, int) and b == 0:
            return self.i64(a)
        return self.b.sub(self.i64(a), self.i64(b), name=name)

    def min(self, a: Value, b: Value) -> ir.Value:
        a, b = self.i64(a), self.i64(b)
        return self.b.select(self.b.icmp_signed("<", a, b), a, b)

    def max(self, a: Value, b: Value) -> ir.Value:
        a, b = self.i64(a), self.i64(b)
        return self.b.select(self.b.icmp_signed(">", a, b), a, b)

    def lt(self, a: Value, b: Value) -> ir.Value:
        return self.b.icmp_signed("<", self.i64(a), self.i64(b))

    def in_range(self, x: Value, lo: Value, hi: Value) -> ir.Value:
        """lo <= x < hi."""
        return self.b.and_(self.b.icmp_signed(">=", self.i64(x), self.i64(lo)), self.lt(x, hi))

    def affine(self, terms: Sequence[tuple[Value, int]], const: int = 0) -> ir.Value:
        """const + sum(value * coefficient), skipping zero coefficients."""
        acc: Value = const
        for value, coef in terms:
            if coef:
                acc = self.add(acc, self.mul(value, coef))
        return self.i64(acc)

    # ------------------------------------------------------------ control flow

    @contextlib.contextmanager
    def loop(self, start: Value, stop: Value, step: Value = 1,
             name: str = "i") -> Iterator[ir.Value]:
        """for (name = start; name < stop; name += step) { body }"""
        b = self.b
        pre = b.block
        header = self.fn.append_basic_block(f"{name}.loop")
        body = self.fn.append_basic_block(f"{name}.body")
        done = self.fn.append_basic_block(f"{name}.done")
        start_v, stop_v = self.i64(start), self.i64(stop)
        b.branch(header)
        b.position_at_end(header)
        iv = b.phi(I64, name=name)
        iv.add_incoming(start_v, pre)
        b.cbranch(b.icmp_signed("<", iv, stop_v), body, done)
        b.position_at_end(body)
        yield iv
        nxt = b.add(iv, self.i64(step), name=f"{name}.next")
        iv.add_incoming(nxt, b.block)
        b.branch(header)
        b.position_at_end(done)

    @contextlib.contextmanager
    def if_(self, cond: ir.Value) -> Iterator[None]:
        with self.b.if_then(cond):
            yield

    # ------------------------------------------------------------ memory

    def gep(self, ptr: ir.Value, index: Value, name: str = "") -> ir.Value:
        return self.b.gep(ptr, [self.i64(index)], name=name)

    def load(self, ptr: ir.Value, index: Value = 0, name: str = "") -> ir.Value:
        return self.b.load(self.gep(ptr, index) if not _is_zero(index) else ptr, name=name)

    def store(self, value: ir.Value, ptr: ir.Value, index: Value = 0) -> None:
        self.b.store(value, self.gep(ptr, index) if not _is_zero(index) else ptr)

    def padded_row(self, row: ir.Value, inside: ir.Value, src: ir.Value,
                   span: tuple[Value, Value], width: int, ty: ir.Type, step: int = 1) -> None:
        """One row of a zero-padded copy of an image: row[j] = src[j * step] for j in
        span = [lo, hi) when `inside` (the row lies in the image), zero for every other j in
        [0, width). Zeros, one straight (or strided) copy, zeros: each a loop LLVM vectorizes.
        `src` is only read when `inside`."""
        zero = ir.Constant(ty, 0.0)
        lo, hi = span
        with self.b.if_else(inside) as (copy, clear):
            with copy:
                with self.loop(0, lo, name="pz0") as j:
                    self.store(zero, row, j)
                with self.loop(lo, hi, name="pcp") as j:
                    self.store(self.load(src, self.mul(j, step)), row, j)
                with self.loop(hi, width, name="pz1") as j:
                    self.store(zero, row, j)
            with clear, self.loop(0, width, name="pz") as j:
                self.store(zero, row, j)

    def vload(self, ptr: ir.Value, index: Value, vty: ir.VectorType, name: str = "") -> ir.Value:
        p = self.b.bitcast(self.gep(ptr, index), vty.as_pointer())
        return self.b.load(p, name=name, align=4 if vty.element == F32 else 8)

    def strided_vload(self, ptr: ir.Value, index: Value, ty: ir.Type, lanes: int,
                      stride: int) -> ir.Value:
        """ptr[index + i * stride] for i < lanes: one load of lanes * stride elements shuffled
        down to every stride-th (cheaper than a gather while the stride is small); every
        element up to ptr[index + lanes * stride - 1] must be readable."""
        row = self.vload(ptr, index, ir.VectorType(ty, lanes * stride))
        pick = ir.Constant(ir.VectorType(I32, lanes), [i * stride for i in range(lanes)])
        return self.b.shuffle_vector(row, row, pick)

    def vstore(self, value: ir.Value, ptr: ir.Value, index: Value) -> None:
        vty = value.type
        p = self.b.bitcast(self.gep(ptr, index), vty.as_pointer())
        self.b.store(value, p, align=4 if vty.element == F32 else 8)

    def splat(self, scalar: ir.Value, vty: ir.VectorType) -> ir.Value:
        undef = ir.Constant(vty, ir.Undefined)
        one = self.b.insert_element(undef, scalar, ir.Constant(I32, 0))
        mask = ir.Constant(ir.VectorType(I32, vty.count), [0] * vty.count)
        return self.b.shuffle_vector(one, undef, mask)

    def transpose(self, rows: Sequence[ir.Value]) -> list[ir.Value]:
        """The L x L transpose of L vectors of L lanes (L a power of two): out[j][i] =
        rows[i][j], in L*log2(L) two-input shuffles. Stage d swaps bit d of the row index with
        bit d of the lane index (the off-diagonal d x d blocks of every 2d x 2d block); the
        stages commute, and LLVM lowers them to unpack / shuffle / 128-bit permutes."""
        count = len(rows)
        lanes = sorted({r.type.count for r in rows})
        if count == 0 or count & (count - 1) or lanes != [count]:
            # A real check, not an assert: under `python -O` a wrong width would otherwise
            # build shuffles with out-of-range masks.
            raise CompileError(f"transpose needs L vectors of L lanes with L a power of two; "
                               f"got {count} vectors of {', '.join(map(str, lanes))} lanes")
        out = list(rows)
        d = 1
        while d < count:
            lo = [j if not j & d else count + j - d for j in range(count)]
            hi = [j + d if not j & d else count + j for j in range(count)]
            masks = [ir.Constant(ir.VectorType(I32, count), m) for m in (lo, hi)]
            for i in range(count):
                if not i & d:
                    a, b = out[i], out[i + d]
                    out[i] = self.b.shuffle_vector(a, b, masks[0])
                    out[i + d] = self.b.shuffle_vector(a, b, masks[1])
            d *= 2
        return out

    # ------------------------------------------------------------ intrinsics

    def prefetch(self, ptr: ir.Value, write: bool = False) -> None:
        """Asks for the cache line holding `ptr` (into every cache level), for reading or for
        writing (llvm.prefetch, declared on demand)."""
        name = "llvm.prefetch.p0i8"
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(VOID, [I8P, I32, I32, I32]), name)
        self.b.call(fn, [self.b.bitcast(ptr, I8P), ir.Constant(I32, int(write)),
                         ir.Constant(I32, 3), ir.Constant(I32, 1)])

    def intrinsic(self, name: str, ty: ir.Type, args: Sequence[ir.Value],
                  arg_types: Sequence[ir.Type] | None = None) -> ir.Value:
        """Calls llvm.<name>.<suffix> for a float or float-vector type (declared on demand)."""
        suffix = _type_suffix(ty)
        full = f"llvm.{name}.{suffix}"
        fn = self.module.globals.get(full)
        if fn is None:
            types = list(arg_types) if arg_types is not None else [ty] * len(args)
            fn = ir.Function(self.module, ir.FunctionType(ty, types), full)
        return self.b.call(fn, list(args))

    def fma(self, a: ir.Value, b: ir.Value, c: ir.Value) -> ir.Value:
        return self.intrinsic("fma", a.type, [a, b, c])

    @staticmethod
    def const_int(ty: ir.Type, value: int) -> ir.Constant:
        if isinstance(ty, ir.VectorType):
            return ir.Constant(ty, [value] * ty.count)
        return ir.Constant(ty, value)


def _is_zero(index: Value) -> bool:
    return isinstance(index, int) and index == 0 or (
        isinstance(index, ir.Constant) and index.constant == 0)


def _type_suffix(ty: ir.Type) -> str:
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{_type_suffix(ty.element)}"
    if ty == F32:
        return "f32"
    if ty == F64:
        return "f64"
    raise TypeError(f"no intrinsic suffix for {ty}")
