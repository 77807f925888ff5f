"""Discovery by file name: the one way netc finds the modules that extend a table.

Where it sits: under everything, beside the op table. Several tables are filled by the modules
of a folder whose names share a prefix, so that adding an op, a pass or a command means adding
a file, not editing a list. Every such folder calls `load_modules`, and README.md ("Layout of
the code") lists them all:

    package                    prefix       each module registers
    ir                         ops_         op declarations into ir.ops.OPS
    runtime                    ref_ops_     numpy semantics into runtime.ref_ops.REF
    compiler.passes            (all but _*, grad_rules*)  passes into PASSES (@register)
    compiler.passes            grad_rules_  gradient rules into grad_rules.RULES
    compiler.codegen.emitters  (all)        its EMITTERS dict, merged by emitter_table()
    compiler.commands          (all)        a CLI subcommand, through its register(sub)
    compiler.frontend.onnx     convert_     ONNX converters into registry.CONVERTERS

Modules load in name order, so registration order (and everything printed from it) does not
depend on the file system.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def load_modules(package: str, prefix: str = "", skip: tuple[str, ...] = ()) -> list[ModuleType]:
    """Imports every module of `package` whose name starts with `prefix` and with none of
    `skip`, in name order, and returns them (importing a module is what registers it)."""
    path = importlib.import_module(package).__path__
    names = sorted(info.name for info in pkgutil.iter_modules(path))
    return [importlib.import_module(f"{package}.{name}") for name in names
            if name.startswith(prefix) and not (skip and name.startswith(skip))]
