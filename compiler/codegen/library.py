"""netc's native library: the GEMM engine and its strided packers, compiled once per machine.

Where it sits: built here (it depends on the codegen target: vector width, register blocking),
compiled and cached by the runtime like any module, and reached by kernels through the services
table (args[1] of every entry; slot 0 of every kernel's pointer table). Keeping the micro-kernel
and the blocking loops out of the per-model modules is what makes compiling a model fast.

  void netc_gemm_<dt>(i64* args)
    args: m, n, k, a_ctx, pack_a, b_ctx, pack_b, c, ldc, accumulate, j0, j1, workspace, b_direct,
          shared_a, sharers
    C[m, j0:j1] (+)= A[m, k] B[k, j0:j1]; `accumulate` != 0 adds to C (e.g. C holds the bias).
    b_direct != 0: b_ctx is a strided view {T* base, i64 rs, i64 cs = 1} and whole NR-column
    panels of B are read in place, rows rs apart, instead of packed. For few rows of A (an
    im2col tile multiplied by a handful of filters) packing B would move as many bytes as the
    multiply reads; with many rows the packed panel's locality wins and callers pass 0.
    shared_a != 0: the address of a buffer (gemm_share.shared_a_bytes) where the `sharers` tasks
    that split one GEMM's columns pack A once between them (compiler/codegen/gemm_share.py).
  void pack_a(i8* ctx, T* dst, i64 i0, i64 rows, i64 k0, i64 kc)   dst[k][MR] = A[i0+r, k0+k]
  void pack_b(i8* ctx, T* dst, i64 k0, i64 kc, i64 j0, i64 cols)   dst[k][NR] = B[k0+k, j0+c]
    (zero-filled past `rows` / `cols`), supplied by the kernel: its own gather for implicit
    convolutions, or the library's netc_pack_{a,b}_strided_<dt> with ctx = {T* base, i64 rs,
    i64 cs} for plain matrices.
"""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.gemm import micro_kernel
from compiler.codegen.gemm_share import SharedA
from compiler.codegen.kernel_builder import FLOAT_TYPES, I8P, I64, VOID, KernelBuilder
from compiler.codegen.services_table import LIBRARY_VERSION as LIBRARY_VERSION
from compiler.codegen.services_table import SERVICES as SERVICES
from compiler.codegen.target import CodegenTarget

GEMM_ARGS = ("m", "n", "k", "a_ctx", "pack_a", "b_ctx", "pack_b", "c", "ldc", "accumulate",
             "j0", "j1", "workspace", "b_direct", "shared_a", "sharers")
PACK_FN = {"a": ["ctx", "dst", "i0", "rows", "k0", "kc"], "b": ["ctx", "dst", "k0", "kc", "j0",
                                                                 "cols"]}


def pack_type(ty: ir.Type) -> ir.FunctionType:
    return ir.FunctionType(VOID, [I8P, ty.as_pointer(), I64, I64, I64, I64])


def workspace_elems(target: CodegenTarget, dtype: str) -> int:
    """Per-thread scratch of one GEMM call: packed A block, packed B block, one edge tile."""
    mr, nr = target.micro_tile(dtype)
    mc, kc, nc = target.blocking(dtype)
    return mc * kc + kc * nc + mr * nr


def library_module(target: CodegenTarget, dtypes: tuple[str, ...] = ("f32", "f64")) -> str:
    """The library's functions for `dtypes` in one module (what a bundle links)."""
    module = ir.Module(name="netc_library")
    module.triple = target.triple
    for dtype in ("f32", "f64"):
        if dtype in dtypes:
            for part in LIBRARY_PARTS.values():
                part(module, target, dtype)
    return str(module)


def _gemm_part(module: ir.Module, target: CodegenTarget, dtype: str) -> None:
    _gemm(module, target, dtype, FLOAT_TYPES[dtype])


def _packers_part(module: ir.Module, target: CodegenTarget, dtype: str) -> None:
    _strided_pack(module, target, dtype, FLOAT_TYPES[dtype], "a")
    _strided_pack(module, target, dtype, FLOAT_TYPES[dtype], "b")


LIBRARY_PARTS = {"gemm": _gemm_part, "pack": _packers_part}
"""The library of one element type in parts that compile apart: the GEMM with its micro-kernels
(about two thirds of LLVM's time) and the strided packers. No call crosses between them (the
GEMM reaches a packer through the pointer it is given), so splitting them changes no function's
code, and the JIT's two LLVM workers can compile them at once."""


