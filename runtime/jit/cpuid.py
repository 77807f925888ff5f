"""What this process's x86-64 CPU says about itself (CPUID and XGETBV), read without LLVM.

Where it sits: under runtime/jit/host.py, whose CPU identity names the compile cache's record
of what LLVM said about this host. LLVM derives the CPU name and features from exactly these
instructions, so their answers, not /proc/cpuinfo (which shows the hardware, where valgrind or
an emulator such as Intel SDE shows the process another CPU), are what the record is keyed by.
Python cannot execute an instruction, so two tiny functions are written as machine code into
an executable page and called through ctypes; a system that refuses executable pages gets
None, and LLVM is asked instead.
"""

from __future__ import annotations

import ctypes
import mmap
import platform

_CPUID = bytes.fromhex(
    "53"            # push rbx (cpuid clobbers it; callee-saved)
    "89f8"          # mov eax, edi      leaf
    "89f1"          # mov ecx, esi      subleaf
    "4989d0"        # mov r8, rdx       out
    "0fa2"          # cpuid
    "418900"        # mov [r8], eax
    "41895804"      # mov [r8+4], ebx
    "41894808"      # mov [r8+8], ecx
    "4189500c"      # mov [r8+12], edx
    "5b"            # pop rbx
    "c3")           # ret
"""void cpuid(u32 leaf, u32 subleaf, u32 out[4]) (System V: edi, esi, rdx)."""
_XGETBV = bytes.fromhex(
    "31c9"          # xor ecx, ecx      XCR0
    "0f01d0"        # xgetbv            edx:eax
    "48c1e220"      # shl rdx, 32
    "4809d0"        # or rax, rdx
    "c3")           # ret
"""u64 xgetbv0(void): which register states the OS saves (AVX, AVX-512 need it)."""

LEAVES = ((0, 0), (1, 0), (7, 0), (7, 1), (7, 2), (0xD, 1), (0x14, 0), (0x19, 0), (0x24, 0),
          (0x80000000, 0), (0x80000001, 0), (0x80000008, 0))
"""The (leaf, subleaf) pairs LLVM's host detection reads; the leaves of per-core topology
(0xB, 0x1A, 0x1F) are left out, so that every core of a machine gives one identity."""
APIC_ID = 0xFF000000
"""Leaf 1 EBX bits 31-24: the initial APIC ID of the core that ran CPUID."""
OSXSAVE = 1 << 27
"""Leaf 1 ECX: XGETBV may run."""


class _Probe:
    """The two functions in one executable page (kept mapped for the process's life)."""

    def __init__(self) -> None:
        self.page = mmap.mmap(-1, mmap.PAGESIZE,
                              prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self.page.write(_CPUID + _XGETBV)
        base = ctypes.addressof(ctypes.c_char.from_buffer(self.page))
        self.cpuid = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32,
                                      ctypes.POINTER(ctypes.c_uint32))(base)
        self.xgetbv = ctypes.CFUNCTYPE(ctypes.c_uint64)(base + len(_CPUID))

    def leaf(self, leaf: int, subleaf: int) -> tuple[int, int, int, int]:
        out = (ctypes.c_uint32 * 4)()
        self.cpuid(leaf, subleaf, out)
        eax, ebx, ecx, edx = out
        return eax, ebx, ecx, edx


def cpuid_identity() -> str | None:
    """The registers of every leaf in LEAVES that the CPU has (and XCR0 where the OS lets
    XGETBV run), as text; None off x86-64 or where no executable page can be made."""
    if platform.machine().lower() not in ("x86_64", "amd64"):  # host.X86_64
        return None
    try:
        probe = _Probe()
    except (OSError, ValueError):  # W^X policy: no writable and executable page
        return None
    max_basic = probe.leaf(0, 0)[0]
    max_extended = probe.leaf(0x80000000, 0)[0]
    lines = []
    for leaf, subleaf in LEAVES:
        top = max_extended if leaf >= 0x80000000 else max_basic
        if leaf > top:
            continue
        eax, ebx, ecx, edx = probe.leaf(leaf, subleaf)
        if leaf == 1:
            ebx &= ~APIC_ID
            if ecx & OSXSAVE:
                lines.append(f"xcr0 {probe.xgetbv():x}")
        lines.append(f"{leaf:x}.{subleaf:x} {eax:08x} {ebx:08x} {ecx:08x} {edx:08x}")
    return "\n".join(lines)
