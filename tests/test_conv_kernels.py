"""The direct convolution kernels (compiler/codegen/emitters/conv_direct.py) against the
reference interpreter, in every activation layout, and the rule behind layout="auto".

One network holds every case the kernel distinguishes: a plain image read into a blocked output
(one source channel per step), 1x1 / 3x3 / 5x5 / 7x7 kernels, strides 1 and 2, asymmetric
padding and dilation, no padding (the input read in place), a last channel group of a single
vector, a channel count that takes half-width blocks (24 channels: nchw8c inside nchw16c), a
value read by a grouped convolution, which stays plain (the im2col GEMM beside the direct
kernels), and batches whose images loop inside each task, both with the weights packed
outside the images and inside; the weights packed once by the runtime (pack-conv-weights, the
default) and per call (what bundles build). tests/test_vector_widths.py runs this file again
at the vector width the host does not pick."""

from __future__ import annotations

import ctypes
import json

import llvmlite.ir as ir
import numpy as np
import pytest

import compiler
from compiler.codegen.emitters.conv_direct import _makespan, accepts
from compiler.codegen.kernel_builder import I64, VOID, KernelBuilder
from compiler.driver.network import build_network
from compiler.driver.pipelines import lower
from compiler.passes import PassContext
from compiler.passes.layout import auto_layout
from ir.layouts import weight_panels_of, weight_to_panels
from ir.parser import parse
from ir.printer import print_graph
from runtime.jit.engine import Engine

LAYOUTS = ["", "nhwc", "nchw8c", "nchw16c"]
TOL = {"f32": dict(rtol=1e-4, atol=1e-5), "f64": dict(rtol=1e-9, atol=1e-11)}


def conv(name, filters, kernel, stride=1, padding=0, dilation=1, groups=1):
    return {"conv2d": {"name": name, "filters": filters, "kernel": kernel, "stride": stride,
                       "padding": padding, "dilation": dilation, "groups": groups}}


def conv_net():
    """3x14x13 image -> a chain of convolutions covering the direct kernel's cases."""
    layers = [
        conv("c7s2", 48, 7, stride=2, padding=3),       # plain source, last group one vector
        {"relu": {"name": "r1"}},
        conv("c3", 32, 3, padding=1),                   # 3x3 stride 1, blocked source
        conv("c5d", 32, 5, padding=[3, 1, 1, 3], dilation=[1, 2]),  # asymmetric, dilated
        {"relu": {"name": "r2"}},
        conv("c1", 64, 1),                              # 1x1: read in place, no copy
        conv("c3s2", 32, 3, stride=2, padding=1),       # strided 3x3
        conv("pre", 32, 3, padding=1),                  # read by the grouped one: plain
        conv("g2", 32, 3, padding=1, groups=2),         # grouped: stays on the GEMM path
        conv("c1s2", 24, 1, stride=2),                  # 24 channels: nchw8c in nchw16c
        {"relu": {"name": "r3"}},
        {"flatten": {"name": "flat"}},
        {"dense": {"name": "fc", "units": 5}},
    ]
    return {"name": "convs", "input": {"name": "image", "shape": [3, 14, 13]},
            "layers": layers, "loss": "softmax_cross_entropy"}


def wide_net():
    """Few big images and many channels on small ones, at batch 3: the images loop inside the
    tasks with the padded source refilled per group (deep) or the weights repacked per image
    (early)."""
    layers = [conv("early", 16, 3, padding=1), conv("early2", 16, 3, padding=1),
              conv("down", 64, 3, stride=4, padding=1), conv("deep", 64, 3, padding=1),
              {"flatten": {"name": "flat"}}, {"dense": {"name": "fc", "units": 3}}]
    return {"name": "wide", "input": {"name": "image", "shape": [16, 24, 24]},
            "layers": layers, "loss": "softmax_cross_entropy"}


def epilogue_net():
    """Epilogues the direct kernel runs on its accumulators: batchnorm + SiLU, a residual add
    + ReLU6 (the raw sum of the first block is read again later, so it is stored too), a
    sigmoid gate multiplied in, and GELU (erf: not a vector formula, so the epilogue sweeps
    the output after the tile is stored)."""
    layers = [
        conv("a", 32, 3, padding=1), {"batchnorm": {"name": "bn"}}, {"silu": {"name": "act"}},
        conv("b", 32, 3, padding=1), {"add": {"name": "res", "inputs": ["b", "act"]}},
        {"relu6": {"name": "r6"}},
        conv("c", 32, 1), {"sigmoid": {"name": "gate"}},
        {"mul": {"name": "gated", "inputs": ["gate", "res"]}},
        conv("d", 16, 3, stride=2, padding=1), {"gelu": {"name": "g"}},
        {"flatten": {"name": "flat"}}, {"dense": {"name": "fc", "units": 4}},
    ]
    return {"name": "epilogues", "input": {"name": "image", "shape": [16, 9, 10]},
            "layers": layers, "loss": "softmax_cross_entropy"}


