"""Kernel groups and memory plans: what the fuse and plan-memory passes attach to a graph.

Where it sits: plain data in ir/ so the printer can show it and codegen can read it. A kernel
group is a list of nodes executed as one loop nest (the first is the anchor; the rest are fused
into its epilogue); views belong to no group (they are never kernels). A memory plan gives every
value a place: a parameter or state slot, an external input, or an arena offset chosen from
liveness; views and in-place updates share their source's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ir.memory import align


@dataclass
class KernelGroup:
    name: str
    kind: str
    nodes: list[str]
    stores: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return self.nodes[0]


@dataclass
class Allocation:
    """Where one value lives. region: param | state | input | scratch | output (a result, in
    the region allocated per call) | alias | const (an immediate in the code, no bytes); for an
    alias, `source` names the value whose bytes it shares (views, in-place updates)."""

    value: str
    region: str
    offset: int
    nbytes: int
    start: int
    end: int
    source: str | None = None


@dataclass
class MemoryPlan:
    allocations: dict[str, Allocation]
    persistent_bytes: int
    scratch_bytes: int
    naive_bytes: int
    copies: list[tuple[str, str]] = field(default_factory=list)
    """(target, value) updates that could not be done in place: copied at the end of a call."""
    output_bytes: int = 0
    """Size of the output region (outputs and loss, fresh for every call; 0: results stay in
    scratch), which compiler/passes/plan_memory.py fills when asked to."""

    @property
    def workspace_offset(self) -> int:
        """Where the kernels' workspace starts in the arena: the first aligned byte after the
        scratch values (codegen addresses it there, guard mode checks it there)."""
        return align(self.scratch_bytes)

    def resolve(self, name: str) -> Allocation:
        """Follows aliases to the allocation that owns the bytes (offset adjusted)."""
        alloc = self.allocations[name]
        while alloc.region == "alias" and alloc.source is not None:
            alloc = self.allocations[alloc.source]
        return alloc

    def table(self) -> str:
        """The plan as text: value, region, offset, bytes, live range; peak beside naive sum."""
        rows = [("value", "where", "offset", "bytes", "live")]
        for a in sorted(self.allocations.values(), key=lambda a: (_ORDER[a.region], a.offset,
                                                                   a.start, a.value)):
            where = f"= %{a.source}" if a.region == "alias" else a.region
            rows.append((f"%{a.value}", where, str(a.offset) if a.region != "input" else "-",
                         f"{a.nbytes:,}", f"[{a.start}, {a.end}]"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in rows]
        lines.append(f"scratch peak {self.scratch_bytes:,} bytes (naive sum "
                     f"{self.naive_bytes:,}); parameters and state {self.persistent_bytes:,} "
                     "bytes; views 0 bytes")
        if self.output_bytes:
            lines.append(f"outputs {self.output_bytes:,} bytes, fresh for every call")
        return "\n".join(lines)


_ORDER = {"param": 0, "state": 1, "input": 2, "scratch": 3, "output": 4, "alias": 5, "const": 6}
