"""Training on real images: data, the training loop, checkpoints and curves.

Where it sits: on top of the public API (`compiler.load`, `compiler.compile`, `net.params`,
`net.state`, `net.train_step`, `net.forward`); the `netc train`, `netc eval` and `netc run`
commands (compiler/commands/training.py) are thin shells over it. It never reaches into the
passes, the code generator or the runtime's internals.

    data.py        IDX files (MNIST / Fashion-MNIST format), normalization, shuffling, batches
    checkpoint.py  npz checkpoints: parameters, optimizer state, progress; atomic writes
    loop.py        the epoch loop: progress bar, metrics, evaluation, stop on a signal
    numerics.py    --check-numerics: which op made the loss NaN or Inf
    plot.py        loss and accuracy curves (matplotlib, optional)
"""
