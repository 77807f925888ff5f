"""The data formats `netc train --data` reads besides IDX: an .npz file and a folder of images.

Where it sits: the first piece of `netc train`, beside compiler/training/data.py (the IDX
reader, the Split type, normalization and batches, which every format feeds). `load_data`
picks the format from what `--data` names:

- nothing, or a folder with the four IDX files: data.py's IDX splits (Fashion-MNIST's layout);
- `FILE.npz`: arrays `x` (uint8 pixels [N, H, W] or [N, C, H, W]) and `y` (integer labels
  [N]), and optionally `x_test` and `y_test`;
- a folder with one subfolder of PNG/JPEG images per class (class k is the k-th folder name
  in sorted order), or with `train/` and `test/` folders laid out so. Each image is decoded
  with Pillow (the extra `netc[images]`), converted to the model's channels (grey or RGB) and
  resized to its height and width, so it arrives as the model's input says.

Without a test split, a fixed tenth of the samples (chosen by a seed of its own, the same on
every run and rank) is held out as the test split. Every way a file can be wrong is a
DataError naming the file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from compiler.training.data import DataError, Split, data_dir, load_split

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
HELD_OUT = 10
"""Without a test split, one sample in HELD_OUT is held out for testing."""
PILLOW_HINT = "reading image folders needs Pillow: pip install 'netc[images]'"


def load_data(given: str | Path | None, model_shape: Sequence[int]) -> tuple[Path, Split, Split]:
    """(where the data came from, train split, test split) for `--data GIVEN`."""
    if given is not None and Path(given).suffix == ".npz":
        path = Path(given)
        return path, *load_npz(path)
    folder = data_dir(given)
    if given is None or _is_idx_folder(folder):
        return folder, load_split(folder, "train"), load_split(folder, "test")
    return folder, *load_image_folder(folder, model_shape)


def _is_idx_folder(folder: Path) -> bool:
    return any(p.name.startswith(("train-images", "t10k-images")) for p in folder.iterdir())


# ---------------------------------------------------------------- .npz


def load_npz(path: Path) -> tuple[Split, Split]:
    """The train and test splits of an .npz with x, y (and optionally x_test, y_test)."""
    arrays = _read_npz(path)
    for name in ("x", "y"):
        if name not in arrays:
            raise DataError(f"{path}: no array '{name}' (an .npz for netc train holds x: uint8 "
                            f"images [N, H, W] or [N, C, H, W] and y: integer labels [N])")
    train = _split(path, "train", arrays["x"], arrays["y"], ("x", "y"))
    if "x_test" in arrays and "y_test" in arrays:
        test = _split(path, "test", arrays["x_test"], arrays["y_test"], ("x_test", "y_test"))
        return train, test
    return hold_out(train)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, EOFError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npz file ({err})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None


def _split(path: Path, name: str, x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> Split:
    if x.dtype != np.uint8 or x.ndim not in (3, 4):
        raise DataError(f"{path}: {names[0]} must be uint8 pixels [N, H, W] or [N, C, H, W], got "
                        f"{x.dtype} {list(x.shape)}")
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError(f"{path}: {names[1]} must be integer labels [N], got {y.dtype} "
                        f"{list(y.shape)}")
    if len(x) != len(y) or len(x) == 0:
        raise DataError(f"{path}: {names[0]} has {len(x):,} samples and {names[1]} "
                        f"{len(y):,} labels (both must be the same, and not 0)")
    return Split(name, x, y.astype(np.int64))


def hold_out(split: Split) -> tuple[Split, Split]:
    """(train, test): a fixed tenth of `split` (at least one sample) becomes the test split."""
    n = len(split)
    if n < 2:
        raise DataError(f"{n} sample(s): too few to hold some out for testing")
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng([HELD_OUT, n]).permutation(n)[:max(1, n // HELD_OUT)]] = True
    return (Split("train", split.images[~test], split.labels[~test]),
            Split("test", split.images[test], split.labels[test]))


# ---------------------------------------------------------------- image folders


def load_image_folder(folder: Path, model_shape: Sequence[int]) -> tuple[Split, Split]:
    """The splits of a folder of class subfolders (or of its train/ and test/ folders)."""
    if len(model_shape) != 3 or model_shape[0] not in (1, 3):
        raise DataError(f"{folder}: an image folder needs a model whose input is [1, H, W] or "
                        f"[3, H, W], this one takes [{', '.join(map(str, model_shape))}]")
    shape = (int(model_shape[0]), int(model_shape[1]), int(model_shape[2]))
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        classes = _classes(folder / "train")
        return (_read_images(folder / "train", classes, "train", shape),
                _read_images(folder / "test", classes, "test", shape))
    return hold_out(_read_images(folder, _classes(folder), "train", shape))


def _classes(folder: Path) -> list[str]:
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise DataError(f"{folder}: neither IDX files nor class folders (an image data folder "
                        "holds one subfolder of PNG/JPEG images per class)")
    return names


def _read_images(folder: Path, classes: list[str], name: str,
                 shape: tuple[int, int, int]) -> Split:
    files = [(path, label) for label, cls in enumerate(classes)
             for path in sorted((folder / cls).iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"{folder}: no .png or .jpg images in its class folders "
                        f"({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''})")
    images = np.stack([read_image(path, shape) for path, _ in files])
    return Split(name, images, np.array([label for _, label in files], dtype=np.int64))


def read_image(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """One image as uint8 [C, H, W]: grey (C=1) or RGB (C=3), resized to H x W."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise DataError(PILLOW_HINT) from None
    channels, height, width = shape
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB")
                                .resize((width, height), Image.Resampling.BILINEAR))
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image Pillow can read (PNG or JPEG)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{path}: broken image ({' '.join(str(err).split())})") from None
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
