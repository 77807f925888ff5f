"""The verifier rejects malformed graphs with a message naming the op and its printed line."""

from __future__ import annotations

import pytest

from compiler.frontend import load
from ir import Graph, TensorType, VerifyError, verify
from tests.conftest import EXAMPLES


def small_graph():
    g = Graph("g")
    x = g.add_input("x", TensorType("f32", ("N", 4)), "input")
    w = g.add_input("w", TensorType("f32", (3, 4)), "param")
    y = g.add_op("dense", [x, w], name="fc")
    g.outputs = [g.add_op("relu", [y], name="act")]
    return g


def test_examples_verify():
    for name in ("lenet5.yaml", "cifar_cnn.yaml", "mlp.yaml", "resnet_small.json"):
        verify(load(EXAMPLES / name))


def test_wrong_result_type():
    g = small_graph()
    g.value("act").type = TensorType("f32", ("N", 5))
    with pytest.raises(VerifyError) as info:
        verify(g)
    msg = str(info.value)
    assert msg.startswith("op relu (%act): result type f32[N,5] disagrees with the shape rule")
    assert "`%act = relu(%fc) : f32[N,5]`" in msg


def test_wrong_attribute_value():
    g = small_graph()
    g.value("act").node.attrs["alpha"] = 0.1
    with pytest.raises(VerifyError, match=r"op relu \(%act\): op 'relu' has no attribute 'alpha'"):
        verify(g)


def test_operand_shape_mismatch():
    g = small_graph()
    g.value("w").type = TensorType("f32", (3, 5))
    with pytest.raises(VerifyError, match=r"op dense \(%fc\): dense gets 4 input features, its "
                                          r"weight 3x5 expects 5"):
        verify(g)


def test_wrong_arity():
    g = small_graph()
    node = g.value("act").node
    node.operands.append(node.operands[0])
    with pytest.raises(VerifyError, match=r"op relu \(%act\): op 'relu' takes 1 operands, got 2"):
        verify(g)


def test_bad_update_and_loss():
    g = small_graph()
    g.updates.append((g.value("x"), g.value("act")))
    with pytest.raises(VerifyError, match="update target %x must be a param or state"):
        verify(g)
    g = small_graph()
    g.loss = g.value("act")
    with pytest.raises(VerifyError, match="loss %act must be a scalar"):
        verify(g)


def test_cycle_is_rejected():
    g = small_graph()
    fc = g.value("fc").node
    g.replace_uses(g.value("x"), g.value("act"))
    assert fc.operands[0].name == "act"
    with pytest.raises(VerifyError, match="has a cycle"):
        verify(g)
