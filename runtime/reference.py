"""The reference interpreter: runs any IR graph node by node with numpy, in f32 or f64.

Where it sits: the oracle. Every JIT kernel, fused group and whole network is tested against it,
and gradient checks run it in float64. It must stay simple enough to trust: one table lookup per
node (runtime/ref_ops*.py), no fusion, no layouts, no cleverness. When an op fails, the error
names the node (as torch.fx's interpreter does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ir.errors import NetcError, RuntimeInputError
from ir.graph import Graph
from ir.printer import format_node
from ir.types import NUMPY_DTYPE
from runtime import ref_ops

Array = np.ndarray


@dataclass
class Results:
    """What one call of a graph produced: outputs, loss, updated inputs and (optionally) all."""

    outputs: list[Array]
    loss: Array | None
    updates: dict[str, Array]
    values: dict[str, Array]


def run(
    graph: Graph, feeds: Mapping[str, Array], dtype: str | None = None, keep_all: bool = False,
) -> Results:
    """Evaluates `graph` on `feeds` (every graph input by name).

    dtype: "f64" runs all float math in float64 whatever the graph says (gradient checks);
    None keeps each input's declared dtype.
    """
    env, batch = _bind_inputs(graph, feeds, dtype)
    for node in graph.nodes():
        fn = ref_ops.REF.get(node.op)
        if fn is None:
            raise NetcError(f"reference interpreter has no semantics for op '{node.op}'")
        args = [env[v.name] for v in node.operands]
        try:
            result = fn(args, node.attrs, node.type.bind(batch))
        except NetcError:
            raise
        except Exception as err:  # a numpy failure inside one op: name the node
            raise NetcError(f"reference interpreter: {type(err).__name__} in "
                            f"`{format_node(node)}`: {err}") from err
        env[node.name] = np.asarray(result)
    return Results(
        outputs=[env[v.name] for v in graph.outputs],
        loss=env[graph.loss.name] if graph.loss is not None else None,
        updates={t.name: env[v.name] for t, v in graph.updates},
        values=env if keep_all else {},
    )


def _bind_inputs(
    graph: Graph, feeds: Mapping[str, Array], dtype: str | None,
) -> tuple[dict[str, Array], int]:
    """Checks and converts the feeds; returns them with the batch size they imply."""
    env: dict[str, Array] = {}
    batch: int | None = None
    for v in graph.inputs:
        if v.name not in feeds:
            raise RuntimeInputError(f"no value given for graph input %{v.name} ({v.role})")
        arr = np.asarray(feeds[v.name])
        want = v.type.dtype
        if dtype is not None and want in ("f32", "f64"):
            want = dtype
        shape = tuple(v.type.shape)
        if v.type.is_concrete and arr.shape != shape:
            raise RuntimeInputError(f"input %{v.name} must have shape {list(shape)}, "
                                    f"got {list(arr.shape)}")
        if not v.type.is_concrete:
            if arr.ndim != len(shape):
                raise RuntimeInputError(f"input %{v.name} must have rank {len(shape)}, "
                                        f"got {arr.ndim}")
            if batch is None:
                batch = arr.shape[0]
            if tuple(v.type.bind(batch).shape) != arr.shape:
                raise RuntimeInputError(f"input %{v.name} must have shape "
                                        f"{list(v.type.bind(batch).shape)}, got {list(arr.shape)}")
        env[v.name] = arr.astype(NUMPY_DTYPE[want], copy=False)
    return env, batch if batch is not None else 1
