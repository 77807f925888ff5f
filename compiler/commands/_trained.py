"""What `netc eval` and `netc run` share: a model compiled with trained parameters.

Where it sits: a helper of compiler/commands (no `register`, so not a command). P.npz is a
checkpoint of `netc train` or any npz of parameters under the names of `net.params`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compiler.training import checkpoint
from compiler.training.data import (
    Normalization,
    load_split,
)


def compiled_with(graph: Any, batch: int, params: checkpoint.Checkpoint | None, path: str) -> Any:
    import compiler

    net = compiler.compile(graph, batch=batch)
    if params is not None:
        checkpoint.restore(net, params, path, with_state=False)
    return net


def normalization(ckpt: checkpoint.Checkpoint, folder: Path) -> tuple[Normalization, str]:
    """The checkpoint's normalization, or else the statistics of the folder's training set."""
    stored = ckpt.meta.get("normalization")
    if stored:
        return Normalization(**stored), ""
    norm = Normalization.of(load_split(folder, "train").images)
    return norm, (f"note: the parameters carry no normalization; using the training set's "
                  f"(mean {norm.mean:.4f}, std {norm.std:.4f})")
