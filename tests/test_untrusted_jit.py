"""Issue 17, class 6: valid models that failed under the JIT only.

A MatMul whose weight was a Constant filled with one value became `const {value=0.5,
shape=[4,3]}`, which has no buffer: the contraction emitter asked for its pointer and netc
died in `internal error: KeyError: 'w'` while the reference backend computed it. A constant
an emitter walks through a pointer is now a read-only global of the kernel's module
(compiler/codegen/context.py). These tests put splat constants in every operand position of
the ops whose kernels read operands through pointers (contractions, convolution, pooling,
softmax, the training step), under the JIT against the reference interpreter.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import compiler
from compiler.frontend.onnx import import_model


def model(nodes, inputs, output_shape, consts):
    """An ONNX model of `nodes`, whose Constant nodes `consts` (name -> array) come first."""
    made = [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(a, name))
            for name, a in consts.items()]
    graph = helper.make_graph(
        [*made, *nodes], "splat",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def splat(shape, value=0.5):
    return np.full(shape, value, np.float32)


CASES = {
    "matmul weight": ([helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": [2, 4]}, [2, 3],
                      {"w": splat((4, 3))}),
    "matmul zero weight": ([helper.make_node("MatMul", ["x", "w"], ["y"])], {"x": [2, 4]},
                           [2, 3], {"w": splat((4, 3), 0.0)}),
    "matmul left operand": ([helper.make_node("MatMul", ["w", "x"], ["y"])], {"x": [4, 3]},
                            [2, 3], {"w": splat((2, 4), -1.25)}),
    "gemm weight and bias": ([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)],
                             {"x": [2, 5]}, [2, 3],
                             {"w": splat((3, 5), 0.25), "b": splat((3,), 2.0)}),
    "conv weight": ([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
                    {"x": [2, 3, 6, 6]}, [2, 4, 6, 6], {"w": splat((4, 3, 3, 3), 0.125)}),
    "conv weight and bias": ([helper.make_node("Conv", ["x", "w", "b"], ["y"])],
                             {"x": [1, 2, 5, 5]}, [1, 3, 3, 3],
                             {"w": splat((3, 2, 3, 3), 0.5), "b": splat((3,), -1.0)}),
    "conv input": ([helper.make_node("Conv", ["c", "x"], ["y"])], {"x": [2, 3, 2, 2]},
                   [1, 2, 4, 4], {"c": splat((1, 3, 5, 5), 1.5)}),
    "pool of a constant": ([helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2],
                                             strides=[2, 2]),
                            helper.make_node("Add", ["p", "x"], ["y"])],
                           {"x": [1, 2, 2, 2]}, [1, 2, 2, 2], {"c": splat((1, 2, 4, 4), 3.0)}),
    "softmax of a constant": ([helper.make_node("Softmax", ["c"], ["s"]),
                               helper.make_node("Mul", ["s", "x"], ["y"])],
                              {"x": [2, 5]}, [2, 5], {"c": splat((2, 5), 0.0)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_splat_constants_compute_the_same_under_the_jit(case):
    nodes, inputs, out, consts = CASES[case]
    graph = import_model(model(nodes, inputs, out, consts), loss=None)
    feeds = [np.random.default_rng(1).standard_normal(s).astype(np.float32)
             for s in inputs.values()]
    batch = next(iter(inputs.values()))[0]
    want = compiler.compile(graph, batch=batch, backend="reference").forward(*feeds)
    got = compiler.compile(graph, batch=batch).forward(*feeds)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_splat_constants_train_under_the_jit():
    """A constant weight between the input and a trained one: forward, gradient and update
    through the backward contractions, which read the constant too."""
    nodes = [helper.make_node("MatMul", ["x", "c"], ["h"]),
             helper.make_node("MatMul", ["h", "w"], ["y"])]
    onnx_model = model(nodes, {"x": [4, 6]}, [4, 3], {"c": splat((6, 5), 0.3)})
    onnx_model.graph.initializer.append(numpy_helper.from_array(
        np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32), "w"))
    graph = import_model(onnx_model, loss="softmax_cross_entropy")
    x = np.random.default_rng(3).standard_normal((4, 6)).astype(np.float32)
    labels = np.array([0, 2, 1, 2])
    ref = compiler.compile(graph, batch=4, train=True, backend="reference")
    jit = compiler.compile(graph, batch=4, train=True)
    want_loss, want_grads = ref.loss_and_grads(x, labels)
    got_loss, got_grads = jit.loss_and_grads(x, labels)
    assert got_loss == pytest.approx(want_loss, rel=1e-5)
    assert set(got_grads) == set(want_grads)
    for name, grad in want_grads.items():
        np.testing.assert_allclose(got_grads[name], grad, rtol=1e-4, atol=1e-5)
    ref.train_step(x, labels)
    jit.train_step(x, labels)
    for name in ref.params:
        np.testing.assert_allclose(jit.params[name], ref.params[name], rtol=1e-4, atol=1e-5)


def test_the_issue_example_through_the_cli(tmp_path, capsys):
    """The instance of issue 17 as a user met it: `netc run` on the model under the JIT."""
    from compiler.cli import main

    nodes, inputs, out, consts = CASES["matmul weight"]
    path = tmp_path / "m.onnx"
    path.write_bytes(model(nodes, inputs, out, consts).SerializeToString())
    x = tmp_path / "x.npy"
    np.save(x, np.ones((2, 4), np.float32))
    assert main(["run", str(path), "--input", str(x), "--output", str(tmp_path / "y.npy")]) == 0
    assert "internal error" not in capsys.readouterr().err
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), np.full((2, 3), 2.0, np.float32))
