"""The JIT side of the runtime: the LLVM engine owner, the native thread pool, the compile cache.

Where it sits: runtime/jit_network.py builds networks on top of these; codegen (compiler/codegen)
hands over LLVM modules and never compiles them itself.
"""