def small_image_net():
    """Deep layers on small images, as resnet18's layer4 at batch 1: a 14x14 image, a stride-2
    convolution down to 7x7, channel counts that are not multiples of 16 (40: nchw8c blocks;
    176: 11 vectors of 16, several groups to a task and a last one of one vector) and a
    residual add."""
    layers = [conv("wide", 48, 3, padding=1), {"relu": {"name": "r1"}},
              conv("down", 40, 3, stride=2, padding=1),
              conv("deep", 176, 3, padding=1), {"relu": {"name": "r2"}},
              conv("deep2", 176, 3, padding=1), {"add": {"name": "res", "inputs": ["deep2", "r2"]}},
              {"flatten": {"name": "flat"}}, {"dense": {"name": "fc", "units": 3}}]
    return {"name": "small", "input": {"name": "image", "shape": [24, 14, 14]},
            "layers": layers, "loss": "softmax_cross_entropy"}


def pointwise_net():
    """Pointwise convolutions on a 14x13 image, as mobilenet's and efficientnet's: register
    tiles run across rows (182 pixels: whole tiles and a narrower last one at both widths),
    tasks split channel groups and tiles; 176 channels (11 vectors of 16, a last group of one
    vector), 40 (nchw8c blocks); a ReLU6 and a residual add in the epilogue; projections
    (fewer channels out than in) over 3 images take register tiles of 4 vectors."""
    layers = [conv("pre", 128, 1), conv("expand", 176, 1), {"relu6": {"name": "r6"}},
              conv("project", 128, 1), {"add": {"name": "res", "inputs": ["project", "pre"]}},
              conv("narrow", 40, 1),
              {"flatten": {"name": "flat"}}, {"dense": {"name": "fc", "units": 3}}]
    return {"name": "pointwise", "input": {"name": "image", "shape": [96, 14, 13]},
            "layers": layers, "loss": "softmax_cross_entropy"}


def load(tmp_path, model):
    path = tmp_path / f"{model['name']}.json"
    path.write_text(json.dumps(model))
    return compiler.load(path)


def compare(graph, shape, layout, dtype, batch, train=False):
    ref = compiler.compile(graph, batch=batch, train=train, backend="reference", dtype=dtype)
    net = compiler.compile(graph, batch=batch, train=train, layout=layout, dtype=dtype)
    for name in ref.params:
        net.params[name] = ref.params[name]
    x = np.random.default_rng(3).standard_normal((batch, *shape))
    x = x.astype(np.float32 if dtype == "f32" else np.float64)
    np.testing.assert_allclose(net.forward(x), ref.forward(x), **TOL[dtype])
    return net, ref, x


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_direct_convolutions_match_the_reference(tmp_path, layout, dtype):
    compare(load(tmp_path, conv_net()), (3, 14, 13), layout, dtype, batch=2)


@pytest.mark.parametrize("layout", ["nhwc", "nchw16c"])
def test_batches_loop_inside_the_tasks(tmp_path, layout):
    compare(load(tmp_path, wide_net()), (16, 24, 24), layout, "f32", batch=3)


@pytest.mark.parametrize("layout", ["nhwc", "nchw16c"])
@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_one_image_fills_its_source_once_for_all_groups(tmp_path, layout, dtype):
    """Batch 1: each task fills the padded source of its rows once, then runs its channel
    groups over it (the image loop outside the groups)."""
    compare(load(tmp_path, small_image_net()), (24, 14, 14), layout, dtype, batch=1)
    compare(load(tmp_path, conv_net()), (3, 14, 13), layout, dtype, batch=1)


@pytest.mark.parametrize("layout", ["nhwc", "nchw8c", "nchw16c"])
@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_pointwise_tiles_run_across_rows(tmp_path, layout, dtype):
    for batch in (1, 3):
        compare(load(tmp_path, pointwise_net()), (96, 14, 13), layout, dtype, batch=batch)


def test_projections_over_many_pixels_pack_four_vectors(tmp_path):
    """Weight panels of 4 vectors of 16 for the projections at batch 3 (546 pixels), of 2 at
    batch 1 (182) and for the expansion."""
    graph = load(tmp_path, pointwise_net())
    for batch, wide in ((1, 32), (3, 64)):
        options = {"layout": "nchw16c", "fold_batch_norm": True}
        lowered = lower(graph, "forward", PassContext(batch=batch, options=options))
        widths = {n.name: weight_panels_of(n.operands[1].type.layout) for n in lowered.nodes()
                  if accepts(n)}
        assert widths == {"pre": 32, "expand": 16, "project": wide, "narrow": 8}


