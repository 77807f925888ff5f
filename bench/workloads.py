"""Benchmark workloads: networks, initial parameters, data and iteration counts.

This module is imported by every bench process -- the netc runner (project venv) and the peer
scripts (peers venv) -- so it depends on numpy only. Every framework builds the same network from
``NETS``, loads the same float32 parameters from :func:`init_params` (PyTorch layout: conv OIHW,
dense (out, in)) and runs on the same data from :func:`make_data`. That makes the first loss and
the logits checksums directly comparable across frameworks: a mismatch means one of them computes
a different function, and its timing is then meaningless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.zoo import INFER_BATCHES, TRAIN_BATCH, ZOO

NUM_CLASSES = 10
LR = 0.01

# Layer lists. ("conv", name, cin, cout, k, pad) | ("relu",) | ("pool",) | ("flatten",)
# | ("dense", name, fin, fout). Pool is always 2x2 max with stride 2.
Layer = tuple
NETS: dict[str, list[Layer]] = {
    "lenet": [
        ("conv", "c1", 1, 6, 5, 2), ("relu",), ("pool",),
        ("conv", "c2", 6, 16, 5, 0), ("relu",), ("pool",), ("flatten",),
        ("dense", "f1", 400, 120), ("relu",),
        ("dense", "f2", 120, 84), ("relu",),
        ("dense", "f3", 84, 10),
    ],
    "cifar": [
        ("conv", "c1", 3, 32, 3, 1), ("relu",),
        ("conv", "c2", 32, 32, 3, 1), ("relu",), ("pool",),
        ("conv", "c3", 32, 64, 3, 1), ("relu",),
        ("conv", "c4", 64, 64, 3, 1), ("relu",), ("pool",), ("flatten",),
        ("dense", "f1", 4096, 256), ("relu",),
        ("dense", "f2", 256, 10),
    ],
    "mlp": [
        ("dense", "f1", 784, 512), ("relu",),
        ("dense", "f2", 512, 512), ("relu",),
        ("dense", "f3", 512, 10),
    ],
}
IN_SHAPE: dict[str, tuple[int, ...]] = {"lenet": (1, 28, 28), "cifar": (3, 32, 32), "mlp": (784,)}

# netc side: the model description of each network (repo-relative) and how the bench's layer
# names map onto the layer names in that file. A parameter "c1.weight" here is
# f"{NETC_LAYER_NAMES[model]['c1']}.weight" in ``net.params``.
NETC_MODEL_FILES: dict[str, str] = {
    "lenet": "examples/lenet5.yaml",
    "cifar": "examples/cifar_cnn.yaml",
    "mlp": "examples/mlp.yaml",
}
NETC_LAYER_NAMES: dict[str, dict[str, str]] = {
    "lenet": {"c1": "conv1", "c2": "conv2", "f1": "fc1", "f2": "fc2", "f3": "fc3"},
    "cifar": {"c1": "conv1", "c2": "conv2", "c3": "conv3", "c4": "conv4",
              "f1": "fc1", "f2": "fc2"},
    "mlp": {"f1": "fc1", "f2": "fc2", "f3": "fc3"},
    "gemm": {"fc": "fc"},
}


def netc_param_name(model: str, name: str) -> str:
    """netc's name for bench parameter ``name`` (lenet "c1.weight" -> "conv1.weight")."""
    layer, _, kind = name.partition(".")
    return f"{NETC_LAYER_NAMES[model][layer]}.{kind}"


def gemm_model_yaml(n: int) -> str:
    """A netc model whose forward pass at batch n is one n x n x n float32 GEMM (x @ W.T)."""
    return (
        "name: gemm\n"
        f"input: {{name: x, shape: [{n}]}}\n"
        "layers:\n"
        f"  - dense: {{name: fc, units: {n}, bias: false}}\n"
    )


def param_specs(model: str) -> list[tuple[str, tuple[int, ...]]]:
    """[(name, shape)] in PyTorch layout, in the fixed order the initialiser draws them."""
    specs: list[tuple[str, tuple[int, ...]]] = []
    for layer in NETS[model]:
        if layer[0] == "conv":
            _, name, cin, cout, k, _ = layer
            specs += [(f"{name}.weight", (cout, cin, k, k)), (f"{name}.bias", (cout,))]
        elif layer[0] == "dense":
            _, name, fin, fout = layer
            specs += [(f"{name}.weight", (fout, fin)), (f"{name}.bias", (fout,))]
    return specs


