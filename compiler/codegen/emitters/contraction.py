"""Contractions as calls into the library GEMM: dense and matmul here, convolutions in conv.py.

Each op is C[M,N] (+)= A[M,K] B[K,N] with A and B plain strided matrices (element (r, c) at
base + r*rs + c*cs), packed and multiplied by compiler/codegen/library.py:
  dense        C = y[Nb,O]        A = x[Nb,I]          B[k,j] = W[j,k]
  matmul       C = y[M,N]         A = op(a)            B = op(b)
A bias initializes C. Tasks are column chunks of C; the epilogue sweeps exactly what a task
wrote.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import llvmlite.ir as ir

from compiler.codegen.emitters.base import SERIAL_WORK, Emitter
from compiler.codegen.epilogue import box_supported, emit_box
from compiler.codegen.gemm_share import shared_a_bytes
from compiler.codegen.kernel_builder import I8P, I64, VOID, KernelBuilder
from compiler.codegen.library import GEMM_ARGS, SERVICES, pack_type, workspace_elems
from ir.memory import align

Int: TypeAlias = ir.Value | int
DOT_ROWS = 4
"""Dense layers over at most this many samples run as dot products (Dense.dots)."""
DOT_ACCUMULATORS = 4
"""Independent vector accumulators per dot product: enough to cover the FMA latency."""
DIRECT_B_ROWS = 3
PACK_ONCE_BYTES = 512 * 1024
"""A (m x k) from this size up: a dense layer or matmul gives each thread one column chunk."""
"""A with at most this many micro-panels of rows reads B's panels in place (see gemm())."""


@dataclass
class View:
    """A strided matrix: element (r, c) at ptr[r*rs + c*cs]."""

    ptr: ir.Value
    rs: Int
    cs: Int


