"""plan-memory: gives every value a place in one arena per compiled network.

Pre: `graph.kernels` set (fuse ran); ctx.options["persistent"] may fix the offsets of the
parameters and state (shared by every entry point of one network).
Post: `graph.plan` maps every stored value to bytes:
- params and state live in the persistent region (their offsets never change);
- inputs and labels are the caller's arrays (no copy);
- views and constants take no bytes: a view aliases its source;
- an update is written in place into its parameter or state when every other reader of the old
  value runs before the kernel that writes it (else it is copied at the end of the call);
- a kernel's raw result that only its epilogue reads shares its epilogue output's bytes;
- everything else gets an offset in the scratch region from its live interval (first kernel
  that writes it to the last that reads it), best fit among the gaps free for that interval.
Results (outputs, loss) live to the end of the call. Offsets are 64-byte aligned.

Outputs region (ctx.options["outputs"] = True, what the JIT runtime asks for): the bytes of
every output and the loss that would be scratch (including the source of a view that is a
result) go to a region of their own, "output", which the runtime allocates fresh for each call
and hands back as the results, so nothing is copied out of the arena after the call
(runtime/jit/call.py). Kernels of the same call still read those values there. Without the
option (ahead-of-time bundles, the data-parallel backward segments) results stay in scratch.

Guard mode (ctx.options["guard"] = bytes, default from NETC_GUARD; for tests of native memory
safety): every scratch value gets bytes of its own for the whole call, with `guard` bytes on
each side that no kernel may touch, and its allocation records its exact size; params and state
get `guard` bytes before each slot. The runtime fills the guards with canaries and checks them
after each call (runtime/jit/call.py). The alignment and the guard size come from ir/memory.py,
which the runtime reads too.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.passes import PassContext, register
from ir.errors import CompileError
from ir.graph import Graph, Value
from ir.memory import ALIGN, align, guard_bytes
from ir.ops import VIEW
from ir.schedule import Allocation, MemoryPlan


def persistent_layout(values: list[Value], guard: int | None = None) -> dict[str, int]:
    """Offsets of params and state, in the given order (the network's shared region); in guard
    mode each slot follows `guard` free bytes."""
    guard = guard_bytes() if guard is None else guard
    offsets, cursor = {}, 0
    for v in values:
        offsets[v.name] = cursor + guard
        cursor += guard + align(v.type.nbytes())
    return offsets


@dataclass
class _Interval:
    value: str
    nbytes: int
    start: int
    end: int


@register("plan-memory")
def plan_memory(graph: Graph, ctx: PassContext) -> Graph:
    if graph.kernels is None:
        raise CompileError("plan-memory needs the kernels: run fuse first")
    persistent = ctx.options.get("persistent") or persistent_layout(
        graph.inputs_with_role("param", "state"))
    allocations: dict[str, Allocation] = {}
    end = len(graph.kernels)
    for v in graph.inputs:
        if v.role in ("param", "state"):
            if v.name not in persistent:
                raise CompileError(f"no persistent slot for %{v.name}")
            allocations[v.name] = Allocation(v.name, v.role, persistent[v.name],
                                             v.type.nbytes(), 0, end)
        else:
            allocations[v.name] = Allocation(v.name, "input", 0, v.type.nbytes(), 0, end)
    when = {name: i for i, k in enumerate(graph.kernels) for name in k.nodes}
    live = _live_ranges(graph, when, end)
    in_place = _in_place_updates(graph, when)
    in_place.update(_raw_in_output(graph, in_place))
    copies = [(t.name, v.name) for t, v in graph.updates if v.name not in in_place]
    returned = _returned(graph) if ctx.options.get("outputs") else set()
    intervals: list[_Interval] = []
    outputs: list[_Interval] = []
    for node in graph.nodes():
        name = node.name
        if node.op in VIEW or (node.op == "const" and name not in when):
            source = node.operands[0].name if node.op in VIEW else None
            allocations[name] = Allocation(name, "alias" if source else "const", 0, 0,
                                           *live.get(name, (0, 0)), source=source)
        elif name in in_place:
            allocations[name] = Allocation(name, "alias", 0, 0, *live[name], source=in_place[name])
        elif name in live:
            interval = _Interval(name, align(node.type.nbytes()), *live[name])
            (outputs if name in returned else intervals).append(interval)
    guard = ctx.options.get("guard", guard_bytes())
    peak = _place(graph, intervals, allocations, ctx.options.get("scratch_base", 0), guard)
    output_bytes = _place(graph, outputs, allocations, 0, guard, region="output")
    if outputs:  # results of no elements still get a (non-empty) block to point into
        output_bytes = max(output_bytes, ALIGN)
    naive = sum(iv.nbytes for iv in intervals)
    persistent_bytes = max((a.offset + align(a.nbytes) for a in allocations.values()
                            if a.region in ("param", "state")), default=0)
    graph.plan = MemoryPlan(allocations, persistent_bytes, peak, naive, copies, output_bytes)
    return graph


def _returned(graph: Graph) -> set[str]:
    """The values whose bytes the caller gets back: the outputs and the loss, and every value
    one of them is a view of (the view's source holds the bytes)."""
    results = [*graph.outputs, *([graph.loss] if graph.loss is not None else [])]
    names = set()
    for value in results:
        while value.node is not None and value.node.op in VIEW:
            names.add(value.name)
            value = value.node.operands[0]
        names.add(value.name)
    return names


def _place(graph: Graph, intervals: list[_Interval], allocations: dict[str, Allocation],
           base: int, guard: int, region: str = "scratch") -> int:
    """Gives each interval its offset in `region`; returns the peak. In guard mode every
    value lives for the whole call between guards of its own, and records its exact size."""
    if guard:
        end = max((iv.end for iv in intervals), default=0)
        intervals = [_Interval(iv.value, guard + iv.nbytes + guard, 0, end) for iv in intervals]
    offsets, peak = _best_fit(intervals)
    for iv in intervals:
        nbytes = graph.value(iv.value).type.nbytes() if guard else iv.nbytes
        allocations[iv.value] = Allocation(iv.value, region, base + offsets[iv.value] + guard,
                                           nbytes, iv.start, iv.end)
    return peak


def _live_ranges(graph: Graph, when: dict[str, int], end: int) -> dict[str, tuple[int, int]]:
    """[kernel that writes the value, last kernel that reads it (through views too)]."""
    stored = {name for k in graph.kernels or [] for name in k.stores}
    results = {v.name for v in graph.result_values()}
    ranges: dict[str, tuple[int, int]] = {}
    for node in graph.nodes():
        if node.name not in stored and node.op not in VIEW:
            continue
        start = when.get(node.name, 0)
        last = start
        for reader in _readers(graph, node.result):
            last = max(last, when.get(reader, start))
        if node.name in results or any(r in results for r in _view_names(graph, node.result)):
            last = end
        ranges[node.name] = (start, last)
    return ranges


def _view_names(graph: Graph, value: Value) -> list[str]:
    out = []
    for u in graph.users(value):
        if u.op in VIEW:
            out.append(u.name)
            out.extend(_view_names(graph, u.result))
    return out


def _readers(graph: Graph, value: Value) -> list[str]:
    """Nodes that read the bytes of `value`, looking through views."""
    out = []
    for u in graph.users(value):
        if u.op in VIEW:
            out.extend(_readers(graph, u.result))
        else:
            out.append(u.name)
    return out


def _in_place_updates(graph: Graph, when: dict[str, int]) -> dict[str, str]:
    """new value -> target, for updates whose every other reader of the target runs earlier."""
    out = {}
    for target, new in graph.updates:
        if new.node is None or new.name not in when:
            continue
        writer = when[new.name]
        others = [r for r in _readers(graph, target) if when.get(r, -1) != writer]
        same_kernel_readers_ok = True
        if all(when.get(r, writer) < writer for r in others) and same_kernel_readers_ok:
            out[new.name] = target.name
    return out


def _raw_in_output(graph: Graph, in_place: dict[str, str]) -> dict[str, str]:
    """A kernel's raw anchor result that only its own epilogue reads shares the bytes of the
    epilogue's output (the sweep reads element i, then writes element i): conv1 and relu1 are
    one buffer. Never an output that is itself an in-place update (its buffer holds a value
    the sweep still reads)."""
    out: dict[str, str] = {}
    results = {v.name for v in graph.result_values()}
    for group in graph.kernels or []:
        anchor = graph.value(group.anchor)
        if len(group.nodes) < 2 or anchor.name not in group.stores or anchor.name in results:
            continue
        members = set(group.nodes)
        if any(r not in members for r in _readers(graph, anchor)) or _view_names(graph, anchor):
            continue
        hosts = [s for s in group.stores if s != anchor.name and s not in in_place
                 and graph.value(s).type == anchor.type]
        if hosts:
            out[anchor.name] = hosts[-1]
    return out


def _best_fit(intervals: list[_Interval]) -> tuple[dict[str, int], int]:
    """Places big values first; each goes into the smallest gap free for its whole interval."""
    placed: list[tuple[int, int, _Interval]] = []
    offsets: dict[str, int] = {}
    for iv in sorted(intervals, key=lambda i: (-i.nbytes, i.start, i.value)):
        busy = sorted((off, off + size) for off, size, other in placed
                      if other.start <= iv.end and iv.start <= other.end)
        best, best_gap, cursor = None, None, 0
        for lo, hi in busy:
            gap = lo - cursor
            if gap >= iv.nbytes and (best_gap is None or gap < best_gap):
                best, best_gap = cursor, gap
            cursor = max(cursor, hi)
        offset = best if best is not None else cursor
        offsets[iv.value] = offset
        placed.append((offset, iv.nbytes, iv))
    peak = max((off + size for off, size, _ in placed), default=0)
    return offsets, peak
