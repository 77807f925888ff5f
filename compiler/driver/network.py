"""compile(): lowers a loaded graph through the pipelines and hands the result to a backend.

Where it sits: the last step of the driver (compiler/driver/), what `compiler.compile` calls:
it lowers each entry point with compiler/driver/pipelines.py and builds the Network, handing a
JIT network the driver's EntryCompiler (compiler/driver/jit.py); the one place where passes
meet the runtime.
"""

from __future__ import annotations

from typing import Any

from compiler.driver.pipelines import (
    fixed_batch,
    lower,
    lower_apply,
    lower_backward,
    rebatched,
    run_passes,
)
from compiler.initializers import initial_values
from compiler.optim import SGD, Adam
from compiler.passes import PassContext
from ir.errors import CompileError
from ir.graph import Graph
from ir.layouts import ACTIVATION_LAYOUTS
from ir.types import BATCH, MAX_ELEMENTS, elements
from runtime.network import CompiledGraphs, Network, ReferenceNetwork

BACKENDS = ("jit", "reference")


def _check_arguments(graph: object, batch: int | None, train: bool, optimizer: object,
                     backend: str, dtype: str, layout: str) -> None:
    if not isinstance(graph, Graph):
        raise CompileError(f"compile() takes a graph from compiler.load(...), got "
                           f"{type(graph).__name__}")
    if backend not in BACKENDS:
        raise CompileError(f"unknown backend '{backend}' (expected one of {', '.join(BACKENDS)})")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int)
                              or batch < 1):
        raise CompileError(f"batch must be a positive integer, got {batch!r}")
    if train and graph.loss is None:
        raise CompileError(f"model '{graph.name}' has no loss; add `loss: softmax_cross_entropy` "
                           "(or mse) to train it")
    if optimizer is not None and not isinstance(optimizer, (SGD, Adam)):
        raise CompileError(f"optimizer must be compiler.SGD(...) or compiler.Adam(...), got "
                           f"{optimizer!r}")
    if dtype not in ("f32", "f64"):
        raise CompileError(f"dtype must be 'f32' or 'f64', got {dtype!r}")
    if layout not in ("auto", *ACTIVATION_LAYOUTS):
        raise CompileError(f"layout must be 'auto' or one of "
                           f"{', '.join(repr(x) for x in ACTIVATION_LAYOUTS)}, got {layout!r}")


def _check_batch_size(graph: Graph, batch: int) -> None:
    """Refuses a batch that would make some tensor exceed netc's per-tensor bound, naming the
    layer and the largest batch the model allows (rather than failing later inside a pass)."""
    per_sample = {v.name: (elements(v.type.shape), v.type.shape) for v in graph.values()
                  if BATCH in v.type.shape}
    if not per_sample:
        return
    name, (count, shape) = max(per_sample.items(), key=lambda item: item[1][0])
    if count * batch <= MAX_ELEMENTS:
        return
    dims = "x".join(str(batch if d == BATCH else d) for d in shape)
    raise CompileError(f"batch {batch:,} makes '{name}' {dims} = {count * batch:,} elements; "
                       f"netc's limit is {MAX_ELEMENTS:,} per tensor, so this model takes a batch "
                       f"of at most {MAX_ELEMENTS // count:,}")


DEFAULT_LAYOUT = ""
"""What layout="auto" means for training (plain NCHW: the backward kernels are conv.py's im2col
GEMMs); for inference auto_layout decides per network."""


def jit_options(graph: Graph, dtype: str, train: bool, layout: str = "auto",
                fold_batch_norm: bool = True) -> dict[str, Any]:
    """The pass options a JIT network lowers its entries with: the layout ("auto" resolved for
    this host, "nchw" or "" plain) and batchnorm folding (the JIT network computes the folded
    and packed constants, runtime/jit/folding.py). `netc compile` and `netc dump` lower with the
    same options, so what they show is what the JIT runs."""
    if layout == "auto":
        layout = auto_layout(graph, dtype, train)
    return {"layout": "" if layout == "nchw" else layout, "fold_batch_norm": fold_batch_norm}


def auto_layout(graph: Graph, dtype: str, train: bool) -> str:
    """What layout="auto" means for this graph on this host (compiler/passes/layout.py's rule
    for the host's vector width)."""
    from compiler.driver.jit import host_target
    from compiler.passes.layout import auto_layout as rule

    return rule(graph, host_target().lanes(dtype), train)