def init_params(model: str) -> dict[str, np.ndarray]:
    """PyTorch-default-like init: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), seed 0, float32.

    A bias uses the fan_in of the weight drawn just before it. The draw order is fixed by
    ``param_specs``, so the values do not depend on the layer names.
    """
    rng = np.random.default_rng(0)
    params: dict[str, np.ndarray] = {}
    fan_in = 1
    for name, shape in param_specs(model):
        if name.endswith(".weight"):
            fan_in = int(np.prod(shape[1:]))
        bound = 1.0 / np.sqrt(fan_in)
        params[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
    return params


def make_data(model: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed inputs (standard normal, float32) and int64 labels, seed 1 (zoo models too)."""
    zoo = ZOO.get(model)
    in_shape, classes = (zoo.in_shape, zoo.classes) if zoo else (IN_SHAPE[model], NUM_CLASSES)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, *in_shape)).astype(np.float32)
    y = rng.integers(0, classes, size=(batch,)).astype(np.int64)
    return x, y


def make_gemm(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A, B for C = A @ B (float32, seed 1). netc sees B as a dense weight W = B.T (out, in)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    return a, b


def checksums(out: np.ndarray) -> dict[str, float]:
    """Sum and position-weighted sum of an output, in float64.

    The plain sum is blind to a permuted or transposed output; the weighted sum (weights
    cos(i) over the flattened index) is not.
    """
    flat = np.asarray(out, dtype=np.float64).ravel()
    weights = np.cos(np.arange(flat.size, dtype=np.float64))
    return {"out_sum": float(flat.sum()), "out_wsum": float(flat @ weights)}


@dataclass(frozen=True)
class Workload:
    """One benchmark row: a model in a mode at a batch size, with its iteration counts.

    For ``model == "gemm"`` the batch is the GEMM size n; for ``mode == "compile"`` the row
    measures netc's cold and warm compile time of (model, train, batch) instead of steps.
    """

    model: str
    mode: str  # "train" | "infer" | "compile"
    batch: int
    warmup: int
    iters: int
    quick_warmup: int
    quick_iters: int
    zoo: bool = False  # a network of the zoo (``bench/zoo.py``), imported from its ONNX export

    @property
    def id(self) -> str:
        """Row id used by ``--only`` (prefix match on dash-separated parts)."""
        if self.zoo:
            return f"zoo-{self.model}-{self.mode}-b{self.batch}"
        if self.model == "gemm":
            return f"gemm-n{self.batch}"
        if self.mode == "compile":
            return f"compile-{self.model}-train-b{self.batch}"
        return f"{self.model}-{self.mode}-b{self.batch}"

    def counts(self, quick: bool) -> tuple[int, int]:
        """(warmup, iters) for a normal or a --quick run."""
        return (self.quick_warmup, self.quick_iters) if quick else (self.warmup, self.iters)


WORKLOADS: list[Workload] = [
    Workload("lenet", "train", 64, 5, 50, 2, 10),
    Workload("lenet", "infer", 1, 20, 500, 5, 100),
    Workload("lenet", "infer", 64, 5, 100, 2, 20),
    Workload("cifar", "train", 32, 5, 20, 2, 5),
    Workload("cifar", "infer", 1, 10, 200, 3, 30),
    Workload("cifar", "infer", 32, 5, 30, 2, 5),
    Workload("mlp", "train", 128, 10, 200, 3, 30),
    Workload("gemm", "infer", 1024, 5, 30, 2, 5),
    Workload("gemm", "infer", 512, 5, 50, 2, 10),
    Workload("lenet", "compile", 64, 0, 0, 0, 0),
]
# The zoo (``--only zoo``): per network, netc's cold and warm import + compile at batch 1, the
# latency at batch 1 and 8 and the training step. Opt-in: a run takes tens of minutes.
ZOO_WORKLOADS: list[Workload] = [
    w for model in ZOO for w in (
        Workload(model, "compile", 1, 0, 0, 0, 0, zoo=True),
        Workload(model, "infer", INFER_BATCHES[0], 3, 20, 1, 5, zoo=True),
        Workload(model, "infer", INFER_BATCHES[1], 2, 10, 1, 5, zoo=True),
        Workload(model, "train", TRAIN_BATCH, 2, 10, 1, 5, zoo=True),
    )
]


def select(only: list[str] | None) -> list[Workload]:
    """Workloads whose id equals an entry of ``only`` or starts with it followed by a dash.

    Without ``only``: every workload but the zoo's, which must be asked for.
    """
    if not only:
        return list(WORKLOADS)
    return [w for w in WORKLOADS + ZOO_WORKLOADS
            if any(w.id == o or w.id.startswith(o + "-") for o in only)]


def forward_macs(model: str) -> int:
    """Multiply-adds of one sample's forward pass (for the GFLOPS column)."""
    if model == "gemm":
        raise ValueError("gemm has no per-sample MAC count; use 2*n^3")
    macs, shape = 0, IN_SHAPE[model]
    for layer in NETS[model]:
        if layer[0] == "conv":
            _, _, cin, cout, k, pad = layer
            h, w = shape[1] + 2 * pad - k + 1, shape[2] + 2 * pad - k + 1
            macs += h * w * cout * cin * k * k
            shape = (cout, h, w)
        elif layer[0] == "pool":
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
        elif layer[0] == "dense":
            macs += layer[2] * layer[3]
    return macs


def gflop_per_step(w: Workload) -> float:
    """float32 GFLOP per step: forward is 2*MACs; a train step is counted as 3x forward."""
    if w.model == "gemm":
        return 2.0 * w.batch**3 / 1e9
    fwd = 2.0 * forward_macs(w.model) * w.batch / 1e9
    return fwd if w.mode == "infer" else 3.0 * fwd
