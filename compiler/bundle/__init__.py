"""Ahead-of-time bundles: a compiled network as a shared library, a C header and a weights file.

Where it sits: beside the JIT driver (compiler/driver/jit.py), after the same pipelines, fusion
and memory planning. `build_bundle` generates the same LLVM modules the JIT compiles (every
entry's kernels, the library, the thread pool), emits object code for the requested x86-64
level (`target.py`, `objects.py`), writes a small C wrapper that reproduces the JIT's call
convention behind a documented C API (`spec.py` describes the network, `csource.py` and
`header.py` write the C, `weights.py` and `cweights.py` the weights file in Python and C) and
links everything with the system's `cc` (`link.py`). runtime/bundle.py loads a bundle back
into Python as a Network.
"""

from compiler.bundle.build import build_bundle

__all__ = ["build_bundle"]
