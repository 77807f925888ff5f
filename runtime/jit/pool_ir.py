"""The native thread pool's LLVM IR: what runtime/jit/pool.py compiles once per machine and starts.

Where it sits: every compiled network calls `netc_parallel_for(kernel, args, ntasks)` through a
function pointer; the pool runs `kernel(args, task, thread)` for every task over the worker
threads and the calling thread, then returns. No Python and no GIL on that path: the workers are
pthreads created by the pool itself; between regions they spin for a few milliseconds on a
generation counter (a training step issues dozens of regions back to back), yielding the core
after the first microseconds, then sleep on a futex.

Protocol. A region is published as a descriptor {seq, fn, ctx, ntasks} in one of two slots and
a 64-bit claim word (generation << 32 | next task). Anyone (the caller included) claims task t by
a compare-and-swap of the claim word from (g, t) to (g, t + 1), after checking t < ntasks with a
descriptor whose seq is g. The caller returns as soon as `done` reaches ntasks: it never waits
for a worker that the OS has not scheduled (on a busy machine that wait cost milliseconds per
region). A worker that wakes late sees a newer generation in the claim word, or a descriptor
with another seq, and claims nothing; a slot is rewritten only two regions later, after the
region that used it has finished.
"""

from __future__ import annotations

import llvmlite.ir as ir

I1 = ir.IntType(1)
I8P = ir.IntType(8).as_pointer()
I32 = ir.IntType(32)
I64 = ir.IntType(64)
KERNEL_TYPE = ir.FunctionType(ir.VoidType(), [I8P, I64, I64])
SPIN_CYCLES = 10_000_000
"""How long an idle worker spins before sleeping (~3-5 ms of timestamp-counter ticks): longer
than the Python between two network calls, short enough not to burn a core for nothing."""
YIELD_AFTER_CYCLES = 50_000
"""Waits longer than this (~20 us) call sched_yield between checks: when the machine has more
runnable threads than cores, the thread being waited for may be queued behind the waiter on the
same core, and spinning would only delay it."""
SYS_SCHED_YIELD = {"x86_64": 24, "aarch64": 124}
FUTEX_WAIT_PRIVATE = 128
FUTEX_WAKE_PRIVATE = 129
SYS_FUTEX = {"x86_64": 202, "aarch64": 98}
DESCRIPTOR = ir.LiteralStructType([I64, I8P, I8P, I64])  # seq, fn, ctx, ntasks


