"""Compiled networks: the object `compiler.compile` returns, whatever the backend.

Where it sits: the runtime's public face. A Network owns the parameter and state arrays, checks
every array a user hands it (shape, dtype, contiguity, label range) before any kernel runs, and
delegates the computation to its backend: the reference interpreter here, the JIT in
runtime/jit/network.py. It never imports the frontend or the passes; it runs graphs it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np

from ir.errors import RuntimeInputError
from ir.graph import Graph
from ir.ops_sequence import index_bounds
from ir.types import NUMPY_DTYPE
from runtime import reference


class CompiledGraphs:
    """What the compiler hands the runtime: the graph of each entry point, lowered on first
    use (a training network that never calls forward() never lowers it). `primary` is the
    training graph when there is one (it holds every parameter and state tensor)."""

    def __init__(self, builders: dict[str, Callable[[], Graph]]) -> None:
        self._builders = builders
        self._graphs: dict[str, Graph] = {}

    def get(self, entry: str) -> Graph | None:
        if entry not in self._graphs:
            builder = self._builders.get(entry)
            if builder is None:
                return None
            self._graphs[entry] = builder()
        return self._graphs[entry]

    def preset(self, graph: Graph, entry: str) -> None:
        """An entry lowered ahead of time (the layout decision is taken on it)."""
        self._graphs[entry] = graph

    def has(self, entry: str) -> bool:
        return entry in self._builders

    @property
    def forward(self) -> Graph:
        graph = self.get("forward")
        assert graph is not None
        return graph

    @property
    def grads(self) -> Graph | None:
        return self.get("grads")

    @property
    def train(self) -> Graph | None:
        return self.get("train")

    @property
    def primary(self) -> Graph:
        train = self.train if self.has("train") else None
        return train if train is not None else self.forward


class ArrayDict(MutableMapping[str, np.ndarray]):
    """name -> array whose buffers stay put: assigning copies into the existing array, so a
    compiled network (which holds these buffers) sees the new values.

    A tensor the layout pass stores in a permuted order (a dense weight after a flatten of an
    NHWC or blocked activation) is translated both ways: reading gives a copy in the user's
    logical order, assigning (`params[name] = array`) writes the physical order."""

    def __init__(self, arrays: dict[str, np.ndarray], kind: str,
                 layouts: dict[str, str] | None = None) -> None:
        self._arrays = arrays
        self._kind = kind
        self._layouts = {k: v for k, v in (layouts or {}).items() if v}

    def _raw(self, name: str) -> np.ndarray:
        try:
            return self._arrays[name]
        except KeyError:
            from ir.suggest import did_you_mean

            raise KeyError(f"no {self._kind} '{name}'{did_you_mean(name, self._arrays)}") from None

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._raw(name)
        if name in self._layouts:
            from ir.layouts import weight_to_logical

            return weight_to_logical(array, self._layouts[name])
        return array

    def layout(self, name: str) -> str:
        """The physical order `name` is stored in ("" = the logical one)."""
        self._raw(name)
        return self._layouts.get(name, "")

    def __setitem__(self, name: str, value: Any) -> None:
        target = self._raw(name)
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise RuntimeInputError(f"{self._kind} '{name}' needs an array of numbers: "
                                    f"{' '.join(str(err).split())}") from None
        if arr.shape != target.shape:
            raise RuntimeInputError(f"{self._kind} '{name}' has shape {list(target.shape)}, "
                                    f"got {list(arr.shape)}")
        if arr.dtype.kind not in "fiu":
            raise RuntimeInputError(f"{self._kind} '{name}' needs numbers, got {arr.dtype}")
        if name in self._layouts:
            from ir.layouts import weight_to_physical

            arr = weight_to_physical(arr, self._layouts[name])
        target[...] = arr

    def __delitem__(self, name: str) -> None:
        raise RuntimeInputError(f"cannot delete {self._kind} '{name}'")

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}: {list(v.shape)}" for k, v in self._arrays.items())
        return f"{{{body}}}"


def owned_copy(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `array` in memory netc owns, taken before it is checked.

    For arrays native code indexes with (labels select the logit each sample's loss reads):
    the caller's buffer may still be written by another Python thread while the kernel runs
    without the GIL, so a label checked in the caller's buffer could be out of range by the
    time the kernel reads it. The copy is what is checked and what the kernel reads."""
    return np.array(array, order="C", copy=True)


