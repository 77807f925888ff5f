"""ONNX graphs built with onnx.helper, node by node as PyTorch's exporter writes them: what the
ONNX tests (test_onnx_blocks.py, test_onnx_finetune.py, test_rebatch.py) build their models with.

Where it sits: a helper of the tests (no test_ prefix: pytest collects nothing here), so that
test modules share it without importing each other.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64
RNG = np.random.default_rng(7)


class Net:
    """An ONNX graph under construction: nodes, initializers, fresh names."""

    def __init__(self, rng: np.random.Generator = RNG) -> None:
        self.rng = rng
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"/{base}_{self.count}"

    def op(self, op: str, inputs: list[str], outputs: int = 1, **attrs) -> list[str]:
        name = self.name(op)
        outs = [f"{name}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs

    def one(self, op: str, inputs: list[str], **attrs) -> str:
        return self.op(op, inputs, **attrs)[0]

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits[name] = np.asarray(array)
        return name

    def const(self, array: np.ndarray | list, dtype=np.int64) -> str:
        """A Constant node, as the TorchScript exporter writes shape operands."""
        out = self.name("Constant") + "_output_0"
        tensor = numpy_helper.from_array(np.asarray(array, dtype=dtype), out)
        self.nodes.append(helper.make_node("Constant", [], [out], value=tensor))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1,
             bias: bool = True) -> str:
        """A convolution with batch norm folded in: weight and bias initializers."""
        w = self.init(self.name("conv") + ".weight",
                      self.rng.standard_normal((cout, cin // group, k, k)).astype(np.float32)
                      * np.float32(1.0 / np.sqrt(cin // group * k * k)))
        inputs = [x, w]
        if bias:
            inputs.append(self.init(self.name("conv") + ".bias",
                                    self.rng.standard_normal(cout).astype(np.float32) * 0.1))
        return self.one("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride],
                        pads=[k // 2] * 4, group=group, dilations=[1, 1])

    def model(self, x: str, shape: list, y: str, rank: int = 2, opset: int = 17):
        """The model from input `x` to output `y` (of `rank` dims, left symbolic)."""
        inits = [numpy_helper.from_array(a, n) for n, a in self.inits.items()]
        out = [f"d{i}" for i in range(rank)]
        graph = helper.make_graph(self.nodes, "block",
                                  [helper.make_tensor_value_info(x, FLOAT, shape)],
                                  [helper.make_tensor_value_info(y, FLOAT, out)],
                                  initializer=inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