class Contraction(Emitter):
    per_task_epilogue = True
    images = 1
    groups = 1
    has_bias = False
    m: int
    n: int
    k: int
    """The GEMM computes an m x n C summed over k; setup() sets all three."""

    def setup(self) -> None:
        """Reads the anchor's shapes into m, n, k and whatever task() needs."""
        raise NotImplementedError

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        """Emits one task: the columns of `chunk` for image `image`, on workspace `ws`."""
        raise NotImplementedError

    def prepare(self) -> None:
        node = self.ctx.anchor
        target = self.ctx.gen.target
        self.dtype = node.type.dtype
        self.ty = self.ctx.elem_type(node.name)
        self.itemsize = 4 if self.dtype == "f32" else 8
        self.mr, self.nr = target.micro_tile(self.dtype)
        self.ctx.uses_services = True
        self.ctx.touch(*(v.name for v in node.operands), node.name)
        self.setup()
        self.gemm_bytes = workspace_elems(target, self.dtype) * self.itemsize
        self.ctx.workspace = self.gemm_bytes + self.extra_workspace()
        serial = self.ctx.flops < SERIAL_WORK or target.threads <= 1
        self.chunks = 1 if serial else self.column_chunks()
        if (self.chunks > 1 and self.epilogue is not None and self.epilogue.needed
                and not box_supported(self.epilogue, self.region_groups())):
            self.chunks = 1
        self.ctx.ntasks = 1 if serial else self.images * self.chunks

    def extra_workspace(self) -> int:
        """Per-thread bytes beyond the GEMM's packing buffers (e.g. an im2col tile)."""
        return 0

    def column_chunks(self) -> int:
        threads = self.ctx.gen.target.threads
        want = max(1, (2 * threads + self.images - 1) // self.images)
        panels = max(1, (self.n + self.nr - 1) // self.nr)
        return max(1, min(want, panels))

    def emit(self, kb: KernelBuilder, task: ir.Value, thread: ir.Value) -> None:
        self.thread = thread  # for a task whose workspace is not simply its thread's slot
        ws = self.ctx.thread_workspace(kb, thread)
        if self.ctx.ntasks > 1:
            image = kb.b.sdiv(task, kb.i64(self.chunks), name="image")
            chunk = kb.b.srem(task, kb.i64(self.chunks), name="chunk")
            self.task(kb, image, chunk, ws)
        else:
            with kb.loop(0, self.images, name="image") as image:
                self.task(kb, image, kb.i64(0), ws)

    def columns(self, kb: KernelBuilder, chunk: ir.Value, total: int | None = None,
                panel: int | None = None) -> tuple[ir.Value, ir.Value]:
        """[lo, hi) of C's columns for a chunk, aligned to whole micro-panels (or of `total`
        rows or columns in panels of `panel`)."""
        total = self.n if total is None else total
        panel = self.nr if panel is None else panel
        panels = (total + panel - 1) // panel
        lo = kb.mul(kb.b.sdiv(kb.mul(chunk, panels), kb.i64(self.chunks)), panel)
        hi = kb.min(kb.mul(kb.b.sdiv(kb.mul(kb.add(chunk, 1), panels), kb.i64(self.chunks)),
                           panel), total)
        return lo, hi

    # ------------------------------------------------------------ the library call

    def gemm(self, kb: KernelBuilder, m: Int, n: Int, k: Int, a: View, b: View, c: ir.Value,
             ldc: Int, accumulate: Int, j0: Int, j1: Int, ws: ir.Value,
             b_in_place: bool = False, shared_a: ir.Value | None = None,
             sharers: int = 0) -> None:
        """C[:, j0:j1] (+)= A B through the library, A and B packed by its strided packers;
        B's whole panels are read in place when its rows are contiguous and A has few rows
        (library.py: packing would cost about as much as the multiply), or for any A when the
        caller says B is a small tile it just wrote (`b_in_place`: an im2col tile, whose rows
        are in cache and not 4 KiB apart, so reading them in place beats copying them).
        `shared_a`: the buffer where the `sharers` tasks of this GEMM pack A once between them
        (compiler/codegen/gemm_share.py)."""
        args = kb.var(ir.ArrayType(I64, len(GEMM_ARGS)), name="gemm.args")
        views = []
        for which, view in (("a", a), ("b", b)):
            slot = kb.var(ir.ArrayType(I64, 3), name=f"{which}.view")
            for i, v in enumerate((view.ptr, view.rs, view.cs)):
                kb.b.store(self._i64(kb, v), kb.b.gep(slot, [kb.i64(0), kb.i64(i)]))
            views.append(kb.b.bitcast(slot, I8P))
        values = {"m": m, "n": n, "k": k, "a_ctx": views[0],
                  "pack_a": self._service(kb, f"pack_a_strided_{self.dtype}",
                                          pack_type(self.ty)),
                  "b_ctx": views[1],
                  "pack_b": self._service(kb, f"pack_b_strided_{self.dtype}",
                                          pack_type(self.ty)),
                  "c": c, "ldc": ldc, "accumulate": accumulate, "j0": j0, "j1": j1,
                  "workspace": ws,
                  "b_direct": int((b_in_place or isinstance(m, int)
                                   and m <= DIRECT_B_ROWS * self.mr)
                                  and isinstance(b.cs, int) and b.cs == 1),
                  "shared_a": 0 if shared_a is None else shared_a, "sharers": sharers}
        for i, field in enumerate(GEMM_ARGS):
            kb.b.store(self._i64(kb, values[field]), kb.b.gep(args, [kb.i64(0), kb.i64(i)]))
        fn = self._service(kb, f"gemm_{self.dtype}", ir.FunctionType(VOID, [I64.as_pointer()]))
        kb.b.call(fn, [kb.b.bitcast(args, I64.as_pointer())])

    def _service(self, kb: KernelBuilder, name: str, fnty: ir.FunctionType) -> ir.Value:
        services = kb.b.bitcast(self.ctx.services, I8P.as_pointer())
        slot = kb.load(services, SERVICES.index(name), name=name)
        return kb.b.bitcast(slot, fnty.as_pointer())

    @staticmethod
    def _i64(kb: KernelBuilder, value: Int) -> ir.Value:
        if isinstance(value, int):
            return kb.i64(value)
        if isinstance(value.type, ir.PointerType):
            return kb.b.ptrtoint(value, I64)
        return value

    def scratch(self, kb: KernelBuilder, ws: ir.Value) -> ir.Value:
        """The thread's extra workspace (after the GEMM's packing buffers), typed."""
        return kb.b.bitcast(kb.b.gep(ws, [kb.i64(self.gemm_bytes)]), self.ty.as_pointer(),
                            name="scratch")

    def init_rows(self, kb: KernelBuilder, c: ir.Value, ldc: int, rows: int, lo: Int, hi: Int,
                  value: Callable[[KernelBuilder, ir.Value, ir.Value], ir.Value]) -> None:
        """C[i, lo:hi] = value(i, j) for every row (bias initialization)."""
        with kb.loop(0, rows, name="bi") as i, kb.loop(lo, hi, name="bj") as j:
            kb.store(value(kb, i, j), c, kb.add(kb.mul(i, ldc), j))

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
               hi: ir.Value) -> list[tuple[Int, Int]]:
        return [(0, self.m), (lo, hi)]


class Dense(Contraction):
    shared_bytes = 0
    """The packed A that the column chunks share (gemm_share.py; 0: each packs its own)."""

    def prepare(self) -> None:
        """Column chunks of one GEMM pack A once between them, in a buffer after every
        thread's packing buffers (each thread's workspace grows by its share of it)."""
        super().prepare()
        if type(self) is not Dense or self.chunks < 2 or self.m <= DOT_ROWS:
            return
        target = self.ctx.gen.target
        self.shared_bytes = shared_a_bytes(target, self.dtype, self.m, self.k)
        self.ctx.workspace += align(-(-self.shared_bytes // target.threads))

    def setup(self) -> None:
        node = self.ctx.anchor
        x, w = node.operands[0], node.operands[1]
        self.m, self.k = (int(d) for d in x.type.shape)
        self.n = int(w.type.shape[0])
        self.has_bias = len(node.operands) == 3

    def views(self) -> tuple[View, View]:
        node = self.ctx.anchor
        x, w = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.operands[1].name)
        return View(x, self.k, 1), View(w, 1, self.k)  # B[k, j] = W[j, k]

    def column_chunks(self) -> int:
        """One chunk per thread once A is large: every chunk packs all of A again, and past
        PACK_ONCE_BYTES that repacking (from beyond L2) costs more than two chunks per thread
        gain in balance (1024^3 f32 at 2 threads: 4 chunks pack 16 MiB, 2 chunks 8 MiB)."""
        chunks = super().column_chunks()
        if self.m * self.k * self.itemsize < PACK_ONCE_BYTES:
            return chunks
        return min(chunks, self.ctx.gen.target.threads)

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        lo, hi = self.columns(kb, chunk)
        y = self.ctx.ptr(self.ctx.anchor.name)
        if self.m <= DOT_ROWS and type(self) is Dense:
            self.dots(kb, y, lo, hi)
            self.task_epilogue(kb, image, lo, hi)
            return
        if self.has_bias:
            bias = self.ctx.ptr(self.ctx.anchor.operands[2].name)
            self.init_rows(kb, y, self.n, self.m, lo, hi, lambda kb, i, j: kb.load(bias, j))
        a, b = self.views()
        if self.shared_bytes:
            threads = self.ctx.gen.target.threads
            base = self.ctx.thread_workspace(kb, kb.i64(0))
            own = kb.b.gep(base, [kb.mul(self.thread, self.gemm_bytes)], name="own")
            shared = kb.b.gep(base, [kb.i64(threads * self.gemm_bytes)], name="shared")
            self.gemm(kb, self.m, self.n, self.k, a, b, y, self.n, int(self.has_bias), lo, hi,
                      own, shared_a=shared, sharers=self.chunks)
        else:
            self.gemm(kb, self.m, self.n, self.k, a, b, y, self.n, int(self.has_bias), lo, hi,
                      ws)
        self.task_epilogue(kb, image, lo, hi)

    def dots(self, kb: KernelBuilder, y: ir.Value, lo: ir.Value, hi: ir.Value) -> None:
        """y[i, j] = x[i, :] . W[j, :] (+ b[j]) as vector dot products over contiguous rows:
        for a batch of a few samples the GEMM would repack all of W on every call, which
        costs more than the multiply (LeNet's fc1 at batch 1: 62 us packing for 48k FMAs)."""
        node = self.ctx.anchor
        x, w = self.ctx.ptr(node.operands[0].name), self.ctx.ptr(node.operands[1].name)
        lanes = self.ctx.gen.target.lanes(self.dtype)
        vty = ir.VectorType(self.ty, lanes)
        step = lanes * DOT_ACCUMULATORS
        body_end = self.k // step * step
        zero = ir.Constant(vty, [0.0] * lanes)
        accs = [kb.var(vty, name=f"acc{u}") for u in range(DOT_ACCUMULATORS)]
        tail = kb.var(self.ty, name="tail")
        with kb.loop(lo, hi, name="j") as j, kb.loop(0, self.m, name="i") as i:
            xrow, wrow = kb.gep(x, kb.mul(i, self.k)), kb.gep(w, kb.mul(j, self.k))
            for acc in accs:
                kb.b.store(zero, acc)
            with kb.loop(0, body_end, step=step, name="k") as k:
                for u, acc in enumerate(accs):
                    at = kb.add(k, u * lanes)
                    kb.b.store(kb.fma(kb.vload(xrow, at, vty), kb.vload(wrow, at, vty),
                                      kb.b.load(acc)), acc)
            kb.b.store(ir.Constant(self.ty, 0.0), tail)
            with kb.loop(body_end, self.k, name="kt") as k:
                kb.b.store(kb.fma(kb.load(xrow, k), kb.load(wrow, k), kb.b.load(tail)), tail)
            vsum = kb.b.load(accs[0])
            for acc in accs[1:]:
                vsum = kb.b.fadd(vsum, kb.b.load(acc))
            total = kb.b.load(tail)
            for lane in range(lanes):
                total = kb.b.fadd(total, kb.b.extract_element(vsum, kb.i64(lane)))
            if self.has_bias:
                total = kb.b.fadd(total, kb.load(self.ctx.ptr(node.operands[2].name), j))
            kb.store(total, y, kb.add(kb.mul(i, self.n), j))


class MatMul(Dense):
    """op(a) @ op(b); a stack of them (rank > 2: equal leading axes) is one product per
    `image`, each task a whole product or a column chunk of one (attention's heads)."""

    def setup(self) -> None:
        node = self.ctx.anchor
        a, b = node.operands
        self.ta, self.tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
        ar, self.a_cols = (int(d) for d in a.type.shape[-2:])
        br, self.b_cols = (int(d) for d in b.type.shape[-2:])
        self.m, self.k = (self.a_cols, ar) if self.ta else (ar, self.a_cols)
        self.n = br if self.tb else self.b_cols
        self.has_bias = False
        self.lead = [int(d) for d in node.type.shape[:-2]]
        self.images = math.prod(self.lead)
        self.rank = node.type.rank
        if b.type.rank == 2 and self.lead:  # a stack times one matrix: one product of its rows
            self.m *= self.images
            self.lead, self.images = [], 1

    def views(self) -> tuple[View, View]:
        node = self.ctx.anchor
        return self.views_at(*(self.ctx.ptr(v.name) for v in node.operands))

    def views_at(self, a: ir.Value, b: ir.Value) -> tuple[View, View]:
        """op(a) and op(b) as strided matrices over the given first elements."""
        va = View(a, 1, self.a_cols) if self.ta else View(a, self.a_cols, 1)
        vb = View(b, 1, self.b_cols) if self.tb else View(b, self.b_cols, 1)
        return va, vb

    def task(self, kb: KernelBuilder, image: ir.Value, chunk: ir.Value, ws: ir.Value) -> None:
        if self.images == 1:
            super().task(kb, image, chunk, ws)
            return
        lo, hi = self.columns(kb, chunk)
        a, b, y = (kb.gep(self.ctx.ptr(name), kb.mul(image, size)) for name, size in (
            (self.ctx.anchor.operands[0].name, self.m * self.k),
            (self.ctx.anchor.operands[1].name, self.k * self.n),
            (self.ctx.anchor.name, self.m * self.n)))
        va, vb = self.views_at(a, b)
        self.gemm(kb, self.m, self.n, self.k, va, vb, y, self.n, 0, lo, hi, ws)
        self.task_epilogue(kb, image, lo, hi)

    def task_epilogue(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
                      hi: ir.Value) -> None:
        if self.images == 1 or self.chunks > 1 or self.epilogue is None:
            super().task_epilogue(kb, image, lo, hi)
        elif self.epilogue.needed:  # the whole product `image`: its index on each leading axis
            prefix, inner = [], self.images
            for size in self.lead:
                inner //= size
                prefix.append(kb.b.srem(kb.b.sdiv(image, kb.i64(inner)), kb.i64(size)))
            self.epilogue_for(kb, prefix)

    def region_groups(self) -> list[list[int]]:
        if self.images == 1:  # one product, its rows perhaps those of a stack
            return [list(range(self.rank - 1)), [self.rank - 1]]
        return [list(range(self.rank - 2)), [self.rank - 2], [self.rank - 1]]

    def region(self, kb: KernelBuilder, image: ir.Value, lo: ir.Value,
               hi: ir.Value) -> list[tuple[Int, Int]]:
        if self.images == 1:
            return super().region(kb, image, lo, hi)
        return [(image, kb.add(image, 1)), (0, self.m), (lo, hi)]


EMITTERS: dict[str, type[Contraction]] = {"dense": Dense, "matmul": MatMul}
