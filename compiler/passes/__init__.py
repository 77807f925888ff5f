"""The pass manager: named passes Graph -> Graph, run in a pipeline, dumpable after each.

Where it sits: between the frontends and codegen. Every pass lives in its own module of this
package and registers itself under a kebab-case name equal to its file name (`fold_constants.py`
is `fold-constants`). The manager can verify after each pass, dump before/after any pass, time
passes, and on failure names the pass and writes its input IR to a file so that one command
(`netc dump FILE.ir --passes NAME`) reproduces it.
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
from ir.graph import Graph
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
        path = Path(tempfile.gettempdir()) / f"netc-failed-{name}.ir"
        try:
            path.write_text(snapshot)
            where = f"; its input IR is in {path} (reproduce: netc dump {path} --passes {name})"
        except OSError:
            where = ""
        return CompileError(f"pass '{name}' failed: {err}{where}")


_load_all()
