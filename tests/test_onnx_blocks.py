"""The building blocks of real networks, written as PyTorch's exporter writes them, against ONNX
Runtime: residual blocks with folded batch norm (ResNet), the inverted residual with a depthwise
convolution and Clip(0, 6) (MobileNet v2), squeeze-excitation with SiLU and HardSigmoid
(EfficientNet, MobileNet v3), the channel shuffle and split (ShuffleNet), and a self-attention
block with its Shape/Gather/Reshape arithmetic, LayerNormalization, batched MatMul and Softmax
(a TransformerEncoderLayer). netc's JIT in float32 must match ORT to 1e-4 of the output's scale.
Small widths keep the suite fast; the structure is the exporter's, node for node.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX import needs the onnx package")
ort = pytest.importorskip("onnxruntime", reason="the oracle: pip install -e '.[dev]'")

import compiler  # noqa: E402
from compiler.frontend.onnx import import_model  # noqa: E402
from ir import ModelError  # noqa: E402
from tests.onnx_builders import FLOAT, Net  # noqa: E402

RNG = np.random.default_rng(7)


def against_ort(m, batch_shape: list[int]) -> float:
    """max |netc - ORT| / max |ORT| of the JIT's forward on random input."""
    x = RNG.standard_normal(batch_shape).astype(np.float32)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    graph = import_model(m, source="block.onnx", loss=None)
    net = compiler.compile(graph, batch=batch_shape[0])
    got = net.forward(x)
    assert got.shape == want.shape
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))


# ---------------------------------------------------------------- ResNet

def basic_block(n: Net, x: str, c: int, shared_bias: str | None = None) -> str:
    h = n.one("Relu", [n.conv(x, c, c, 3)])
    if shared_bias is None:
        h = n.conv(h, c, c, 3)
    else:  # the exporter's merged zero bias, handed out through an Identity
        w = n.init(n.name("conv") + ".weight",
                   RNG.standard_normal((c, c, 3, 3)).astype(np.float32) * np.float32(0.1))
        h = n.one("Conv", [h, w, n.one("Identity", [shared_bias])], kernel_shape=[3, 3],
                  pads=[1, 1, 1, 1])
    return n.one("Relu", [n.one("Add", [h, x])])


def bottleneck(n: Net, x: str, cin: int, mid: int, cout: int, stride: int) -> str:
    h = n.one("Relu", [n.conv(x, cin, mid, 1)])
    h = n.one("Relu", [n.conv(h, mid, mid, 3, stride)])
    h = n.conv(h, mid, cout, 1)
    down = n.conv(x, cin, cout, 1, stride)
    return n.one("Relu", [n.one("Add", [h, down])])


def classifier_head(n: Net, x: str, c: int, classes: int = 10) -> str:
    pooled = n.one("GlobalAveragePool", [x])
    flat = n.one("Flatten", [pooled], axis=1)
    w = n.init("fc.weight", RNG.standard_normal((classes, c)).astype(np.float32) * 0.2)
    b = n.init("fc.bias", RNG.standard_normal(classes).astype(np.float32) * 0.1)
    return n.one("Gemm", [flat, w, b], alpha=1.0, beta=1.0, transB=1)


