"""Which CPU a bundle's machine code is for, and how the library checks it at creation.

Where it sits: the first decision of compiler/bundle/build.py. "host" is this machine's CPU
(name and features, as the JIT compiles); "x86-64-v3" (AVX2, FMA) and "x86-64-v4" (AVX-512)
are the portable levels, for machines other than the build machine. The vector width that
codegen blocks kernels for follows the level, and the C wrapper refuses to create a network
on a CPU that lacks what the code uses (gcc's __builtin_cpu_supports).
"""

from __future__ import annotations

from dataclasses import dataclass

import llvmlite.binding as llvm

from ir.errors import CompileError
from runtime.jit.engine import Engine

TARGETS = ("host", "x86-64-v3", "x86-64-v4")
LEVEL_VECTOR_BITS = {"x86-64-v3": 256, "x86-64-v4": 512}
CHECKABLE_FEATURES = (
    "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "bmi", "bmi2",
    "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd", "avx512vbmi", "avx512vbmi2",
    "avx512ifma", "avx512vnni", "avx512bitalg", "avx512vpopcntdq", "avx512bf16", "gfni",
    "vpclmulqdq", "fma4", "xop")
"""CPU features that LLVM names in its host feature string and gcc 12's
__builtin_cpu_supports knows under the same name: what a host bundle checks one by one."""


@dataclass(frozen=True)
class BundleTarget:
    """name: "host" or an x86-64 level; cpu and features: what LLVM compiles for; checks: the
    __builtin_cpu_supports names the library requires at creation."""

    name: str
    cpu: str
    features: str
    vector_bits: int
    checks: tuple[str, ...]

    @property
    def triple(self) -> str:
        return Engine.get().host.triple

    def machine(self) -> llvm.TargetMachine:
        """A target machine for position-independent code (a shared library)."""
        target = llvm.Target.from_triple(self.triple)
        return target.create_target_machine(cpu=self.cpu, features=self.features, opt=3,
                                            reloc="pic", codemodel="default")

    def describe(self) -> str:
        return f"{self.name} ({self.cpu}, {self.vector_bits}-bit vectors)"


def bundle_target(name: str) -> BundleTarget:
    """The target called `name` (one of TARGETS); anything else is a one-line error."""
    engine = Engine.get()
    if not engine.host.triple.startswith("x86_64"):
        raise CompileError(f"bundles are built for x86-64; this machine is {engine.host.triple}")
    if name == "host":
        enabled = {f[1:] for f in engine.host.features.split(",") if f.startswith("+")}
        checks = tuple(f for f in CHECKABLE_FEATURES if f in enabled)
        return BundleTarget("host", engine.host.cpu, engine.host.features,
                            engine.host.vector_bits, checks)
    if name in LEVEL_VECTOR_BITS:
        return BundleTarget(name, name, "", LEVEL_VECTOR_BITS[name], (name,))
    raise CompileError(f"unknown target {name!r} (expected one of {', '.join(TARGETS)})")
