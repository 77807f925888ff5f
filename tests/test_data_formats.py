"""`--data` beyond IDX (compiler/training/formats.py): image folders and .npz files, their
errors (one line naming the file), the held-out test split, and the prefetching thread
(compiler/training/prefetch.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from compiler.training.data import DataError
from compiler.training.formats import HELD_OUT, load_data, read_image
from compiler.training.prefetch import Prefetcher
from tests.conftest import netc
from tests.synthetic import images, write_tiny_model


def write_image_folder(root: Path, per_class: int = 3, size: int = 20, mode: str = "RGB",
                       suffix: str = ".png") -> Path:
    """Classes 'a', 'b', 'c' with images of a constant colour each (class k: value 40 + 80k)."""
    for k, cls in enumerate("abc"):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            value = 40 + 80 * k
            pixels = np.full((size, size + 4, 3), value, np.uint8)
            Image.fromarray(pixels).convert(mode).save(root / cls / f"{i}{suffix}")
    return root


def test_image_folder_is_resized_and_converted_to_the_model_input(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "train", suffix=".jpg")
    write_image_folder(tmp_path / "test", per_class=1)
    where, train, test = load_data(tmp_path, (1, 28, 28))
    assert where == tmp_path
    assert train.images.shape == (9, 1, 28, 28)
    assert train.images.dtype == np.uint8
    assert list(train.labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert test.images.shape == (3, 1, 28, 28)
    assert abs(int(train.images[3].mean()) - 120) <= 2  # JPEG: within a level or two
    rgb = read_image(tmp_path / "test" / "c" / "0.png", (3, 8, 8))
    assert rgb.shape == (3, 8, 8)
    assert (rgb == 200).all()


def test_image_folder_without_test_folder_holds_a_tenth_out(tmp_path: Path) -> None:
    write_image_folder(tmp_path, per_class=10)
    _, train, test = load_data(tmp_path, (3, 16, 16))
    assert len(test) == 30 // HELD_OUT
    assert len(train) == 30 - 30 // HELD_OUT
    again = load_data(tmp_path, (3, 16, 16))[2]
    assert (again.labels == test.labels).all()


@pytest.mark.parametrize(("truncated", "fragment"), [
    (False, "not an image Pillow can read"), (True, "broken image")])
def test_a_bad_image_is_named(tmp_path: Path, truncated: bool, fragment: str) -> None:
    write_image_folder(tmp_path)
    bad = tmp_path / "b" / "bad.png"
    whole = (tmp_path / "b" / "0.png").read_bytes()
    bad.write_bytes(whole[:len(whole) // 2] if truncated else b"not an image at all")
    with pytest.raises(DataError, match=fragment) as err:
        load_data(tmp_path, (1, 8, 8))
    assert str(err.value).startswith(f"{bad}: ")


def test_npz_with_and_without_a_test_split(tmp_path: Path) -> None:
    x, y = images(50, seed=0)
    np.savez(tmp_path / "plain.npz", x=x, y=y)
    np.savez(tmp_path / "split.npz", x=x, y=y, x_test=x[:7], y_test=y[:7])
    _, train, test = load_data(tmp_path / "plain.npz", (1, 28, 28))
    assert (len(train), len(test)) == (45, 5)
    _, train, test = load_data(tmp_path / "split.npz", (1, 28, 28))
    assert (len(train), len(test)) == (50, 7)
    assert (test.labels == y[:7]).all()


@pytest.mark.parametrize(("arrays", "fragment"), [
    ({"x": np.zeros((4, 8, 8), np.uint8)}, "no array 'y'"),
    ({"x": np.zeros((4, 8, 8)), "y": np.zeros(4, int)}, "x must be uint8 pixels"),
    ({"x": np.zeros((4, 8, 8), np.uint8), "y": np.zeros(3, int)}, "x has 4 samples and y 3"),
])
def test_bad_npz_is_named(tmp_path: Path, arrays: dict[str, np.ndarray], fragment: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=fragment) as err:
        load_data(path, (1, 8, 8))
    assert str(err.value).startswith(f"{path}: ")
    path.write_bytes(b"PK\x03\x04 torn")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_data(path, (1, 8, 8))


def test_prefetcher_keeps_the_order_and_raises_at_the_failing_batch() -> None:
    seen: list[str] = []

    def make(indices: np.ndarray) -> int:
        seen.append(threading.current_thread().name)
        if indices[0] == 3:
            raise DataError("batch 3 is broken")
        return int(indices[0])

    batches = [np.array([k]) for k in range(5)]
    got = []
    with Prefetcher(make, batches) as ready, pytest.raises(DataError, match="batch 3"):
        got.extend(ready)
    assert got == [0, 1, 2]
    assert set(seen) == {"netc-prefetch"}
    with Prefetcher(lambda i: int(i[0]), batches) as ready:  # leaving early stops the thread
        assert next(iter(ready)) == 0


def test_netc_train_on_an_image_folder(tmp_path: Path) -> None:
    write_image_folder(tmp_path / "data", per_class=8)
    out = netc("train", write_tiny_model(tmp_path), "--data", tmp_path / "data", "--batch", 4,
               "--epochs", 1, "--checkpoint", tmp_path / "c.npz")
    assert out.returncode == 0, out.stderr
    assert "22 training images" in out.stdout
    assert "test accuracy" in out.stdout
