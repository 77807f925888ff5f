"""How the JIT's target machine emits object code: one fact that both the machine
(runtime/jit/llvm_worker.py, here and in the helper process) and the compile cache's keys
(runtime/jit/cache.py) read, in a module that imports nothing (the helper starts fast, a warm
start loads no LLVM).

Where it sits: under llvm_worker.py and cache.py; changing anything here changes every cache
key. The code is what MCJIT loads (its large code model, absolute addresses); the compile
cache also links it into a shared object (runtime/jit/linked.py), whose loader then relocates
those addresses in the text.
"""

MACHINE = {"opt": 3, "reloc": "default", "codemodel": "jitdefault"}
"""llvmlite's create_target_machine arguments (besides the CPU and its features)."""
OBJECT_FORMAT = " ".join(f"{k}={v}" for k, v in sorted(MACHINE.items()))
"""MACHINE as text, for the cache keys."""
