"""Data-parallel training: the same compiled step on every rank, gradients averaged over MPI.

Where it sits: beside runtime/jit/, under the Network that `compiler.compile(...,
distributed=comm)` returns. comm.py reaches MPI (through mpi4py, the optional extra
`netc[mpi]`) behind a small Comm interface; step.py is the training step that runs the
backward entry, all-reduces the gradients in one contiguous buffer and runs the optimizer's
apply entry. Nothing here imports the compiler: the entries arrive as lowered graphs.
"""
