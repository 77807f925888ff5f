"""What the machine code is generated for (triple, CPU, features), known on a warm start
without loading LLVM.

Where it sits: under the compile cache (runtime/jit/cache.py), whose every key names the host,
and the driver (compiler/driver/jit.py), whose codegen target takes its vector width from it.
LLVM says what the host is (runtime/jit/engine.py), but loading llvmlite's LLVM costs a warm
start about 40 ms; so what LLVM said is kept in the cache directory under this CPU's identity
(cpu_identity: what LLVM reads to decide, the CPUID leaves on x86-64 (runtime/jit/cpuid.py),
/proc/cpuinfo elsewhere; with the architecture and the llvmlite version), and read back by the
next process that finds the same identity. Where there is none, LLVM is asked every time.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

from ir.errors import CompileError

IDENTITY_FIELDS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags",
                   "cpu implementer", "cpu architecture", "cpu variant", "cpu part",
                   "cpu revision", "features")
"""The /proc/cpuinfo fields that say which CPU this is and what it can do (x86 and Arm)."""
X86_64 = ("x86_64", "amd64")


@dataclass(frozen=True)
class HostTarget:
    """What the machine code depends on; part of every compile-cache key."""

    triple: str
    cpu: str
    features: str
    llvmlite_version: str

    @property
    def vector_bits(self) -> int:
        """The vector width code is blocked for: the host's widest (512 with AVX-512F, 256 with
        AVX2 and FMA, else 128), unless NETC_VECTOR_BITS asks for another. LLVM legalizes
        vectors wider than the host's into several registers, so the 512-bit blocking runs (and
        is tested) on an AVX2 host, and the 256-bit one on an AVX-512 host."""
        return vector_bits_override() or self.native_vector_bits

    @property
    def native_vector_bits(self) -> int:
        """The host's widest vector width, whatever NETC_VECTOR_BITS says."""
        flags = set(self.features.split(","))
        if "+avx512f" in flags:
            return 512
        if "+avx2" in flags and "+fma" in flags:
            return 256
        return 128


VECTOR_WIDTHS = (128, 256, 512)


def vector_bits_override() -> int | None:
    """NETC_VECTOR_BITS as a width (None when unset); anything else is a clear error."""
    text = os.environ.get("NETC_VECTOR_BITS", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) not in VECTOR_WIDTHS:
        raise CompileError(f"NETC_VECTOR_BITS={text!r}: expected one of "
                           f"{', '.join(map(str, VECTOR_WIDTHS))}")
    return int(text)


def cpu_identity(cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """This CPU's identity as LLVM's host detection sees it, with the architecture and the
    llvmlite version; None when it cannot be read."""
    import llvmlite  # the package alone: its version, not LLVM

    from runtime.jit.cpuid import cpuid_identity

    machine = platform.machine()
    found = cpuid_identity() if machine.lower() in X86_64 else cpuinfo_identity(cpuinfo)
    return None if found is None else "\n".join([machine, llvmlite.__version__, found])


def cpuinfo_identity(path: str = "/proc/cpuinfo") -> str | None:
    """The identifying fields of the first processor in `path` (what LLVM reads on Arm; on
    x86-64 it runs CPUID, whose answer valgrind or an emulator changes and /proc/cpuinfo
    does not); None when `path` cannot be read or says nothing."""
    fields: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as info:
            for line in info:
                if not line.strip():
                    if fields:
                        break  # the first processor's block is enough
                    continue
                key = line.split(":", 1)[0].strip().lower()
                if key in IDENTITY_FIELDS:
                    fields.append(" ".join(line.split()))
    except OSError:
        return None
    return "\n".join(fields) or None