def library_parts(target: CodegenTarget, dtype: str) -> list[tuple[str, str]]:
    """(module name, LLVM text) of each part of the `dtype` library, the longest first: what
    the JIT compiles (compiler/driver/services.py) and loads together."""
    parts = []
    for name, part in LIBRARY_PARTS.items():
        module = ir.Module(name=f"netc_library_{dtype}_{name}")
        module.triple = target.triple
        part(module, target, dtype)
        parts.append((module.name, str(module)))
    return parts


def _gemm(module: ir.Module, target: CodegenTarget, dtype: str, ty: ir.Type) -> None:
    mr, nr = target.micro_tile(dtype)
    mcb, kcb, ncb = target.blocking(dtype)
    lanes = target.lanes(dtype)
    shared: dict[str, ir.Function] = {}
    ukernels = [micro_kernel(module, shared, ty, mr, nr, lanes, rows)
                for rows in range(1, mr + 1)]  # ukernels[r - 1]: the first r rows
    fn = ir.Function(module, ir.FunctionType(VOID, [I64.as_pointer()]), f"netc_gemm_{dtype}")
    kb = KernelBuilder(module, fn)
    raw = fn.args[0]
    raw.name = "args"
    a = {name: kb.load(raw, i, name=name) for i, name in enumerate(GEMM_ARGS)}
    ptr = ty.as_pointer()
    pack = pack_type(ty).as_pointer()
    pack_a = kb.b.inttoptr(a["pack_a"], pack, name="pack_a.fn")
    pack_b = kb.b.inttoptr(a["pack_b"], pack, name="pack_b.fn")
    a_ctx = kb.b.inttoptr(a["a_ctx"], I8P)
    b_ctx = kb.b.inttoptr(a["b_ctx"], I8P)
    c = kb.b.inttoptr(a["c"], ptr, name="C")
    ws = kb.b.inttoptr(a["workspace"], ptr, name="Ap")
    bp = kb.gep(ws, mcb * kcb, name="Bp")
    tile = kb.gep(bp, kcb * ncb, name="Ctile")
    m, k, ldc = a["m"], a["k"], a["ldc"]
    view = kb.b.bitcast(b_ctx, I64.as_pointer())
    b_base = kb.b.inttoptr(kb.load(view, 0), ptr, name="B")
    b_rs = kb.load(view, 1, name="ldb")
    direct = kb.b.icmp_signed("!=", a["b_direct"], kb.i64(0))
    share = SharedA(kb, dtype, ty, m, mr, a["shared_a"], a["sharers"])
    # K in equal blocks of at most KC: 288 = 144 + 144, not 256 + 32 (each block reloads
    # and stores C, so a short last block costs nearly as much as a full one)
    kblocks = kb.max(kb.b.sdiv(kb.add(k, kcb - 1), kb.i64(kcb)), 1)
    kstep = kb.max(kb.b.sdiv(kb.add(k, kb.sub(kblocks, 1)), kblocks), 1)
    with kb.loop(a["j0"], a["j1"], step=ncb, name="jc") as jc:
        nc = kb.min(kb.sub(a["j1"], jc), ncb)
        with kb.loop(0, k, step=kstep, name="pc") as pc:
            kc = kb.min(kb.sub(k, pc), kstep)
            with kb.loop(0, nc, step=nr, name="pb") as jr:
                cols = kb.min(kb.sub(nc, jr), nr)
                in_place = kb.b.and_(direct, kb.b.icmp_signed("==", cols, kb.i64(nr)))
                with kb.if_(kb.b.not_(in_place)):
                    kb.b.call(pack_b, [b_ctx, kb.gep(bp, kb.mul(jr, kc)), pc, kc,
                                       kb.add(jc, jr), cols])
            first = kb.b.icmp_signed("==", pc, kb.i64(0))
            keep = kb.b.icmp_signed("!=", a["accumulate"], kb.i64(0))
            accumulate = kb.b.zext(kb.b.or_(kb.b.not_(first), keep), I64)
            b_block = kb.gep(b_base, kb.add(kb.b.mul(pc, b_rs), jc), name="B.block")
            with kb.loop(0, m, step=mcb, name="ic") as ic:
                mc = kb.min(kb.sub(m, ic), mcb)
                ap = share.block(kb, pc, ic, kc, ws)

                def pack_panel(ir_: ir.Value) -> None:
                    kb.b.call(pack_a, [a_ctx, kb.gep(ap, kb.mul(ir_, kc)), kb.add(ic, ir_),
                                       kb.min(kb.sub(mc, ir_), mr), pc, kc])

                with kb.b.if_else(share.on) as (together, alone):
                    with together:
                        share.pack(kb, kb.b.sdiv(pc, kstep), ic, mc, pack_panel)
                    with alone, kb.loop(0, mc, step=mr, name="pa") as ir_:
                        pack_panel(ir_)
                _tiles(kb, ukernels, ty, mr, nr, ap, bp, tile, c, ldc, ic, mc, jc, nc, kc,
                       accumulate, direct, b_block, b_rs)
    share.finish(kb, kblocks)
    kb.b.ret_void()


