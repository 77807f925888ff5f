"""One-op graphs and their checks, shared by the per-op test modules.

Where it sits: a test helper (not a test module). test_gradcheck_ops.py and test_jit_ops.py
check every op's gradient rule and kernel; test_jit_tensor_ops.py does the same for the tensor
ops with these same builders, feeds and checks.
"""

from __future__ import annotations

import numpy as np

from compiler.driver.jit import compile_graph
from compiler.driver.pipelines import lower, run_passes
from compiler.gradcheck import check_gradients
from compiler.passes import PassContext
from ir import Graph, TensorType
from runtime import reference

# ---------------------------------------------------------------- gradients (float64)

GRADCHECK_TOL = 1e-6
"""Largest relative error of an analytic gradient against central differences (float64)."""
GRADCHECK_RNG = np.random.default_rng(7)


def op_loss_graph(op, shapes, attrs=None, roles=None, dtypes=None):
    """inputs -> op -> sum(out * r): a scalar loss whose gradient reaches every float input."""
    g = Graph(op)
    vals = []
    for i, shape in enumerate(shapes):
        dtype = (dtypes or {}).get(i, "f64")
        role = (roles or {}).get(i, "param" if dtype != "i64" else "label")
        vals.append(g.add_input(f"in{i}", TensorType(dtype, tuple(shape)), role))
    out = g.add_op(op, vals, attrs or {}, name="out")
    r = g.add_input("r", out.type, "const")
    prod = g.add_op("mul", [out, r], name="weighted")
    g.loss = g.add_op("reduce_sum", [prod], {"axes": list(range(out.type.rank))}, name="loss")
    g.outputs = [out]
    return g


def gradcheck_feeds(graph, positive=(), labels=None):
    """float64 feeds for op_loss_graph: unit normals, or in [0.5, 2) for `positive` inputs."""
    feeds = {}
    for v in graph.inputs:
        shape = v.type.shape
        if v.type.dtype == "i64":
            feeds[v.name] = labels
        elif v.name in positive:
            feeds[v.name] = GRADCHECK_RNG.uniform(0.5, 2.0, size=shape)
        else:
            feeds[v.name] = GRADCHECK_RNG.standard_normal(shape)
    return feeds


def assert_gradients(graph, feeds, max_elements=400, passes=None):
    checks = check_gradients(graph, feeds, max_elements=max_elements, passes=passes)
    assert checks, "nothing was differentiated"
    for c in checks:
        assert c.error < GRADCHECK_TOL, (f"{graph.name}: d loss / d {c.name}: relative error "
                                         f"{c.error:.2e}")
        assert c.analytic_norm > 0, f"{graph.name}: gradient of {c.name} is identically zero"


# ---------------------------------------------------------------- the JIT against the reference

JIT_RNG = np.random.default_rng(11)
DTYPES = ["f32", "f64"]
JIT_TOL = {"f32": dict(rtol=2e-5, atol=2e-5), "f64": dict(rtol=1e-10, atol=1e-11)}


def op_graph(op, shapes, attrs=None, dtype="f32", int_inputs=(), loss=True):
    """inputs -> op -> (optional) sum(out * r): forward output and a loss to differentiate."""
    g = Graph(op)
    vals = []
    for i, shape in enumerate(shapes):
        is_int = i in int_inputs
        vals.append(g.add_input(f"in{i}", TensorType("i64" if is_int else dtype, tuple(shape)),
                                "label" if is_int else "input"))
    out = g.add_op(op, vals, attrs or {}, name="out")
    g.outputs = [out]
    if loss:
        r = g.add_input("r", out.type, "input")
        prod = g.add_op("mul", [out, r], name="weighted")
        g.loss = g.add_op("reduce_sum", [prod], {"axes": list(range(out.type.rank))},
                          name="loss")
    return g


def feeds_for(graph, positive=(), labels=None):
    """Feeds for op_graph in each input's dtype: unit normals, or in [0.5, 2) for `positive`."""
    feeds = {}
    for v in graph.inputs:
        if v.type.dtype == "i64":
            feeds[v.name] = labels
            continue
        dtype = np.float32 if v.type.dtype == "f32" else np.float64
        if v.name in positive:
            feeds[v.name] = JIT_RNG.uniform(0.5, 2.0, size=v.type.shape).astype(dtype)
        else:
            feeds[v.name] = JIT_RNG.standard_normal(v.type.shape).astype(dtype)
    return feeds


def check(graph, feeds, dtype, backward=True):
    """JIT forward (and gradient graph) equal the reference interpreter's."""
    tol = JIT_TOL[dtype]
    forward = run_passes(graph, ("drop-loss", "canonicalize"), PassContext())
    got, _ = compile_graph(forward)(feeds)
    want = reference.run(forward, feeds).outputs
    for g_, w_ in zip(got, want, strict=True):
        np.testing.assert_allclose(g_, w_, **tol)
    if not backward or graph.loss is None:
        return
    wrt = tuple(v.name for v in graph.inputs if v.type.dtype != "i64" and v.name != "r")
    grads = lower(graph, "grads", PassContext(train=True, wrt=wrt))
    if grads.has_value("step"):  # training-form dropout draws its mask from the step
        feeds = {**feeds, "step": np.array(3, dtype=np.int64)}
    got, loss = compile_graph(grads, "grads")(feeds)
    ref = reference.run(grads, feeds)
    # a sum's rounding error scales with the sum of its terms' magnitudes, not with the result
    # (which may cancel to near zero): compare the loss on that scale
    terms = np.abs(want[0] * feeds["r"]).sum() if "r" in feeds else abs(ref.loss)
    scale = max(float(terms), 1.0)
    np.testing.assert_allclose(loss / scale, ref.loss / scale, **tol)
    for name, g_, w_ in zip(wrt, got, ref.outputs, strict=True):
        scale = max(np.abs(w_).max(), 1.0)
        np.testing.assert_allclose(g_ / scale, w_ / scale, err_msg=f"d loss / d {name}", **tol)
