"""The zoo's networks in PyTorch: built with seeded random weights, exported to ONNX, trained.

Runs in the peers venv. Exports are what a user writes: eval mode, batch fixed, opset 17,
``dynamo=False``, so the exporter folds BatchNormalization into the convolutions. The training
peer trains that same function (``trainable``): BatchNormalization folded the same way, dropout
and stochastic depth off, so netc (which imports the export) and torch start from the same
weights, compute the same loss and their losses before and after one SGD step must agree.

    python -m bench.zoo_torch --out DIR resnet18:1 resnet18:8 transformer:1   # cached exports
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from bench.workloads import make_data
from bench.zoo import OPSET, SEED, ZOO, export_path


def import_torchvision() -> ModuleType:
    """torchvision, imported although its C++ ops do not load with the local CPU torch build.

    Its model definitions are plain Python; only the registration of fake kernels for its C++
    ops fails. Registering them as no-ops while ``import torchvision`` runs is enough.
    """
    real = torch.library.register_fake
    torch.library.register_fake = lambda *a, **k: (lambda f: f)
    try:
        import torchvision
    finally:
        torch.library.register_fake = real
    return torchvision


class EncoderClassifier(nn.Module):
    """Linear(16->128), one TransformerEncoderLayer (4 heads, ff 256), mean over tokens,
    Linear(->10): the smallest classifier with every op of a transformer encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Linear(16, 128)
        self.layer = nn.TransformerEncoderLayer(128, 4, 256, dropout=0.0, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layer(self.emb(x)).mean(1))


def build(model: str) -> nn.Module:
    """The network with seeded random weights (torch's default init), in eval mode."""
    torch.manual_seed(SEED)
    if model == "transformer":
        net: nn.Module = EncoderClassifier()
    else:
        net = getattr(import_torchvision().models, model)()
    return net.eval()


def trainable(model: str) -> nn.Module:
    """The function the export computes, as a torch module to train.

    BatchNormalization is folded into the convolutions (as the exporter folds it), and
    dropout / stochastic depth become identities (the export is in eval mode), so training
    mode changes nothing and every parameter of the result is a parameter of the export.
    """
    net = build(model)
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules()):
        from torch.fx.experimental.optimization import fuse

        net = fuse(net)
        # a convolution without a bias gets one from its BatchNormalization, but fuse()
        # leaves it frozen (requires_grad of the absent bias); the export's bias is trainable
        for p in net.parameters():
            p.requires_grad_(True)
    for name, mod in list(net.named_modules()):
        if isinstance(mod, nn.Dropout) or type(mod).__name__ == "StochasticDepth":
            parent, _, leaf = name.rpartition(".")
            setattr(net.get_submodule(parent), leaf, nn.Identity())
    return net


def stamp(model: str, batch: int) -> dict[str, Any]:
    """What an export depends on: a cached file is reused only if its stamp is equal."""
    source = Path(__file__).read_bytes()  # the networks' definitions and the export call
    return {"model": model, "batch": batch, "opset": OPSET, "seed": SEED,
            "torch": torch.__version__, "torchvision": import_torchvision().__version__,
            "source": hashlib.sha256(source).hexdigest()[:16]}


def export(model: str, batch: int, path: Path) -> None:
    """Exports ``model`` at ``batch`` to ``path`` as a user would (see the module docstring).

    Written to a temporary name and renamed, so an interrupted export leaves no file behind.
    """
    x = torch.from_numpy(make_data(model, batch)[0])
    tmp = path.with_suffix(".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(build(model), (x,), str(tmp), input_names=["x"],
                          output_names=["logits"], opset_version=OPSET, dynamo=False)
    os.replace(tmp, path)


def ensure_export(folder: Path, model: str, batch: int) -> str:
    """Exports ``model`` at ``batch`` into ``folder`` unless an equal export is cached there."""
    path = export_path(folder, model, batch)
    meta = path.with_suffix(".json")
    want = stamp(model, batch)
    if path.exists() and meta.exists() and json.loads(meta.read_text()) == want:
        return "cached"
    export(model, batch, path)
    meta.write_text(json.dumps(want, indent=1) + "\n")
    return "exported"


def main() -> int:
    """Ensures the exports named on the command line (model:batch) exist in --out."""
    p = argparse.ArgumentParser(prog="python -m bench.zoo_torch")
    p.add_argument("--out", type=Path, required=True, help="the export cache folder")
    p.add_argument("exports", nargs="+", help="model:batch, e.g. resnet18:1")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for item in args.exports:
        model, _, batch = item.partition(":")
        if model not in ZOO or not batch.isdigit():
            p.error(f"{item!r}: want model:batch with model in {', '.join(ZOO)}")
        print(f"{item}: {ensure_export(args.out, model, int(batch))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
