"""Small synthetic image data sets in IDX format, a tiny model for the training tests, and
convolutions with odd shapes for the native-safety tests and the valgrind recipe.

The images are learnable: class k is a bright 6x6 square at a position of its own, on noise,
so a few epochs of a small network separate the classes. Nothing here needs the real
Fashion-MNIST.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import compiler
from compiler.training.data import SPLIT_FILES, write_idx
from ir.graph import Graph

TINY_MODEL = """\
name: tiny
input: {name: image, shape: [1, 28, 28]}
layers:
  - conv2d: {name: conv1, filters: 4, kernel: 5, stride: 2}
  - relu
  - maxpool2d: {kernel: 2}
  - flatten
  - dense: {name: fc1, units: 10}
loss: softmax_cross_entropy
"""


def images(n: int, seed: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """n uint8 images [n, size, size] and their labels 0..9."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    pixels = rng.integers(0, 60, size=(n, size, size))
    for i, k in enumerate(labels):
        top, left = 3 + (k // 5) * 12, 2 + (k % 5) * 5
        pixels[i, top:top + 6, left:left + 6] += 180
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def write_dataset(folder: Path, n_train: int = 256, n_test: int = 100, compress: bool = False,
                  seed: int = 0) -> Path:
    """An IDX folder with train and t10k images and labels; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for split, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
        x, y = images(n, s)
        image_stem, label_stem = SPLIT_FILES[split]
        write_idx(folder / f"{image_stem}{suffix}", x, compress=compress)
        write_idx(folder / f"{label_stem}{suffix}", y, compress=compress)
    return folder


def write_tiny_model(folder: Path) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(TINY_MODEL)
    return path


BATCH = 3
"""The batch of the odd-shape programs: no multiple of any vector width."""


def odd_convolutions(groups: int = 1, dilation: int = 1) -> Graph:
    """Stride 3, padding 0, 23x25 images, 5 and 7 channels: nothing is a multiple of 8 or 16."""
    b = compiler.Builder("odd")
    x = b.input("x", [3 * groups, 23, 25])
    x = b.relu(b.conv2d(x, filters=5 * groups, kernel=[4, 3], stride=3, padding=0,
                        groups=groups, dilation=dilation, name="conv1"))
    x = b.conv2d(x, filters=7, kernel=2, stride=[3, 2], padding=0, name="conv2")
    x = b.maxpool2d(b.tanh(x), kernel=[1, 3], stride=[1, 3], ceil_mode=True)
    b.loss("softmax_cross_entropy", b.dense(b.flatten(x), units=3, name="fc"))
    return b.build()


def batch_for(graph: Graph, seed: int,
              dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A random batch of BATCH images of `graph`'s input shape and labels of its classes."""
    rng = np.random.default_rng(seed)
    shape = [BATCH, *graph.inputs_with_role("input")[0].type.shape[1:]]
    classes = graph.loss.node.operands[0].type.shape[1]
    return rng.standard_normal(shape).astype(dtype), rng.integers(0, classes, BATCH)