@pytest.mark.parametrize("layout", ["nhwc", "nchw16c"])
@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_fused_epilogues_match_the_reference(tmp_path, layout, dtype):
    compare(load(tmp_path, epilogue_net()), (16, 9, 10), layout, dtype, batch=2)


def test_training_reads_the_direct_forward(tmp_path):
    """A blocked training step: the forward runs the direct kernels, the backward conv.py's
    im2col GEMMs over the same layout; gradients equal the reference's."""
    net, ref, x = compare(load(tmp_path, conv_net()), (3, 14, 13), "nchw16c", "f64", batch=2,
                          train=True)
    labels = np.array([1, 4])
    loss, grads = net.loss_and_grads(x, labels)
    want_loss, want = ref.loss_and_grads(x, labels)
    np.testing.assert_allclose(loss, want_loss, **TOL["f64"])
    for name, g in want.items():
        scale = max(np.abs(g).max(), 1.0)
        np.testing.assert_allclose(grads[name] / scale, g / scale, err_msg=name, **TOL["f64"])


@pytest.mark.parametrize("layout", ["nhwc", "nchw8c", "nchw16c"])
@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_weights_packed_per_call_match_the_reference(tmp_path, layout, dtype):
    """fold_batch_norm=False (what AOT bundles build): no runtime constants, so the direct
    kernels pack their weights per call, as they did before pack-conv-weights; batch 3 runs
    both loop orders (wide_net), batch 1 the image loop outside the groups."""
    cases = ((conv_net(), (3, 14, 13), 3), (wide_net(), (16, 24, 24), 3),
             (small_image_net(), (24, 14, 14), 1))
    for model, shape, batch in cases:
        graph = load(tmp_path, model)
        ref = compiler.compile(graph, batch=batch, backend="reference", dtype=dtype)
        net = build_network(graph, batch=batch, train=False, optimizer=None, backend="jit",
                            seed=0, dtype=dtype, layout=layout, fold_batch_norm=False)
        assert not [v for v in net.graphs.forward.inputs if weight_panels_of(v.type.layout)]
        for name in ref.params:
            net.params[name] = ref.params[name]
        x = np.random.default_rng(4).standard_normal((batch, *shape)).astype(net.params[
            "fc.weight"].dtype)
        np.testing.assert_allclose(net.forward(x), ref.forward(x), **TOL[dtype])


def test_direct_convolutions_read_weights_packed_once(tmp_path):
    """Every direct convolution reads a runtime-packed weight whose panels hold whole vectors
    at both widths and divide its output channels; the printed IR parses back unchanged."""
    graph = load(tmp_path, conv_net())
    options = {"layout": "nchw16c", "fold_batch_norm": True}
    lowered = lower(graph, "forward", PassContext(batch=2, options=options), verify_each=True)
    widths = {n.name: weight_panels_of(n.operands[1].type.layout) for n in lowered.nodes()
              if accepts(n)}
    assert widths == {"c7s2": 16, "c3": 32, "c5d": 32, "c1": 32, "c3s2": 32, "c1s2": 8}
    assert {n.operands[1].role for n in lowered.nodes() if n.name in widths} == {"input"}
    assert "c7s2.weight" in {v.name for v in lowered.params}  # the parameter stays
    text = print_graph(lowered)
    assert "@oihw32o input" in text
    assert print_graph(parse(text)) == text


def test_task_split_evens_out_the_threads():
    """6 channel groups x 7 rows on 2 threads: 4 tasks of 1, 2, 1, 2 groups left one thread
    4 groups' work; 6 tasks of one group each give both 3. Groups of unequal widths (96
    channels: one group of 4 vectors, one of 2) count by their vectors."""
    assert _makespan([1] * 6, 4, 7, 1, 2) == 28
    assert _makespan([1] * 6, 6, 7, 1, 2) == 21
    assert _makespan([1], 1, 56, 4, 2) == 28
    assert _makespan([4, 2], 2, 5, 1, 2) == 20
    assert _makespan([4, 2], 1, 5, 5, 2) == 18


