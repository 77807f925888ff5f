"""The one owner of LLVM in a process: target machine, optimization, machine code, engines.

Where it sits: codegen (compiler/codegen) produces LLVM IR text; this module verifies it, runs
O3 through the new pass manager for the host CPU name and features, emits the object code (which
the compile cache stores) and loads objects into MCJIT engines that live as long as the process,
so function pointers handed to ctypes stay valid. The stages themselves are llvm_worker's, which
a helper process (runtime/jit/scheduler.py) runs the same way.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import llvmlite
import llvmlite.binding as llvm

from ir.errors import CompileError
from runtime.jit import llvm_worker
from runtime.jit.host import VECTOR_WIDTHS, HostTarget, vector_bits_override

__all__ = ["LLVM_LOCK", "VECTOR_WIDTHS", "Engine", "HostTarget", "Loaded", "rejected",
           "timestamp_hz", "vector_bits_override"]

LLVM_LOCK = threading.RLock()
"""Held by every use of llvmlite.binding (parsing, optimizing, emitting, loading machine code):
LLVM's global context and MCJIT are not thread-safe, and two threads compiling networks at once
crashed the process inside LLVM. Generating IR text (llvmlite.ir, pure Python) needs no lock."""


def rejected(name: str, message: str) -> CompileError:
    """The error of a generated module LLVM refused (a bug in codegen, reported as such)."""
    return CompileError(f"LLVM rejected the generated module '{name}': {message}")


class Engine:
    """Process-wide LLVM state. Use `Engine.get()`."""

    _instance: Engine | None = None

    def __init__(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        self.host = HostTarget(llvm.get_process_triple(), llvm.get_host_cpu_name(),
                               llvm.get_host_cpu_features().flatten(), llvmlite.__version__)
        self.machine = llvm_worker.target_machine(self.host.triple, self.host.cpu,
                                                  self.host.features)
        self._engines: list[llvm.ExecutionEngine] = []

    @classmethod
    def get(cls) -> Engine:
        if cls._instance is not None:  # not waiting for the lock a background compile holds
            return cls._instance
        with LLVM_LOCK:
            if cls._instance is None:
                cls._instance = Engine()
            return cls._instance

    # ------------------------------------------------------------ stages

    def parse(self, text: str, name: str = "module") -> llvm.ModuleRef:
        with LLVM_LOCK:
            try:
                return llvm_worker.parse(self.machine, self.host.triple, text)
            except RuntimeError as err:
                raise rejected(name, str(err)) from None

    def optimize(self, mod: llvm.ModuleRef, level: int = 3, unroll: bool = False,
                 machine: llvm.TargetMachine | None = None) -> None:
        """O3 (or `level`), tuned for the host CPU or `machine`, a bundle's target
        (llvm_worker.optimize)."""
        with LLVM_LOCK:
            llvm_worker.optimize(machine or self.machine, mod, level, unroll)

    def emit_object(self, mod: llvm.ModuleRef,
                    machine: llvm.TargetMachine | None = None) -> bytes:
        """Object code for the host (or for `machine`, a bundle's target)."""
        with LLVM_LOCK:
            return bytes((machine or self.machine).emit_object(mod))

    def emit_assembly(self, mod: llvm.ModuleRef) -> str:
        with LLVM_LOCK:
            return str(self.machine.emit_assembly(mod))

    def load_object(self, data: bytes) -> Loaded:
        return self.load_objects([data])

    def load_objects(self, objects: list[bytes]) -> Loaded:
        """Links object files into one fresh engine (they may call each other's exported
        functions); the engine is never freed, so its code stays callable."""
        with LLVM_LOCK:
            engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), self.machine)
            for data in objects:
                engine.add_object_file(llvm.ObjectFileRef.from_data(data))
            engine.finalize_object()
            engine.run_static_constructors()
            self._engines.append(engine)
            return Loaded(engine)


@dataclass
class Loaded:
    """Machine code loaded into the process; addresses of its exported functions."""

    engine: llvm.ExecutionEngine

    def address(self, name: str) -> int:
        with LLVM_LOCK:
            addr = self.engine.get_function_address(name)
        if not addr:
            raise CompileError(f"compiled module has no function '{name}'")
        return int(addr)

    # The annotations name typeshed's classes (lazy: `from __future__ import annotations`).
    def function(self, name: str, restype: type[ctypes._CData] | None,
                 *argtypes: type[ctypes._CData]) -> ctypes._CFunctionType:
        return ctypes.CFUNCTYPE(restype, *argtypes)(self.address(name))


_TIMESTAMP = """
declare i64 @llvm.readcyclecounter()
define i64 @netc_timestamp() {
  %t = call i64 @llvm.readcyclecounter()
  ret i64 %t
}
"""


def timestamp_hz(seconds: float = 0.05) -> float:
    """Ticks per second of the counter NETC_PROFILE's kernels read (llvm.readcyclecounter: the
    TSC on x86, which ticks at a constant rate whatever clock the cores run at), measured
    against time.perf_counter over `seconds`, the median of three."""
    import time

    engine = Engine.get()
    mod = engine.parse(_TIMESTAMP, "netc_timestamp")
    read = engine.load_object(engine.emit_object(mod)).function("netc_timestamp", ctypes.c_int64)
    rates = []
    for _ in range(3):
        t0, c0 = time.perf_counter(), read()
        while time.perf_counter() - t0 < seconds:
            pass
        t1, c1 = time.perf_counter(), read()
        rates.append((c1 - c0) / (t1 - t0))
    return sorted(rates)[1]
