"""A persistent native thread pool, written in LLVM IR and JIT-compiled once per process.

Where it sits: every compiled network calls `netc_parallel_for(kernel, args, ntasks)` through a
function pointer; the pool runs `kernel(args, task, thread)` for every task over the worker
threads and the calling thread, then returns. No Python and no GIL on that path: the workers are
pthreads created by the pool itself; between regions they spin briefly on a generation counter
(a training step issues dozens of regions back to back), then sleep on a futex.

Protocol (all atomics sequentially consistent where ordering between threads matters):
  main:   store fn, ctx, ntasks; next = 0; done = 0; checked = 0; gen += 1; wake sleepers;
          run tasks; wait until done == ntasks and every worker checked in for this gen.
  worker: wait for gen to change; run tasks (t = next++ while t < ntasks); checked += 1.
Waiting for every worker to check in guarantees no worker still touches `next` when the next
region starts.
"""

from __future__ import annotations

import ctypes
import os

import llvmlite.ir as ir

I8P = ir.IntType(8).as_pointer()
I32 = ir.IntType(32)
I64 = ir.IntType(64)
KERNEL_TYPE = ir.FunctionType(ir.VoidType(), [I8P, I64, I64])
SPIN_CYCLES = 10_000_000
"""How long an idle worker spins before sleeping (~3-5 ms of timestamp-counter ticks): longer
than the Python between two network calls, short enough not to burn a core for nothing."""
FUTEX_WAIT_PRIVATE = 128
FUTEX_WAKE_PRIVATE = 129
SYS_FUTEX = {"x86_64": 202, "aarch64": 98}


