"""Object code for a bundle: the JIT's LLVM modules, optimized and emitted for the bundle's CPU.

Where it sits: between compiler/bundle/spec.py (which generated every entry's modules) and
link.py. The same text the JIT compiles goes through the same O3 pipeline (runtime/jit/engine.py),
tuned for and emitted by the bundle's target machine (position-independent code). Kernel modules
are named by a hash of their text, so a kernel two entries share is emitted once.
"""

from __future__ import annotations

from pathlib import Path

from compiler.bundle.spec import BundleSpec
from compiler.bundle.target import BundleTarget
from compiler.codegen.library import library_module
from compiler.codegen.target import CodegenTarget
from runtime.jit.engine import LLVM_LOCK, Engine
from runtime.jit.pool_ir import limited_pool_module


def bundle_modules(spec: BundleSpec, target: BundleTarget) -> list[tuple[str, str]]:
    """(name, LLVM text) of every module the library links: the thread pool, the GEMM library
    and each entry's kernels and entry function, each module once."""
    codegen = CodegenTarget(target.triple, target.vector_bits, spec.threads, False)
    modules = {"netc_pool": str(limited_pool_module(target.triple)),
               "netc_library": library_module(codegen)}
    for entry in spec.entries.values():
        for name, text in entry.modules:
            modules.setdefault(name, text)
    return list(modules.items())


def emit_objects(modules: list[tuple[str, str]], target: BundleTarget, folder: Path
                 ) -> list[Path]:
    """Writes one object file per module into `folder`; returns their paths."""
    engine = Engine.get()
    machine = target.machine()
    paths = []
    for i, (name, text) in enumerate(modules):
        with LLVM_LOCK:  # modules belong to LLVM's shared context
            mod = engine.parse(text, name)
            engine.optimize(mod, machine=machine)
            data = engine.emit_object(mod, machine)
            del mod
        path = folder / f"{i:04d}.o"
        path.write_bytes(data)
        paths.append(path)
    return paths
