"""A bundle (`netc build`) used from Python: a Network over the library, through ctypes.

Where it sits: beside runtime/jit/network.py, the other native backend. Where a JITNetwork
calls the entries it compiled, a BundleNetwork calls the C API of lib<name>.so, which wraps the
same entries (compiler/bundle/csource.py). The bundle's manifest (<name>.netc.json) holds each
entry's lowered graph as text IR, so the arrays are checked exactly as for a JIT network
(runtime/network.py) before the library sees them; parameters and state are numpy views of the
network's region in the library, so `net.params[name] = array` writes what the next call reads.
"""

from __future__ import annotations

import ctypes
import json
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ir.errors import RuntimeInputError
from ir.graph import Graph
from ir.parser import parse
from ir.types import NUMPY_DTYPE
from runtime.jit.call import address
from runtime.network import CompiledGraphs, Network
from runtime.reference import Results

MANIFEST_FORMAT = 1


class BundleNetwork(Network):
    """A network whose calls run in a bundle's shared library."""

    backend = "bundle"

    def __init__(self, folder: Path, manifest: dict[str, Any], weights: Path) -> None:
        self.folder = folder
        self.name = str(manifest["name"])
        self.max_threads = int(manifest["threads"])
        """The most threads the library runs (netc build --threads)."""
        self._lib = ctypes.CDLL(str(folder / manifest["library"]))
        self._fn("last_error").restype = ctypes.c_char_p
        self._fn("error_message").restype = ctypes.c_char_p
        handle = ctypes.c_void_p()
        self._check(self._fn("create")(str(weights).encode(), ctypes.byref(handle)))
        self._handle = handle
        region, size = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(self._fn("region")(handle, ctypes.byref(region), ctypes.byref(size)))
        memory = (ctypes.c_uint8 * size.value).from_address(region.value or 0)
        # The network is destroyed when the last view of its region goes, not with this
        # object: `net.params[name]` arrays a caller still holds stay valid.
        weakref.finalize(memory, self._fn("destroy"), handle)
        raw = np.ctypeslib.as_array(memory)
        self._tensors = {t["name"]: t for t in manifest["tensors"]}
        views = {name: np.ndarray(tuple(t["shape"]), dtype=NUMPY_DTYPE[t["dtype"]],
                                  buffer=raw, offset=t["offset"])
                 for name, t in self._tensors.items()}
        graphs = CompiledGraphs({entry: _parser(str(text))
                                 for entry, text in manifest["graphs"].items()})
        super().__init__(graphs, views, int(manifest["batch"]))
        self._param_floats = sum(v.size for v in self._params.values())
        output = graphs.forward.outputs[0].type
        self._out_shape = tuple(int(d) for d in output.shape)
        self._out_dtype = np.dtype(NUMPY_DTYPE[output.dtype])
        pointers = [ctypes.c_void_p] * (2 + len(self._inputs) + len(self._labels) + 1)
        for function, count in (("forward", 2 + len(self._inputs)),
                                ("train_step", len(pointers) - 1),
                                ("loss_and_grads", len(pointers))):
            if hasattr(self._lib, f"{self.name}_{function}"):
                self._fn(function).argtypes = pointers[:count]
        self._forward = self._fn("forward")

    def _fn(self, what: str) -> Any:
        # attribute access caches the function object (indexing would make a new one each
        # time, forgetting its restype)
        return getattr(self._lib, f"{self.name}_{what}")

    def _check(self, status: int) -> None:
        if status != 0:
            meaning = self._fn("error_message")(status).decode()
            detail = self._fn("last_error")().decode()
            raise RuntimeInputError(f"{self.name}: {detail or meaning}")

    def save_weights(self, path: str | Path) -> None:
        """Writes parameters and optimizer state as a weights file of this bundle (what
        `<name>_create` and load_bundle(..., weights=path) read)."""
        self._check(self._fn("save_weights")(self._handle, str(path).encode()))

    def set_threads(self, threads: int) -> None:
        """Threads of the library's pool (1..the count the bundle was built for)."""
        self._check(self._fn("set_threads")(int(threads)))

    def _run(self, entry: str, feeds: dict[str, np.ndarray]) -> Results:
        data = [address(feeds[v.name]) for v in self._inputs]
        if entry == "forward":
            out = np.empty(self._out_shape, dtype=self._out_dtype)
            self._check(self._forward(self._handle, *data, address(out)))
            return Results([out], None, {}, {})
        data += [address(feeds[v.name]) for v in self._labels]
        loss = np.zeros((), dtype=np.float32)
        if entry == "train":
            self._check(self._fn("train_step")(self._handle, *data, address(loss)))
            return Results([], loss, {}, {})
        grads = np.empty(self._param_floats, dtype=np.float32)
        self._check(self._fn("loss_and_grads")(self._handle, *data, address(loss),
                                               address(grads)))
        outputs = []
        for name, array in self._params.items():
            start = self._tensors[name]["grad_offset"]
            outputs.append(grads[start:start + array.size].reshape(array.shape))
        return Results(outputs, loss, {}, {})


def _parser(text: str) -> Callable[[], Graph]:
    """Parses an entry's graph on first use (as the JIT lowers it on first use)."""
    return lambda: parse(text)


def load_bundle(folder: str | Path, weights: str | Path | None = None) -> Network:
    """The network of a bundle folder (`netc build ... -o DIR`), with the weights of
    `weights` (default: the folder's <name>.weights)."""
    folder = Path(folder)
    manifests = sorted(folder.glob("*.netc.json")) if folder.is_dir() else []
    if len(manifests) != 1:
        raise RuntimeInputError(f"{folder}: not a bundle folder (netc build -o {folder} writes "
                                "one <name>.netc.json there)")
    try:
        manifest = json.loads(manifests[0].read_text())
        name = manifest["name"]
        current = manifest["format"] == MANIFEST_FORMAT
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RuntimeInputError(f"{manifests[0]}: unreadable bundle manifest ({err})") from None
    if not current:
        raise RuntimeInputError(f"{manifests[0]}: a bundle of another netc version: rebuild it")
    path = Path(weights) if weights is not None else folder / f"{name}.weights"
    try:
        return BundleNetwork(folder, manifest, path)
    except OSError as err:
        raise RuntimeInputError(f"{folder}: cannot load the library: {err}") from None
