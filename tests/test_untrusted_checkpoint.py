"""Issue 17, class 4: a checkpoint's contents are checked before netc uses them.

A `__netc__` record that was a list or an int, a `settings` that was a list, a normalization
with `std = 0` or the wrong keys gave internal errors; a forged `progress.batch` of -3 resumed
silently and ran extra steps; float64 parameters beyond float32's range loaded as inf. Each
field netc reads is now type- and range-checked (compiler/training/checkpoint_meta.py) and
parameters must fit the network's dtype: one line naming the file and the field, exit 1.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import compiler
from compiler.cli import main
from compiler.training import checkpoint
from compiler.training.checkpoint import META_KEY, CheckpointError
from tests.synthetic import write_dataset, write_tiny_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real checkpoint of `netc train` (2 steps of the tiny model), its model and data."""
    folder = tmp_path_factory.mktemp("ckpt")
    model, data = write_tiny_model(folder), write_dataset(folder / "data", 64, 16)
    path = folder / "good.npz"
    assert main(["train", str(model), "--data", str(data), "--batch", "16", "--max-steps", "2",
                 "--train-eval", "16", "--checkpoint", str(path)]) == 0
    return {"folder": folder, "model": model, "data": data, "path": path,
            "ckpt": checkpoint.load(path)}


def forged(trained, name: str, meta=None, params=None, state=None):
    """The trained checkpoint with its record (or some arrays) replaced, written as name.npz;
    `state` replaces the whole optimizer state."""
    ck = trained["ckpt"]
    arrays = {**ck.params, **(params or {})}
    arrays.update({f"state/{k}": v for k, v in (ck.state if state is None else state).items()})
    arrays[META_KEY] = np.array(json.dumps(meta))
    path = trained["folder"] / f"{name}.npz"
    np.savez(path, **arrays)
    return path


def edited(trained, record: str, **changes):
    meta = json.loads(json.dumps(trained["ckpt"].meta))
    meta[record] = {**meta[record], **changes} if isinstance(meta[record], dict) else changes
    return meta


BAD_RECORDS = {
    "a list": ([1, 2], "record must be a JSON object"),
    "an int": (7, "record must be a JSON object"),
    "a string": ("netc", "record must be a JSON object"),
    "null": (None, "record must be a JSON object"),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_a_record_that_is_no_object_is_refused(trained, case):
    meta, message = BAD_RECORDS[case]
    path = forged(trained, "record", meta)
    with pytest.raises(CheckpointError, match=rf"^{path}: its __netc__ {message}"):
        checkpoint.load(path)


def bad_fields(trained):
    """(field, forged record, what the error says) for every field netc reads."""
    m = trained["ckpt"].meta
    whole = json.loads(json.dumps(m))
    return [
        ("settings", {**whole, "settings": [1, 2]}, "a JSON object"),
        ("settings.batch", edited(trained, "settings", batch="16"), "a whole number >= 1"),
        ("settings.batch", edited(trained, "settings", batch=0), "a whole number >= 1"),
        ("settings.epochs", edited(trained, "settings", epochs=True), "a whole number >= 1"),
        ("settings.optimizer", edited(trained, "settings", optimizer="rmsprop"), "'sgd' or"),
        ("settings.lr", edited(trained, "settings", lr="0.1"), "a finite number"),
        ("settings.seed", edited(trained, "settings", seed=1.5), "a whole number"),
        ("normalization", {**whole, "normalization": [0.5, 0.2]}, "a JSON object"),
        ("normalization.std", edited(trained, "normalization", std=0), "a number > 0"),
        ("normalization.std", edited(trained, "normalization", std=-1.0), "a number > 0"),
        ("normalization.mean", edited(trained, "normalization", mean=float("nan")),
         "a finite number"),
        ("normalization", {**whole, "normalization": {"mean": 0.5}}, "exactly the fields"),
        ("normalization", {**whole, "normalization": {"mean": 0.5, "std": 1, "x": 2}},
         "exactly the fields"),
        ("progress", {**whole, "progress": 3}, "a JSON object"),
        ("progress.batch", edited(trained, "progress", batch=-3), "a whole number >= 0"),
        ("progress.batch", edited(trained, "progress", batch=5), "at most the 4 batches"),
        ("progress.epoch", edited(trained, "progress", epoch="1"), "a whole number >= 0"),
        ("progress.step", edited(trained, "progress", step=2.5), "a whole number >= 0"),
        ("progress.seconds", edited(trained, "progress", seconds=-1), "a number >= 0"),
        ("train_images", {**whole, "train_images": -64}, "a whole number >= 0"),
        ("model", {**whole, "model": ["tiny"]}, "a string"),
    ]


def test_every_field_netc_reads_is_checked(trained):
    for i, (field, meta, message) in enumerate(bad_fields(trained)):
        path = forged(trained, f"field{i}", meta)
        with pytest.raises(CheckpointError) as info:
            checkpoint.load(path)
        text = str(info.value)
        assert text.startswith(f"{path}: its __netc__ field '{field}' must be "), text
        assert message in text, text
        assert "\n" not in text


@pytest.mark.parametrize("verb", ["train", "eval", "run"])
def test_commands_give_one_line_for_forged_records(trained, verb, capsys, tmp_path,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 28, 28), np.uint8))
    for i, (field, meta, _) in enumerate(bad_fields(trained)):
        path = forged(trained, f"{verb}{i}", meta)
        args = {"train": ["train", str(trained["model"]), "--data", str(trained["data"]),
                          "--checkpoint", str(path), "--resume", "--train-eval", "16"],
                "eval": ["eval", str(trained["model"]), "--params", str(path), "--data",
                         str(trained["data"])],
                "run": ["run", str(trained["model"]), "--params", str(path), "--input",
                        str(x)]}[verb]
        assert main(args) == 1, field
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [err[0]], err
        assert err[0].startswith(f"netc: error: {path}: its __netc__ field '{field}'"), err


