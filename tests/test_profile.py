"""`netc profile`: every kernel of the entry in the table, shares that add up, FLOPs equal to a
count by hand, the peak formula, and one-line errors."""

from __future__ import annotations

import os

import pytest

import compiler
from compiler.cli import main
from compiler.commands.profile import Peak, measure, render, rows
from ir.errors import CompileError
from tests.conftest import EXAMPLES, netc


def tiny() -> compiler.Builder:
    """x[N, 4] -> dense(3) -> relu -> dense(2), softmax cross-entropy."""
    b = compiler.Builder("tiny")
    x = b.input("x", [4])
    h = b.relu(b.dense(x, units=3, name="fc1"))
    b.loss("softmax_cross_entropy", b.dense(h, units=2, name="fc2"))
    return b


def test_flops_match_a_count_by_hand():
    before = os.environ.get("NETC_PROFILE")
    profile = measure(tiny().build(), batch=5, train=False, seconds=0.01)
    by_layer = {k.layer: k.flops for k in profile.kernels}
    # dense: 2 * in * out multiply-adds per sample plus the bias; relu fused into fc1: 1 each
    assert by_layer == {"fc1": 5 * (2 * 4 * 3 + 3 + 3), "fc2": 5 * (2 * 3 * 2 + 2)}
    assert profile.calls >= 3
    assert os.environ.get("NETC_PROFILE") == before  # later compiles are not instrumented


def test_rows_cover_every_kernel_and_shares_sum_to_100():
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    profile = measure(graph, batch=4, train=True, seconds=0.05)
    net_kernels = profile.kernels
    body = rows(profile)
    assert sorted(int(r[0]) for r in body) == list(range(1, len(net_kernels) + 1))
    assert len(body) >= 20  # forward, backward and update kernels of the training step
    assert {r[1] for r in body} >= {"conv1", "conv2", "fc1", "fc2", "fc3", "pool1", "loss"}
    assert sum(float(r[6].rstrip("%")) for r in body) == pytest.approx(100, abs=0.5)
    assert all(k.seconds > 0 for k in net_kernels)
    assert 0 < profile.kernel_seconds <= profile.wall
    text = render(profile)
    assert f"{profile.peak.cpu}" in text
    assert "GFLOPS" in text
    assert "conv2d_grad_weight" in text


def test_peak_formula():
    peak = Peak("cpu", threads=2, lanes=16, hz=2.5e9)
    assert peak.gflops == pytest.approx(2 * 2 * 16 * 2 * 2.5)
    assert "= 320 GFLOPS" in peak.describe()


def test_cli_prints_the_table_with_layer_and_layout():
    out = netc("profile", EXAMPLES / "lenet5.yaml", "--batch", "2", "--layout", "nhwc",
               "--seconds", "0.05")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("profile lenet5: forward, batch 2")
    assert lines[1].startswith("cpu: ")
    conv = next(line for line in lines if " conv2 " in line)
    assert "nhwc" in conv.split()


@pytest.mark.parametrize(("argv", "message"), [
    (["missing.yaml"], "missing.yaml"),
    ([str(EXAMPLES / "mlp.yaml"), "--batch", "0"], "--batch must be a positive integer"),
    ([str(EXAMPLES / "mlp.yaml"), "--seconds", "0"], "--seconds must be positive"),
])
def test_errors_are_one_line(capsys, argv, message):
    assert main(["profile", *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("netc: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_training_a_model_without_loss_is_a_clean_error():
    b = compiler.Builder("noloss")
    b.output(b.dense(b.input("x", [4]), units=2, name="fc"))
    with pytest.raises(CompileError, match="has no loss"):
        measure(b.build(), batch=1, train=True, seconds=0.01)
