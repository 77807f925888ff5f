"""The constants a JIT network's forward entry computes from its parameters (folded batchnorm,
packed convolution weights), kept in step with the parameters.

Where it sits: compiler/passes/fold_batch_norm.py replaced each inference batchnorm after a
convolution or dense layer by the layer over two per-call inputs (the folded weight and bias)
and recorded in the node's meta which parameters and statistics they come from;
compiler/passes/pack_conv_weights.py gave a direct convolution a per-call input holding its
weight (a parameter or a folded weight: fold, then pack) packed as panels. The JIT
network (runtime/jit/network.py) owns one FoldedConstants: it hands these arrays to every
forward call with the caller's, recomputing them first when the parameters may have changed
(a train_step, an assignment to `net.params` or `net.state`, a checkpoint load, or a view of a
parameter handed out, which the caller may write into). A view kept from before a forward and
written after it is the one change this cannot see: read the parameter again to write it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ir.graph import Graph
from ir.layouts import panels_of, weight_to_logical, weight_to_physical
from ir.memory import align, aligned_bytes
from runtime.network import ArrayDict

FOLD_META = "batchnorm_fold"
"""Node meta key (written by compiler/passes/fold_batch_norm.py): {"folded_weight",
"folded_bias", "weight", "bias" (or None), "scale", "shift", "mean", "var"}: input names; and
"eps", the batchnorm's epsilon."""


PACK_META = "weight_panels"
"""Node meta key (written by compiler/passes/pack_conv_weights.py): {"packed": the per-call
input, "weight": the parameter or folded weight it packs, "width": output channels a panel}."""


def fold_recipes(graph: Graph) -> list[dict[str, Any]]:
    """Every fold the pass recorded in `graph`, in node order."""
    return [node.meta[FOLD_META] for node in graph.nodes() if FOLD_META in node.meta]


def fold(recipe: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
         order: tuple[str, str] = ("", "")) -> dict[str, np.ndarray]:
    """The folded weight and bias of one recipe from the live arrays:
    s = scale / sqrt(var + eps), W' = W * s (per output channel), b' = (b - mean) * s + shift.
    `order`: the layout tags the weight is stored in and the folded weight is read in (a
    dense weight after a flatten in a laid-out network: its columns permuted in the network
    that trains it, and in an inference network only where the layout pass saw it read).
    """
    weight = arrays[recipe["weight"]]
    if order[0] != order[1]:
        weight = weight_to_physical(weight_to_logical(weight, order[0]), order[1])
    scale, shift = arrays[recipe["scale"]], arrays[recipe["shift"]]
    mean, var = arrays[recipe["mean"]], arrays[recipe["var"]]
    s = scale / np.sqrt(var + weight.dtype.type(recipe["eps"]))
    bias = arrays[recipe["bias"]] if recipe["bias"] is not None else np.zeros_like(mean)
    per_row = s.reshape((-1,) + (1,) * (weight.ndim - 1))
    return {recipe["folded_weight"]: np.ascontiguousarray(weight * per_row, weight.dtype),
            recipe["folded_bias"]: np.ascontiguousarray((bias - mean) * s + shift, weight.dtype)}


def pack_recipes(graph: Graph) -> list[dict[str, Any]]:
    """Every weight packing the pass recorded in `graph`, in node order, one per packed input."""
    recipes = {n.meta[PACK_META]["packed"]: n.meta[PACK_META] for n in graph.nodes()
               if PACK_META in n.meta}
    return list(recipes.values())


class PackedWeights:
    """Every packed weight of a graph in one buffer, allocated once and refilled in place:
    each at an offset aligned as the kernels' vector loads want (numpy only promises 16
    bytes), all in one large allocation, which the kernel maps with huge pages (separate
    arrays made resnet18's layer4 convolutions ~10% slower than packing per call)."""

    def __init__(self, recipes: list[dict[str, Any]]) -> None:
        self.recipes = recipes
        self.arrays: dict[str, np.ndarray] = {}

    def refill(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The packed weights of `arrays`' current values, each written into its place in one
        pass: Wp[o // P][i][ky][kx][o % P] = W[o][i][ky][kx]."""
        weights = [arrays[recipe["weight"]] for recipe in self.recipes]
        if not self.arrays:
            self._allocate(weights)
        for recipe, weight in zip(self.recipes, weights, strict=True):
            width = recipe["width"]
            target = self.arrays[recipe["packed"]]
            target.reshape(weight.shape[0] // width, -1, width)[...] = panels_of(weight, width)
        return self.arrays

    def _allocate(self, weights: list[np.ndarray]) -> None:
        offsets, total = [], 0
        for weight in weights:
            offsets.append(total)
            total += align(weight.nbytes)
        buffer = aligned_bytes(total)
        for recipe, weight, at in zip(self.recipes, weights, offsets, strict=True):
            view = buffer[at:at + weight.nbytes].view(weight.dtype).reshape(weight.shape)
            self.arrays[recipe["packed"]] = view


class FoldedConstants:
    """The folded and packed arrays of a forward graph, recomputed lazily after `touch()`.
    Memory: a packed weight is a second copy of its parameter, so an inference network's
    convolution weights take twice their size (ONNX Runtime keeps a packed copy too)."""

    def __init__(self, graph: Graph, arrays: Callable[[], Mapping[str, np.ndarray]],
                 stored: Mapping[str, str] | None = None) -> None:
        """`arrays`: the live parameters and state as stored, in the layouts `stored` names
        (a name absent: the logical order)."""
        self.recipes = fold_recipes(graph)
        tags = {v.name: v.type.layout for v in graph.inputs}
        self._orders = [((stored or {}).get(r["weight"], ""), tags.get(r["folded_weight"], ""))
                        for r in self.recipes]
        self.packs = pack_recipes(graph)
        self._packed = PackedWeights(self.packs)
        self._arrays = arrays
        self._folded: dict[str, np.ndarray] = {}
        self._stale = True
        self.refolds = 0
        """How many times the constants were computed (tests read it)."""

    def touch(self) -> None:
        """The parameters may have changed: fold again before the next forward."""
        self._stale = True

    def feeds(self) -> dict[str, np.ndarray]:
        """The folded inputs of the forward entry, by name, up to date."""
        if self._stale and (self.recipes or self.packs):
            arrays = self._arrays()
            folded: dict[str, np.ndarray] = {}
            for recipe, order in zip(self.recipes, self._orders, strict=True):
                folded.update(fold(recipe, arrays, order))
            if self.packs:  # after the folds: a packed weight may be a folded one
                folded.update(self._packed.refill({**arrays, **folded}))
            self._folded = folded
            self.refolds += 1
        self._stale = False
        return self._folded


class WatchedArrayDict(ArrayDict):
    """An ArrayDict that calls `on_change` whenever an array may change: on assignment, and
    when a view of it is handed out (the caller may write into the view)."""

    def __init__(self, base: ArrayDict, on_change: Callable[[], None]) -> None:
        super().__init__(base._arrays, base._kind, base._layouts)
        self._on_change = on_change

    def __getitem__(self, name: str) -> np.ndarray:
        self._on_change()
        return super().__getitem__(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self._on_change()
        super().__setitem__(name, value)


def folded_input_names(graph: Graph) -> set[str]:
    """The forward graph's inputs the runtime supplies, not the caller."""
    names = {recipe["packed"] for recipe in pack_recipes(graph)}
    for recipe in fold_recipes(graph):
        names.update((recipe["folded_weight"], recipe["folded_bias"]))
    return names

