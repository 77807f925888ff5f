"""Shape arithmetic shared by the op declarations: convolution and pooling windows, axes.

Where it sits: helpers for the shape rules in ir/ops_*.py; each raises ShapeError with the numbers
that disagree, which the frontend wraps with file, line and layer.
"""

from __future__ import annotations

from collections.abc import Sequence

from ir.errors import ShapeError
from ir.types import Dim, TensorType, format_shape


def expect_rank(op: str, what: str, t: TensorType, rank: int) -> None:
    if t.rank != rank:
        raise ShapeError(
            f"{op} expects a rank-{rank} {what}, got {t} ({format_shape(t.shape)})"
        )


def expect_float(op: str, t: TensorType) -> None:
    if t.dtype not in ("f32", "f64"):
        raise ShapeError(f"{op} expects a float tensor, got {t}")


def same_dtype(op: str, types: Sequence[TensorType]) -> str:
    dtypes = {t.dtype for t in types}
    if len(dtypes) != 1:
        raise ShapeError(f"{op} operands disagree in dtype: {', '.join(str(t) for t in types)}")
    return types[0].dtype


def window_out(
    op: str, size: Dim, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int,
    axis: str, ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window (PyTorch/ONNX rule, including ceil_mode)."""
    if not isinstance(size, int):
        raise ShapeError(f"{op}: spatial size {axis} must be static, got {size}")
    if kernel < 1 or stride < 1 or dilation < 1:
        raise ShapeError(
            f"{op}: kernel, stride and dilation must be >= 1 (got {kernel}, {stride}, {dilation})"
        )
    if pad_lo < 0 or pad_hi < 0:
        raise ShapeError(f"{op}: padding must be >= 0 (got {pad_lo}, {pad_hi})")
    span = dilation * (kernel - 1) + 1
    padded = size + pad_lo + pad_hi
    if padded < span:
        raise ShapeError(
            f"{op} window does not fit: {axis}: input {size} + padding {pad_lo}+{pad_hi} = "
            f"{padded} < window {span}"
            + (f" (kernel {kernel}, dilation {dilation})" if dilation > 1
               else f" (kernel {kernel})")
        )
    if not ceil_mode:
        return (padded - span) // stride + 1
    out = -(-(padded - span) // stride) + 1
    if (out - 1) * stride >= size + pad_lo:
        out -= 1  # the last window would start inside the right padding
    return out


def spatial_out(
    op: str, x: TensorType, kernel: Sequence[int], stride: Sequence[int], pad: Sequence[int],
    dilation: Sequence[int], ceil_mode: bool = False,
) -> tuple[int, int]:
    """(Ho, Wo) of a 2-D window over NCHW `x`; pad is [top, left, bottom, right]."""
    ho = window_out(op, x.shape[2], kernel[0], stride[0], pad[0], pad[2], dilation[0], "height",
                    ceil_mode)
    wo = window_out(op, x.shape[3], kernel[1], stride[1], pad[1], pad[3], dilation[1], "width",
                    ceil_mode)
    return ho, wo


def norm_axis(op: str, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(f"{op}: axis {axis} out of range for rank {rank}")
    return axis % rank
