"""The pass manager: named passes Graph -> Graph, run in a pipeline, dumpable after each.

Where it sits: between the frontends and codegen. Every pass lives in its own module of this
package and registers itself under a kebab-case name equal to its file name (`fold_constants.py`
is `fold-constants`). The manager can verify after each pass, dump before/after any pass, time
passes, and on failure names the pass and writes its input IR to a file so that one command
(`netc dump FILE.ir --passes NAME`) reproduces it; any other exception escaping a pass (a bug
in netc) becomes an "internal compiler error" the same way (`internal_error`, which the JIT
driver uses for codegen too).
"""

from __future__ import annotations

import importlib
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ir.errors import CompileError, NetcError
from ir.extensions import load_modules
from ir.graph import Graph, Node
from ir.printer import print_graph
from ir.verify import verify

log = logging.getLogger("netc.passes")
ir_log = logging.getLogger("netc.ir")
"""The IR after every pass, at DEBUG (NETC_DEBUG=3 opens it)."""


@dataclass
class PassContext:
    """What passes may consult: compile options, never global state."""

    batch: int | None = None
    train: bool = False
    optimizer: Any = None
    wrt: tuple[str, ...] = ()
    update_running_stats: bool = True
    options: dict[str, Any] = field(default_factory=dict)


PassFn = Callable[[Graph, PassContext], Graph]


@dataclass(frozen=True)
class PassInfo:
    name: str
    run: PassFn
    doc: str


PASSES: dict[str, PassInfo] = {}


def register(name: str) -> Callable[[PassFn], PassFn]:
    """Registers a pass; the module docstring holds its pre/postconditions and an example."""

    def wrap(fn: PassFn) -> PassFn:
        if name in PASSES:
            raise ValueError(f"pass '{name}' registered twice")
        module_doc = importlib.import_module(fn.__module__).__doc__ or ""
        PASSES[name] = PassInfo(name, fn, (fn.__doc__ or module_doc).strip())
        return fn

    return wrap


def _load_all() -> None:
    """Imports every pass module (each registers itself); gradient rules load on demand."""
    load_modules(__name__, skip=("_", "grad_rules"))


def load_grad_rules() -> None:
    """Imports every grad_rules_*.py module: each registers its rules into grad_rules.RULES."""
    load_modules(__name__, "grad_rules_")


def get(name: str) -> PassInfo:
    from ir.suggest import did_you_mean

    if name not in PASSES:
        raise CompileError(f"unknown pass '{name}'{did_you_mean(name, PASSES)} "
                           f"(netc dump --list-passes names them)")
    return PASSES[name]


@dataclass
class PassManager:
    """Runs `names` in order. `dump` receives (label, graph) for each requested dump."""

    names: Sequence[str]
    verify_each: bool = False
    dump_before: Sequence[str] = ()
    dump_after: Sequence[str] = ()
    time_passes: bool = False
    dump: Callable[[str, Graph], None] | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)

    def run(self, graph: Graph, ctx: PassContext) -> Graph:
        for name in self.names:
            info = get(name)
            self._maybe_dump(name, self.dump_before, f"before {name}", graph)
            snapshot = print_graph(graph)
            start = time.perf_counter()
            try:
                graph = info.run(graph, ctx)
                if self.verify_each:
                    verify(graph)
            except NetcError as err:
                raise self._failure(name, snapshot, err) from None
            except Exception as err:  # a bug in netc: said so, with the pass and a reproducer
                raise internal_error(f"pass '{name}'", err, snapshot,
                                     f"netc dump {{path}} --passes {name}") from err
            self.timings.append((name, time.perf_counter() - start))
            log.debug("pass %s: %.2f ms", name, 1e3 * self.timings[-1][1])
            if ir_log.isEnabledFor(logging.DEBUG):  # printing costs: only when asked for
                ir_log.debug("after %s\n%s", name, print_graph(graph).rstrip("\n"))
            self._maybe_dump(name, self.dump_after, f"after {name}", graph)
        return graph

    def _maybe_dump(self, name: str, which: Sequence[str], label: str, graph: Graph) -> None:
        if self.dump is not None and (name in which or "all" in which):
            self.dump(label, graph)

    def _failure(self, name: str, snapshot: str, err: NetcError) -> CompileError:
        where = reproducer(name, snapshot, f"netc dump {{path}} --passes {name}")
        return CompileError(f"pass '{name}' failed: {err}{where}")


def reproducer(stage: str, ir_text: str, command: str) -> str:
    """Writes the IR a failing stage received to a file; returns "; its input IR is in FILE
    (reproduce: COMMAND)" for the error message ("" if the file cannot be written). `command`
    holds `{path}` where the file goes."""
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in stage).strip("-")
    path = Path(tempfile.gettempdir()) / f"netc-failed-{slug}.ir"
    try:
        path.write_text(ir_text)
    except OSError:
        return ""
    return f"; its input IR is in {path} (reproduce: {command.format(path=path)})"


def internal_error(stage: str, err: Exception, ir_text: str, command: str) -> CompileError:
    """What any exception that is not a NetcError becomes when it escapes a pass, the planner
    or codegen: a bug in netc, reported as one line naming the stage, the node being worked
    on (the innermost `node` of the traceback) and a file that reproduces it, never a bare
    KeyError."""
    node = _failing_node(err)
    at = f" at %{node.name} ({node.op})" if node is not None else ""
    where = reproducer(stage, ir_text, command)
    return CompileError(f"internal compiler error in {stage}{at}: {type(err).__name__}: "
                        f"{err}{where}")


def _failing_node(err: Exception) -> Node | None:
    found = None
    tb = err.__traceback__
    while tb is not None:  # outermost to innermost: the last node seen is the nearest
        local = tb.tb_frame.f_locals
        # a pass's `node`; an emitter's kernel anchor (its own, or its context's)
        for candidate in (local.get("node"), getattr(local.get("ctx"), "anchor", None),
                          getattr(local.get("self"), "anchor", None)):
            if isinstance(candidate, Node):
                found = candidate
        tb = tb.tb_next
    return found


_load_all()
