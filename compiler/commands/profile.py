"""netc profile MODEL: where a compiled network spends its time, kernel by kernel.

Where it sits: a CLI command (compiler/commands/) over the public API. It compiles the model with
a cycle counter around every kernel (NETC_PROFILE: compiler/driver/jit.py's host_target; the
counters live in the arena, runtime/jit/call.py), runs the forward (or, with --train, the
training step) on random data for a while, and turns what the counters and codegen know into a
table: cycles into seconds (the timestamp counter's rate, measured: runtime/jit/engine.py's
timestamp_hz), each kernel's FLOPs (the op table's flop_count, summed by codegen) into GFLOPS,
and GFLOPS into a share of the machine's estimated peak (see `Peak`).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ir.errors import CompileError
from runtime.network import Network

FMA_UNITS = 2
"""FMA instructions a core starts per cycle, assumed: two on every x86 core since Haswell and
Zen 2 at 256 bits, and on the server Xeons with AVX-512 at 512 bits (some client and low-end
parts have one 512-bit unit: their share of peak reads twice too low)."""


@dataclass(frozen=True)
class Peak:
    """The machine's estimated f32 peak: threads x FMA units x lanes x 2 FLOPs (multiply and
    add) x clock. The clock is the timestamp counter's rate, the CPU's nominal frequency
    (turbo runs faster, so a share above 100% is possible on a lightly loaded core)."""

    cpu: str
    threads: int
    lanes: int
    hz: float

    @property
    def gflops(self) -> float:
        return self.threads * FMA_UNITS * self.lanes * 2 * self.hz / 1e9

    def describe(self) -> str:
        return (f"peak (estimate) {self.threads} thread{'s' if self.threads != 1 else ''} x "
                f"{FMA_UNITS} FMA units x {self.lanes} f32 lanes x 2 FLOPs x "
                f"{self.hz / 1e9:.2f} GHz = {self.gflops:,.0f} GFLOPS")


@dataclass(frozen=True)
class KernelTime:
    """One kernel of the entry, in the order the entry runs them."""

    index: int
    layer: str
    ops: str
    layout: str
    tasks: int
    flops: int
    seconds: float
    """Per call."""


@dataclass(frozen=True)
class Profile:
    model: str
    entry: str
    batch: int
    calls: int
    wall: float
    """Seconds per call, measured around the native calls (kernels and the time between)."""
    kernels: list[KernelTime]
    peak: Peak

    @property
    def kernel_seconds(self) -> float:
        return sum(k.seconds for k in self.kernels)


def cpu_name() -> str:
    """The CPU's model name as the kernel reports it (/proc/cpuinfo), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.uname().machine


