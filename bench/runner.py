"""Runs the benchmark plan: every (workload, framework) cell once per round, one process at a time.

Why it is shaped like this:
- each cell is a fresh process, so imports, JIT caches in memory and thread pools start cold
  the same way for every framework, and no framework's state leaks into another's timing;
- cells run strictly one after another (the machine has 2 cores; anything concurrent would
  steal them), and a round runs every cell once, in an order rotated from round to round, so
  slow drifts of a noisy machine spread over all frameworks instead of hitting one;
- a cell that fails is not retried in later rounds (failures here are deterministic: a missing
  feature, an import error), and is reported as n/a with its reason;
- each cell records the share of the machine's CPU that *other* processes used while it ran
  (``foreign_cpu``), so a figure disturbed by someone else's build or test run can be told apart.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.child import RESULT_MARKER
from bench.workloads import Workload
from bench.zoo import export_path, exports_needed, netc_export_batch

REPO = Path(__file__).resolve().parent.parent
PEERS_VENV = Path(os.environ.get("NETC_PEERS_VENV",
                                 Path.home() / ".cache" / "netc-peers" / "venv"))
PEERS_CACHE = Path.home() / ".cache" / "netc-peers" / "cache"
ZOO_CACHE = PEERS_CACHE / "zoo"  # the zoo's ONNX exports, reused while their stamp matches

# Variables that would pin or skew thread counts / BLAS kernels of a child process. The bench
# wants every library on its default (2 threads, best kernel for this CPU), so they are removed.
SCRUBBED_ENV = (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOTO_NUM_THREADS",
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "JAX_COMPILATION_CACHE_DIR", "XLA_FLAGS",
    # a sandbox default that makes every fresh process recompile its Python sources: users'
    # machines cache bytecode, so compile times are measured the way they will see them
    "PYTHONDONTWRITEBYTECODE",
)


@dataclass(frozen=True)
class Framework:
    """How to run one framework's cells: which venv, which module, which workloads."""

    name: str
    label: str  # column title
    short: str  # in the ratio column's title, netc/<short>
    venv: str  # "project" | "peers"
    module: str
    args: tuple[str, ...] = ()
    probe: str = ""  # python statement that must succeed for the framework to be available
    # "train", "infer", "gemm", "compile"; the zoo's rows: "zoo-train", "zoo-infer", "zoo-compile"
    kinds: frozenset[str] = frozenset({"train", "infer"})

    def supports(self, w: Workload) -> bool:
        """Whether this framework has a cell in workload ``w``'s row."""
        kind = "gemm" if w.model == "gemm" else f"zoo-{w.mode}" if w.zoo else w.mode
        return kind in self.kinds


NETC = Framework("netc", "netc", "netc", "project", "bench.run_netc",
                 kinds=frozenset({"train", "infer", "gemm", "compile",
                                  "zoo-train", "zoo-infer", "zoo-compile"}))
PEERS: dict[str, Framework] = {f.name: f for f in (
    Framework("torch", "torch eager", "eager", "peers", "bench.peer_torch", probe="import torch",
              kinds=frozenset({"train", "infer", "gemm", "zoo-train"})),
    Framework("torch.compile", "torch.compile", "compile", "peers", "bench.peer_torch",
              ("--compile",), probe="import torch, torch._inductor"),
    Framework("jax", "jax.jit", "jax", "peers", "bench.peer_jax", probe="import jax, jaxlib"),
    Framework("onnxruntime", "onnxruntime", "ort", "peers", "bench.peer_onnxruntime",
              probe="import onnxruntime, onnx, torch", kinds=frozenset({"infer", "zoo-infer"})),
    Framework("numpy", "numpy", "numpy", "project", "bench.peer_numpy", probe="import numpy",
              kinds=frozenset({"gemm"})),
)}
# netc itself in its other activation layouts: opt-in columns (--peers netc-nhwc,...) that show
# whether the default layout (plain NCHW) is still the fastest on this machine
LAYOUT_VARIANTS: dict[str, Framework] = {f.name: f for f in (
    Framework(f"netc-{layout}", f"netc {layout}", layout, "project", "bench.run_netc",
              ("--layout", layout), kinds=frozenset({"train", "infer"}))
    for layout in ("nhwc", "nchw8c", "nchw16c")
)}
PEER_ALIASES = {"eager": "torch", "compile": "torch.compile", "jit": "jax", "ort": "onnxruntime"}


def resolve_peers(names: list[str]) -> list[Framework]:
    """Peer frameworks from user names (aliases allowed), in the canonical column order."""
    wanted = {PEER_ALIASES.get(n, n) for n in names}
    known = PEERS | LAYOUT_VARIANTS
    unknown = wanted - set(known)
    if unknown:
        raise SystemExit(f"unknown peers {sorted(unknown)}; known: {', '.join(known)}")
    return [f for name, f in known.items() if name in wanted]