def build_network(graph: object, batch: int | None, train: bool,
                  optimizer: SGD | Adam | None, backend: str, seed: int, dtype: str = "f32",
                  layout: str = "auto", distributed: object = None,
                  fold_batch_norm: bool = True) -> Network:
    """The Network for `graph`. batch=None runs a model with fixed input shapes as they are
    (and binds a symbolic batch to 1); batch=B binds the symbolic batch, or re-batches a model
    exported at a fixed batch (pipelines.rebatched). distributed=comm builds the data-parallel
    training step over that communicator (runtime/distributed/). fold_batch_norm=False keeps
    inference batchnorm as its own kernel (bundles: their C side does not compute the folded
    constants that runtime/jit/folding.py computes for a JIT network)."""
    _check_arguments(graph, batch, train, optimizer, backend, dtype, layout)
    _check_distributed(distributed, train)
    assert isinstance(graph, Graph)
    graph = rebatched(graph, batch)
    batch = fixed_batch(graph) or batch or 1
    _check_batch_size(graph, batch)
    if backend == "jit":
        from compiler.driver.jit import prepare

        prepare()
    opt = optimizer or SGD(lr=0.01)
    options: dict[str, Any] = {"dtype": dtype} if dtype != "f32" else {}
    if backend == "jit":  # the reference interpreter always works in the logical order
        options.update(jit_options(graph, dtype, train, layout, fold_batch_norm))

    def ctx(train: bool = False, optimizer: SGD | Adam | None = None) -> PassContext:
        return PassContext(batch=batch, options=dict(options), train=train, optimizer=optimizer)

    builders = {"forward": lambda: lower(graph, "forward", ctx())}
    if train:
        builders["grads"] = lambda: lower(graph, "grads", ctx(train=True))
        builders["train"] = lambda: lower(graph, "train", ctx(train=True, optimizer=opt))
    if distributed is not None:
        builders["backward"] = lambda: lower_backward(graph, ctx(train=True))
        builders["apply"] = lambda: lower_apply(graphs.primary, ctx(train=True, optimizer=opt))
    graphs = CompiledGraphs(builders)
    if options.get("layout"):  # every entry must store the parameters the same way
        primary = "train" if train else "forward"
        reported: dict[str, Any] = {}
        probe = ctx(train=train, optimizer=opt)
        graphs.preset(lower(graph, primary, probe, reported=reported), primary)
        options["layout"] = reported.get("layout_applied", "")
    # Parameters are initialized from the model as loaded (where each one's role is plain);
    # state the pipelines add (momentum buffers, Adam moments, the step) starts at zero.
    values = initial_values(run_passes(graph, ("set-dtype",), ctx()), seed)
    values = {**initial_values(graphs.primary, seed), **values}
    if distributed is not None:
        return _data_parallel(graphs, values, batch, backend, distributed)
    if backend == "reference":
        return ReferenceNetwork(graphs, values, batch)
    from compiler.driver.jit import EntryCompiler
    from runtime.jit.network import JITNetwork

    return JITNetwork(graphs, values, batch, EntryCompiler(graphs))


COMM_METHODS = ("allreduce_sum", "bcast", "bcast_array", "allgather", "abort")
"""What compile(..., distributed=) needs of a communicator (runtime/distributed/comm.py)."""


def _check_distributed(comm: object, train: bool) -> None:
    if comm is None:
        return
    if not train:
        raise CompileError("distributed= needs train=True: it splits the training step")
    missing = [m for m in COMM_METHODS if not callable(getattr(comm, m, None))]
    if missing or not isinstance(getattr(comm, "size", None), int):
        raise CompileError(f"distributed= takes a communicator (runtime.distributed.comm.world()"
                           f" or LocalComm()), got {type(comm).__name__}")


def _data_parallel(graphs: CompiledGraphs, values: dict[str, Any], batch: int, backend: str,
                   comm: Any) -> Network:
    """The training network whose step is runtime/distributed/step.py's, joined to `comm`."""
    from runtime.distributed.step import DataParallel, DataParallelJIT, DataParallelReference

    net: DataParallel
    segments = None
    if backend == "reference":
        net = DataParallelReference(graphs, values, batch)
    else:
        from compiler.driver.jit import EntryCompiler
        from compiler.driver.segments import BackwardSegments

        entries = EntryCompiler(graphs)
        net = DataParallelJIT(graphs, values, batch, entries)
        segments = BackwardSegments(entries, graphs)  # to overlap allreduce with backward
    net.join(comm, segments)
    return net
