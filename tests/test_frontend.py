"""Model descriptions and the builder: examples, naming, DAGs, and every model error."""

from __future__ import annotations

import re
import textwrap

import pytest

from compiler.frontend import Builder, load
from ir import ModelError, print_graph
from tests.conftest import EXAMPLES


def write(tmp_path, text: str, name: str = "model.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


LENET_HEAD = """
name: m
input: {name: image, shape: [1, 28, 28]}
layers:
"""


def test_lenet5_shapes_and_names():
    g = load(EXAMPLES / "lenet5.yaml")
    assert g.value("flatten").type.shape == ("N", 400)
    assert [p.name for p in g.params] == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
        "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    assert sum(p.type.numel() for p in g.params) == 61706
    assert [n.name for n in g.nodes() if n.op == "relu"] == ["relu1", "relu2", "relu3", "relu4"]
    assert g.loss.name == "loss"
    assert g.outputs[0].name == "fc3"


def test_builder_gives_the_same_graph_as_the_model_file():
    b = Builder("lenet5")
    x = b.input("image", [1, 28, 28])
    x = b.maxpool2d(b.relu(b.conv2d(x, filters=6, kernel=5, padding=2, name="conv1")), kernel=2)
    x = b.maxpool2d(b.relu(b.conv2d(x, filters=16, kernel=5, name="conv2")), kernel=2)
    x = b.relu(b.dense(b.flatten(x), units=120, name="fc1"))
    x = b.relu(b.dense(x, units=84, name="fc2"))
    b.loss("softmax_cross_entropy", b.dense(x, units=10, name="fc3"))
    assert print_graph(b.build()) == print_graph(load(EXAMPLES / "lenet5.yaml"))


def test_json_and_yaml_give_the_same_graph(tmp_path):
    yaml_path = write(tmp_path, LENET_HEAD + "  - conv2d: {filters: 4, kernel: 3}\n  - relu\n")
    json_path = write(tmp_path, """
        {"name": "m", "input": {"name": "image", "shape": [1, 28, 28]},
         "layers": [{"conv2d": {"filters": 4, "kernel": 3}}, "relu"]}""", "model.json")
    assert print_graph(load(yaml_path)) == print_graph(load(json_path))


def test_residual_dag_and_auto_names(tmp_path):
    g = load(EXAMPLES / "resnet_small.json")
    add = g.value("block1_add").node
    assert [v.name for v in add.operands] == ["block1_conv2", "stem_relu"]
    path = write(tmp_path, LENET_HEAD + """
      - conv2d: {filters: 4, kernel: 3, padding: 1}
      - relu
      - conv2d: {filters: 4, kernel: 3, padding: 1}
      - add: {inputs: [conv2, relu]}
      - flatten
    """)
    g = load(path)
    assert [n.name for n in g.nodes()] == ["conv1", "relu", "conv2", "add", "flatten"]


def test_flatten_order_is_row_major_chw():
    import numpy as np

    from runtime import reference

    b = Builder("f")
    x = b.input("x", [2, 3, 4])
    b.flatten(x)
    g = b.build()
    data = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    (flat,) = reference.run(g, {"x": data}).outputs
    c, h, w = 1, 2, 3
    assert flat[0, c * 12 + h * 4 + w] == data[0, c, h, w]


def test_padding_forms(tmp_path):
    g = load(write(tmp_path, LENET_HEAD + """
      - conv2d: {name: a, filters: 2, kernel: 3, padding: same}
      - conv2d: {name: b, filters: 2, kernel: [3, 5], padding: [1, 2]}
      - conv2d: {name: c, filters: 2, kernel: 2, padding: [0, 1, 1, 0]}
      - conv2d: {name: d, filters: 2, kernel: 4, padding: same}
    """))
    assert g.value("a").node.attrs["pad"] == (1, 1, 1, 1)
    assert g.value("b").node.attrs["pad"] == (1, 2, 1, 2)
    assert g.value("c").node.attrs["pad"] == (0, 1, 1, 0)
    assert g.value("d").node.attrs["pad"] == (1, 1, 2, 2)
    assert g.value("d").type.shape == ("N", 2, 28, 28)


@pytest.mark.parametrize(("body", "line", "message"), [
    ("  - conv2: {filters: 6, kernel: 5}\n", 4,
     "unknown layer type 'conv2' (did you mean 'conv2d'?)"),
    ("  - relu\n  - conv2d: {filters: 6, kernel: 5, strides: 2}\n", 5,
     "conv2d has no attribute 'strides' (did you mean 'stride'?)"),
    ("  - conv2d: {filters: six, kernel: 5}\n", 4,
     "conv2d attribute 'filters' must be an integer, got 'six'"),
    ("  - conv2d: {filters: 6}\n", 4, "conv2d needs attribute 'kernel'"),
    ("  - dense: {units: 1.5}\n", 4, "dense attribute 'units' must be an integer"),
    ("  - conv2d: {filters: 6, kernel: 5, padding: middle}\n", 4,
     "'padding' must be an integer, [h, w], [top, left, bottom, right], 'same' or 'valid'"),
])
def test_schema_errors(tmp_path, body, line, message):
    with pytest.raises(ModelError) as info:
        load(write(tmp_path, LENET_HEAD + body))
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "model.yaml") + f":{line}:")


