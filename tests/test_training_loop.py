"""The training loop through the Python API: determinism, resume bit for bit, numerics."""

from __future__ import annotations

import os
import signal

import pytest

import compiler
from compiler.training import checkpoint
from compiler.training.data import Feeder, InputFit, Normalization, load_split
from compiler.training.loop import (
    Outputs,
    Settings,
    StopSignal,
    Trainer,
    evaluate,
    progress_from,
)
from compiler.training.numerics import NumericsError
from tests.synthetic import write_dataset, write_tiny_model

BATCH = 16


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    data = write_dataset(folder / "data", n_train=200, n_test=50)
    graph = compiler.load(write_tiny_model(folder))
    train, test = load_split(data, "train"), load_split(data, "test")
    norm, fit = Normalization.of(train.images), InputFit((28, 28), (1, 28, 28))
    return graph, Feeder(train, fit, norm), Feeder(test, fit, norm)


def make_trainer(setup, path, settings, max_steps=None, progress=None, resume_from=None):
    graph, train, test = setup
    net = compiler.compile(graph, batch=settings.batch, train=True,
                           optimizer=settings.make_optimizer(), seed=settings.seed)
    if resume_from is not None:
        checkpoint.restore(net, resume_from, "ck", with_state=True)
    outputs = Outputs(path, max_steps=max_steps, progress_bar=False)
    return Trainer(net, settings, train, test, outputs, {"model": "tiny"}, progress,
                   echo=lambda line: None)


def snapshot(net):
    return {**{k: v.copy() for k, v in net.params.items()},
            **{f"state/{k}": v.copy() for k, v in net.state.items()}}


def assert_identical(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name


def test_same_seed_same_losses_and_parameters(setup, tmp_path):
    settings = Settings(epochs=2, batch=BATCH, seed=5)
    runs = []
    for i in range(2):
        trainer = make_trainer(setup, tmp_path / f"{i}.npz", settings)
        result = trainer.run()
        runs.append((result.losses, snapshot(trainer.net)))
    assert len(runs[0][0]) == 2 * (200 // BATCH)
    assert runs[0][0] == runs[1][0]
    assert_identical(runs[0][1], runs[1][1])
    other = make_trainer(setup, tmp_path / "o.npz", Settings(epochs=1, batch=BATCH, seed=6))
    assert other.run().losses != runs[0][0][:len(runs[0][0]) // 2]


@pytest.mark.parametrize("settings", [
    Settings(epochs=3, batch=BATCH, optimizer="sgd", lr=0.05, momentum=0.9),
    Settings(epochs=3, batch=BATCH, optimizer="adam", lr=1e-3, weight_decay=1e-4),
], ids=["sgd-momentum", "adam"])
def test_resume_is_bit_identical(setup, tmp_path, settings):
    whole = make_trainer(setup, tmp_path / "whole.npz", settings)
    whole_result = whole.run()
    assert whole_result.ended == "done"

    first = make_trainer(setup, tmp_path / "part.npz", settings, max_steps=17)  # mid-epoch 2
    part = first.run()
    assert part.ended == "max-steps"
    assert part.progress.epoch == 1
    assert part.progress.batch == 5
    saved = checkpoint.load(tmp_path / "part.npz")
    resumed = make_trainer(setup, tmp_path / "part.npz", settings,
                           progress=progress_from(saved.meta), resume_from=saved)
    rest = resumed.run()
    assert rest.ended == "done"
    assert part.losses + rest.losses == whole_result.losses
    assert_identical(snapshot(resumed.net), snapshot(whole.net))
    assert rest.test.accuracy == whole_result.test.accuracy


def test_training_learns_and_evaluation_counts_every_sample(setup, tmp_path):
    trainer = make_trainer(setup, tmp_path / "ck.npz", Settings(epochs=4, batch=BATCH, lr=0.05))
    result = trainer.run()
    assert result.test.predictions.shape == (50,)
    assert result.test.accuracy > 0.5
    again = evaluate(trainer.net, setup[2])
    assert again.accuracy == result.test.accuracy
    assert progress_from(checkpoint.load(tmp_path / "ck.npz").meta).epoch == 4


def test_check_numerics_names_the_step_and_the_op(setup, tmp_path):
    settings = Settings(epochs=1, batch=BATCH, lr=1e30, momentum=0.0)
    graph, train, test = setup
    net = compiler.compile(graph, batch=BATCH, train=True, optimizer=settings.make_optimizer())
    outputs = Outputs(tmp_path / "ck.npz", check_numerics=True, progress_bar=False)
    trainer = Trainer(net, settings, train, test, outputs, {}, echo=lambda line: None)
    with pytest.raises(NumericsError) as err:
        trainer.run()
    message = str(err.value)
    assert message.startswith("--check-numerics: step ")
    assert "(epoch 1, batch " in message
    assert "first non-finite value from `%" in message
    assert "\n" not in message
    assert not (tmp_path / "ck.npz").exists()  # nothing non-finite was saved


def test_stop_signal_is_honoured_once_then_acts_as_usual():
    previous = signal.getsignal(signal.SIGTERM)
    with StopSignal() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
        assert stop.name == "SIGTERM"
        assert signal.getsignal(signal.SIGTERM) is previous
    assert signal.getsignal(signal.SIGTERM) is previous
