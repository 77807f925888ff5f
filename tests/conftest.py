"""Shared fixtures: example paths, random feeds and the --update-goldens switch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".yaml", ".json"))


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