def _checked_ids(name: str, ids: np.ndarray, rows: int) -> np.ndarray:
    """An owned copy of an input read as row ids (embedding lookups), every id in [0, rows):
    native code indexes a table with them, as it indexes logits with labels."""
    ids = owned_copy(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= rows):
        bad = int(ids[(ids < 0) | (ids >= rows)][0])
        raise RuntimeInputError(f"input '{name}': id {bad} is outside the {rows} rows "
                                f"[0, {rows}) of the table it indexes")
    return ids


def _loss(results: reference.Results) -> float:
    """The scalar loss of a training entry's results (every training entry computes one)."""
    if results.loss is None:
        raise RuntimeInputError("this entry computes no loss")
    return float(results.loss)


class Network:
    """A network compiled for one batch size. Subclasses implement `_run`."""

    def __init__(self, graphs: CompiledGraphs, values: dict[str, np.ndarray], batch: int) -> None:
        self.graphs = graphs
        self.batch = batch
        primary = graphs.primary
        self._inputs = primary.inputs_with_role("input")
        self._labels = primary.inputs_with_role("label")
        self._params = {v.name: values[v.name] for v in primary.params}
        self._state = {v.name: values[v.name] for v in primary.inputs_with_role("state")}
        self._loss = primary.loss
        self._index_bounds = index_bounds(primary)
        self.layouts = {v.name: v.type.layout for v in primary.inputs_with_role("param", "state")
                        if v.type.layout}
        self.params = ArrayDict(self._params, "parameter", self.layouts)
        self.state = ArrayDict(self._state, "state tensor", self.layouts)
        self._ready = self._ready_spec()

    def _ready_spec(self) -> tuple[str, tuple[int | str, ...], np.dtype] | None:
        """(name, shape, dtype) of a network's one forward input, when an array already of
        that shape and dtype, C-contiguous and aligned, passes `_check_array` unchanged (so
        forward() can accept it with a few attribute reads); None when inputs are read as
        ids (they are copied and range-checked) or there is not exactly one input.
        Subclasses that change `_inputs` recompute it."""
        if len(self._inputs) != 1 or self._inputs[0].name in self._index_bounds:
            return None
        value = self._inputs[0]
        return value.name, tuple(value.type.shape), np.dtype(NUMPY_DTYPE[value.type.dtype])

    # ------------------------------------------------------------ public API

    def forward(self, *inputs: Any) -> np.ndarray:
        """The output of the last layer (e.g. logits), inference semantics."""
        ready = self._ready
        if ready is not None and len(inputs) == 1:
            # the common call, checked with the fewest reads (a batch-1 forward runs from cold
            # caches after its kernels): anything else goes through the full check below
            x = inputs[0]
            if type(x) is np.ndarray and x.shape == ready[1] and x.dtype == ready[2]:
                flags = x.flags
                if flags.c_contiguous and flags.aligned:
                    return self._forward_checked({ready[0]: x})
        return self._forward_checked(self._check_inputs(inputs, "forward"))

    def _forward_checked(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """forward() on checked arrays; the JIT runs it without the Results of `_run`."""
        return self._run("forward", feeds).outputs[0]

    def loss_and_grads(self, *inputs: Any) -> tuple[float, dict[str, np.ndarray]]:
        """(loss, {param name: gradient}) for one batch; parameters are not changed."""
        self._need("grads")
        feeds = self._check_inputs(inputs, "loss_and_grads", labels=True)
        out = self._run("grads", feeds)
        names = list(self._params)
        grads = {n: g for n, g in zip(names, out.outputs, strict=True)}
        for name, tag in self.layouts.items():
            if name in grads:
                from ir.layouts import weight_to_logical

                grads[name] = weight_to_logical(grads[name], tag)
        return _loss(out), grads

    def train_step(self, *inputs: Any) -> float:
        """One optimizer step on a batch; returns the loss before the update."""
        self._need("train")
        feeds = self._check_inputs(inputs, "train_step", labels=True)
        out = self._run("train", feeds)
        return _loss(out)

    # ------------------------------------------------------------ checks

    def _need(self, entry: str) -> Graph:
        if not self.graphs.has(entry):
            why = "the model has no loss" if self._loss is None else "compile with train=True"
            raise RuntimeInputError(f"this network has no '{entry}' entry: {why}")
        graph = self.graphs.get(entry)
        if graph is None:  # has() said the entry exists, so its builder made a graph
            raise RuntimeInputError(f"this network's '{entry}' entry could not be built")
        return graph

    def _check_inputs(self, args: tuple[Any, ...], call: str,
                      labels: bool = False) -> dict[str, np.ndarray]:
        """Every array of one call, checked, by name. The arrays come positionally (the inputs,
        then the labels) or as one mapping from names to arrays."""
        wanted = [*self._inputs, *(self._labels if labels else [])]
        if len(args) == 1 and isinstance(args[0], Mapping):
            given = self._by_name(dict(args[0]), call)
        else:
            if len(args) != len(wanted):
                raise RuntimeInputError(self._count_message(call, len(args), labels))
            given = {v.name: a for v, a in zip(wanted, args, strict=True)}
        feeds = {v.name: self._check_array(v.name, given.get(v.name), v.type)
                 for v in self._inputs}
        for v in self._labels if labels else []:
            feeds[v.name] = self._check_labels(v.name, given.get(v.name), v.type)
        for name, rows in self._index_bounds.items():
            if name in feeds:
                feeds[name] = _checked_ids(name, feeds[name], rows)
        return feeds

    def _by_name(self, given: dict[Any, Any], call: str) -> dict[Any, Any]:
        known = [v.name for v in (*self._inputs, *self._labels)]
        for key in given:
            if key not in known:
                from ir.suggest import did_you_mean

                raise RuntimeInputError(f"{call}: the network has no input named {key!r}"
                                        f"{did_you_mean(str(key), known)} (it takes "
                                        f"{', '.join(known)})")
        return given

    def _count_message(self, call: str, got: int, labels: bool) -> str:
        names = ", ".join(v.name for v in self._inputs)
        if not labels:
            return f"expected {len(self._inputs)} input array(s) ({names}), got {got}"
        return (f"{call} takes {len(self._inputs)} input array(s) ({names}) and then the labels, "
                f"got {got} argument(s)")

    @staticmethod
    def _as_array(what: str, value: Any) -> np.ndarray:
        if value is None:
            raise RuntimeInputError(f"no array given for {what}")
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise RuntimeInputError(f"{what} is not an array of numbers: "
                                    f"{' '.join(str(err).split())}") from None
        if not arr.flags.aligned:  # e.g. a view at an odd byte offset of a buffer
            arr = arr.copy()
        return arr

    @classmethod
    def _check_array(cls, name: str, value: Any, type_: Any) -> np.ndarray:
        arr = cls._as_array(f"input '{name}'", value)
        want = np.dtype(NUMPY_DTYPE[type_.dtype])
        if not isinstance(value, np.ndarray) and arr.dtype.kind in "fiu":
            arr = arr.astype(want)  # plain Python numbers carry no dtype of their own
        shape = tuple(type_.shape)
        if arr.shape != shape:
            raise RuntimeInputError(f"input '{name}' must have shape {list(shape)} (the network "
                                    f"was compiled for batch {shape[0]}), got {list(arr.shape)}")
        if arr.dtype != want:
            raise RuntimeInputError(f"input '{name}' must be {want}, got {arr.dtype} "
                                    f"(convert with .astype(np.{want}))")
        return np.ascontiguousarray(arr)

    def _check_labels(self, name: str, labels: Any, type_: Any) -> np.ndarray:
        arr = self._as_array(f"labels '{name}'", labels)
        shape = tuple(type_.shape)
        if arr.shape != shape:
            raise RuntimeInputError(f"labels '{name}' must have shape {list(shape)}, "
                                    f"got {list(arr.shape)}")
        if type_.dtype != "i64":
            return self._check_array(name, arr, type_)
        if arr.dtype.kind not in "iu":
            raise RuntimeInputError(f"labels '{name}' must be integer class indices, "
                                    f"got {arr.dtype}")
        arr = owned_copy(arr)
        classes = self._classes()
        if arr.size and (arr.min() < 0 or arr.max() >= classes):
            bad = int(arr[(arr < 0) | (arr >= classes)][0])
            raise RuntimeInputError(f"label {bad} is outside the {classes} classes "
                                    f"[0, {classes})")
        return arr.astype(np.int64, copy=False)

    def _classes(self) -> int:
        loss = self._loss
        if loss is None or loss.node is None:
            return 1 << 62
        return int(loss.node.operands[0].type.shape[1])

    # ------------------------------------------------------------ backend

    def _run(self, entry: str, feeds: dict[str, np.ndarray]) -> reference.Results:
        raise NotImplementedError


class ReferenceNetwork(Network):
    """Runs every entry point through the numpy reference interpreter (the oracle)."""

    backend = "reference"

    def _run(self, entry: str, feeds: dict[str, np.ndarray]) -> reference.Results:
        graph = self._need(entry)
        env = {**self._params, **self._state, **feeds}
        needed = {v.name: env[v.name] for v in graph.inputs if v.name in env}
        out = reference.run(graph, needed)
        for name, new in out.updates.items():
            target = self._params.get(name)
            if target is None:
                target = self._state[name]
            target[...] = new
        return out