@contextmanager
def _cycle_counters() -> Iterator[None]:
    """NETC_PROFILE=1 while a network is compiled (its kernels then count cycles); restored
    after, so code compiled later in this process is not instrumented."""
    before = os.environ.get("NETC_PROFILE")
    os.environ["NETC_PROFILE"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["NETC_PROFILE"]
        else:
            os.environ["NETC_PROFILE"] = before


def random_arguments(net: Network, train: bool, seed: int = 0) -> list[np.ndarray]:
    """Inputs (and labels, for training) of the network's shapes and dtypes: normal floats,
    zeros for integers (index 0 and class 0 are valid in every model)."""
    from runtime.jit.folding import folded_input_names

    rng = np.random.default_rng(seed)
    roles = ("input", "label") if train else ("input",)
    primary = net.graphs.primary
    computed = folded_input_names(primary)  # folded and packed weights: the runtime's own
    arrays = []
    for value in [v for role in roles for v in primary.inputs_with_role(role)
                  if v.name not in computed]:
        shape = tuple(int(d) for d in value.type.shape)
        if value.type.dtype.startswith("f"):
            dtype = np.float32 if value.type.dtype == "f32" else np.float64
            arrays.append(rng.standard_normal(shape).astype(dtype))
        else:
            arrays.append(np.zeros(shape, dtype=np.int64))
    return arrays


def measure(graph: Any, batch: int, train: bool, layout: str = "auto",
            seconds: float = 1.0) -> Profile:
    """Compiles `graph` with cycle counters, runs the entry for about `seconds` (at least three
    calls, after one that compiles and warms up) and returns the per-kernel times."""
    import compiler
    from compiler.driver.jit import host_target
    from runtime.jit.engine import Engine, timestamp_hz
    from runtime.jit.network import JITNetwork

    with _cycle_counters():
        net = compiler.compile(graph, batch=batch, train=train, layout=layout,
                               optimizer=compiler.SGD(lr=1e-6) if train else None)
    if not isinstance(net, JITNetwork):  # compile's default backend is the JIT
        raise CompileError("netc profile times JIT-compiled kernels only")
    entry = "train" if train else "forward"
    args = random_arguments(net, train)
    call: Callable[[], object] = ((lambda: net.train_step(*args)) if train
                                  else (lambda: net.forward(*args)))
    call()
    net.profile(entry)  # the warm-up call's counts are dropped
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        call()
        calls += 1
    wall = (time.perf_counter() - start) / calls
    hz = timestamp_hz()
    cycles = dict(net.profile(entry))
    kernels = [KernelTime(i, k.get("layer") or k["name"], k.get("ops") or k["kind"],
                          k.get("layout") or "", k["ntasks"], k["flops"],
                          cycles[k["name"]] / hz / calls)
               for i, k in enumerate(net.entry(entry).kernels, start=1)]
    host = Engine.get().host
    peak = Peak(cpu_name(), host_target().threads, host.native_vector_bits // 32, hz)
    return Profile(graph.name, entry, batch, calls, wall, kernels, peak)


def layout_name(layout: str) -> str:
    """How the table names a layout: "" is the model's own order (NCHW for images)."""
    return layout or "logical"


def rows(profile: Profile) -> list[list[str]]:
    """The table's body: every kernel, slowest first."""
    total = profile.kernel_seconds or 1.0
    body = []
    for k in sorted(profile.kernels, key=lambda k: -k.seconds):
        gflops = k.flops / k.seconds / 1e9 if k.seconds > 0 else 0.0
        body.append([str(k.index), k.layer, _short(k.ops, 32), layout_name(k.layout),
                     str(k.tasks), f"{k.seconds * 1e3:.3f}", f"{100 * k.seconds / total:.1f}%",
                     f"{k.flops / 1e6:,.2f}", f"{gflops:.1f}",
                     f"{100 * gflops / profile.peak.gflops:.1f}%"])
    return body


HEAD = ["#", "layer", "ops", "layout", "tasks", "ms", "share", "MFLOP", "GFLOPS", "of peak"]


def render(profile: Profile) -> str:
    body = rows(profile)
    kernel_s = profile.kernel_seconds
    flops = sum(k.flops for k in profile.kernels)
    total = ["", "all kernels", "", "", "", f"{kernel_s * 1e3:.3f}", "100.0%",
             f"{flops / 1e6:,.2f}", f"{flops / max(kernel_s, 1e-12) / 1e9:.1f}",
             f"{100 * flops / max(kernel_s, 1e-12) / 1e9 / profile.peak.gflops:.1f}%"]
    peak = profile.peak
    lines = [f"profile {profile.model}: {profile.entry}, batch {profile.batch}, "
             f"{profile.calls} calls, {profile.wall * 1e3:.3f} ms per call "
             f"({(profile.wall - kernel_s) * 1e3:.3f} ms outside kernels)",
             f"cpu: {peak.cpu}, {peak.lanes * 32}-bit vectors; {peak.describe()}",
             *_table(HEAD, [*body, total])]
    return "\n".join(lines) + "\n"


def _table(head: list[str], body: list[list[str]]) -> list[str]:
    """Aligned columns: the first four (names) to the left, the numbers to the right."""
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in (1, 2, 3) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(head), rule, *(line(r) for r in body[:-1]), rule, line(body[-1])]


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def cmd_profile(args: argparse.Namespace) -> int:
    from compiler.frontend import load

    if args.batch < 1:
        raise CompileError(f"--batch must be a positive integer, got {args.batch}")
    if not args.seconds > 0:
        raise CompileError(f"--seconds must be positive, got {args.seconds}")
    graph = load(args.model)
    print(render(measure(graph, args.batch, args.train, args.layout, args.seconds)), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    prof = sub.add_parser("profile", help="time every kernel of a compiled model (GFLOPS, "
                                          "share of peak, layer, layout)")
    prof.add_argument("model", help="model file (.yaml, .json, .ir, .onnx)")
    prof.add_argument("--batch", type=int, default=1)
    prof.add_argument("--train", action="store_true", help="the training step (SGD)")
    prof.add_argument("--layout", default="auto",
                      help="activation layout (compile's layout=: auto, nhwc, nchw8c, ...)")
    prof.add_argument("--seconds", type=float, default=1.0,
                      help="how long to run the entry (default 1)")
    prof.set_defaults(run=cmd_profile)
