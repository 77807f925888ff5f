"""Compiling one LLVM module to object code, the same way in netc's process and in its helper.

Where it sits: under runtime/jit/engine.py (the process's LLVM owner, whose parse, optimize and
emit stages are these functions) and runtime/jit/scheduler.py, which runs `serve` in a helper
process during a cold compile: llvmlite serializes every LLVM call of a process behind one
lock, so a second process is the only way to keep a second core compiling. Both build the
target machine and the pass pipeline here, from the same triple, CPU name and features, so
they emit the same bytes (and the compile cache cannot tell who compiled an object). Imports
llvmlite only: a helper starts in about a tenth of a second.

Protocol of `serve` (stdin -> stdout, little-endian): a request is a u32 length and the
module's UTF-8 text; the reply is b"o", a u64 length, three f64 (seconds to parse, optimize
and emit) and the object code, or b"e", a u64 length and LLVM's error message.
"""

from __future__ import annotations

import struct
import sys
import time
from typing import BinaryIO

import llvmlite.binding as llvm

from runtime.jit.object_format import MACHINE

REQUEST = struct.Struct("<I")
OBJECT = struct.Struct("<Qddd")
ERROR = struct.Struct("<Q")


def target_machine(triple: str, cpu: str, features: str) -> llvm.TargetMachine:
    """The machine code generator netc compiles with (object_format.MACHINE: O3 instruction
    selection, MCJIT's code model)."""
    target = llvm.Target.from_triple(triple)
    return target.create_target_machine(cpu=cpu, features=features, **MACHINE)


def parse(machine: llvm.TargetMachine, triple: str, text: str) -> llvm.ModuleRef:
    """The verified module, for the machine's triple and data layout (RuntimeError from LLVM
    when the text is not valid IR)."""
    mod = llvm.parse_assembly(text)
    mod.verify()
    mod.triple = triple
    mod.data_layout = str(machine.target_data)
    return mod


def optimize(machine: llvm.TargetMachine, mod: llvm.ModuleRef, level: int = 3,
             unroll: bool = False) -> None:
    """O3 (or `level`) with the new pass manager, tuned for the machine. Loop unrolling is off
    by default: generated kernels unroll what matters themselves (the micro-kernel), and
    unrolling every loop nest made compiling a model several times slower."""
    tuning = llvm.create_pipeline_tuning_options(speed_level=level)
    tuning.loop_unrolling = unroll
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(mod, builder)


def compile_text(machine: llvm.TargetMachine, triple: str, text: str
                 ) -> tuple[bytes, tuple[float, float, float]]:
    """Object code of one module and the seconds its three stages took."""
    t0 = time.perf_counter()
    mod = parse(machine, triple, text)
    t1 = time.perf_counter()
    optimize(machine, mod)
    t2 = time.perf_counter()
    data = bytes(machine.emit_object(mod))
    return data, (t1 - t0, t2 - t1, time.perf_counter() - t2)


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve(triple: str, cpu: str, features: str, requests: BinaryIO, replies: BinaryIO) -> None:
    """Compiles modules until `requests` ends (the parent exited or closed it)."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = target_machine(triple, cpu, features)
    replies.write(b"r")  # ready: the parent starts sending work only to a helper that runs
    replies.flush()
    while (head := _read_exact(requests, REQUEST.size)) is not None:
        text = _read_exact(requests, REQUEST.unpack(head)[0])
        if text is None:
            return
        try:
            data, seconds = compile_text(machine, triple, text.decode())
        except RuntimeError as err:
            message = str(err).encode()
            replies.write(b"e" + ERROR.pack(len(message)) + message)
        else:
            replies.write(b"o" + OBJECT.pack(len(data), *seconds) + data)
        replies.flush()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3], sys.stdin.buffer, sys.stdout.buffer)
