"""optimizer: turns the gradients into in-place parameter updates (SGD, Adam) as IR ops.

Pre: the output of autodiff: `outputs` are the parameter gradients in parameter order.
Post: no outputs; the loss stays; for every parameter an update `%p <- %p.next`, plus updates of
the optimizer's state tensors (inputs with role `state`: momentum buffers, Adam moments, the
step counter). Formulas are torch.optim's, term by term (ir/ops_train.py).

    %fc1.weight.grad = matmul(%fc1.grad, %flatten) {transpose_a=true} : f32[120,400]
 +  %fc1.weight.next = sgd_step(%fc1.weight, %fc1.weight.grad) {lr=0.01, weight_decay=0.0}
 +  update %fc1.weight <- %fc1.weight.next
"""

from __future__ import annotations

from compiler.optim import SGD, Adam
from compiler.passes import PassContext, register
from compiler.passes.training_forms import step_counter
from ir.errors import CompileError
from ir.graph import Graph, Value


@register("optimizer")
def optimizer(graph: Graph, ctx: PassContext) -> Graph:
    opt = ctx.optimizer or SGD(lr=0.01)
    params = graph.params
    if len(graph.outputs) < len(params):
        raise CompileError("optimizer: run autodiff first (expects one gradient per parameter)")
    for p, g in zip(params, graph.outputs, strict=False):
        if isinstance(opt, SGD):
            _sgd(graph, p, g, opt)
        elif isinstance(opt, Adam):
            _adam(graph, p, g, opt)
        else:
            raise CompileError(f"unknown optimizer {opt!r} (use compiler.SGD or compiler.Adam)")
    graph.outputs = []
    if graph.has_value("step"):
        step = graph.value("step")
        graph.updates.append((step, graph.add_op("increment", [step], {},
                                                 graph.fresh_name("step.next"))))
    return graph


def _state(graph: Graph, p: Value, suffix: str) -> Value:
    return graph.add_input(graph.fresh_name(f"{p.name}.{suffix}"), p.type, "state")


def _sgd(graph: Graph, p: Value, g: Value, opt: SGD) -> None:
    wd = opt.weight_decay
    if not opt.momentum:
        new = graph.add_op("sgd_step", [p, g], {"lr": opt.lr, "weight_decay": wd},
                           graph.fresh_name(f"{p.name}.next"))
        graph.updates.append((p, new))
        return
    buf = _state(graph, p, "momentum")
    new_buf = graph.add_op("sgd_momentum_buf", [buf, g, p],
                           {"momentum": opt.momentum, "weight_decay": wd},
                           graph.fresh_name(f"{buf.name}.next"))
    new = graph.add_op("sgd_momentum_step", [p, g, new_buf],
                       {"lr": opt.lr, "momentum": opt.momentum, "weight_decay": wd,
                        "nesterov": opt.nesterov}, graph.fresh_name(f"{p.name}.next"))
    graph.updates += [(buf, new_buf), (p, new)]


def _adam(graph: Graph, p: Value, g: Value, opt: Adam) -> None:
    step = step_counter(graph)
    m, v = _state(graph, p, "adam_m"), _state(graph, p, "adam_v")
    b1, b2 = opt.betas
    wd = opt.weight_decay
    new_m = graph.add_op("adam_m", [m, g, p], {"beta1": b1, "weight_decay": wd},
                         graph.fresh_name(f"{m.name}.next"))
    new_v = graph.add_op("adam_v", [v, g, p], {"beta2": b2, "weight_decay": wd},
                         graph.fresh_name(f"{v.name}.next"))
    new = graph.add_op("adam_step", [p, new_m, new_v, step],
                       {"lr": opt.lr, "beta1": b1, "beta2": b2, "eps": opt.eps},
                       graph.fresh_name(f"{p.name}.next"))
    graph.updates += [(m, new_m), (v, new_v), (p, new)]
