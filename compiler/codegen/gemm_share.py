"""Packing A once for every task of a GEMM: the tasks share one packed copy of A.

Where it sits: inside the library GEMM (compiler/codegen/library.py), switched on per call by
the dense emitter (compiler/codegen/emitters/contraction.py) when a layer's columns are split
into tasks. Each task computes C[:, j0:j1] for its own columns but needs all of A, so without
sharing every task packs all of A again: at 512^3 on 2 threads packing A was about a tenth of
the GEMM's time, half of it repeated. With sharing, A is packed into one buffer of the arena's
workspace (`shared_a`, every K block's micro-panels in the order the tiles read them) and each
micro-panel is packed by whichever task claims it first:

    flag 0 (free) --claim (compare-and-swap)--> 1 (being packed) --packed (release)--> 2 (ready)

A task claims and packs the free panels of the block it is about to multiply, then waits for
the panels another task claimed (acquire): it only ever waits for a panel a running task is
packing, which waits for nothing, so the protocol cannot deadlock even when the pool runs every
task on one thread (the first then packs every panel and the others find them ready).

The flags are globals of the library, zero at the start of every call: the last task to finish
(it counts `sharers`, the call's number of tasks) clears them. One GEMM runs at a time in a
process (a network's native call holds NATIVE_LOCK, a bundle's calls hold its library's lock,
and the kernels of a call run one after another), so one set of flags serves every call.
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.ir as ir

from compiler.codegen.kernel_builder import I64, VOID, KernelBuilder
from compiler.codegen.target import CodegenTarget
from ir.memory import align

FLAGS = 4096
"""Micro-panels (over every K block) a shared A may have: a GEMM with more packs A per task."""
MAX_BYTES = 8 << 20
"""The largest packed A that is shared: the buffer is part of the arena's workspace."""
I32 = ir.IntType(32)
FREE, PACKING, READY = 0, 1, 2
SPINS_BEFORE_YIELD = 1 << 12
"""Pauses before a waiting task gives its core away (the packer may have been preempted)."""
SCHED_YIELD = 24
"""x86-64 Linux's sched_yield system call."""


