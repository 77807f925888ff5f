"""The checks of a checkpoint's `__netc__` record: every field netc reads, typed and in range.

Where it sits: called by compiler/training/checkpoint.py `load` on the JSON record of every
checkpoint, before `netc train --resume`, `netc eval` or `netc run` reads a field of it. A
checkpoint is a file a user may have been handed, so its record is untrusted: a field of the
wrong type or out of range (a list where a record belongs, `std = 0`, `progress.batch = -3`)
is one line naming the file and the field, never an internal error or a silently different
run. Fields netc does not read are left alone; a missing record or field keeps its default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], str]
"""A field's check: "" when the value is fine, else what it must be."""


def _text(value: Any) -> str:
    return "" if isinstance(value, str) else "a string"


def _whole(minimum: int) -> Check:
    def check(value: Any) -> str:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
        return "" if ok else f"a whole number >= {minimum}"
    return check


def _integer(value: Any) -> str:
    return "" if isinstance(value, int) and not isinstance(value, bool) else "a whole number"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite(value: Any) -> str:
    return "" if _number(value) and math.isfinite(value) else "a finite number"


def _positive(value: Any) -> str:
    return "" if _number(value) and math.isfinite(value) and value > 0 else "a number > 0"


def _not_negative(value: Any) -> str:
    return "" if _number(value) and math.isfinite(value) and value >= 0 else "a number >= 0"


def _any_number(value: Any) -> str:  # a diverged run's loss sum is NaN: still a number
    return "" if _number(value) else "a number"


def _optimizer(value: Any) -> str:
    return "" if value in ("sgd", "adam") else "'sgd' or 'adam'"


RECORDS: dict[str, dict[str, Check]] = {
    "settings": {"epochs": _whole(1), "batch": _whole(1), "optimizer": _optimizer,
                 "lr": _finite, "momentum": _finite, "weight_decay": _finite, "seed": _integer},
    "progress": {"epoch": _whole(0), "batch": _whole(0), "step": _whole(0),
                 "loss_sum": _any_number, "seconds": _not_negative},
    "normalization": {"mean": _finite, "std": _positive},
}
"""The nested records and their fields (each optional, except that a normalization needs
exactly its two fields: it is used as a whole)."""

FIELDS: dict[str, Check] = {"format": _text, "model": _text, "train_images": _whole(0)}
"""The top-level fields netc reads (model_file, input_fit and netc are only shown)."""

RESUMABLE = ("model", "train_images", "settings", "progress", "normalization")
"""The fields `netc train --resume` needs besides the format."""


def check_meta(meta: Any, where: str) -> dict[str, Any]:
    """`meta` when every field netc reads is of the right type and in range; else raises the
    CheckpointError `where: __netc__ field 'progress.batch' must be ..., got -3`."""
    if not isinstance(meta, dict):
        raise _error(where, "", "a JSON object", meta)
    for name, check in FIELDS.items():
        if name in meta and check(meta[name]):
            raise _error(where, name, check(meta[name]), meta[name])
    for name, fields in RECORDS.items():
        if name in meta:
            _check_record(meta[name], name, fields, where)
    _check_position(meta, where)
    return meta


def _check_record(record: Any, name: str, fields: Mapping[str, Check], where: str) -> None:
    if not isinstance(record, dict):
        raise _error(where, name, "a JSON object", record)
    if name == "normalization" and set(record) != set(fields):
        raise _error(where, name, "an object with exactly the fields mean and std", record)
    for key, check in fields.items():
        if key in record and check(record[key]):
            raise _error(where, f"{name}.{key}", check(record[key]), record[key])


def _check_position(meta: dict[str, Any], where: str) -> None:
    """progress.batch counts the batches done of the current epoch: at most the batches an
    epoch of the checkpoint's data has (more would resume past the epoch's end)."""
    batch = meta.get("progress", {}).get("batch", 0)
    size = meta.get("settings", {}).get("batch")
    images = meta.get("train_images")
    if size is None or images is None:
        return
    per_epoch = images // size
    if batch > per_epoch:
        raise _error(where, "progress.batch", f"at most the {per_epoch} batches of an epoch "
                     f"({images} images in batches of {size})", batch)


def _error(where: str, field: str, expected: str, got: Any) -> Exception:
    from compiler.training.checkpoint import META_KEY, CheckpointError

    shown = repr(got)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    name = f"field '{field}'" if field else "record"
    return CheckpointError(f"{where}: its {META_KEY} {name} must be {expected}, got {shown}")
