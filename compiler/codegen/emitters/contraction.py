"""Contractions as calls into the library GEMM: dense, matmul, conv2d and both conv gradients.

Each op is C[M,N] (+)= A[M,K] B[K,N] per (image, group); the kernel module only supplies how to
pack A and B (compiler/codegen/library.py drives the blocking and the micro-kernel):
  dense        C = y[Nb,O]        A = x[Nb,I]                    B[k,j] = W[j,k]      (strided)
  matmul       C = y[M,N]         A = op(a)                      B = op(b)            (strided)
  conv2d       C = y[n][O/g, P]   A = W[g][O/g, C/g*kh*kw]       B = im2col(x[n])     (implicit)
  conv grad x  C = dx[n][C/g, HW] A[c,(o,ky,kx)] = W[o,c,ky,kx]  B = dy scattered back (implicit)
  conv grad W  C = dW[g]          A[o,(n,p)] = dy[n,o,p]         B = im2col(x)^T      (implicit)
No im2col buffer is built: the implicit packers gather straight from the tensor, zero in the
padding. A bias initializes C. Tasks: images x column chunks (the weight gradient, whose K runs
over the whole batch, splits columns only); the epilogue sweeps exactly what a task wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import llvmlite.ir as ir

from compiler.codegen.emitters.base import SERIAL_WORK, Emitter
from compiler.codegen.kb import I8P, I64, VOID, KernelBuilder
from compiler.codegen.library import GEMM_ARGS, PACK_FN, SERVICES, pack_type, workspace_elems
from compiler.codegen.sweep import box_supported, emit_box
from ir.errors import CompileError

Element = Callable[[KernelBuilder, list[ir.Value], ir.Value, ir.Value], ir.Value]
"""(kb, context values, row, col) -> the element (0 where it does not exist)."""


@dataclass
class Strided:
    """A plain matrix: element (r, c) of `value` at offset + r*rs + c*cs (elements)."""

    value: str
    rs: int
    cs: int
    offset: Callable[[KernelBuilder, ir.Value, int], ir.Value] | None = None


@dataclass
class Implicit:
    """A matrix computed by `element`; the pack function reads its tensor from the context."""

    tensor: str
    element: Element
    k_inner: bool


class Contraction(Emitter):
    per_task_epilogue = True
    images = 1
    groups = 1
    has_bias = False

    def prepare(self) -> None:
        node = self.ctx.anchor
        target = self.ctx.gen.target
        self.dtype = node.type.dtype
        self.ty = self.ctx.elem_type(node.name)
        self.mr, self.nr = target.micro_tile(self.dtype)
        self.ctx.uses_services = True
        self.ctx.touch(*(v.name for v in node.operands), node.name)
        self.setup()
        self.ctx.workspace = workspace_elems(target, self.dtype) * (4 if self.dtype == "f32"
                                                                    else 8)
        serial = self.ctx.flops < SERIAL_WORK or target.threads <= 1
        self.chunks = 1 if serial else self.column_chunks()
        if (self.chunks > 1 and self.epilogue is not None and self.epilogue.needed
                and not box_supported(self.epilogue, self.region_groups())):
            self.chunks = 1
        self.ctx.ntasks = 1 if serial else self.images * self.chunks
        self._packers: dict[str, ir.Function] = {}

    # subclasses: setup() sets m, n, k (and images, groups, has_bias); operand("a"|"b");
    # c_pointer(kb, image, group); region_groups(); region(kb, image, lo, hi)

    def column_chunks(self) -> int:
        threads = self.ctx.gen.target.threads
        want = max(1, (2 * threads + self.images - 1) // self.images)
        panels = max(1, (self.n + self.nr - 1) // self.nr)
        return max(1, min(want, panels))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        ws = self.ctx.thread_workspace(kb, thread)
        if self.ctx.ntasks > 1:
            image = kb.b.sdiv(task, kb.i64(self.chunks), name="image")
            chunk = kb.b.srem(task, kb.i64(self.chunks), name="chunk")
            self._task(kb, image, chunk, ws)
        else:
            with kb.loop(0, self.images, name="image") as image:
                self._task(kb, image, kb.i64(0), ws)

    def _task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        panels = (self.n + self.nr - 1) // self.nr
        lo = kb.mul(kb.b.sdiv(kb.mul(chunk, panels), kb.i64(self.chunks)), self.nr)
        hi = kb.min(kb.mul(kb.b.sdiv(kb.mul(kb.add(chunk, 1), panels), kb.i64(self.chunks)),
                           self.nr), self.n)
        args = kb.var(ir.ArrayType(I64, len(GEMM_ARGS)), name="gemm.args")
        for g in range(self.groups):
            c, ldc = self.c_pointer(kb, image, g)
            if self.has_bias:
                self._init_bias(kb, c, ldc, g, lo, hi)
            a_ctx, a_fn = self._operand(kb, "a", image, g)
            b_ctx, b_fn = self._operand(kb, "b", image, g)
            values = {"m": self.m, "n": self.n, "k": self.k, "a_ctx": a_ctx, "pack_a": a_fn,
                      "b_ctx": b_ctx, "pack_b": b_fn, "c": c, "ldc": ldc,
                      "accumulate": int(self.has_bias), "j0": lo, "j1": hi, "workspace": ws}
            for i, field in enumerate(GEMM_ARGS):
                kb.b.store(self._as_i64(kb, values[field]),
                           kb.b.gep(args, [kb.i64(0), kb.i64(i)]))
            gemm = self._service(kb, f"gemm_{self.dtype}", ir.FunctionType(
                VOID, [I64.as_pointer()]))
            kb.b.call(gemm, [kb.b.bitcast(args, I64.as_pointer())])
        self.task_epilogue(kb, image, lo, hi)

    # ------------------------------------------------------------ operands

    def _operand(self, kb: KernelBuilder, which: str, image: ir.Value,
                 group: int) -> tuple[ir.Value, ir.Value]:
        """(context pointer, pack function) of operand `which` for this (image, group)."""
        spec = self.operand(which)
        if isinstance(spec, Strided):
            view = kb.var(ir.ArrayType(I64, 3), name=f"{which}.view")
            base = self.ctx.ptr(spec.value)
            if spec.offset is not None:
                base = kb.gep(base, spec.offset(kb, image, group))
            for i, v in enumerate((base, spec.rs, spec.cs)):
                kb.b.store(self._as_i64(kb, v), kb.b.gep(view, [kb.i64(0), kb.i64(i)]))
            fn = self._service(kb, f"pack_{which}_strided_{self.dtype}", pack_type(self.ty))
            return kb.b.bitcast(view, I8P), fn
        ctx = kb.var(ir.ArrayType(I64, 3), name=f"{which}.ctx")
        for i, v in enumerate((self.ctx.ptr(spec.tensor), image, group)):
            kb.b.store(self._as_i64(kb, v), kb.b.gep(ctx, [kb.i64(0), kb.i64(i)]))
        return kb.b.bitcast(ctx, I8P), self._packer(which, spec)

    def _packer(self, which: str, spec: Implicit) -> ir.Function:
        """The pack function of an implicit operand (one per kernel module and operand)."""
        if which in self._packers:
            return self._packers[which]
        module = self.ctx.module
        assert module is not None
        fn = ir.Function(module, pack_type(self.ty), f"{self.ctx.group.name}.pack_{which}")
        fn.linkage = "internal"
        for arg, name in zip(fn.args, PACK_FN[which], strict=True):
            arg.name = name
        kb = KernelBuilder(module, fn)
        raw = kb.b.bitcast(fn.args[0], I64.as_pointer())
        tensor = kb.b.inttoptr(kb.load(raw, 0), self.ty.as_pointer(), name=spec.tensor)
        ctxvals = [tensor, kb.load(raw, 1, name="image"), kb.load(raw, 2, name="group")]
        dst = fn.args[1]
        if which == "a":
            _, _, i0, count, k0, kc = fn.args
            width, origin_w, origin_k = self.mr, i0, k0
        else:
            _, _, k0, kc, j0, count = fn.args
            width, origin_w, origin_k = self.nr, j0, k0
        order = [("w", width), ("k", kc)] if spec.k_inner else [("k", kc), ("w", width)]
        with kb.loop(0, order[0][1], name=order[0][0]) as i, \
                kb.loop(0, order[1][1], name=order[1][0]) as j:
            w, k = (i, j) if spec.k_inner else (j, i)
            slot = kb.var(self.ty, name="v")
            kb.b.store(ir.Constant(self.ty, 0.0), slot)
            with kb.if_(kb.lt(w, count)):
                row, col = ((kb.add(origin_w, w), kb.add(origin_k, k)) if which == "a"
                            else (kb.add(origin_k, k), kb.add(origin_w, w)))
                kb.b.store(spec.element(kb, ctxvals, row, col), slot)
            kb.store(kb.b.load(slot), dst, kb.add(kb.mul(k, width), w))
        kb.b.ret_void()
        self._packers[which] = fn
        return fn

    def _service(self, kb: KernelBuilder, name: str, fnty: ir.FunctionType) -> ir.Value:
        services = kb.b.bitcast(self.ctx.services, I8P.as_pointer())
        slot = kb.load(services, SERVICES.index(name), name=name)
        return kb.b.bitcast(slot, fnty.as_pointer())

    @staticmethod
    def _as_i64(kb: KernelBuilder, value: ir.Value | int) -> ir.Value:
        if isinstance(value, int):
            return kb.i64(value)
        if isinstance(value.type, ir.PointerType):
            return kb.b.ptrtoint(value, I64)
        if isinstance(value, ir.Function):
            return kb.b.ptrtoint(value, I64)
        return value

    def _init_bias(self, kb: KernelBuilder, c: ir.Value, ldc: int, group: int,
                   lo: ir.Value, hi: ir.Value) -> None:
        with kb.loop(0, self.m, name="bi") as i, kb.loop(lo, hi, name="bj") as j:
            kb.store(self.bias_value(kb, i, j, group), c, kb.add(kb.mul(i, ldc), j))

    # ------------------------------------------------------------ epilogue

    def task_epilogue(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
                      hi: ir.Value) -> None:
        if self.epilogue is None or not self.epilogue.needed:
            return
        if self.chunks == 1:
            self.epilogue_for(kb, [image] if self.images > 1 else [])
        else:
            emit_box(self.epilogue, kb, self.region_groups(), self.region(kb, image, lo, hi))

    def region_groups(self) -> list[list[int]]:
        return [[0], [1]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list:  # type: ignore[type-arg]
        return [(0, self.m), (lo, hi)]


# ---------------------------------------------------------------- dense and matmul

class Dense(Contraction):
    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        self.m, self.k = (int(d) for d in x.type.shape)
        self.n = int(w.type.shape[0])
        self.has_bias = len(node.operands) == 3

    def operand(self, which: str) -> Strided:
        node = self.ctx.anchor
        if which == "a":
            return Strided(node.operands[0].name, self.k, 1)
        return Strided(node.operands[1].name, 1, self.k)  # B[k, j] = W[j, k]

    def c_pointer(self, kb: KernelBuilder, image: ir.Value, group: int) -> tuple[ir.Value, int]:
        return self.ctx.ptr(self.ctx.anchor.name), self.n

    def bias_value(self, kb: KernelBuilder, i: ir.Value, j: ir.Value, group: int) -> ir.Value:
        return kb.load(self.ctx.ptr(self.ctx.anchor.operands[2].name), j)


class MatMul(Dense):
    def setup(self) -> None:
        node = self.ctx.anchor
        a, b = node.operands
        self.ta, self.tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
        ar, self.a_cols = (int(d) for d in a.type.shape)
        br, self.b_cols = (int(d) for d in b.type.shape)
        self.m, self.k = (self.a_cols, ar) if self.ta else (ar, self.a_cols)
        self.n = br if self.tb else self.b_cols
        self.has_bias = False

    def operand(self, which: str) -> Strided:
        node = self.ctx.anchor
        if which == "a":  # A[i, k] = a[k, i] if transposed else a[i, k]
            name = node.operands[0].name
            return Strided(name, 1, self.a_cols) if self.ta else Strided(name, self.a_cols, 1)
        name = node.operands[1].name
        return Strided(name, 1, self.b_cols) if self.tb else Strided(name, self.b_cols, 1)


EMITTERS: dict[str, type[Contraction]] = {"dense": Dense, "matmul": MatMul}


def make(ctx) -> Contraction:  # type: ignore[no-untyped-def]
    from compiler.codegen.emitters import conv  # registers the convolution emitters

    del conv
    cls = EMITTERS.get(ctx.anchor.op)
    if cls is None:
        raise CompileError(f"codegen has no contraction kernel for '{ctx.anchor.op}'")
    return cls(ctx)