@dataclass
class Settings:
    """What the harness was asked to do."""

    rounds: int = 3
    quick: bool = False
    timeout_s: float = 900.0
    peers_python: Path = PEERS_VENV / "bin" / "python"
    project_python: Path = Path(sys.executable)
    zoo_dir: Path = ZOO_CACHE
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="netc-bench-")))


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every cell runs in: unpinned BLAS/OMP threads, netc on 2 threads."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update({
        "NETC_THREADS": "2",
        "JAX_PLATFORMS": "cpu",
        "TORCHINDUCTOR_CACHE_DIR": str(PEERS_CACHE / "inductor"),
    })
    env.update(extra or {})
    return env


def python_for(fw: Framework, s: Settings) -> Path:
    """The interpreter a framework's cells run with."""
    return s.project_python if fw.venv == "project" else s.peers_python


def probe(fw: Framework, s: Settings) -> str | None:
    """None if the framework can run here, else why not (shown as the cell's n/a reason)."""
    py = python_for(fw, s)
    if not py.exists():
        return f"not installed ({py} missing; run bench/setup_peers.sh)"
    if not fw.probe:
        return None
    try:
        p = subprocess.run([str(py), "-c", fw.probe], cwd=REPO, env=child_env(),
                           capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "not installed (import timed out)"
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["?"])[-1]
        return f"not installed ({last[:200]})"
    return None


