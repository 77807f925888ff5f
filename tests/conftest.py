"""Shared fixtures and helpers: example paths, random feeds, the `netc` command through a
subprocess and the --update-goldens switch.

Test modules import shared helpers from here (or from the helper modules tests/op_graphs.py,
synthetic.py, fuzz.py, naive.py), never from another test module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
IMAGENET_EXAMPLES = ("resnet18", "mobilenet_v2")
"""Full-size ImageNet models: checked by tests/test_yaml_nets.py, too large for the per-example
runs (20 training steps through the reference interpreter, finite differences)."""
EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir()
                       if p.suffix in (".yaml", ".json") and p.stem not in IMAGENET_EXAMPLES)


def netc(*args: object, cwd: Path = ROOT,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`netc ARGS...` run as users run it: a fresh interpreter, output captured as text."""
    return subprocess.run([sys.executable, "-m", "compiler.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=env)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true",
                     help="rewrite golden files from what netc prints now")


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def random_feeds(graph, batch: int = 2, seed: int = 0, dtype=np.float64) -> dict:  # noqa: ANN001
    """Random values for every graph input (labels within the class count)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in graph.inputs:
        shape = [batch if d == "N" else d for d in v.type.shape]
        if v.type.dtype == "i64":
            classes = graph.loss.node.operands[0].type.shape[1]
            feeds[v.name] = rng.integers(0, classes, size=shape)
        else:
            scale = 0.5 if v.role == "param" else 1.0
            feeds[v.name] = (rng.standard_normal(shape) * scale).astype(dtype)
    return feeds


def network_feeds(graph, batch: int = 2, seed: int = 0) -> dict:
    """Realistic feeds: PyTorch-style initial parameters and unit-normal inputs."""
    from compiler.initializers import initial_values

    feeds = random_feeds(graph, batch=batch, seed=seed)
    feeds.update({k: v.astype(np.float64) for k, v in initial_values(graph, seed).items()})
    return feeds
