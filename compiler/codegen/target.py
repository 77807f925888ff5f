"""What codegen needs to know about the machine: vector width, register blocking, threads.

Where it sits: built by the compile driver from the runtime's host query and passed to codegen,
so codegen never imports the runtime. Everything here goes into the compile-cache key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodegenTarget:
    """vector_bits: 512 (AVX-512), 256 (AVX2+FMA) or 128 (SSE/NEON baseline)."""

    triple: str
    vector_bits: int
    threads: int
    profile: bool = False
    """When set, the entry counts timestamp-counter cycles per kernel (netc compile --profile)."""

    def lanes(self, dtype: str) -> int:
        return self.vector_bits // (32 if dtype == "f32" else 64)

    def micro_tile(self, dtype: str) -> tuple[int, int]:
        """(MR, NR) of the GEMM micro-kernel: MR rows x NR columns of accumulators in vector
        registers (two vectors per row), leaving registers for the B loads and A broadcasts."""
        lanes = self.lanes(dtype)
        rows = {512: 12, 256: 6, 128: 4}[self.vector_bits]
        return rows, 2 * lanes

    def blocking(self, dtype: str) -> tuple[int, int, int]:
        """(MC, KC, NC): the packed A block stays in L2, a B micro-panel in L1."""
        mr, nr = self.micro_tile(dtype)
        kc = 256 if dtype == "f32" else 128
        return mr * 20, kc, nr * 64

    def describe(self) -> str:
        return (f"{self.triple} vector={self.vector_bits} threads={self.threads}"
                f"{' profile' if self.profile else ''}")
