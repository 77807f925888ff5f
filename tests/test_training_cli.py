"""netc train / eval / run / plot through a subprocess, on tiny synthetic IDX data."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from compiler.training import checkpoint
from tests.conftest import ROOT
from tests.synthetic import images, write_dataset, write_tiny_model


def netc(*args, cwd=ROOT, timeout=180):
    return subprocess.run([sys.executable, "-m", "compiler.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    return {"dir": folder, "model": write_tiny_model(folder),
            "data": write_dataset(folder / "data", n_train=200, n_test=50, compress=True)}


def train_args(work, name, *extra):
    return ("train", work["model"], "--data", work["data"], "--batch", 16,
            "--checkpoint", work["dir"] / f"{name}.npz", "--log", work["dir"] / f"{name}.jsonl",
            *extra)


def one_line_error(out, fragment):
    assert out.returncode == 1, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("netc: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in out.stderr


@pytest.fixture(scope="module")
def trained(work):
    out = netc(*train_args(work, "main", "--epochs", 3, "--lr", 0.05, "--dump-ir",
                           work["dir"] / "ir"))
    assert out.returncode == 0, out.stderr
    return out


def test_train_prints_epochs_and_writes_outputs(work, trained):
    lines = trained.stdout.splitlines()
    assert lines[0].startswith("netc train: tiny on ")
    assert "200 training images (12 batches of 16 per epoch; each epoch reshuffles and skips " \
           "its last 8" in lines[0]
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [e.split()[1] for e in epochs] == ["1/3", "2/3", "3/3"]
    assert all("train acc" in e and "test acc" in e and "img/s" in e for e in epochs)
    assert any(line.startswith("test accuracy ") for line in lines)
    ck = checkpoint.load(work["dir"] / "main.npz")
    assert set(ck.params) == {"conv1.weight", "conv1.bias", "fc1.weight", "fc1.bias"}
    assert ck.meta["progress"]["epoch"] == 3
    assert ck.meta["settings"]["lr"] == 0.05
    records = [json.loads(x) for x in (work["dir"] / "main.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records if r["event"] != "step"] == [
        "start", "epoch", "epoch", "epoch", "end"]
    ir = (work["dir"] / "ir" / "tiny.train.ir").read_text()
    assert "sgd_momentum_step" in ir
    assert "%fc1.weight.grad" in ir
    assert "# memory plan" in (work["dir"] / "ir" / "tiny.train.kernels.ir").read_text()


def test_eval_reports_accuracy_and_confusion(work, trained):
    out = netc("eval", work["model"], "--params", work["dir"] / "main.npz", "--data",
               work["data"], "--batch", 16)
    assert out.returncode == 0, out.stderr
    last = json.loads([x for x in (work["dir"] / "main.jsonl").read_text().splitlines()
                       if '"epoch"' in x and '"test_acc"' in x][-1])
    assert f"accuracy {last['test_acc']:.2%}" in out.stdout
    assert "50 images" in out.stdout
    assert "confusion matrix" in out.stdout
    rows = [line.split() for line in out.stdout.splitlines()[-10:]]
    assert sum(int(v) for row in rows for v in row[1:11]) == 50


def test_run_on_pixels_and_on_floats(work, trained):
    x, _ = images(5, seed=9)
    np.save(work["dir"] / "x.npy", x)
    out = netc("run", work["model"], "--params", work["dir"] / "main.npz", "--input",
               work["dir"] / "x.npy", "--output", work["dir"] / "y.npy")
    assert out.returncode == 0, out.stderr
    y = np.load(work["dir"] / "y.npy")
    assert y.shape == (5, 10)
    assert y.dtype == np.float32
    floats = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.save(work["dir"] / "f.npy", floats)
    out = netc("run", work["model"], "--params", work["dir"] / "main.npz", "--input",
               work["dir"] / "f.npy")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].startswith("sample 0: class ")
    np.save(work["dir"] / "bad.npy", floats[:, :, :20])
    one_line_error(netc("run", work["model"], "--input", work["dir"] / "bad.npy"),
                   "the model takes [N, 1x28x28]")


def test_same_seed_same_run(work):
    outs = [netc(*train_args(work, f"det{i}", "--epochs", 1, "--seed", 3, "--log-every", 1,
                             "--train-eval", 64)) for i in range(2)]
    assert all(o.returncode == 0 for o in outs), outs[0].stderr
    losses = [[json.loads(x)["loss"] for x in (work["dir"] / f"det{i}.jsonl").read_text()
               .splitlines() if '"step"' in x and '"loss"' in x] for i in range(2)]
    assert len(losses[0]) == 12
    assert "fixed sample of 64 training images" in outs[0].stdout
    assert losses[0] == losses[1]
    a, b = (checkpoint.load(work["dir"] / f"det{i}.npz") for i in range(2))
    assert all(a.params[k].tobytes() == b.params[k].tobytes() for k in a.params)


def test_user_errors_are_one_line(work, tmp_path):
    one_line_error(netc("train", work["model"], "--data", tmp_path / "none"), "does not exist")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x08\x00\x00\x03" + bytes(100))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"")
    one_line_error(netc("train", work["model"], "--data", tmp_path), "not an IDX file")
    one_line_error(netc(*train_args(work, "never", "--resume")), "no checkpoint at")
    one_line_error(netc(*train_args(work, "main", "--resume", "--lr", 0.5)),
                   "--lr 0.5 differs from the checkpoint's 0.05")
    one_line_error(netc("eval", work["model"], "--params", tmp_path / "train-labels-idx1-ubyte",
                        "--data", work["data"]), "not a valid .npz file")
    one_line_error(netc("train", ROOT / "examples" / "cifar_cnn.yaml", "--data", work["data"],
                        "--batch", 4096), "--batch 4096 is larger than the 200 training images")


def test_resume_of_a_finished_run_says_so(work, trained):
    out = netc(*train_args(work, "main", "--resume"))
    assert out.returncode == 0, out.stderr
    assert "already holds 3 epoch(s)" in out.stdout


def test_check_numerics_stops_with_the_step(work):
    out = netc(*train_args(work, "nan", "--epochs", 1, "--lr", 1e30, "--momentum", 0,
                           "--check-numerics"))
    one_line_error(out, "netc: error: --check-numerics: step ")
    assert "first non-finite value from `%" in out.stderr


def test_nan_without_check_numerics_warns_once(work):
    out = netc(*train_args(work, "nanwarn", "--epochs", 1, "--lr", 1e30, "--momentum", 0))
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if "the loss is" in line]
    assert len(warnings) == 1
    assert "--check-numerics stops there" in warnings[0]


def test_plot(work, trained, tmp_path):
    pytest.importorskip("matplotlib")
    out = netc("plot", work["dir"] / "main.jsonl", "-o", tmp_path / "c.png")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_fails_before_training(work, tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; from compiler.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    out = subprocess.run([sys.executable, "-c", code, *map(str, train_args(
        work, "noplot", "--plot", tmp_path / "c.png"))], cwd=ROOT, capture_output=True,
        text=True, timeout=120)
    one_line_error(out, "--plot needs matplotlib, which is not installed: pip install "
                        "'netc[plot]'")
    assert not (work["dir"] / "noplot.npz").exists()


def _wait_for_steps(log, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and '"event": "step"' in log.read_text():
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("training did not start")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_writes_checkpoint_and_resume_matches_uninterrupted(work, sig):
    name = f"sig{int(sig)}"
    args = train_args(work, name, "--epochs", 1000, "--log-every", 1)
    proc = subprocess.Popen([sys.executable, "-m", "compiler.cli", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_steps(work["dir"] / f"{name}.jsonl", proc)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + int(sig), stderr
    assert f"interrupted by {sig.name}" in stderr
    assert "--resume" in stderr
    assert "Traceback" not in stderr
    assert not [p for p in work["dir"].iterdir() if p.name.endswith(".tmp")]
    stopped = checkpoint.load(work["dir"] / f"{name}.npz").meta["progress"]["step"]
    assert stopped > 0

    # Resuming and an uninterrupted run, both to the same step, end bit-identical.
    target = stopped + 20
    resumed = netc(*train_args(work, name, "--resume", "--max-steps", target))
    assert resumed.returncode == 0, resumed.stderr
    whole = netc(*train_args(work, f"{name}-whole", "--epochs", 1000, "--max-steps", target))
    assert whole.returncode == 0, whole.stderr
    a, b = (checkpoint.load(work["dir"] / f"{n}.npz") for n in (name, f"{name}-whole"))
    progress = [{k: v for k, v in c.meta["progress"].items() if k != "seconds"} for c in (a, b)]
    assert progress[0] == progress[1]
    assert progress[0]["step"] == target
    for kind in ("params", "state"):
        x, y = getattr(a, kind), getattr(b, kind)
        assert x.keys() == y.keys()
        assert all(x[k].tobytes() == y[k].tobytes() for k in x), kind