def test_a_forged_negative_batch_does_not_resume(trained, capsys):
    path = forged(trained, "minus3", edited(trained, "progress", batch=-3))
    code = main(["train", str(trained["model"]), "--data", str(trained["data"]),
                 "--checkpoint", str(path), "--resume", "--train-eval", "16"])
    assert code == 1
    assert "field 'progress.batch' must be a whole number >= 0, got -3" in capsys.readouterr().err
    assert checkpoint.load(trained["path"]).meta["progress"]["step"] == 2


def test_the_real_checkpoint_still_loads_and_resumes(trained, capsys, tmp_path):
    copy = tmp_path / "resume.npz"
    copy.write_bytes(trained["path"].read_bytes())
    assert main(["train", str(trained["model"]), "--data", str(trained["data"]),
                 "--checkpoint", str(copy), "--resume", "--max-steps", "3",
                 "--train-eval", "16"]) == 0, capsys.readouterr().err
    assert checkpoint.load(copy).meta["progress"]["step"] == 3


def network(trained, optimizer=None):
    return compiler.compile(compiler.load(trained["model"]), batch=16, train=True,
                            optimizer=optimizer or compiler.SGD(lr=0.01, momentum=0.9))


@pytest.mark.parametrize("value", [1e39, -3.5e38, np.finfo(np.float64).max])
def test_parameters_beyond_float32_are_refused(trained, value):
    weight = trained["ckpt"].params["fc1.weight"].astype(np.float64)
    weight[3, 7] = value
    path = forged(trained, "huge", trained["ckpt"].meta, params={"fc1.weight": weight})
    with pytest.raises(CheckpointError, match=rf"{path}: parameter 'fc1.weight' holds "
                                              rf".*which float32 cannot hold"):
        checkpoint.restore(network(trained), checkpoint.load(path), str(path), with_state=True)


def test_parameters_that_fit_load_and_nan_stays_nan(trained):
    weight = trained["ckpt"].params["fc1.weight"].astype(np.float64)
    weight[0, 0], weight[0, 1], weight[0, 2] = 3.0e38, np.nan, -np.inf
    path = forged(trained, "fits", trained["ckpt"].meta, params={"fc1.weight": weight})
    net = network(trained)
    checkpoint.restore(net, checkpoint.load(path), str(path), with_state=True)
    got = net.params["fc1.weight"]
    assert got[0, 0] == np.float32(3.0e38)
    assert np.isnan(got[0, 1])
    assert got[0, 2] == -np.inf


def test_integer_state_must_be_whole_numbers_in_range(trained):
    net = network(trained, compiler.Adam(lr=0.001))
    state = dict(net.state.items())
    ints = [n for n in state if state[n].dtype.kind == "i"]
    assert ints, "the adam state has no integer tensor to forge"
    name = ints[0]
    for i, bad in enumerate([np.array(1.5), np.array(np.nan), np.array(2.0 ** 70),
                             np.array(np.iinfo(np.uint64).max, dtype=np.uint64)]):
        path = forged(trained, f"state{i}", trained["ckpt"].meta,
                      state={**state, name: bad.reshape(state[name].shape)})
        with pytest.raises(CheckpointError, match=f"state tensor '{name}' holds"):
            checkpoint.restore(net, checkpoint.load(path), str(path), with_state=True)


@pytest.mark.parametrize("field", ["normalization", "settings", "train_images", "model"])
def test_a_training_checkpoint_without_a_field_resume_needs_is_refused(trained, field, capsys):
    """Found by these tests: without `normalization` a resume died in a KeyError."""
    meta = {k: v for k, v in trained["ckpt"].meta.items() if k != field}
    path = forged(trained, f"without-{field}", meta)
    code = main(["train", str(trained["model"]), "--data", str(trained["data"]),
                 "--checkpoint", str(path), "--resume", "--train-eval", "16"])
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f"netc: error: {path}: its __netc__ record lacks the field '{field}' a resumed run needs")