def run_process(cmd: list[str], env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    """Runs one cell process; returns its result record (or an error record) plus wall time."""
    t0, busy0, own0 = time.perf_counter(), machine_busy_s(), children_cpu_s()
    rc, out, err = communicate(cmd, env, timeout_s)
    wall = time.perf_counter() - t0
    foreign = machine_busy_s() - busy0 - (children_cpu_s() - own0)
    recs = [json.loads(line[len(RESULT_MARKER):]) for line in out.splitlines()
            if line.startswith(RESULT_MARKER)]
    rec = recs[-1] if recs else {}
    if not recs or rc != 0:
        tail = (err.strip().splitlines() or [f"exit code {rc}, no output"])[-1]
        rec.setdefault("error", f"rc={rc}: {tail[:400]}")
        rec["stderr_tail"] = err[-2000:]
    if "error" in rec:  # one line, so progress lines and markdown bullets stay intact
        rec["error"] = " ".join(str(rec["error"]).split())
    return rec | {"wall_s": wall, "cmd": " ".join(cmd[1:]),
                  "foreign_cpu": max(0.0, foreign) / (wall * (os.cpu_count() or 1))}


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores, from /proc/stat; 0 if absent)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """CPU seconds used by this harness's finished children (the cells themselves)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def communicate(cmd: list[str], env: dict[str, str], timeout_s: float
                ) -> tuple[int | str, str, str]:
    """(exit code or "timeout", stdout, stderr) of one process run from the repo root.

    The child gets its own process group so that a timeout also ends the helpers it started
    (torch.compile's compile workers), not just the child itself.
    """
    with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=timeout_s)
            return p.returncode, out, err
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            return "timeout", out, f"timed out after {timeout_s:.0f} s"


def zoo_export(fw: Framework, w: Workload, s: Settings) -> Path:
    """The ONNX export a zoo cell reads: netc's may be at another batch than the cell's."""
    batch = netc_export_batch(w.batch) if fw.venv == "project" else w.batch
    return export_path(s.zoo_dir, w.model, batch)


def cell_command(fw: Framework, w: Workload, s: Settings) -> list[str]:
    """The command line of one timing cell."""
    warmup, iters = w.counts(s.quick)
    cmd = [str(python_for(fw, s)), "-m", fw.module, *fw.args, "--model", w.model,
           "--mode", w.mode, "--batch", str(w.batch), "--warmup", str(warmup),
           "--iters", str(iters)]
    if w.zoo and fw.name != "torch":
        cmd += ["--onnx", str(zoo_export(fw, w, s))]
    elif fw.name == "onnxruntime":
        cmd += ["--onnx-dir", str(s.tmp)]
    return cmd


def compile_command(w: Workload, s: Settings) -> list[str]:
    """netc's compile-only process: lenet's training graph, or a zoo network's inference."""
    cmd = [str(s.project_python), "-m", NETC.module, "--model", w.model, "--mode",
           "infer" if w.zoo else "train", "--batch", str(w.batch), "--compile-only"]
    if w.zoo:
        cmd += ["--onnx", str(zoo_export(NETC, w, s))]
    return cmd


def run_compile_cell(w: Workload, s: Settings) -> dict[str, Any]:
    """netc's cold then warm compile of (model, mode, batch), each in a fresh process.

    The cold process gets an empty NETC_CACHE_DIR (a temp dir, never the user's cache); the
    warm one reuses what the cold one left there.
    """
    cache = Path(tempfile.mkdtemp(prefix="netc-cache-", dir=s.tmp))
    cmd = compile_command(w, s)
    env = child_env({"NETC_CACHE_DIR": str(cache)})
    cold = run_process(cmd, env, s.timeout_s)
    warm = run_process(cmd, env, s.timeout_s) if "error" not in cold else {}
    shutil.rmtree(cache, ignore_errors=True)
    rec: dict[str, Any] = {"cold": cold, "warm": warm, "wall_s": cold["wall_s"]
                           + warm.get("wall_s", 0.0)}
    err = cold.get("error") or warm.get("error")
    if err:
        rec["error"] = err
    return rec


def run_cell(fw: Framework, w: Workload, s: Settings) -> dict[str, Any]:
    """One cell of one round."""
    if w.mode == "compile":
        return run_compile_cell(w, s)
    env = child_env()
    return run_process(cell_command(fw, w, s), env, s.timeout_s)


def progress(r: int, s: Settings, fw: Framework, w: Workload, rec: dict[str, Any]) -> None:
    """One line per finished cell on stderr, so a long run shows where it is."""
    if "error" in rec:
        what = f"ERROR {rec['error'][:90]}"
    elif w.mode == "compile":
        cold, warm = (rec[k]["compile_ms"] + rec[k]["first_call_ms"] for k in ("cold", "warm"))
        what = f"compile + first step: cold {cold:.0f} ms, warm {warm:.0f} ms"
    else:
        what = f"median {rec['median_ms']:.4g} ms"
    if rec.get("foreign_cpu", 0.0) > 0.05:
        what += f"  (other processes: {rec['foreign_cpu']:.0%} CPU)"
    print(f"  [{r}/{s.rounds}] {w.id:<30} {fw.name:<14} {rec['wall_s']:6.1f}s  {what}",
          file=sys.stderr, flush=True)


def timed_out(rec: dict[str, Any]) -> bool:
    """Whether a cell's process was killed by --timeout."""
    return str(rec.get("error", "")).startswith("rc=timeout")


def skip_record(fw: Framework, w: Workload, slow: set[str]) -> dict[str, Any] | None:
    """The record of a netc zoo cell not run because an earlier one of its network timed out.

    Every netc cell compiles its network again, so after one timeout the others would each
    wait out --timeout too; the run reports them as timeouts instead of spending that time.
    """
    if not (w.zoo and fw is NETC and w.model in slow):
        return None
    return {"error": f"rc=timeout: not run, an earlier netc cell of {w.model} timed out",
            "wall_s": 0.0}


def run_plan(plan: list[tuple[Framework, Workload]], s: Settings) -> list[dict[str, Any]]:
    """All rounds of the plan; returns one raw record per executed cell."""
    runs: list[dict[str, Any]] = []
    failed: set[tuple[str, str]] = set()
    slow: set[str] = set()  # zoo networks a netc cell of which timed out
    for r in range(1, s.rounds + 1):
        k = (r - 1) * len(plan) // s.rounds
        print(f"round {r}/{s.rounds}", file=sys.stderr, flush=True)
        for fw, w in plan[k:] + plan[:k]:
            if (fw.name, w.id) in failed:
                continue
            rec = skip_record(fw, w, slow) or run_cell(fw, w, s)
            progress(r, s, fw, w, rec)
            if "error" in rec:
                failed.add((fw.name, w.id))
            if w.zoo and fw is NETC and timed_out(rec):
                slow.add(w.model)
            runs.append({"round": r, "workload": w.id, "framework": fw.name, "record": rec})
    return runs


def prepare_zoo(workloads: list[Workload], s: Settings) -> str | None:
    """Exports the zoo networks the run reads (peers venv; cached in s.zoo_dir).

    Returns None, or why the exports failed (the zoo cells then fail on the missing files).
    """
    models = list(dict.fromkeys(w.model for w in workloads if w.zoo))
    if not models:
        return None
    if not s.peers_python.exists():
        return f"no peers venv ({s.peers_python} missing; run bench/setup_peers.sh)"
    cmd = [str(s.peers_python), "-m", "bench.zoo_torch", "--out", str(s.zoo_dir),
           *(f"{m}:{b}" for m, b in exports_needed(models))]
    print(f"zoo exports in {s.zoo_dir}", file=sys.stderr, flush=True)
    rc, _, err = communicate(cmd, child_env(), s.timeout_s)
    print(err.rstrip(), file=sys.stderr, flush=True)
    if rc != 0:
        return f"zoo export failed (rc={rc}): " + (err.strip().splitlines() or ["?"])[-1][:300]
    return None


def build_plan(workloads: list[Workload], frameworks: list[Framework]
               ) -> list[tuple[Framework, Workload]]:
    """Cells grouped by workload, netc first, so netc and its peers run close in time."""
    return [(fw, w) for w in workloads for fw in frameworks if fw.supports(w)]


def machine_info() -> dict[str, Any]:
    """CPU, core count and vector extensions: results only compare within one machine."""
    info: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                            "nproc": os.cpu_count(), "python": sys.version.split()[0]}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    info["cpu"] = fields.get("model name", "?")
    info["cpu_family_model"] = f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}"
    info["simd"] = [f for f in ("avx2", "fma", "avx512f") if f in flags]
    return info