def _tiles(kb: KernelBuilder, ukernels: list[ir.Function], ty: ir.Type, mr: int, nr: int,
           ap: ir.Value, bp: ir.Value, tile: ir.Value, c: ir.Value, ldc: ir.Value,
           ic: ir.Value, mc: ir.Value, jc: ir.Value, nc: ir.Value, kc: ir.Value,
           accumulate: ir.Value, direct: ir.Value, b_block: ir.Value, b_rs: ir.Value) -> None:
    """Every micro-tile of the block: whole columns straight into C (the last row panel by the
    kernel for its row count), partial column panels through the tile buffer."""
    with kb.loop(0, nc, step=nr, name="jr") as jr, kb.loop(0, mc, step=mr, name="ir") as ir_:
        a_panel = kb.gep(ap, kb.mul(ir_, kc))
        rows = kb.min(kb.sub(mc, ir_), mr)
        cols = kb.min(kb.sub(nc, jr), nr)
        in_place = kb.b.and_(direct, kb.b.icmp_signed("==", cols, kb.i64(nr)))
        b_panel = kb.b.select(in_place, kb.gep(b_block, jr), kb.gep(bp, kb.mul(jr, kc)))
        ldb = kb.b.select(in_place, b_rs, kb.i64(nr))
        origin = kb.add(kb.b.mul(kb.add(ic, ir_), ldc), kb.add(jc, jr))
        whole_cols = kb.b.icmp_signed("==", cols, kb.i64(nr))
        with kb.b.if_else(whole_cols) as (whole, edge):
            with whole:
                done = kb.fn.append_basic_block("rows.done")
                cases = [kb.fn.append_basic_block(f"rows.{r}") for r in range(1, mr + 1)]
                switch = kb.b.switch(rows, cases[-1])
                for r, block in enumerate(cases[:-1], start=1):
                    switch.add_case(kb.i64(r), block)
                for r, block in enumerate(cases, start=1):
                    kb.b.position_at_end(block)
                    kb.b.call(ukernels[r - 1], [kc, a_panel, b_panel, ldb, kb.gep(c, origin),
                                                ldc, accumulate])
                    kb.b.branch(done)
                kb.b.position_at_end(done)
            with edge:
                kb.b.call(ukernels[-1], [kc, a_panel, b_panel, ldb, tile, kb.i64(nr),
                                         kb.i64(0)])
                add = kb.b.icmp_signed("!=", accumulate, kb.i64(0))
                with kb.loop(0, rows, name="er") as r, kb.loop(0, cols, name="ec") as col:
                    at = kb.add(origin, kb.add(kb.b.mul(r, ldc), col))
                    value = kb.load(tile, kb.add(kb.mul(r, nr), col))
                    old = kb.b.select(add, kb.load(c, at), ir.Constant(ty, 0.0))
                    kb.store(kb.b.fadd(old, value), c, at)


