"""Code generation: fused, planned graphs -> LLVM IR modules for the host CPU.

Where it sits: after the passes. `module.generate` turns one entry point into a small entry
module plus one module per kernel; `library.library_module` is the GEMM engine they share.
Codegen returns text and never compiles: that is the runtime's job (runtime/jit).
"""
