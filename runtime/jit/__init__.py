"""The JIT side of the runtime: compiled networks and programs, the one native-call path, the
LLVM engine owner, the native thread pool, the compile cache.

Where it sits: below compiler/driver/, which plans and generates code and hands over
CompiledEntry descriptions; network.py (JITNetwork) and program.py (GraphProgram) call them
through call.py; engine.py compiles and loads what codegen (compiler/codegen) produces, which
never compiles anything itself; cache.py keeps the machine code across processes; pool.py runs
the kernels' parallel loops.
"""
