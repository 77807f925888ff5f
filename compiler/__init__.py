"""netc: a static neural-network compiler. The public Python interface lives here.

    import compiler
    graph = compiler.load("examples/lenet5.yaml")
    net = compiler.compile(graph, batch=64, train=True, optimizer=compiler.SGD(lr=0.01))
    net.params; net.forward(x); net.loss_and_grads(x, labels); net.train_step(x, labels)

Where it sits: the one place that ties frontends, passes, codegen and runtime together.
"""

from __future__ import annotations

from compiler.frontend import Builder, load

__version__ = "0.1.0"
__all__ = ["Builder", "__version__", "load"]