class _PoolModule:
    """Builds the pool's IR. Globals hold the shared state; functions are named netc_pool_*."""

    def __init__(self, triple: str) -> None:
        self.module = ir.Module("netc_pool")
        self.module.triple = triple
        self.arch = triple.split("-")[0]
        m = self.module
        self.g = {name: self._global(name, ty) for name, ty in (
            ("claim", I64), ("done", I64), ("wake", I32), ("workers", I32), ("sleepers", I32),
            ("gen", I64))}
        self.slots = self._global("slots", ir.ArrayType(DESCRIPTOR, 2))
        self.syscall = ir.Function(m, ir.FunctionType(I64, [I64], var_arg=True), "syscall")
        worker_ty = ir.FunctionType(I8P, [I8P])
        self.pthread_create = ir.Function(
            m, ir.FunctionType(I32, [I64.as_pointer(), I8P, worker_ty.as_pointer(), I8P]),
            "pthread_create")
        self.cycles = ir.Function(m, ir.FunctionType(I64, []), "llvm.readcyclecounter")
        self.pause = None
        if self.arch in ("x86_64", "i686"):
            self.pause = ir.Function(m, ir.FunctionType(ir.VoidType(), []),
                                     "llvm.x86.sse2.pause")
        self.claim_tasks = self._build_claim_tasks()
        self.worker = self._build_worker(worker_ty)
        self._build_parallel_for()
        self._build_start()

    def _global(self, name: str, ty: ir.Type) -> ir.GlobalVariable:
        var = ir.GlobalVariable(self.module, ty, f"netc_pool_{name}")
        var.initializer = ir.Constant(ty, None)
        var.linkage = "internal"
        var.align = 64
        return var

    # ------------------------------------------------------------ helpers

    def _load(self, b: ir.IRBuilder, ptr: ir.Value, align: int = 8) -> ir.Value:
        return b.load_atomic(ptr, "seq_cst", align)

    def _store(self, b: ir.IRBuilder, value: ir.Value, ptr: ir.Value, align: int = 8) -> None:
        b.store_atomic(value, ptr, "seq_cst", align)

    def _add(self, b: ir.IRBuilder, name: str, amount: int) -> ir.Value:
        var = self.g[name]
        return b.atomic_rmw("add", var, ir.Constant(var.value_type, amount), "seq_cst")

    def _field(self, b: ir.IRBuilder, slot: ir.Value, index: int) -> ir.Value:
        return b.gep(slot, [ir.Constant(I32, 0), ir.Constant(I32, index)])

    def _relax(self, b: ir.IRBuilder) -> None:
        if self.pause is not None:
            b.call(self.pause, [])

    def _wait_a_little(self, b: ir.IRBuilder, waited: ir.Value) -> None:
        """One step of a busy wait: a pause, or after YIELD_AFTER_CYCLES a sched_yield."""
        number = SYS_SCHED_YIELD.get(self.arch)
        if number is None:
            self._relax(b)
            return
        long_wait = b.icmp_unsigned(">", waited, ir.Constant(I64, YIELD_AFTER_CYCLES))
        with b.if_else(long_wait) as (give_way, spin):
            with give_way:
                b.call(self.syscall, [ir.Constant(I64, number)])
            with spin:
                self._relax(b)

    def _futex(self, b: ir.IRBuilder, op: int, value: ir.Value) -> None:
        number = SYS_FUTEX.get(self.arch)
        if number is None:
            return  # no futex here: pure spinning (still correct)
        addr = b.ptrtoint(self.g["wake"], I64)
        b.call(self.syscall, [ir.Constant(I64, number), addr, ir.Constant(I64, op),
                              b.zext(value, I64), ir.Constant(I64, 0), ir.Constant(I64, 0),
                              ir.Constant(I64, 0)])

    # ------------------------------------------------------------ functions

    def _build_claim_tasks(self) -> ir.Function:
        """claim_tasks(gen, tid): runs tasks of region `gen` until none is left (or the region
        is gone)."""
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [I64, I64]),
                         "netc_pool_claim_tasks")
        fn.linkage = "internal"
        gen, tid = fn.args
        blocks = {n: fn.append_basic_block(n) for n in
                  ("entry", "snap", "claim", "try", "run", "done")}
        b = ir.IRBuilder(blocks["entry"])
        slot = b.gep(self.slots, [ir.Constant(I64, 0), b.and_(gen, ir.Constant(I64, 1))])
        b.branch(blocks["snap"])
        b.position_at_end(blocks["snap"])
        seq1 = self._load(b, self._field(b, slot, 0))
        kernel = self._load(b, self._field(b, slot, 1))
        ctx = self._load(b, self._field(b, slot, 2))
        ntasks = self._load(b, self._field(b, slot, 3))
        seq2 = self._load(b, self._field(b, slot, 0))
        fresh = b.and_(b.icmp_unsigned("==", seq1, gen), b.icmp_unsigned("==", seq2, gen))
        b.cbranch(fresh, blocks["claim"], blocks["done"])

        b.position_at_end(blocks["claim"])
        word = self._load(b, self.g["claim"])
        same = b.icmp_unsigned("==", b.lshr(word, ir.Constant(I64, 32)), gen)
        task = b.and_(word, ir.Constant(I64, 0xFFFFFFFF))
        b.cbranch(b.and_(same, b.icmp_signed("<", task, ntasks)), blocks["try"], blocks["done"])

        b.position_at_end(blocks["try"])
        swapped = b.cmpxchg(self.g["claim"], word, b.add(word, ir.Constant(I64, 1)), "seq_cst",
                            "seq_cst")
        b.cbranch(b.extract_value(swapped, 1), blocks["run"], blocks["claim"])

        b.position_at_end(blocks["run"])
        b.call(b.bitcast(kernel, KERNEL_TYPE.as_pointer()), [ctx, task, tid])
        self._add(b, "done", 1)
        b.branch(blocks["claim"])

        b.position_at_end(blocks["done"])
        b.ret_void()
        return fn

    def _build_worker(self, worker_ty: ir.FunctionType) -> ir.Function:
        fn = ir.Function(self.module, worker_ty, "netc_pool_worker")
        fn.linkage = "internal"
        blocks = {n: fn.append_basic_block(n) for n in
                  ("entry", "wait", "spin", "sleep", "got")}
        b = ir.IRBuilder(blocks["entry"])
        tid = b.ptrtoint(fn.args[0], I64, name="tid")
        seen = b.alloca(I64, name="seen")
        since = b.alloca(I64, name="since")
        b.store(self._load(b, self.g["gen"]), seen)
        b.store(b.call(self.cycles, []), since)
        b.branch(blocks["wait"])

        b.position_at_end(blocks["wait"])
        gen = self._load(b, self.g["gen"])
        b.cbranch(b.icmp_unsigned("!=", gen, b.load(seen)), blocks["got"], blocks["spin"])

        b.position_at_end(blocks["spin"])
        spun = b.sub(b.call(self.cycles, []), b.load(since))
        do_spin = fn.append_basic_block("do_spin")
        b.cbranch(b.icmp_unsigned("<", spun, ir.Constant(I64, SPIN_CYCLES)), do_spin,
                  blocks["sleep"])
        b.position_at_end(do_spin)
        self._wait_a_little(b, spun)
        b.branch(blocks["wait"])

        b.position_at_end(blocks["sleep"])
        ticket = self._load(b, self.g["wake"], 4)
        self._add(b, "sleepers", 1)
        unchanged = b.icmp_unsigned("==", self._load(b, self.g["gen"]), b.load(seen))
        with b.if_then(unchanged):
            self._futex(b, FUTEX_WAIT_PRIVATE, ticket)
        self._add(b, "sleepers", -1)
        b.store(b.call(self.cycles, []), since)
        b.branch(blocks["wait"])

        b.position_at_end(blocks["got"])
        b.store(gen, seen)
        b.call(self.claim_tasks, [gen, tid])
        b.store(b.call(self.cycles, []), since)
        b.branch(blocks["wait"])
        return fn

    def _build_parallel_for(self) -> None:
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [I8P, I8P, I64]),
                         "netc_parallel_for")
        kernel, ctx, ntasks = fn.args
        blocks = {n: fn.append_basic_block(n) for n in
                  ("entry", "serial", "serial_loop", "serial_done", "parallel", "wake", "run",
                   "wait", "finished")}
        b = ir.IRBuilder(blocks["entry"])
        workers = self._load(b, self.g["workers"], 4)
        no_workers = b.icmp_unsigned("==", workers, ir.Constant(I32, 0))
        one_task = b.icmp_signed("<=", ntasks, ir.Constant(I64, 1))
        b.cbranch(b.or_(no_workers, one_task), blocks["serial"], blocks["parallel"])

        b.position_at_end(blocks["serial"])
        counter = b.alloca(I64, name="t")
        b.store(ir.Constant(I64, 0), counter)
        b.branch(blocks["serial_loop"])
        b.position_at_end(blocks["serial_loop"])
        t = b.load(counter)
        with b.if_then(b.icmp_signed("<", t, ntasks)):
            b.call(b.bitcast(kernel, KERNEL_TYPE.as_pointer()), [ctx, t, ir.Constant(I64, 0)])
            b.store(b.add(t, ir.Constant(I64, 1)), counter)
        b.cbranch(b.icmp_signed("<", t, ntasks), blocks["serial_loop"], blocks["serial_done"])
        b.position_at_end(blocks["serial_done"])
        b.ret_void()

        b.position_at_end(blocks["parallel"])
        gen = b.add(self._load(b, self.g["gen"]), ir.Constant(I64, 1), name="gen")
        slot = b.gep(self.slots, [ir.Constant(I64, 0), b.and_(gen, ir.Constant(I64, 1))])
        self._store(b, ir.Constant(I64, 0), self._field(b, slot, 0))  # invalid while written
        self._store(b, kernel, self._field(b, slot, 1))
        self._store(b, ctx, self._field(b, slot, 2))
        self._store(b, ntasks, self._field(b, slot, 3))
        self._store(b, gen, self._field(b, slot, 0))
        self._store(b, ir.Constant(I64, 0), self.g["done"])
        self._store(b, b.shl(gen, ir.Constant(I64, 32)), self.g["claim"])
        self._store(b, gen, self.g["gen"])
        self._add(b, "wake", 1)
        sleepers = self._load(b, self.g["sleepers"], 4)
        b.cbranch(b.icmp_unsigned("!=", sleepers, ir.Constant(I32, 0)), blocks["wake"],
                  blocks["run"])
        b.position_at_end(blocks["wake"])
        self._futex(b, FUTEX_WAKE_PRIVATE, ir.Constant(I32, 0x7FFFFFFF))
        b.branch(blocks["run"])

        b.position_at_end(blocks["run"])
        b.call(self.claim_tasks, [gen, ir.Constant(I64, 0)])
        started = b.call(self.cycles, [], name="started")
        b.branch(blocks["wait"])
        b.position_at_end(blocks["wait"])
        finished = b.icmp_signed("==", self._load(b, self.g["done"]), ntasks)
        with b.if_then(b.not_(finished)):
            self._wait_a_little(b, b.sub(b.call(self.cycles, []), started))
        b.cbranch(finished, blocks["finished"], blocks["wait"])
        b.position_at_end(blocks["finished"])
        b.ret_void()

    def _build_start(self) -> None:
        fn = ir.Function(self.module, ir.FunctionType(I32, [I32]), "netc_pool_start")
        count = fn.args[0]
        entry, loop, body, done = (fn.append_basic_block(n) for n in
                                   ("entry", "loop", "body", "done"))
        b = ir.IRBuilder(entry)
        handle = b.alloca(I64, name="handle")
        i = b.alloca(I32, name="i")
        b.store(ir.Constant(I32, 0), i)
        b.branch(loop)
        b.position_at_end(loop)
        k = b.load(i)
        b.cbranch(b.icmp_signed("<", k, count), body, done)
        b.position_at_end(body)
        tid = b.inttoptr(b.zext(b.add(k, ir.Constant(I32, 1)), I64), I8P)
        rc = b.call(self.pthread_create, [handle, ir.Constant(I8P, None), self.worker, tid])
        with b.if_then(b.icmp_signed("!=", rc, ir.Constant(I32, 0))):
            b.ret(b.load(i))  # could not start more threads: run with what we have
        self._add(b, "workers", 1)
        b.store(b.add(k, ir.Constant(I32, 1)), i)
        b.branch(loop)
        b.position_at_end(done)
        b.ret(b.load(i))