def shared_a_bytes(target: CodegenTarget, dtype: str, m: int, k: int) -> int:
    """Bytes of the packed copy of an m x k A that the tasks of one GEMM share (every row
    panel padded to MR rows, every K block), or 0 when it would be too large to share."""
    mr, _ = target.micro_tile(dtype)
    _, kcb, _ = target.blocking(dtype)
    panels = -(-m // mr)
    kblocks = max(-(-k // kcb), 1)
    nbytes = align(panels * mr * k * (4 if dtype == "f32" else 8))
    if panels * kblocks > FLAGS or nbytes > MAX_BYTES:
        return 0
    return nbytes


class SharedA:
    """The sharing protocol inside one library GEMM function (see the module docstring).
    `shared` is the call's shared buffer (an i64 address; 0: every task packs its own A into
    its workspace, as without sharing), `sharers` the number of tasks of the call."""

    def __init__(self, kb: KernelBuilder, dtype: str, ty: ir.Type, m: ir.Value, mr: int,
                 shared: ir.Value, sharers: ir.Value) -> None:
        module = kb.fn.module
        self.flags = _global(module, f"netc_gemm_{dtype}_shared_flags", ir.ArrayType(I32, FLAGS))
        self.done = _global(module, f"netc_gemm_{dtype}_shared_done", I64)
        self.mr = mr
        self.on = kb.b.icmp_signed("!=", shared, kb.i64(0), name="shared")
        self.base = kb.b.inttoptr(shared, ty.as_pointer(), name="Ashared")
        self.sharers = sharers
        self.panels = kb.b.sdiv(kb.add(m, mr - 1), kb.i64(mr), name="panels")
        self.rows = kb.mul(self.panels, mr)
        self.pause = None
        self.syscall = None
        if module.triple.startswith("x86_64"):
            self.pause = _declare(module, "llvm.x86.sse2.pause", ir.FunctionType(VOID, []))
            self.syscall = _declare(module, "syscall", ir.FunctionType(I64, [I64], var_arg=True))

    def block(self, kb: KernelBuilder, pc: ir.Value, ic: ir.Value, kc: ir.Value,
              own: ir.Value) -> ir.Value:
        """Where the packed A block of rows ic.. and K block pc.. lives: in the shared buffer
        (K block pc at pc * padded rows, its row panels kc apart) or the task's own `own`."""
        offset = kb.add(kb.b.mul(pc, self.rows), kb.b.mul(ic, kc))
        return kb.b.select(self.on, kb.gep(self.base, offset), own, name="Ap.block")

    def pack(self, kb: KernelBuilder, kblock: ir.Value, ic: ir.Value, mc: ir.Value,
             pack_panel: Callable[[ir.Value], None]) -> None:
        """Packs the free panels of the block (`pack_panel(row offset in the block)`), then
        waits until every panel of it is ready."""
        first = kb.add(kb.b.mul(kblock, self.panels), kb.b.sdiv(ic, kb.i64(self.mr)))
        with kb.loop(0, mc, step=self.mr, name="claim") as r:
            flag = self._flag(kb, self._panel(kb, first, r))
            pair = kb.b.cmpxchg(flag, ir.Constant(I32, FREE), ir.Constant(I32, PACKING),
                                "acq_rel", "acquire")
            with kb.if_(kb.b.extract_value(pair, 1)):
                pack_panel(r)
                kb.b.store_atomic(ir.Constant(I32, READY), flag, "release", 4)
        with kb.loop(0, mc, step=self.mr, name="await") as r:
            self._await(kb, self._flag(kb, self._panel(kb, first, r)))

    def finish(self, kb: KernelBuilder, kblocks: ir.Value) -> None:
        """Counts this task done; the call's last task clears the flags for the next call."""
        with kb.if_(self.on):
            before = kb.b.atomic_rmw("add", self.done, kb.i64(1), "acq_rel")
            with kb.if_(kb.b.icmp_signed("==", kb.add(before, 1), self.sharers)):
                with kb.loop(0, kb.b.mul(kblocks, self.panels), name="clear") as i:
                    kb.b.store_atomic(ir.Constant(I32, FREE), self._flag(kb, i),
                                      "monotonic", 4)
                kb.b.store_atomic(kb.i64(0), self.done, "release", 8)

    def _panel(self, kb: KernelBuilder, first: ir.Value, row: ir.Value) -> ir.Value:
        """The flag index of the panel `row` rows into a block whose first panel is `first`."""
        return kb.add(first, kb.b.sdiv(row, kb.i64(self.mr)))

    def _flag(self, kb: KernelBuilder, index: ir.Value) -> ir.Value:
        return kb.b.gep(self.flags, [kb.i64(0), index])

    def _await(self, kb: KernelBuilder, flag: ir.Value) -> None:
        """Spins (with pause, giving the core away now and then) until `flag` is READY."""
        b = kb.b
        pre = b.block
        check = kb.fn.append_basic_block("await.check")
        spin = kb.fn.append_basic_block("await.spin")
        ready = kb.fn.append_basic_block("await.ready")
        b.branch(check)
        b.position_at_end(check)
        spins = b.phi(I64, name="spins")
        spins.add_incoming(kb.i64(0), pre)
        state = b.load_atomic(flag, "acquire", 4)
        b.cbranch(b.icmp_signed("==", state, ir.Constant(I32, READY)), ready, spin)
        b.position_at_end(spin)
        if self.pause is not None and self.syscall is not None:
            b.call(self.pause, [])
            with kb.if_(b.icmp_signed("==", b.and_(spins, kb.i64(SPINS_BEFORE_YIELD - 1)),
                                      kb.i64(SPINS_BEFORE_YIELD - 1))):
                b.call(self.syscall, [kb.i64(SCHED_YIELD)])
        spins.add_incoming(b.add(spins, kb.i64(1)), b.block)
        b.branch(check)
        b.position_at_end(ready)


def _global(module: ir.Module, name: str, ty: ir.Type) -> ir.GlobalVariable:
    existing = module.globals.get(name)
    if isinstance(existing, ir.GlobalVariable):
        return existing
    var = ir.GlobalVariable(module, ty, name)
    var.initializer = ir.Constant(ty, None)
    var.linkage = "internal"
    var.align = 64
    return var


def _declare(module: ir.Module, name: str, fnty: ir.FunctionType) -> ir.Function:
    existing = module.globals.get(name)
    if isinstance(existing, ir.Function):
        return existing
    return ir.Function(module, fnty, name)
