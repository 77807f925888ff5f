"""netc explain: the index maps, layouts and contraction of a flatten + dense, for the examples'
real shapes, with checks that really compare netc's computation with the formulas."""

from __future__ import annotations

import json

import numpy as np
import pytest

import compiler
from compiler.cli import main
from compiler.driver.network import DEFAULT_LAYOUT
from compiler.explain import explain, to_data, to_text
from compiler.explain.mean_seam import MeanExplanation
from compiler.explain.seam import flat_index, physical_position, unflatten
from ir.errors import NetcError
from tests.conftest import EXAMPLES, netc

SECTIONS = ("index", "inverse", "permutation", "contraction", "dx", "dW", "db")


@pytest.fixture(scope="module")
def lenet5():
    return compiler.load(EXAMPLES / "lenet5.yaml")


@pytest.fixture(scope="module")
def cifar():
    return compiler.load(EXAMPLES / "cifar_cnn.yaml")


def failing(result):
    return [(name, c.backend) for name, checks in result.checks.items() for c in checks
            if not c.ok]


@pytest.mark.parametrize("layer", ["flatten", "fc1"])
def test_lenet5_shapes_and_maps(lenet5, layer):
    e = explain(lenet5, layer)
    s = e.site
    assert (s.flatten, s.dense, s.source) == ("flatten", "fc1", "pool2")
    assert (s.c, s.h, s.w, s.k, s.features) == (16, 5, 5, 120, 400)
    assert flat_index(1, 2, 3, s) == 1 * 25 + 2 * 5 + 3 == 38
    assert flat_index(15, 4, 4, s) == 399
    assert unflatten(38, s) == (1, 2, 3)
    assert unflatten(267, s) == (10, 3, 2)
    assert all(unflatten(flat_index(c, h, w, s), s) == (c, h, w)
               for c in range(16) for h in range(5) for w in range(5))
    assert e.layout.applied == DEFAULT_LAYOUT
    assert sorted(e.checks) == sorted(SECTIONS)
    assert e.ok, failing(e)


def test_cifar_shapes_and_maps(cifar):
    e = explain(cifar, "flatten")
    s = e.site
    assert (s.c, s.h, s.w, s.k, s.features) == (64, 8, 8, 256, 4096)
    assert flat_index(1, 2, 3, s) == 1 * 64 + 2 * 8 + 3 == 83
    assert unflatten(4095, s) == (63, 7, 7)
    assert e.ok, failing(e)


def test_every_formula_is_checked_against_the_reference_and_the_jit(lenet5):
    e = explain(lenet5, "flatten", layout="nhwc")
    for section in ("contraction", "dx", "dW", "db"):
        backends = [c.backend for c in e.checks[section]]
        assert backends == ["reference interpreter, f64", "JIT, f32, NHWC"]
    assert e.checks["index"][0].max_abs_diff == 0  # a view moves values exactly
    assert e.checks["inverse"][0].max_abs_diff == 0
    assert e.ok, failing(e)


