"""Linking a bundle: the C wrapper and the object code into lib<name>.so with the system's cc.

Where it sits: the last step of compiler/bundle/build.py. Only the API's names (`<name>_*`)
are exported (a version script): the entry, kernel, library and pool symbols stay inside, so
two bundles, or a bundle and netc's own JIT, never resolve each other's functions.
"""

from __future__ import annotations

from pathlib import Path

from runtime.jit.linked import c_compiler, run_cc, shared_library_command

__all__ = ["c_compiler", "compile_program", "link_library"]


def link_library(source: Path, objects: list[Path], prefix: str, output: Path) -> None:
    """Compiles `source` and links it with `objects` into the shared library `output`."""
    script = source.with_suffix(".map")
    script.write_text(f"{{\n  global: {prefix}_*;\n  local: *;\n}};\n")
    run_cc(shared_library_command(["-fPIC", "-O2", "-std=gnu11", str(source),
                                   *(str(o) for o in objects),
                                   f"-Wl,--version-script={script}"], output), output)


def compile_program(source: Path, library_dir: Path, library: str, output: Path) -> None:
    """Builds a C program against a bundle (what the README says, for tests and the bench)."""
    command = [c_compiler(), "-O2", "-o", str(output), str(source), f"-I{library_dir}",
               f"-L{library_dir}", f"-l{library}", f"-Wl,-rpath,{library_dir.resolve()}"]
    run_cc(command, output)