def pool_module(triple: str) -> ir.Module:
    """The IR of the pool (exports netc_parallel_for and netc_pool_start)."""
    return _PoolModule(triple).module


class _LimitedPoolModule(_PoolModule):
    """The pool with a thread limit, for ahead-of-time bundles (compiler/bundle/): a thread
    whose index is at least the limit claims no task, so `netc_pool_set_limit(n)` makes a
    started pool run every region on n threads (the caller and workers 1..n-1)."""

    def _build_claim_tasks(self) -> ir.Function:
        inner = super()._build_claim_tasks()
        limit = self._global("limit", I64)
        limit.initializer = ir.Constant(I64, 1 << 30)
        fn = ir.Function(self.module, inner.function_type, "netc_pool_claim_limited")
        fn.linkage = "internal"
        gen, tid = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        with b.if_then(b.icmp_unsigned("<", tid, self._load(b, limit))):
            b.call(inner, [gen, tid])
        b.ret_void()
        setter = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [I64]),
                             "netc_pool_set_limit")
        b = ir.IRBuilder(setter.append_basic_block("entry"))
        self._store(b, setter.args[0], limit)
        b.ret_void()
        return fn


def limited_pool_module(triple: str) -> ir.Module:
    """The IR of the pool with a thread limit (exports netc_parallel_for, netc_pool_start and
    netc_pool_set_limit): what a bundle links in."""
    return _LimitedPoolModule(triple).module