@pytest.mark.parametrize("batch", [1, 3])
def test_resnet_blocks_match_ort(batch):
    n = Net()
    stem = n.one("MaxPool", [n.one("Relu", [n.conv("input.1", 3, 8, 3, 2)])],
                 kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    zero = n.init("onnx::Conv_197", np.zeros(8, dtype=np.float32))
    h = basic_block(n, stem, 8, shared_bias=zero)
    h = basic_block(n, h, 8, shared_bias=zero)
    h = bottleneck(n, h, 8, 4, 16, 2)
    y = classifier_head(n, h, 16)
    assert against_ort(n.model("input.1", [batch, 3, 32, 32], y), [batch, 3, 32, 32]) < 1e-4


def test_a_shared_initializer_gives_each_reader_its_own_parameter():
    """Exporters merge equal initializers; fine-tuning must still train each bias on its own."""
    n = Net()
    zero = n.init("onnx::Conv_197", np.zeros(8, dtype=np.float32))
    h = basic_block(n, n.conv("x", 3, 8, 3), 8, shared_bias=zero)
    h = basic_block(n, h, 8, shared_bias=zero)
    graph = import_model(n.model("x", [1, 3, 8, 8], h, rank=4), source="b.onnx", loss=None)
    biases = [node.operands[2] for node in graph.nodes() if node.op == "conv2d"]
    assert len(biases) == 5
    assert len({b.name for b in biases}) == 5
    assert all(b.role == "param" for b in biases)
    assert sum("Identity" in b.name for b in biases) == 2


# ---------------------------------------------------------------- MobileNet v2

def clip6(n: Net, x: str) -> str:
    return n.one("Clip", [x, n.const(0.0, np.float32), n.const(6.0, np.float32)])


def inverted_residual(n: Net, x: str, c: int, expand: int, stride: int, cout: int) -> str:
    hidden = c * expand
    h = clip6(n, n.conv(x, c, hidden, 1))
    h = clip6(n, n.conv(h, hidden, hidden, 3, stride, group=hidden))  # depthwise
    h = n.conv(h, hidden, cout, 1)
    return n.one("Add", [x, h]) if stride == 1 and c == cout else h


@pytest.mark.parametrize("batch", [1, 2])
def test_inverted_residual_blocks_match_ort(batch):
    n = Net()
    h = clip6(n, n.conv("input", 3, 8, 3, 2))
    h = inverted_residual(n, h, 8, 4, 1, 8)
    h = inverted_residual(n, h, 8, 6, 2, 12)
    y = classifier_head(n, h, 12)
    assert against_ort(n.model("input", [batch, 3, 16, 16], y), [batch, 3, 16, 16]) < 1e-4


# ---------------------------------------------------------------- EfficientNet, MobileNet v3

def silu(n: Net, x: str) -> str:
    return n.one("Mul", [x, n.one("Sigmoid", [x])])


def squeeze_excite(n: Net, x: str, c: int, squeezed: int, gate: str) -> str:
    s = n.one("GlobalAveragePool", [x])
    s = silu(n, n.conv(s, c, squeezed, 1))
    s = n.conv(s, squeezed, c, 1)
    s = n.one("Sigmoid", [s]) if gate == "sigmoid" else n.one("HardSigmoid", [s], alpha=1 / 6)
    return n.one("Mul", [s, x])


@pytest.mark.parametrize("gate", ["sigmoid", "hardsigmoid"])
def test_squeeze_excitation_blocks_match_ort(gate):
    n = Net()
    h = silu(n, n.conv("input", 3, 8, 3, 2))
    h = squeeze_excite(n, n.conv(h, 8, 8, 3, group=8), 8, 2, gate)
    h = n.one("HardSwish", [n.conv(h, 8, 16, 1)])
    y = classifier_head(n, h, 16)
    assert against_ort(n.model("input", [2, 3, 16, 16], y), [2, 3, 16, 16]) < 1e-4


# ---------------------------------------------------------------- ShuffleNet v2

def channel_shuffle(n: Net, x: str, groups: int) -> str:
    """PyTorch's x.view(b, g, c//g, h, w).transpose(1, 2).reshape(b, -1, h, w), with the
    shape read back through Shape/Gather/Div as the exporter writes it."""
    shape = n.one("Shape", [x])
    dims = [n.one("Gather", [shape, n.const(i)], axis=0) for i in range(4)]
    per_group = n.one("Div", [dims[1], n.const(groups)])
    parts = [n.one("Unsqueeze", [d, n.const([0])]) for d in (dims[0], per_group, dims[2],
                                                              dims[3])]
    target = n.one("Concat", [parts[0], n.const([groups]), *parts[1:]], axis=0)
    h = n.one("Transpose", [n.one("Reshape", [x, target])], perm=[0, 2, 1, 3, 4])
    back = n.one("Concat", [parts[0], n.const([-1]), parts[2], parts[3]], axis=0)
    return n.one("Reshape", [h, back])


def test_shuffle_units_match_ort():
    n = Net()
    h = n.one("Relu", [n.conv("input", 3, 8, 3)])
    left = n.one("Slice", [h, n.const([0]), n.const([4]), n.const([1])])
    right = n.one("Slice", [h, n.const([4]), n.const([8]), n.const([1])])
    right = n.one("Relu", [n.conv(n.conv(right, 4, 4, 3, group=4), 4, 4, 1)])
    h = channel_shuffle(n, n.one("Concat", [left, right], axis=1), 2)
    a, b = n.op("Split", [h, n.const([2, 6])], outputs=2, axis=1)
    h = n.one("Concat", [n.one("Relu", [b]), a], axis=1)
    y = classifier_head(n, h, 8)
    assert against_ort(n.model("input", [1, 3, 8, 8], y), [1, 3, 8, 8]) < 1e-4


# ---------------------------------------------------------------- transformer encoder

def linear(n: Net, x: str, din: int, dout: int) -> str:
    w = n.init(n.name("linear") + ".weight", RNG.standard_normal((din, dout)).astype(np.float32)
               * np.float32(1 / np.sqrt(din)))
    b = n.init(n.name("linear") + ".bias", RNG.standard_normal(dout).astype(np.float32) * 0.1)
    return n.one("Add", [b, n.one("MatMul", [x, w])])


def layer_norm(n: Net, x: str, d: int) -> str:
    scale = n.init(n.name("norm") + ".weight", 1 + 0.1 * RNG.standard_normal(d).astype(np.float32))
    bias = n.init(n.name("norm") + ".bias", 0.1 * RNG.standard_normal(d).astype(np.float32))
    return n.one("LayerNormalization", [x, scale, bias], axis=-1, epsilon=1e-5)


def self_attention(n: Net, x: str, tokens: int, d: int, heads: int) -> str:
    """torch.nn.MultiheadAttention as exported: one in-projection, q/k/v picked apart with
    Gather, head reshapes from Shape arithmetic, scaled by 1/sqrt(head dim) from Shape too."""
    hd = d // heads
    seq = n.one("Transpose", [x], perm=[1, 0, 2])  # [L, B, d]
    qkv = linear(n, seq, d, 3 * d)  # [L, B, 3d]
    shape = n.one("Shape", [qkv])
    split = n.one("Concat", [n.one("Slice", [shape, n.const([0]), n.const([-1])]),
                             n.const([3, d])], axis=0)
    qkv = n.one("Reshape", [qkv, split])  # [L, B, 3, d]
    qkv = n.one("Squeeze", [n.one("Transpose", [n.one("Unsqueeze", [qkv, n.const([0])])],
                                  perm=[3, 1, 2, 0, 4]), n.const([3])])  # [3, L, B, d]
    heads_shape = n.const([tokens, -1, hd])
    q, k, v = (n.one("Transpose", [n.one("Reshape", [n.one("Gather", [qkv, n.const(i)], axis=0),
                                                      heads_shape])], perm=[1, 0, 2])
               for i in range(3))  # [B*H, L, hd]
    scale_dim = n.one("Slice", [n.one("Shape", [q]), n.const([-1]), n.const([2**62])])
    scale = n.one("Div", [n.const(1.0, np.float32),
                          n.one("Sqrt", [n.one("Cast", [scale_dim], to=FLOAT)])])
    scores = n.one("MatMul", [n.one("Mul", [q, n.one("Sqrt", [scale])]),
                              n.one("Transpose", [n.one("Mul", [k, n.one("Sqrt", [scale])])],
                                    perm=[0, 2, 1])])
    attn = n.one("MatMul", [n.one("Softmax", [scores], axis=-1), v])  # [B*H, L, hd]
    merged = n.one("Reshape", [n.one("Transpose", [attn], perm=[1, 0, 2]),
                               n.const([tokens, -1, d])])
    return n.one("Transpose", [linear(n, merged, d, d)], perm=[1, 0, 2])


@pytest.mark.parametrize("batch", [1, 2])
def test_attention_block_matches_ort(batch):
    tokens, d, heads = 6, 16, 4
    n = Net()
    h = linear(n, "x", 5, d)
    h = layer_norm(n, n.one("Add", [h, self_attention(n, h, tokens, d, heads)]), d)
    ff = linear(n, n.one("Relu", [linear(n, h, d, 2 * d)]), 2 * d, d)
    h = layer_norm(n, n.one("Add", [h, ff]), d)
    y = linear(n, n.one("ReduceMean", [h], axes=[1], keepdims=0), d, 3)
    assert against_ort(n.model("x", [batch, tokens, 5], y), [batch, tokens, 5]) < 1e-4


# ---------------------------------------------------------------- what cannot be folded

def dynamic_batch_model():
    """x [N, 4, 2] -> Reshape(x, [Shape(x)[0], -1]) -> Relu: a dynamic-batch export whose shape
    arithmetic reads the batch itself."""
    n = Net()
    shape = n.one("Shape", ["x"])
    batch = n.one("Slice", [shape, n.const([0]), n.const([1])])
    flat = n.one("Reshape", ["x", n.one("Concat", [batch, n.const([-1])], axis=0)])
    return n.model("x", ["N", 4, 2], n.one("Relu", [flat]), rank=2)


def test_shape_arithmetic_on_a_symbolic_batch_imports_at_batch_1_and_re_batches():
    graph = import_model(dynamic_batch_model(), source="dyn.onnx", loss=None)
    assert [v.type.shape for v in graph.inputs_with_role("input")] == [(1, 4, 2)]
    assert against_ort(dynamic_batch_model(), [3, 4, 2]) < 1e-6
    assert against_ort(dynamic_batch_model(), [1, 4, 2]) < 1e-6


def test_shape_arithmetic_on_the_batch_inside_a_fixed_import_names_the_node():
    """The importer itself (without load_onnx's retry at batch 1) says which node read N."""
    from compiler.frontend.onnx.importer import BatchUnknownError, Importer
    from compiler.frontend.onnx.proto import prepare_model

    model = prepare_model(dynamic_batch_model(), "dyn.onnx")
    with pytest.raises(BatchUnknownError) as info:
        Importer(model, "dyn.onnx", "dyn", loss=None).run()
    message = str(info.value)
    assert "dyn.onnx" in message
    assert "/Shape_1" in message
    assert "batch N is not known at import" in message


def test_gather_of_scattered_indices_on_data_matches_ort():
    """Indices that are no single run: crops of each run, concatenated (then the index shape)."""
    n = Net()
    h = n.one("Gather", ["x", n.const([[3, 0], [1, 1]])], axis=1)
    y = n.one("Flatten", [n.one("Relu", [h])], axis=1)
    assert against_ort(n.model("x", [2, 4, 3], y), [2, 4, 3]) < 1e-6


def test_gather_out_of_range_on_data_is_refused_with_the_indices():
    n = Net()
    y = n.one("Gather", ["x", n.const([0, 4])], axis=1)
    with pytest.raises(ModelError) as info:
        import_model(n.model("x", [1, 4, 3], y, rank=2), source="g.onnx", loss=None)
    assert "g.onnx" in str(info.value)
    assert "/Gather_2" in str(info.value)
    assert "indices [0, 4] out of range for a dimension of 4" in str(info.value)