def test_dense_mismatch_names_both_numbers(tmp_path):
    path = write(tmp_path, LENET_HEAD + """
      - conv2d: {filters: 16, kernel: 5, padding: 2}
      - maxpool2d: {kernel: 2}
      - conv2d: {filters: 16, kernel: 5}
      - maxpool2d: {kernel: 2}
      - flatten
      - dense: {name: fc1, units: 120, in_features: 256}
    """)
    with pytest.raises(ModelError) as info:
        load(path)
    msg = str(info.value)
    assert "flatten gives 16x5x5=400 features, dense 'fc1' expects 256" in msg
    assert info.value.line == 10
    assert info.value.layer == "fc1"


def test_window_that_does_not_fit(tmp_path):
    path = write(tmp_path, LENET_HEAD + """
      - conv2d: {name: c1, filters: 4, kernel: 5}
      - maxpool2d: {name: p1, kernel: 8, stride: 8}
      - conv2d: {name: c2, filters: 4, kernel: 5}
    """)
    with pytest.raises(ModelError) as info:
        load(path)
    msg = str(info.value)
    assert "layer 'c2'" in msg
    assert info.value.line == 7
    assert "window does not fit: height: input 3 + padding 0+0 = 3 < window 5" in msg


def test_missing_dag_input(tmp_path):
    path = write(tmp_path, LENET_HEAD + """
      - conv2d: {name: a, filters: 4, kernel: 3}
      - add: {name: s, inputs: [a, b]}
    """)
    with pytest.raises(ModelError, match=r"model.yaml:6: layer 's': input 'b' is not a layer"):
        load(path)


def test_cycle(tmp_path):
    path = write(tmp_path, LENET_HEAD + """
      - conv2d: {name: a, filters: 1, kernel: 1, inputs: [c]}
      - relu: {name: b, inputs: [a]}
      - relu: {name: c, inputs: [b]}
    """)
    with pytest.raises(ModelError, match=r"layers form a cycle: a -> b -> c -> a"):
        load(path)


@pytest.mark.parametrize(("text", "message"), [
    ("", "the model file is empty"),
    ("name: m\ninput: {name: x, shape: [4]}\nlayers: []\n", "the model has no layers"),
    ("name: m\ninput: {name: x, shape: [4]}\n", "the model has no layers"),
    ("- relu\n", "a model description must be a mapping"),
    ("name: m\nlayer: []\n", "unknown key 'layer' (did you mean 'layers'?)"),
])
def test_empty_and_malformed_models(tmp_path, text, message):
    with pytest.raises(ModelError, match=re.escape(message)):
        load(write(tmp_path, text))


def test_yaml_syntax_error_has_line(tmp_path):
    path = write(tmp_path, LENET_HEAD + "  - conv2d: {filters: 6, kernel: 5\n  - relu\n")
    with pytest.raises(ModelError) as info:
        load(path)
    # PyYAML notices at the end of the stream; the message points back to where the map opened
    assert "YAML syntax error" in str(info.value)
    assert info.value.line == 6
    assert "the flow mapping opened on line 4" in str(info.value)


def test_json_syntax_error_has_line(tmp_path):
    path = write(tmp_path, '{"name": "m",\n "layers": [\n  "relu",,\n ]}\n', "m.json")
    with pytest.raises(ModelError) as info:
        load(path)
    assert "JSON syntax error" in str(info.value)
    assert info.value.line == 3


def test_yaml_never_executes_code(tmp_path):
    path = write(tmp_path, "name: !!python/object/apply:os.system ['echo pwned']\nlayers: []\n")
    with pytest.raises(ModelError, match="tag 'tag:yaml.org,2002:python/object/apply:os.system'"):
        load(path)


def test_alias_bomb_is_bounded(tmp_path):
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ModelError, match="expands to more than"):
        load(path)


def test_duplicate_names(tmp_path):
    path = write(tmp_path, LENET_HEAD + """
      - conv2d: {name: a, filters: 1, kernel: 1}
      - relu: {name: a}
    """)
    with pytest.raises(ModelError, match="name 'a' is used twice"):
        load(path)


def test_unknown_loss(tmp_path):
    path = write(tmp_path, LENET_HEAD + "  - flatten\nloss: cross_entropy\n")
    with pytest.raises(ModelError, match=r"unknown loss 'cross_entropy' \(did you mean"):
        load(path)


def test_unknown_file_type(tmp_path):
    with pytest.raises(ModelError, match="unknown model file type '.txt'"):
        load(write(tmp_path, "x", "model.txt"))
