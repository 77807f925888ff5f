"""Image data for training: IDX files, normalization, shuffling and batches.

Where it sits: the first piece of `netc train` / `netc eval`. IDX is the file format of MNIST
and Fashion-MNIST: a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in row-major order. Files may
be gzip-compressed (detected by content, not by name). Every way a file can be wrong (magic,
sizes, truncation, a broken gzip stream) is a DataError with one line naming the file.

Images stay uint8 in memory (60,000 Fashion-MNIST images are 47 MB); each batch is converted
to float32 on the fly: scaled to [0, 1], normalized with the training set's mean and standard
deviation, and fitted to the model's input shape (e.g. padded to 32x32 and repeated to 3
channels for a CIFAR-style network).
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ir.errors import NetcError

DEFAULT_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_DATA_PACKAGE = "dataset-fashion-mnist"
INSTALL_HINT = (f"install Fashion-MNIST with `apt-get install {DEFAULT_DATA_PACKAGE}` (as root), "
                "or pass --data DIR with the four IDX files (e.g. MNIST)")

# IDX type codes -> numpy dtypes (multi-byte values are big-endian).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
MAX_IDX_BYTES = 1 << 34
"""A header that promises more than 16 GiB of values is refused before anything is read."""

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataError(NetcError):
    """A data file or folder is missing or malformed; the message names the file."""


# ---------------------------------------------------------------- IDX files


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in one IDX file (plain or gzip), in native byte order."""
    path = Path(path)
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as f:
            return _read_idx_stream(f, path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an IDX file") from None
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (the compressed stream ends early)") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: corrupt gzip file ({err})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None


def _read_idx_stream(f: io.BufferedIOBase, path: Path) -> np.ndarray:
    magic = f.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(magic)} bytes, the header needs 4)")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES or not 1 <= magic[3] <= 4:
        raise DataError(f"{path}: not an IDX file (magic number {magic.hex()}; expected "
                        "0000 then a type code (08 for uint8) and 1-4 dimensions)")
    dtype, ndim = IDX_DTYPES[magic[2]], magic[3]
    dims_raw = f.read(4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header ({ndim} dimensions need {4 * ndim} "
                        f"bytes, found {len(dims_raw)})")
    dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
    nbytes = math.prod(dims) * dtype.itemsize
    shape_text = "x".join(map(str, dims))
    if nbytes > MAX_IDX_BYTES:
        raise DataError(f"{path}: header promises a {shape_text} array ({nbytes:,} bytes); "
                        "refusing more than 16 GiB")
    data = f.read(nbytes)
    if len(data) < nbytes:
        raise DataError(f"{path}: truncated IDX file: header says {shape_text} = {nbytes:,} "
                        f"bytes of data, found {len(data):,}")
    if f.read(1):
        raise DataError(f"{path}: more data than the header's {shape_text} "
                        f"({nbytes:,} bytes): not a valid IDX file")
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool = False) -> None:
    """Writes `array` as an IDX file (tests and tools make small data sets with it)."""
    codes = {v.newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    native = np.dtype(array.dtype).newbyteorder("=")
    if native not in codes:
        raise DataError(f"IDX cannot store {array.dtype}")
    header = bytes([0, 0, codes[native], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(array, dtype=IDX_DTYPES[codes[native]]).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + body)


# ---------------------------------------------------------------- data sets


@dataclass
class Split:
    """One split of a data set: uint8 images [N, H, W] (or [N, C, H, W], compiler/training/
    formats.py) and int64 labels [N]."""

    name: str
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def data_dir(given: str | Path | None) -> Path:
    """The data folder: `given`, or the Debian package's Fashion-MNIST when it is installed."""
    if given is not None:
        path = Path(given)
        if not path.is_dir():
            raise DataError(f"data folder {path} does not exist")
        return path
    if not DEFAULT_DATA_DIR.is_dir():
        raise DataError(f"no training data: {DEFAULT_DATA_DIR} is missing; {INSTALL_HINT}")
    return DEFAULT_DATA_DIR


def _find(folder: Path, stem: str) -> Path:
    """`stem` or `stem.gz`; MNIST mirrors also spell it `train-images.idx3-ubyte`."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if (folder / name).is_file():
            return folder / name
    hint = f"; {INSTALL_HINT}" if folder == DEFAULT_DATA_DIR else ""
    raise DataError(f"{folder}: no {stem}[.gz] (an IDX data folder holds "
                    f"train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                    f"and t10k-labels-idx1-ubyte, each optionally .gz){hint}")


def load_split(folder: str | Path, split: str) -> Split:
    """The `train` or `test` split of an IDX folder, checked for consistency."""
    folder = Path(folder)
    image_path, label_path = (_find(folder, stem) for stem in SPLIT_FILES[split])
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{image_path}: expected uint8 images [N, height, width], got "
                        f"{images.dtype} {list(images.shape)}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(f"{label_path}: expected integer labels [N], got {labels.dtype} "
                        f"{list(labels.shape)}")
    if len(images) != len(labels):
        raise DataError(f"{folder}: {split} split has {len(images):,} images but "
                        f"{len(labels):,} labels")
    if len(images) == 0:
        raise DataError(f"{image_path}: no images")
    if 0 in images.shape[1:]:  # 0x0 images carry no pixel: their statistics are NaN
        raise DataError(f"{image_path}: images of {images.shape[1]}x{images.shape[2]} pixels "
                        "hold no pixel")
    return Split(split, images, labels.astype(np.int64))


def sample(split: Split, size: int, seed: int) -> Split:
    """A fixed random subset of at most `size` samples (all of them when size is 0)."""
    if size == 0 or size >= len(split):
        return split
    idx = np.sort(np.random.default_rng([seed, 1 << 30]).choice(len(split), size, replace=False))
    return Split(split.name, split.images[idx], split.labels[idx])


def check_classes(split: Split, classes: int) -> None:
    """Every label must name one of the model's output classes."""
    low, high = int(split.labels.min()), int(split.labels.max())
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise DataError(f"{split.name} label {bad} is outside the model's {classes} classes "
                        f"[0, {classes})")


# ---------------------------------------------------------------- preparation


@dataclass(frozen=True)
class Normalization:
    """x -> (x / 255 - mean) / std, with the statistics of the training images."""

    mean: float
    std: float

    @classmethod
    def of(cls, images: np.ndarray) -> Normalization:
        # From the histogram of the uint8 values: exact, and no float copy of 47 MB of pixels.
        counts = np.bincount(images.ravel(), minlength=256).astype(np.float64)
        values = np.arange(256, dtype=np.float64) / 255.0
        mean = float(counts @ values) / counts.sum()
        std = math.sqrt(float(counts @ (values - mean) ** 2) / counts.sum())
        return cls(mean, std if std > 1e-8 else 1.0)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        scale = np.float32(1.0 / (255.0 * self.std))
        shift = np.float32(self.mean / self.std)
        return images.astype(np.float32) * scale - shift


class InputFit:
    """Fits [B, H, W] images to the model's per-sample input shape.

    [H*W]: flattened; [C, H', W'] with H' >= H and W' >= W: centred zero padding (black
    pixels, normalized like any other) and the grey channel repeated C times.
    """

    def __init__(self, image_shape: Sequence[int], model_shape: Sequence[int]) -> None:
        self.image_shape = tuple(int(d) for d in image_shape)
        self.model_shape = tuple(int(d) for d in model_shape)
        if len(self.image_shape) == 3:  # [C, H, W] images (formats.py) arrive fitted already
            if self.image_shape != self.model_shape:
                raise DataError(f"the model's input {'x'.join(map(str, self.model_shape))} is "
                                f"not the images' {'x'.join(map(str, self.image_shape))}")
            self.pad = (0, 0)
            return
        h, w = self.image_shape
        if self.model_shape == (h * w,):
            self.pad = (0, 0)
            return
        if len(self.model_shape) != 3 or self.model_shape[1] < h or self.model_shape[2] < w:
            raise DataError(f"the model's input {'x'.join(map(str, self.model_shape))} does not "
                            f"fit {h}x{w} images (expected [{h * w}] or [C, H, W] with "
                            f"H >= {h}, W >= {w})")
        self.pad = ((self.model_shape[1] - h) // 2, (self.model_shape[2] - w) // 2)

    def note(self) -> str | None:
        """What the fitting does, when it does more than add a channel axis."""
        c, shape = self.model_shape[0], "x".join(map(str, self.image_shape))
        if self.image_shape == self.model_shape:
            return None
        if len(self.model_shape) == 1:
            return f"images {shape} are flattened to {self.model_shape[0]} features"
        if self.model_shape[1:] == self.image_shape and c == 1:
            return None
        return (f"images {shape} are padded to {self.model_shape[1]}x{self.model_shape[2]} "
                f"and repeated to {c} channel{'s' if c > 1 else ''}")

    def __call__(self, images: np.ndarray, norm: Normalization) -> np.ndarray:
        batch = len(images)
        if self.image_shape == self.model_shape:
            return np.ascontiguousarray(norm(images))
        if len(self.model_shape) == 1:
            return np.ascontiguousarray(norm(images).reshape(batch, -1))
        c, height, width = self.model_shape
        h, w = self.image_shape
        top, left = self.pad
        out = np.full((batch, c, height, width), norm(np.zeros(1, np.uint8))[0], np.float32)
        out[:, :, top:top + h, left:left + w] = norm(images)[:, None]
        return out


class Feeder:
    """Batches of model-ready arrays from one split."""

    def __init__(self, split: Split, fit: InputFit, norm: Normalization) -> None:
        self.split = split
        self.fit = fit
        self.norm = norm

    def __len__(self) -> int:
        return len(self.split)

    def batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.fit(self.split.images[indices], self.norm), self.split.labels[indices]

    def padded_batches(self, batch: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
        """(x, labels, count) in order over every sample; the last batch is filled up with
        copies of the first sample, and only its first `count` rows are real."""
        n = len(self.split)
        for start in range(0, n, batch):
            idx = np.arange(start, min(start + batch, n))
            count = len(idx)
            if count < batch:
                idx = np.concatenate([idx, np.zeros(batch - count, dtype=idx.dtype)])
            x, y = self.batch(idx)
            yield x, y, count


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled sample order of one epoch: a function of (seed, epoch) alone, so a resumed
    run sees exactly the batches the uninterrupted run would have seen."""
    return np.random.default_rng([seed, epoch]).permutation(n)
