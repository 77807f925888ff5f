"""netc: a static neural-network compiler. The public Python interface lives here.

    import compiler
    graph = compiler.load("examples/lenet5.yaml")
    net = compiler.compile(graph, batch=64, train=True, optimizer=compiler.SGD(lr=0.01))
    net.params; net.forward(x); net.loss_and_grads(x, labels); net.train_step(x, labels)

Where it sits: the one place that ties frontends, passes, codegen and runtime together.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from compiler.frontend import Builder, load
from compiler.optim import SGD, Adam
from ir.version import VERSION as __version__

if TYPE_CHECKING:  # the runtime loads on the first compile(), not on `import compiler`
    from runtime.network import Network


def compile(  # noqa: A001 - the public name is fixed by the design
    graph: object, batch: int | None = None, train: bool = False,
    optimizer: SGD | Adam | None = None, backend: str = "jit", seed: int = 0,
    dtype: str = "f32", layout: str = "auto", *, distributed: object = None,
) -> Network:
    """Compiles a loaded model for one batch size; returns a Network.

    batch: the symbolic batch N of a model is bound to it (1 when left out); a model exported
    at a fixed batch runs as exported when it is left out and is re-batched otherwise (its
    data inputs take the new batch; inputs that are not batched keep their shapes).

    train=True also builds `loss_and_grads` and `train_step` (the model needs a loss);
    optimizer defaults to SGD(lr=0.01). backend: "jit" (machine code for this CPU) or
    "reference" (the numpy interpreter, the oracle every kernel is tested against).
    dtype: "f64" runs a float32 model in float64 (exact comparisons, gradient checks).
    layout: the activations' physical layout for the JIT: "auto" (the fastest measured), ""
    (NCHW), "nhwc", "nchw8c" or "nchw16c"; parameters are always read and written in
    PyTorch's order whatever the layout.
    distributed: a communicator (runtime.distributed.comm.world() under mpirun) makes
    train_step data-parallel: the gradients are averaged over the ranks before the update.
    """
    from compiler.driver.network import build_network

    return build_network(graph, batch=batch, train=train, optimizer=optimizer, backend=backend,
                         seed=seed, dtype=dtype, layout=layout,
                         distributed=distributed)


def load_bundle(folder: str | Path, weights: str | Path | None = None) -> Network:
    """A bundle folder written by `netc build` as a Network over its library (runtime/bundle.py);
    weights: another weights file of the same model (default: the folder's own)."""
    from runtime.bundle import load_bundle as load

    return load(folder, weights)


__all__ = ["SGD", "Adam", "Builder", "__version__", "compile", "load", "load_bundle"]