@pytest.mark.parametrize(("layout", "phys"), [
    ("nhwc", (2 * 5 + 3) * 16 + 1),                      # (h*W + w)*C + c
    ("nchw8c", ((1 // 8) * 25 + 2 * 5 + 3) * 8 + 1 % 8),  # ((c//b)*H*W + h*W + w)*b + c%b
    ("nchw16c", ((1 // 16) * 25 + 2 * 5 + 3) * 16 + 1),
    ("nchw", 38),
])
def test_weight_permutation_of_each_layout(lenet5, layout, phys):
    e = explain(lenet5, "fc1", layout=layout)
    assert physical_position(e.layout.applied, 1, 2, 3, e.site) == phys
    expected_tag = "" if layout == "nchw" else f"cols_{layout}_16x5x5"
    assert e.layout.weight_tag == expected_tag
    assert e.ok, failing(e)
    text = to_text(e)
    if expected_tag:
        assert f"(c=1,h=2,w=3): j=38 -> phys={phys}: W'[k, {phys}] = W[k, 38]" in text
        assert "W'[k, phys(j)] = W[k, j]" in text
    else:
        assert "no weight permutation" in text


def test_a_wrong_weight_permutation_is_caught(lenet5, monkeypatch):
    """If net.params stored the dense weight unpermuted under NHWC (the bug the permutation
    exists to prevent), the JIT's numbers disagree with the contraction and explain says so."""
    import ir.layouts

    monkeypatch.setattr(ir.layouts, "weight_to_physical", lambda w, tag: np.array(w))
    e = explain(lenet5, "flatten", layout="nhwc")
    bad = failing(e)
    assert ("contraction", "JIT, f32, NHWC") in bad
    assert all(backend.startswith("JIT") for _, backend in bad)  # the reference is right
    assert not e.ok
    assert "FAILED" in to_text(e)


def test_a_wrong_flatten_order_is_caught(lenet5, monkeypatch):
    """The index-map check reads netc's own flatten: flattening in NHWC order breaks it."""
    from runtime import ref_ops

    original = ref_ops.REF["reshape"]

    def hwc_order(xs, attrs, out):
        if xs[0].ndim == 4 and out.rank == 2:
            return original([xs[0].transpose(0, 2, 3, 1).copy()], attrs, out)
        return original(xs, attrs, out)

    monkeypatch.setitem(ref_ops.REF, "reshape", hwc_order)
    e = explain(lenet5, "flatten")
    assert not e.checks["index"][0].ok
    assert not e.checks["contraction"][0].ok


def test_failed_check_exits_1(lenet5, monkeypatch, capsys):
    import ir.layouts

    monkeypatch.setattr(ir.layouts, "weight_to_physical", lambda w, tag: np.array(w))
    code = main(["explain", str(EXAMPLES / "lenet5.yaml"), "flatten", "--layout", "nhwc"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "FAILED" in out
    assert "a formula disagrees with what netc computes" in err


def test_cli_text_lenet5():
    out = netc("explain", EXAMPLES / "lenet5.yaml", "flatten")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for needle in [
        "flatten %flatten -> dense %fc1",
        "[N, C, H, W] = [N, 16, 5, 5], flattened to [N, 400]",
        "j = c*H*W + h*W + w, here j = c*25 + h*5 + w, 0 <= j < 400",
        "(c=1,h=2,w=3) -> 1*25 + 2*5 + 3 = 38",
        "(c=15,h=4,w=4) -> 15*25 + 4*5 + 4 = 399",
        "j=38 -> c = 38 // 25 = 1, h = (38 // 5) % 5 = 2, w = 38 % 5 = 3: (c=1,h=2,w=3)",
        "%pool2.grad = reshape(%flatten.grad) {shape=[N,16,5,5]} view",
        "3. Physical layout: NCHW (plain), what layout=\"auto\" chooses",
        "W[k,c,h,w] = fc1.weight[k, c*25 + h*5 + w]",
        "y[n,k] = sum_{c,h,w} x[n,c,h,w] * W[k,c,h,w] + b[k]",
        "dx[n,c,h,w] = sum_k dy[n,k] * W[k,c,h,w]",
        "dW[k,c,h,w] = sum_n dy[n,k] * x[n,c,h,w]",
        "%fc1.weight.grad = matmul(%fc1.grad, %flatten) {transpose_a=true",
    ]:
        assert needle in text, needle
    checked = [line for line in text.splitlines() if "checked: max abs diff" in line]
    assert len(checked) == len(SECTIONS)
    assert sum("(JIT, f32, NCHW)" in line for line in checked) == 4
    assert "FAILED" not in text


def test_cli_text_cifar():
    out = netc("explain", EXAMPLES / "cifar_cnn.yaml", "fc1")
    assert out.returncode == 0, out.stderr
    assert "[N, C, H, W] = [N, 64, 8, 8], flattened to [N, 4096]" in out.stdout
    assert "(c=1,h=2,w=3) -> 1*64 + 2*8 + 3 = 83" in out.stdout
    assert "W = %fc1.weight: [K, C*H*W] = [256, 4096]" in out.stdout


def test_cli_json():
    out = netc("explain", EXAMPLES / "cifar_cnn.yaml", "flatten", "--format", "json",
               "--layout", "nhwc")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["flatten"], data["dense"], data["input"]) == ("flatten", "fc1", "pool2")
    assert data["shape"] == {"C": 64, "H": 8, "W": 8}
    assert (data["features"], data["units"]) == (4096, 256)
    assert {"c": 1, "h": 2, "w": 3, "j": 83} in data["index_map"]["examples"]
    assert {"j": 4095, "c": 63, "h": 7, "w": 7} in data["inverse_map"]["examples"]
    lay = data["layout"]
    assert (lay["requested"], lay["applied"], lay["weight_tag"]) == (
        "nhwc", "nhwc", "cols_nhwc_64x8x8")
    assert lay["permuted"] is True
    assert {"c": 1, "h": 2, "w": 3, "j": 83, "phys": (2 * 8 + 3) * 64 + 1} in lay["examples"]
    assert data["gradients"]["x"] == "dx[n,c,h,w] = sum_k dy[n,k] * W[k,c,h,w]"
    assert sorted(data["checks"]) == sorted(SECTIONS)
    assert all(c["ok"] and c["max_abs_diff"] <= c["tolerance"]
               for checks in data["checks"].values() for c in checks)
    assert data["ok"] is True


def test_json_and_text_state_the_same_facts(lenet5):
    e = explain(lenet5, "flatten")
    data, text = to_data(e), to_text(e)
    for x in data["index_map"]["examples"]:
        c, h, w, j = x["c"], x["h"], x["w"], x["j"]
        assert f"(c={c},h={h},w={w}) -> {c}*25 + {h}*5 + {w} = {j}\n" in text
    for x in data["inverse_map"]["examples"]:
        assert f"j={x['j']} -> " in text
        assert f": (c={x['c']},h={x['h']},w={x['w']})\n" in text
    assert data["contraction"]["formula"] in text
    assert data["layout"]["permuted"] is False
    assert data["ir"]["view back"] in text


@pytest.mark.parametrize(("args", "message"), [
    (["lenet5.yaml", "flaten"], "model 'lenet5' has no layer 'flaten' (did you mean 'flatten'?)"),
    (["lenet5.yaml", "conv1"], "layer 'conv1' is a conv2d: explain takes a flatten or the dense "
                               "layer right after one (here: 'flatten' or 'fc1')"),
    (["lenet5.yaml", "fc2"], "layer 'fc2' is a dense layer whose input %relu3 is made by relu, "
                             "not a flatten"),
    (["mlp.yaml", "fc1"], "this model flattens no [N, C, H, W] value"),
])
def test_errors_are_one_line_exit_1(args, message):
    out = netc("explain", EXAMPLES / args[0], *args[1:])
    assert out.returncode == 1
    assert message in out.stderr
    assert out.stderr.startswith("netc: error: ")
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_a_flatten_read_by_no_dense_layer(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("name: m\ninput: {shape: [2, 3, 3]}\nlayers:\n  - flatten\n  - relu\n")
    with pytest.raises(NetcError, match="flatten 'flatten' is not read by a dense layer"):
        explain(compiler.load(path), "flatten")


def test_onnx_model_names():
    pytest.importorskip("onnx", reason="ONNX import needs the onnx package (a dev extra)")
    e = explain(compiler.load(EXAMPLES / "onnx" / "lenet5.onnx"), "fc1")
    assert (e.site.flatten, e.site.c, e.site.h, e.site.w) == ("node_Reshape_7", 16, 5, 5)
    assert e.ok, failing(e)


def test_flatten_of_1x1_maps():
    e = explain(compiler.load(EXAMPLES / "resnet_small.json"), "fc")
    assert (e.site.c, e.site.h, e.site.w, e.site.k) == (16, 1, 1, 10)
    assert [unflatten(j, e.site) for j in range(16)] == [(c, 0, 0) for c in range(16)]
    assert e.ok, failing(e)


# ---------------------------------------------------------------- the mean over tokens


@pytest.fixture(scope="module")
def transformer():
    return explain(compiler.load(EXAMPLES / "transformer_encoder.yaml"), "head")


def test_transformer_mean_to_dense_seam(transformer):
    e = transformer
    assert isinstance(e, MeanExplanation)
    s = e.site
    assert (s.mean, s.dense, s.source, s.t, s.d, s.k) == ("pool", "head", "norm2", 32, 128, 10)
    assert set(e.checks) == {"mean", "mean backward", "contraction", "dx", "dW", "db"}
    assert all(len(e.checks[k]) == 2 for k in ("contraction", "dx", "dW", "db"))  # ref + JIT
    assert e.ok, failing(e)
    assert any("# grad of %pool" in line for line in e.ir["mean backward"])


def test_mean_seam_named_by_the_mean_itself():
    e = explain(compiler.load(EXAMPLES / "transformer_encoder.yaml"), "pool")
    assert e.site.dense == "head"


def test_a_wrong_mean_gradient_is_caught(monkeypatch):
    from compiler.explain import mean_seam

    right = mean_seam._Checker.contractions

    def without_the_1_over_t(self, dy):
        out = right(self, dy)
        out["dx"] = out["dx"] * self.site.t
        return out

    monkeypatch.setattr(mean_seam._Checker, "contractions", without_the_1_over_t)
    e = explain(compiler.load(EXAMPLES / "transformer_encoder.yaml"), "head")
    assert not e.ok
    assert not all(c.ok for c in e.checks["dx"])


def test_cli_text_and_json_of_the_mean_seam(transformer):
    out = netc("explain", EXAMPLES / "transformer_encoder.yaml", "head")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "mean %pool -> dense %head" in text
    assert "[N, T, D] = [N, 32, 128], averaged over its 32 tokens to [N, 128]" in text
    assert "dx[n,t,d] = dm[n,d] / T for every t, here dm[n,d] / 32" in text
    assert "FAILED" not in text
    data = to_data(transformer)
    assert data["contraction"]["formula"] in to_text(transformer)
    assert data["shape"] == {"T": 32, "D": 128}
    assert data["ok"] is True


def test_onnx_sequence_model_mean_seam():
    pytest.importorskip("onnx", reason="ONNX import needs the onnx package (a dev extra)")
    from compiler.frontend.onnx import import_model
    from tests.onnx_builders import Net

    rng = np.random.default_rng(3)
    n = Net(rng)
    mean = n.one("ReduceMean", ["x"], axes=[1], keepdims=0)
    w = n.init("head.weight", rng.standard_normal((4, 8)).astype(np.float32))
    y = n.one("Gemm", [mean, w, n.init("head.bias", np.zeros(4, np.float32))], transB=1)
    graph = import_model(n.model("x", [2, 6, 8], y), source="seq.onnx", loss=None)
    e = explain(graph, "ReduceMean_1")
    assert (e.site.t, e.site.d, e.site.k) == (6, 8, 4)
    assert e.ok, failing(e)
