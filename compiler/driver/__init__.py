"""The driver: compiles a loaded graph into something callable.

Where it sits: between the frontends (compiler/frontend) and the runtime (runtime/). Its three
modules are the three steps, in order:
- pipelines.py: which passes lower a model into a forward, gradient or training graph (`lower`,
  `run_passes`); `netc dump` and `netc check` run them too.
- jit.py: plans a lowered graph (fuse, plan-memory), generates its LLVM and hands the machine
  code (from the compile cache when possible) to runtime/jit/ as a CompiledEntry.
- network.py: `compiler.compile` itself: checks the arguments, lowers every entry point and
  builds the Network (JIT or reference).
- segments.py (beside jit.py, for data-parallel networks only): the backward entry compiled as
  segments, so gradient buckets are all-reduced while backward runs.
"""