def test_panels_are_the_weight_blocked_over_output_channels():
    w = np.arange(48 * 5 * 3 * 2, dtype=np.float32).reshape(48, 5, 3, 2)
    panels = weight_to_panels(w, 16).reshape(3, 5 * 3 * 2, 16)
    for o in (0, 17, 47):
        np.testing.assert_array_equal(panels[o // 16, :, o % 16], w[o].reshape(-1))


def direct_layers(graph, layout):
    lowered = lower(graph, "forward", PassContext(batch=2, options={"layout": layout}))
    return {n.name for n in lowered.nodes() if accepts(n)}


def test_the_direct_kernel_takes_blocked_ungrouped_convolutions(tmp_path):
    graph = load(tmp_path, conv_net())
    assert direct_layers(graph, "") == set()  # plain outputs: the im2col GEMM
    assert direct_layers(graph, "nchw16c") == {"c7s2", "c3", "c5d", "c1", "c3s2", "c1s2"}
    assert direct_layers(graph, "nchw8c") == {"c7s2", "c3", "c5d", "c1", "c3s2", "c1s2"}


def test_auto_blocks_wide_convolution_networks_for_inference(tmp_path):
    graph = load(tmp_path, conv_net())
    assert auto_layout(graph, 16, train=False) == "nchw16c"
    assert auto_layout(graph, 8, train=False) == "nchw8c"
    assert auto_layout(graph, 16, train=True) == ""  # the backward kernels favour NCHW
    assert auto_layout(graph, 4, train=False) == ""  # no layout of 4-channel blocks
    narrow = {"name": "narrow", "input": {"name": "image", "shape": [1, 12, 12]},
              "layers": [conv("a", 6, 5, padding=2), conv("b", 12, 3),
                         {"flatten": {"name": "flat"}}, {"dense": {"name": "fc", "units": 2}}]}
    assert auto_layout(load(tmp_path, narrow), 16, train=False) == ""


# ---------------------------------------------------------------- vector exp, sigmoid, tanh

def compiled_vector_op(op: str, lanes: int = 16):
    """expr.py's formula of `op` (float32 exp from compiler/codegen/vmath.py) over n floats
    as vectors (n a multiple of lanes), compiled for this host."""
    from compiler.codegen.expr import EXPR, ExprEnv
    from ir.graph import Graph
    from ir.types import TensorType

    g = Graph("f")
    node = g.add_op(op, [g.add_input("x", TensorType("f32", (lanes,)), "input")], {}, "y").node
    assert node is not None
    module = ir.Module(op)
    module.triple = Engine.get().host.triple
    ptr = ir.FloatType().as_pointer()
    fn = ir.Function(module, ir.FunctionType(VOID, [ptr, ptr, I64]), op)
    kb = KernelBuilder(module, fn)
    src, dst, count = fn.args
    vty = ir.VectorType(ir.FloatType(), lanes)
    with kb.loop(0, count, step=lanes) as i:
        value = EXPR[op](kb, [kb.vload(src, i, vty)], node.attrs, ExprEnv(node))
        kb.vstore(value, dst, i)
    kb.b.ret_void()
    engine = Engine.get()
    mod = engine.parse(str(module), op)
    engine.optimize(mod)
    loaded = engine.load_object(engine.emit_object(mod))
    return loaded.function(op, None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


@pytest.mark.parametrize(("op", "want", "atol"), [
    ("exp", np.exp, 1.2e-38), ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), 1.2e-38),
    ("tanh", np.tanh, 2.5e-7)])  # 1 - 2/(e^2x + 1), expr.py's formula, cancels near 0
def test_vector_formulas_match_numpy_to_an_ulp_or_two(op, want, atol):
    x = np.concatenate([np.linspace(-100, 100, 4001), np.random.default_rng(0).normal(0, 3, 991),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 88.7, 88.8, -87.3, -88.0]])
    x = x[: len(x) // 16 * 16].astype(np.float32)
    got = np.empty_like(x)
    with np.errstate(over="ignore"):
        ref = want(x.astype(np.float64)).astype(np.float32)
    compiled_vector_op(op)(x.ctypes.data, got.ctypes.data, len(x))
    np.testing.assert_allclose(got, ref, rtol=4e-7, atol=atol)


def pooling_net():
    """A padded strided max pool, squeeze-excitation as EfficientNet has it, then a global
    max pool: the pools read blocked planes a channel block (one vector) at a time."""
    layers = [
        conv("a", 32, 3, padding=1), {"silu": {"name": "act"}},
        {"maxpool2d": {"name": "mp", "kernel": 3, "stride": 2, "padding": 1}},
        {"global_avgpool": {"name": "squeeze"}}, conv("reduce", 8, 1),
        {"relu": {"name": "r"}}, conv("expand", 32, 1), {"sigmoid": {"name": "gate"}},
        {"mul": {"name": "excite", "inputs": ["mp", "gate"]}},
        {"global_maxpool": {"name": "gmp"}},
        {"flatten": {"name": "flat"}}, {"dense": {"name": "fc", "units": 4}},
    ]
    return {"name": "pools", "input": {"name": "image", "shape": [16, 9, 10]},
            "layers": layers, "loss": "softmax_cross_entropy"}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ["f32", "f64"])
def test_global_pools_over_every_layout_match_the_reference(tmp_path, layout, dtype):
    compare(load(tmp_path, pooling_net()), (16, 9, 10), layout, dtype, batch=3)