def _strided_pack(module: ir.Module, target: CodegenTarget, dtype: str, ty: ir.Type,
                  which: str) -> None:
    """Packs a panel of a strided matrix: element (r, c) at base[r*rs + c*cs].

    Packing runs once per element of every operand (and for convolutions once per im2col
    element), so full panels take branch-free paths: a vector copy per k when the panel's
    elements are contiguous, otherwise one unit-stride run per panel column. Only edge panels
    (fewer than MR/NR valid columns) check every element.
    """
    mr, nr = target.micro_tile(dtype)
    width = mr if which == "a" else nr
    fn = ir.Function(module, pack_type(ty), f"netc_pack_{which}_strided_{dtype}")
    for arg, name in zip(fn.args, PACK_FN[which], strict=True):
        arg.name = name
    kb = KernelBuilder(module, fn)
    view = kb.b.bitcast(fn.args[0], I64.as_pointer())
    base = kb.b.inttoptr(kb.load(view, 0), ty.as_pointer(), name="base")
    rs, cs = kb.load(view, 1, name="rs"), kb.load(view, 2, name="cs")
    dst = fn.args[1]
    if which == "a":
        _, _, i0, count, k0, kc = fn.args
        k_stride, w_stride, k_origin, w_origin = cs, rs, k0, i0
    else:
        _, _, k0, kc, j0, count = fn.args
        k_stride, w_stride, k_origin, w_origin = rs, cs, k0, j0
    src = kb.gep(base, kb.add(kb.b.mul(k_origin, k_stride), kb.b.mul(w_origin, w_stride)),
                 name="src")
    full = kb.b.icmp_signed("==", count, kb.i64(width))
    unit_w = kb.b.icmp_signed("==", w_stride, kb.i64(1))
    unit_k = kb.b.icmp_signed("==", k_stride, kb.i64(1))
    vty = ir.VectorType(ty, width)
    with kb.b.if_else(kb.b.and_(full, unit_w)) as (rows, other):
        with rows, kb.loop(0, kc, name="k") as k:  # each k: `width` contiguous elements
            kb.vstore(kb.vload(src, kb.b.mul(k, k_stride), vty), dst, kb.mul(k, width))
        with other, kb.b.if_else(unit_k) as (k_fast, general):
            with k_fast, kb.b.if_else(full) as (whole, edge):  # panel columns run along k
                with whole:
                    _transposing_pack(kb, ty, src, w_stride, dst, width, kc, target.lanes(dtype))
                with edge:
                    _column_pack(kb, ty, src, w_stride, dst, count, width, kc)
            with general:
                with kb.loop(0, kc, name="k") as k:
                    row = kb.gep(src, kb.b.mul(k, k_stride))
                    with kb.loop(0, count, name="w") as w:
                        kb.store(kb.load(row, kb.b.mul(w, w_stride)), dst,
                                 kb.add(kb.mul(k, width), w))
                _zero_columns(kb, ty, dst, count, width, kc)
    kb.b.ret_void()


def _column_pack(kb: KernelBuilder, ty: ir.Type, src: ir.Value, w_stride: ir.Value,
                 dst: ir.Value, count: ir.Value, width: int, kc: ir.Value) -> None:
    """dst[k][w] = src[w*w_stride + k] one element at a time (edge panels), zero-padded."""
    with kb.loop(0, count, name="w") as w:
        column = kb.gep(src, kb.b.mul(w, w_stride))
        with kb.loop(0, kc, name="k") as k:
            kb.store(kb.load(column, k), dst, kb.add(kb.mul(k, width), w))
    _zero_columns(kb, ty, dst, count, width, kc)


def _transposing_pack(kb: KernelBuilder, ty: ir.Type, src: ir.Value, w_stride: ir.Value,
                      dst: ir.Value, width: int, kc: ir.Value, lanes: int) -> None:
    """dst[k][w] = src[w*w_stride + k] for a whole panel: per `size` values of k and `size`
    columns, one vector load per column, a transpose in registers, one vector store per k
    (the weights of every dense and convolution layer are packed this way, once per call).
    `size` is the widest power of two that divides the panel (MR = 12: 4 x 4 blocks), so no
    lane is wasted and no store is partial: a 16 x 16 transpose of 12 columns cost LLVM
    twice the shuffles and split every store. A panel no such block of 4 or more divides
    (MR = 6) transposes `lanes` wide, zeros in the missing columns, and stores only the
    columns that exist."""
    size = min(lanes, width & -width)
    if size < 4:
        size = lanes
    vty = ir.VectorType(ty, size)
    main = kb.b.and_(kc, kb.i64(-size), name="kmain")
    zero = ir.Constant(vty, [0.0] * size)
    with kb.loop(0, main, step=size, name="kv") as k:
        for g in range(0, width, size):
            count = min(size, width - g)
            columns = [kb.vload(kb.gep(src, kb.b.mul(kb.i64(g + i), w_stride)), k, vty)
                       if i < count else zero for i in range(size)]
            for j, row in enumerate(kb.transpose(columns)):
                if count < size:
                    mask = ir.Constant(ir.VectorType(ir.IntType(32), count), list(range(count)))
                    row = kb.b.shuffle_vector(row, row, mask)
                kb.vstore(row, dst, kb.add(kb.mul(kb.add(k, j), width), g))
    with kb.loop(main, kc, name="kt") as k, kb.loop(0, width, name="w") as w:
        kb.store(kb.load(src, kb.add(kb.b.mul(w, w_stride), k)), dst,
                 kb.add(kb.mul(k, width), w))


def _zero_columns(kb: KernelBuilder, ty: ir.Type, dst: ir.Value, count: ir.Value, width: int,
                  kc: ir.Value) -> None:
    """dst[k][count:width] = 0: an edge panel's padding, which the micro-kernel multiplies."""
    with kb.loop(0, kc, name="zk") as k, kb.loop(count, width, name="zw") as w:
        kb.store(ir.Constant(ty, 0.0), dst, kb.add(kb.mul(k, width), w))
