"""The IDX loader and batch preparation: every bad input is one clear DataError."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from compiler.training import data
from compiler.training.data import (
    DataError,
    Feeder,
    InputFit,
    Normalization,
    epoch_order,
    load_split,
    read_idx,
    write_idx,
)
from tests.synthetic import images, write_dataset


def test_idx_round_trip_plain_and_gzip(tmp_path):
    x, y = images(12, seed=0)
    for compress in (False, True):
        write_idx(tmp_path / "x", x, compress=compress)
        write_idx(tmp_path / "y", y, compress=compress)
        assert np.array_equal(read_idx(tmp_path / "x"), x)
        assert np.array_equal(read_idx(tmp_path / "y"), y)
    wide = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    write_idx(tmp_path / "w", wide)
    got = read_idx(tmp_path / "w")
    assert got.dtype == np.int32
    assert np.array_equal(got, wide)


def _raw(tmp_path, content: bytes, name: str = "f"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


HEADER = bytes([0, 0, 8, 3]) + np.array([2, 4, 4], ">u4").tobytes()


@pytest.mark.parametrize(("content", "message"), [
    (b"\x00\x01\x08\x03" + bytes(40), "not an IDX file (magic number 00010803"),
    (b"\x00\x00\x07\x01" + bytes(8), "not an IDX file (magic number 00000701"),
    (b"\x00\x00\x08\x09" + bytes(8), "not an IDX file"),
    (b"\x00\x00", "truncated IDX file (2 bytes, the header needs 4)"),
    (b"\x00\x00\x08\x03" + bytes(5), "truncated IDX header (3 dimensions need 12 bytes, found 5)"),
    (HEADER + bytes(20), "truncated IDX file: header says 2x4x4 = 32 bytes of data, found 20"),
    (HEADER + bytes(33), "more data than the header's 2x4x4 (32 bytes)"),
    (b"\x00\x00\x08\x02" + np.array([1 << 20, 1 << 20], ">u4").tobytes(),
     "refusing more than 16 GiB"),
])
def test_bad_idx_files(tmp_path, content, message):
    path = _raw(tmp_path, content)
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_gzip_files(tmp_path):
    full = gzip.compress(HEADER + bytes(range(32)))
    with pytest.raises(DataError, match="truncated gzip file"):
        read_idx(_raw(tmp_path, full[: len(full) // 2], "cut.gz"))
    with pytest.raises(DataError, match="corrupt gzip file"):
        read_idx(_raw(tmp_path, full[:10] + b"garbage that is not deflate" * 4, "bad.gz"))
    # A gzip file whose content is a truncated IDX file is reported as such.
    with pytest.raises(DataError, match="truncated IDX file: header says 2x4x4"):
        read_idx(_raw(tmp_path, gzip.compress(HEADER + bytes(3)), "short.gz"))


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nothing")
    with pytest.raises(DataError, match="does not exist"):
        data.data_dir(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"no train-images-idx3-ubyte\[.gz\]"):
        load_split(tmp_path, "train")


def test_missing_default_data_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEFAULT_DATA_DIR", tmp_path / "fashion-mnist")
    with pytest.raises(DataError) as err:
        data.data_dir(None)
    assert "apt-get install dataset-fashion-mnist" in str(err.value)
    assert "--data DIR" in str(err.value)


def test_split_consistency(tmp_path):
    folder = write_dataset(tmp_path / "d", n_train=20, n_test=10, compress=True)
    train = load_split(folder, "train")
    assert train.images.shape == (20, 28, 28)
    assert train.labels.dtype == np.int64
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(9, np.uint8), compress=True)
    with pytest.raises(DataError, match="test split has 10 images but 9 labels"):
        load_split(folder, "test")
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros(9, np.uint8), compress=True)
    with pytest.raises(DataError, match=r"expected uint8 images \[N, height, width\]"):
        load_split(folder, "test")


def test_labels_must_fit_the_model(tmp_path):
    split = load_split(write_dataset(tmp_path, n_train=30, n_test=10), "train")
    data.check_classes(split, 10)
    with pytest.raises(DataError, match=r"train label 9 is outside the model's 5 classes"):
        data.check_classes(split, 5)


def test_normalization_uses_training_statistics():
    x, _ = images(50, seed=3)
    norm = Normalization.of(x)
    scaled = x.astype(np.float64) / 255
    assert norm.mean == pytest.approx(scaled.mean(), rel=1e-12)
    assert norm.std == pytest.approx(scaled.std(), rel=1e-9)
    out = norm(x)
    assert out.dtype == np.float32
    assert abs(out.mean()) < 1e-5
    assert out.std() == pytest.approx(1.0, rel=1e-4)


def test_fit_pads_and_repeats_channels():
    x, _ = images(3, seed=1)
    norm = Normalization(0.5, 0.25)
    fit = InputFit((28, 28), (3, 32, 32))
    out = fit(x, norm)
    assert out.shape == (3, 3, 32, 32)
    assert out.dtype == np.float32
    assert np.array_equal(out[:, 0, 2:30, 2:30], norm(x))
    assert np.array_equal(out[:, 0], out[:, 2])
    assert np.all(out[:, :, :2, :] == np.float32(-2.0))  # black padding, normalized
    assert "padded to 32x32 and repeated to 3 channels" in fit.note()
    assert InputFit((28, 28), (1, 28, 28)).note() is None
    assert InputFit((28, 28), (784,))(x, norm).shape == (3, 784)
    with pytest.raises(DataError, match="does not fit 28x28 images"):
        InputFit((28, 28), (1, 24, 24))


def test_epoch_order_is_a_function_of_seed_and_epoch():
    a = epoch_order(100, seed=1, epoch=0)
    assert np.array_equal(a, epoch_order(100, seed=1, epoch=0))
    assert sorted(a) == list(range(100))
    assert not np.array_equal(a, epoch_order(100, seed=1, epoch=1))
    assert not np.array_equal(a, epoch_order(100, seed=2, epoch=0))


def test_train_accuracy_sample_is_fixed_and_bounded(tmp_path):
    split = load_split(write_dataset(tmp_path, n_train=50, n_test=10), "train")
    part = data.sample(split, 20, seed=4)
    assert len(part) == 20
    again = data.sample(split, 20, seed=4)
    assert np.array_equal(part.images, again.images)
    assert data.sample(split, 0, seed=4) is split
    assert data.sample(split, 500, seed=4) is split


def test_padded_batches_cover_every_sample(tmp_path):
    split = load_split(write_dataset(tmp_path, n_train=10, n_test=23), "test")
    feeder = Feeder(split, InputFit((28, 28), (1, 28, 28)), Normalization(0.2, 0.3))
    batches = list(feeder.padded_batches(8))
    assert [count for _, _, count in batches] == [8, 8, 7]
    assert all(x.shape == (8, 1, 28, 28) for x, _, _ in batches)
    labels = np.concatenate([y[:count] for _, y, count in batches])
    assert np.array_equal(labels, split.labels)


@pytest.mark.skipif(not data.DEFAULT_DATA_DIR.is_dir(),
                    reason="Fashion-MNIST not installed (make test installs it)")
def test_real_fashion_mnist_loads():
    test = load_split(data.DEFAULT_DATA_DIR, "test")
    assert test.images.shape == (10000, 28, 28)
    assert sorted(set(test.labels.tolist())) == list(range(10))