def thread_count() -> int:
    """NETC_THREADS if set (>= 1), else the CPUs this process may run on."""
    env = os.environ.get("NETC_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n >= 1:
            return min(n, 256)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _PoolModule:
    """Builds the pool's IR. Globals hold the shared state; functions are named netc_pool_*."""

    def __init__(self, triple: str) -> None:
        self.module = ir.Module("netc_pool")
        self.module.triple = triple
        self.arch = triple.split("-")[0]
        m = self.module
        self.g = {
            name: self._global(name, ty)
            for name, ty in (("fn", I8P), ("ctx", I8P), ("ntasks", I64), ("next", I64),
                             ("done", I64), ("gen", I32), ("checked", I32), ("workers", I32),
                             ("stop", I32), ("sleepers", I32))
        }
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
        self.run_tasks = self._build_run_tasks()
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

    def _load(self, b: ir.IRBuilder, name: str) -> ir.Value:
        var = self.g[name]
        return b.load_atomic(var, "seq_cst", 8 if var.value_type == I64 else 4, name=name)

    def _store(self, b: ir.IRBuilder, name: str, value: ir.Value) -> None:
        var = self.g[name]
        b.store_atomic(value, var, "seq_cst", 8 if var.value_type == I64 else 4)

    def _add(self, b: ir.IRBuilder, name: str, amount: int) -> ir.Value:
        var = self.g[name]
        return b.atomic_rmw("add", var, ir.Constant(var.value_type, amount), "seq_cst")

    def _relax(self, b: ir.IRBuilder) -> None:
        if self.pause is not None:
            b.call(self.pause, [])

    def _futex(self, b: ir.IRBuilder, op: int, value: ir.Value) -> None:
        number = SYS_FUTEX.get(self.arch)
        if number is None:
            return  # no futex here: pure spinning (still correct)
        addr = b.ptrtoint(self.g["gen"], I64)
        b.call(self.syscall, [ir.Constant(I64, number), addr, ir.Constant(I64, op),
                              b.zext(value, I64), ir.Constant(I64, 0), ir.Constant(I64, 0),
                              ir.Constant(I64, 0)])

    # ------------------------------------------------------------ functions

    def _build_run_tasks(self) -> ir.Function:
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [I64]),
                         "netc_pool_run_tasks")
        fn.linkage = "internal"
        tid = fn.args[0]
        entry, loop, body, done = (fn.append_basic_block(n) for n in
                                   ("entry", "loop", "body", "done"))
        b = ir.IRBuilder(entry)
        b.branch(loop)
        b.position_at_end(loop)
        task = self._add(b, "next", 1)
        b.cbranch(b.icmp_signed("<", task, self._load(b, "ntasks")), body, done)
        b.position_at_end(body)
        kernel = b.bitcast(self._load(b, "fn"), KERNEL_TYPE.as_pointer())
        b.call(kernel, [self._load(b, "ctx"), task, tid])
        self._add(b, "done", 1)
        b.branch(loop)
        b.position_at_end(done)
        b.ret_void()
        return fn

    def _build_worker(self, worker_ty: ir.FunctionType) -> ir.Function:
        fn = ir.Function(self.module, worker_ty, "netc_pool_worker")
        fn.linkage = "internal"
        blocks = {n: fn.append_basic_block(n) for n in
                  ("entry", "outer", "wait", "check_stop", "spin", "sleep", "got", "exit")}
        b = ir.IRBuilder(blocks["entry"])
        tid = b.ptrtoint(fn.args[0], I64, name="tid")
        seen = b.alloca(I32, name="seen")
        since = b.alloca(I64, name="since")
        b.store(self._load(b, "gen"), seen)
        b.branch(blocks["outer"])

        b.position_at_end(blocks["outer"])
        b.store(b.call(self.cycles, []), since)
        b.branch(blocks["wait"])

        b.position_at_end(blocks["wait"])
        gen = self._load(b, "gen")
        b.cbranch(b.icmp_unsigned("!=", gen, b.load(seen)), blocks["got"], blocks["check_stop"])

        b.position_at_end(blocks["check_stop"])
        stop = self._load(b, "stop")
        b.cbranch(b.icmp_unsigned("!=", stop, ir.Constant(I32, 0)), blocks["exit"],
                  blocks["spin"])

        b.position_at_end(blocks["spin"])
        spun = b.sub(b.call(self.cycles, []), b.load(since))
        do_spin = fn.append_basic_block("do_spin")
        b.cbranch(b.icmp_unsigned("<", spun, ir.Constant(I64, SPIN_CYCLES)), do_spin,
                  blocks["sleep"])
        b.position_at_end(do_spin)
        self._relax(b)
        b.branch(blocks["wait"])

        b.position_at_end(blocks["sleep"])
        self._add(b, "sleepers", 1)
        self._futex(b, FUTEX_WAIT_PRIVATE, b.load(seen))
        self._add(b, "sleepers", -1)
        b.store(b.call(self.cycles, []), since)
        b.branch(blocks["wait"])

        b.position_at_end(blocks["got"])
        b.store(gen, seen)
        b.call(self.run_tasks, [tid])
        self._add(b, "checked", 1)
        b.branch(blocks["outer"])

        b.position_at_end(blocks["exit"])
        b.ret(ir.Constant(I8P, None))
        return fn

    def _build_parallel_for(self) -> None:
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), [I8P, I8P, I64]),
                         "netc_parallel_for")
        kernel, ctx, ntasks = fn.args
        blocks = {n: fn.append_basic_block(n) for n in
                  ("entry", "serial", "serial_loop", "serial_done", "parallel", "wake", "run",
                   "wait", "finished")}
        b = ir.IRBuilder(blocks["entry"])
        workers = self._load(b, "workers")
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
        self._store(b, "fn", kernel)
        self._store(b, "ctx", ctx)
        self._store(b, "ntasks", ntasks)
        self._store(b, "done", ir.Constant(I64, 0))
        self._store(b, "checked", ir.Constant(I32, 0))
        self._store(b, "next", ir.Constant(I64, 0))
        self._add(b, "gen", 1)
        sleepers = self._load(b, "sleepers")
        b.cbranch(b.icmp_unsigned("!=", sleepers, ir.Constant(I32, 0)), blocks["wake"],
                  blocks["run"])
        b.position_at_end(blocks["wake"])
        self._futex(b, FUTEX_WAKE_PRIVATE, ir.Constant(I32, 0x7FFFFFFF))
        b.branch(blocks["run"])

        b.position_at_end(blocks["run"])
        b.call(self.run_tasks, [ir.Constant(I64, 0)])
        b.branch(blocks["wait"])
        b.position_at_end(blocks["wait"])
        all_done = b.icmp_signed("==", self._load(b, "done"), ntasks)
        all_in = b.icmp_unsigned("==", self._load(b, "checked"), workers)
        finished = b.and_(all_done, all_in)
        with b.if_then(b.not_(finished)):
            self._relax(b)
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


class Pool:
    """The process's pool: compiled and started on first use, never stopped."""

    _instance: Pool | None = None

    def __init__(self, threads: int) -> None:
        from runtime.jit.cache import compile_cached
        from runtime.jit.engine import Engine

        engine = Engine.get()
        loaded, _ = compile_cached(str(pool_module(engine.host.triple)), "netc_pool")
        started = loaded.function("netc_pool_start", ctypes.c_int32, ctypes.c_int32)(threads - 1)
        self.threads = int(started) + 1
        self.parallel_for = loaded.address("netc_parallel_for")
        self._loaded = loaded

    @classmethod
    def get(cls) -> Pool:
        if cls._instance is None:
            cls._instance = Pool(thread_count())
        return cls._instance
