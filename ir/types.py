"""Tensor types of the IR: dtype, static shape (with an optional symbolic batch dim) and layout.

Where it sits: the vocabulary of ir/. Every SSA value carries a TensorType; shape rules in
ir/ops*.py compute them, the printer writes them as `f32[N,6,28,28]` (or `f32[64,6,28,28]@nchw8c`
when the layout pass chose a physical layout other than the logical row-major one).

The batch size is a compile option, not part of a model, so a loaded model keeps its leading
dimension symbolic (`N`) until `compiler.compile(..., batch=B)` binds it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ir.errors import ShapeError

BATCH = "N"
"""The one symbolic dimension: the batch size, bound at compile time."""

Dim = int | str
Shape = tuple[Dim, ...]

DTYPES = ("f32", "f64", "i64")
FLOAT_DTYPES = ("f32", "f64")
NUMPY_DTYPE = {"f32": "float32", "f64": "float64", "i64": "int64"}
ITEMSIZE = {"f32": 4, "f64": 8, "i64": 8}

MAX_ELEMENTS = 2**31 - 1
"""Bound on the elements of one tensor (per sample while the batch is symbolic), and so on each
dimension: 8 GiB of f32, beyond any tensor of the networks netc compiles. A few bytes of model
file (`shape: [100000, 100000, 1000]`, `units: 1000000000000`) must not make netc allocate
terabytes: such a type is refused with a clear error when it is built, before any array exists."""


@dataclass(frozen=True)
class TensorType:
    """The static type of one value. `layout` is "" for the logical row-major order."""

    dtype: str
    shape: Shape
    layout: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ShapeError(f"unknown dtype '{self.dtype}' (expected one of {', '.join(DTYPES)})")
        for d in self.shape:
            if not (d == BATCH or (isinstance(d, int) and d >= 0)):
                raise ShapeError(f"bad dimension {d!r} in shape {list(self.shape)}")
        check_size(self.shape)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_concrete(self) -> bool:
        """True when no dimension is symbolic (the batch has been bound)."""
        return all(isinstance(d, int) for d in self.shape)

    def numel(self) -> int:
        """Number of elements; only defined once the batch is bound."""
        return math.prod(self.concrete_shape())

    def concrete_shape(self) -> tuple[int, ...]:
        """The shape as ints, for code that only runs once the batch is bound (the reference
        interpreter, kernels); ShapeError while the batch is still symbolic."""
        dims = tuple(d for d in self.shape if isinstance(d, int))
        if len(dims) != len(self.shape):
            raise ShapeError(f"{self} has a symbolic batch dimension; bind the batch first")
        return dims

    def nbytes(self) -> int:
        return self.numel() * ITEMSIZE[self.dtype]

    def with_shape(self, shape: Sequence[Dim]) -> TensorType:
        return TensorType(self.dtype, tuple(shape), self.layout)

    def with_dtype(self, dtype: str) -> TensorType:
        return TensorType(dtype, self.shape, self.layout)

    def with_layout(self, layout: str) -> TensorType:
        return TensorType(self.dtype, self.shape, layout)

    def bind(self, batch: int) -> TensorType:
        """The type with the symbolic batch dimension replaced by `batch`."""
        if self.is_concrete:
            return self
        return TensorType(self.dtype, tuple(bind_dim(d, batch) for d in self.shape), self.layout)

    def __str__(self) -> str:
        dims = ",".join(str(d) for d in self.shape)
        suffix = f"@{self.layout}" if self.layout else ""
        return f"{self.dtype}[{dims}]{suffix}"


def check_size(shape: Sequence[Dim], what: str = "tensor") -> None:
    """Raises ShapeError when a tensor of `shape` would hold more than MAX_ELEMENTS elements
    (the symbolic batch counts as 1: the bound then applies per sample)."""
    count = elements(shape)
    if count <= MAX_ELEMENTS:
        return
    per_sample = " per sample" if BATCH in shape else ""
    raise ShapeError(f"{what} {format_shape(shape)} has {count:,} elements{per_sample}; netc's "
                     f"limit is {MAX_ELEMENTS:,} per tensor (8 GiB of f32)")


def check_padded(shape: Sequence[Dim], pad: object) -> None:
    """The bound on the input of a window op (conv2d, pools) padded by [top, left, bottom,
    right]: the reference interpreter materializes it. Ignores what is not NCHW and 4 ints
    (the op's own checks report those)."""
    if (len(shape) != 4 or not isinstance(pad, (list, tuple)) or len(pad) != 4
            or not all(isinstance(v, int) for v in (*shape[2:], *pad))):
        return
    top, left, bottom, right = pad
    h, w = shape[2], shape[3]
    check_size((*shape[:2], h + top + bottom, w + left + right), "padded input")


def check_total(count: int, what: str) -> None:
    """The same bound on a sum of elements over several tensors (a model's parameters)."""
    if count > MAX_ELEMENTS:
        raise ShapeError(f"{what} have {count:,} elements in all; netc's limit is "
                         f"{MAX_ELEMENTS:,} (8 GiB of f32)")


def elements(shape: Sequence[Dim]) -> int:
    """The product of the concrete dimensions (per sample while the batch is symbolic)."""
    return math.prod(d for d in shape if isinstance(d, int))


def format_shape(shape: Sequence[Dim]) -> str:
    """`[N,6,28,28]` -> `N x 6 x 28 x 28`, the form used in error messages and tables."""
    return "x".join(str(d) for d in shape) if shape else "scalar"


def feature_product(shape: Sequence[Dim]) -> int:
    """Product of concrete dims (used for per-sample feature counts such as C*H*W)."""
    out = 1
    for d in shape:
        if not isinstance(d, int):
            raise ShapeError(f"dimension {d} of {list(shape)} is symbolic here")
        out *= d
    return out


def bind_dim(d: Dim, batch: int) -> int:
    return batch if d == BATCH else int(d)


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """Numpy broadcasting, right-aligned; the symbolic batch only broadcasts with 1 or itself."""
    out: list[Dim] = []
    for i in range(max(len(a), len(b))):
        da = a[len(a) - 1 - i] if i < len(a) else 1
        db = b[len(b) - 1 - i] if i < len(b) else 1
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            raise ShapeError(f"shapes {list(a)} and {list(b)} do not broadcast (dim {da} vs {db})")
    return tuple(reversed(out))
