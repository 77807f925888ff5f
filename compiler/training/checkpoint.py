"""Checkpoints: parameters, optimizer state and training progress in one .npz file.

Where it sits: written by the training loop (each epoch end, on Ctrl-C / SIGTERM, at the end)
and read by `netc train --resume`, `netc eval` and `netc run`.

Layout of the archive (numpy's npz, read with allow_pickle=False, so loading never runs code):
    <param name>          each parameter under its name in `net.params` (PyTorch layouts)
    state/<name>          each tensor of `net.state` (momentum buffers, Adam moments, step)
    __netc__              a JSON string: format, model, progress, settings, normalization
A plain npz of parameters (e.g. exported from PyTorch under the same names) is a valid input
to `netc run` and `netc eval`.

Writes are atomic: the archive goes to a temporary file in the same folder, is fsynced and then
renamed over the old one (and the folder is fsynced), so a process killed at any moment leaves
either the previous checkpoint or the new one, never a truncated file.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from compiler.training.checkpoint_meta import check_meta
from ir.errors import NetcError

FORMAT = "netc-checkpoint-1"
META_KEY = "__netc__"
STATE_PREFIX = "state/"


class CheckpointError(NetcError):
    """A checkpoint cannot be read, written, or does not fit the network."""


@dataclass
class Checkpoint:
    params: dict[str, np.ndarray]
    state: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Runs `write(file)` on a temporary file beside `path`, then renames it over `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                                   dir=path.parent)
    except OSError as err:
        raise CheckpointError(f"cannot write {path}: {err.strerror or err}") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a checkpoint is an ordinary file
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        _remove_orphans(path)
    except OSError as err:
        raise CheckpointError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        if os.path.exists(tmp):  # only when something failed before the rename
            os.unlink(tmp)


def _remove_orphans(path: Path) -> None:
    """Deletes the temporary files of earlier writes of `path` whose process is gone (killed
    mid-write, e.g. by SIGKILL): they were never renamed, so they hold nothing the user saved.
    A temporary file of a live process (another writer) is left alone."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                tmp.unlink()
        except OSError:
            pass  # alive, owned by someone else


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Makes the rename itself durable (a crash right after it keeps the new file)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a folder; the rename is still atomic
    finally:
        os.close(fd)


def save(path: str | Path, params: Mapping[str, np.ndarray],
         state: Mapping[str, np.ndarray] | None = None, meta: Mapping[str, Any] | None = None,
         ) -> None:
    """Writes a checkpoint atomically (see the module docstring for the layout)."""
    arrays: dict[str, np.ndarray] = {}
    for name, value in params.items():
        if name.startswith(STATE_PREFIX) or name == META_KEY:
            raise CheckpointError(f"parameter name '{name}' clashes with the checkpoint layout")
        arrays[name] = np.array(value, order="C")  # ascontiguousarray would make 0-d 1-d
    for name, value in (state or {}).items():
        arrays[STATE_PREFIX + name] = np.array(value, order="C")
    arrays[META_KEY] = np.array(json.dumps({"format": FORMAT, **(meta or {})}, sort_keys=True))
    # numpy's stub types **arrays as if a key could be the bool `allow_pickle` (none is)
    atomic_write(path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]


def load(path: str | Path) -> Checkpoint:
    """Reads a checkpoint (or a plain npz of parameters); never unpickles anything."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    _check_magic(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise CheckpointError(f"{path}: holds pickled Python objects; netc only reads "
                                  "plain numeric arrays") from None
        raise CheckpointError(f"{path}: not a valid .npz file ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"{path}: not a valid .npz file ({err})") from None
    meta: dict[str, Any] = {}
    if META_KEY in arrays:
        try:
            meta = check_meta(json.loads(str(arrays.pop(META_KEY))), str(path))
        except (json.JSONDecodeError, RecursionError):
            raise CheckpointError(f"{path}: its {META_KEY} record is not valid JSON") from None
    state = {k[len(STATE_PREFIX):]: v for k, v in arrays.items() if k.startswith(STATE_PREFIX)}
    params = {k: v for k, v in arrays.items() if not k.startswith(STATE_PREFIX)}
    return Checkpoint(params, state, meta)


def _check_magic(path: Path) -> None:
    """np.load would take anything that is not a zip or .npy file for a pickle."""
    try:
        with path.open("rb") as f:
            head = f.read(6)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read: {err.strerror or err}") from None
    if head.startswith(b"\x93NUMPY"):
        raise CheckpointError(f"{path}: a single .npy array, not an .npz archive of named "
                              "parameters")
    if not head.startswith(b"PK"):
        raise CheckpointError(f"{path}: not a valid .npz file (it is not a zip archive)")


def _copy_into(kind: str, target: Any, given: Mapping[str, np.ndarray], path: str,
               required: bool = True) -> None:
    """Copies every array of `given` into `target` (net.params or net.state), by name."""
    missing = [n for n in target if n not in given]
    extra = [n for n in given if n not in target]
    if (missing and required) or extra:
        what = f"lacks {kind} '{missing[0]}'" if missing and required else (
            f"has {kind} '{extra[0]}', which the network does not have")
        raise CheckpointError(f"{path} does not fit this network: it {what}")
    for name, value in given.items():
        want = target[name]
        if value.shape != want.shape:
            raise CheckpointError(f"{path}: {kind} '{name}' has shape {list(value.shape)}, "
                                  f"the network's is {list(want.shape)}")
        if value.dtype.kind not in "fiu":
            raise CheckpointError(f"{path}: {kind} '{name}' is {value.dtype}, not numbers")
        _check_fits(value, want.dtype, f"{path}: {kind} '{name}'")
        target[name] = value


def _check_fits(value: np.ndarray, dtype: np.dtype, what: str) -> None:
    """Refuses values the network's dtype cannot hold: a finite float64 beyond float32's
    range would load as inf without a word, a fraction or a huge number in an integer tensor
    (the optimizer's step) as some other integer. NaN and inf in a float tensor stay what they
    are (a diverged run's checkpoint holds them)."""
    with np.errstate(all="ignore"):
        if dtype.kind == "f":
            bad = np.isfinite(value) & ~np.isfinite(value.astype(dtype))
        elif value.dtype.kind == "f":
            bad = ~np.isfinite(value) | (value != np.round(value)) | (
                np.abs(value) >= 2.0 ** (8 * dtype.itemsize - 1))
        else:
            info = np.iinfo(dtype)
            bad = (value < info.min) | (value > info.max)
    if np.any(bad):
        first = value[bad].flat[0].item()
        raise CheckpointError(f"{what} holds {first!r}, which {dtype} cannot hold: the "
                              "checkpoint does not fit this network's dtype")


def restore(net: Any, ckpt: Checkpoint, path: str, with_state: bool) -> None:
    """Loads the checkpoint's parameters (and, for resuming, its state) into `net`."""
    _copy_into("parameter", net.params, ckpt.params, path)
    if with_state:
        _copy_into("state tensor", net.state, ckpt.state, path)
