"""Regenerates examples/onnx/: a LeNet-5 and a small ResNet-style network exported by PyTorch.

    ~/.cache/netc-peers/venv/bin/python tools/make_onnx_models.py

Needs torch (with onnxscript) and onnx, which netc itself never does: the .onnx files and their
expected outputs are committed, and tests/test_onnx_models.py checks netc against them. For each
model it writes
    <name>.onnx        exported in eval mode with a symbolic batch dimension
    <name>.npz         image (a batch of 4), labels, logits (PyTorch, eval mode), and for the
                       training check: the mean cross-entropy in train mode and its gradients
                       (of the parameters of up to MAX_GRAD elements)
LeNet-5 goes through the dynamo exporter (opset 18), the ResNet through the TorchScript one
(opset 13, batch norm kept as BatchNormalization nodes), so both exporters' naming is tested.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "examples" / "onnx"
SEED = 0
MAX_GRAD = 5000
"""Gradients of larger parameters are not stored (they would dominate the files' size)."""


class LeNet5(nn.Module):
    """The network of examples/lenet5.yaml, layer for layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class Block(nn.Module):
    """conv-bn-relu-conv-bn plus a shortcut (a strided 1x1 conv when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Conv2d(cin, cout, 1, stride=stride) if stride != 1 or cin != cout
                     else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.skip is None else self.skip(x)))


class ResNetSmall(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.block1 = Block(8, 8, 1)
        self.block2 = Block(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.stem(x)))
        x = nn.functional.max_pool2d(x, 2)
        x = self.block2(self.block1(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def randomize_batchnorm(model: nn.Module, gen: torch.Generator) -> None:
    """Trained-looking statistics: a fresh BN (mean 0, var 1, weight 1, bias 0) hides mistakes,
    and exporters merge its equal tensors into one initializer."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


def export(model: nn.Module, name: str, dynamo: bool) -> None:
    gen = torch.Generator().manual_seed(SEED)
    image = torch.randn(4, 1, 28, 28, generator=gen)
    labels = torch.tensor([3, 0, 7, 1])
    model.eval()
    path = OUT / f"{name}.onnx"
    if dynamo:
        torch.onnx.export(model, (image,), str(path), dynamo=True, opset_version=18,
                          input_names=["image"], output_names=["logits"],
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
                          external_data=False)
    else:
        torch.onnx.export(model, (image,), str(path), dynamo=False, opset_version=13,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                          training=torch.onnx.TrainingMode.EVAL, do_constant_folding=False)
    with torch.no_grad():
        logits = model(image)
    model.train()
    loss = nn.functional.cross_entropy(model(image), labels)
    loss.backward()
    grads = {f"grad/{n}": p.grad.numpy() for n, p in model.named_parameters()
             if p.numel() <= MAX_GRAD}
    np.savez_compressed(OUT / f"{name}.npz", image=image.numpy(), labels=labels.numpy(),
                        logits=logits.numpy(), loss=np.float32(loss.item()), **grads)
    print(f"{path.name}: {path.stat().st_size:,} bytes")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    export(LeNet5(), "lenet5", dynamo=True)
    torch.manual_seed(SEED + 1)
    resnet = ResNetSmall()
    randomize_batchnorm(resnet, torch.Generator().manual_seed(SEED + 2))
    export(resnet, "resnet_small", dynamo=False)


if __name__ == "__main__":
    main()
