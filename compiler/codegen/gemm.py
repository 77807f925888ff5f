"""The GEMM micro-kernel: MR x NR accumulators in vector registers over packed panels.

Where it sits: compiler/codegen/library.py builds the blocked GEMM around it (packing into the
thread's workspace, zero-padded to whole micro-panels, full tiles straight into C, edge tiles
through a tile buffer). Per k the kernel loads two vectors of B (NR = 2 vectors, sized from the
host's vector width), broadcasts MR elements of A and issues MR x 2 fused multiply-adds, the
accumulators carried in phi nodes so they stay in registers. B is a packed panel or, when the
caller allows it, rows of the unpacked matrix read in place (see library.py).
"""

from __future__ import annotations

import llvmlite.ir as ir

from compiler.codegen.kernel_builder import I64, VOID, KernelBuilder


def micro_kernel(module: ir.Module, shared: dict[str, ir.Function], ty: ir.Type, mr: int,
                 nr: int, lanes: int, rows: int | None = None) -> ir.Function:
    """ukernel(kc, A, B, ldb, C, ldc, accumulate): C[mr x nr] (+)= Ap[kc x mr]^T B[kc x nr],
    row k of B at B + k*ldb (a packed panel: ldb = nr; a row-major matrix used in place: its
    row stride). With `rows` < mr: a kernel for the last row panel of A, computing and storing
    only its first `rows` rows (the panel is still packed mr wide)."""
    rows = mr if rows is None else rows
    name = f"netc.ukernel.{'f32' if ty == ir.FloatType() else 'f64'}.{rows}of{mr}x{nr}"
    if name in shared:
        return shared[name]
    vty = ir.VectorType(ty, lanes)
    nv = nr // lanes
    ptr = ty.as_pointer()
    fn = ir.Function(module, ir.FunctionType(VOID, [I64, ptr, ptr, I64, ptr, I64, I64]), name)
    fn.linkage = "internal"
    for i in (1, 2, 4):
        fn.args[i].add_attribute("noalias")
    kc, a, b, ldb, c, ldc, accumulate = fn.args
    for arg, n in zip(fn.args, ("kc", "Ap", "B", "ldb", "C", "ldc", "accumulate"), strict=True):
        arg.name = n
    kb = KernelBuilder(module, fn)
    loop = fn.append_basic_block("k.loop")
    done = fn.append_basic_block("k.done")
    zero = ir.Constant(vty, [0.0] * lanes)
    _prefetch_tile(kb, c, ldc, rows, nv, lanes)
    kb.b.cbranch(kb.b.icmp_signed(">", kc, kb.i64(0)), loop, done)
    entry = kb.b.block
    kb.b.position_at_end(loop)
    k = kb.b.phi(I64, name="k")
    acc = [[kb.b.phi(vty, name=f"c{r}.{v}") for v in range(nv)] for r in range(rows)]
    brow = kb.b.mul(k, ldb)
    bvec = [kb.vload(b, kb.add(brow, v * lanes), vty, name=f"b{v}") for v in range(nv)]
    new = []
    for r in range(rows):
        av = kb.splat(kb.load(a, kb.add(kb.mul(k, mr), r), name=f"a{r}"), vty)
        new.append([kb.fma(av, bvec[v], acc[r][v]) for v in range(nv)])
    k_next = kb.add(k, 1)
    kb.b.cbranch(kb.b.icmp_signed("<", k_next, kc), loop, done)
    k.add_incoming(kb.i64(0), entry)
    k.add_incoming(k_next, loop)
    for r in range(rows):
        for v in range(nv):
            acc[r][v].add_incoming(zero, entry)
            acc[r][v].add_incoming(new[r][v], loop)
    kb.b.position_at_end(done)
    final = [[kb.b.phi(vty, name=f"t{r}.{v}") for v in range(nv)] for r in range(rows)]
    for r in range(rows):
        for v in range(nv):
            final[r][v].add_incoming(zero, entry)
            final[r][v].add_incoming(new[r][v], loop)
    _store_tile(kb, final, c, ldc, accumulate, vty)
    kb.b.ret_void()
    shared[name] = fn
    return fn


def _prefetch_tile(kb: KernelBuilder, c: ir.Value, ldc: ir.Value, rows: int, nv: int,
                   lanes: int) -> None:
    """Asks for the C tile's cache lines (for writing) before the k loop: the loop runs long
    enough to hide their misses, which otherwise stall the stores at its end, once per tile."""
    for r in range(rows):
        row = kb.mul(ldc, r)
        for v in range(nv):
            kb.prefetch(kb.gep(c, kb.add(row, v * lanes)), write=True)


def _store_tile(kb: KernelBuilder, tile: list[list[ir.Value]], c: ir.Value, ldc: ir.Value,
                accumulate: ir.Value, vty: ir.VectorType) -> None:
    """C rows (+)= the accumulators, one vector at a time."""
    zero = ir.Constant(vty, [0.0] * vty.count)
    add = kb.b.icmp_signed("!=", accumulate, kb.i64(0))
    for r, row_vectors in enumerate(tile):
        row = kb.mul(ldc, r)
        for v, acc in enumerate(row_vectors):
            at = kb.add(row, v * vty.count)
            old = kb.b.select(add, kb.vload(c, at, vty), zero)
            kb.vstore(kb.b.fadd(old, acc), c, at)
