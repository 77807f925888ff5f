"""The services table's layout: the slots every entry reaches the pool and the library
through (args[1]), and the library's version.

Where it sits: beside compiler/codegen/library.py (which builds the functions of these slots and
re-exports both names), in a module that imports nothing, so that the JIT driver
(compiler/driver/services.py) can fill the table from the compile cache without loading the
library's code generator (llvmlite.ir) on a warm start.
"""

SERVICES = ("parallel_for", "gemm_f32", "gemm_f64", "pack_a_strided_f32", "pack_b_strided_f32",
            "pack_a_strided_f64", "pack_b_strided_f64")
"""Slots of the services table, in order."""
LIBRARY_VERSION = "netc-lib-6"
