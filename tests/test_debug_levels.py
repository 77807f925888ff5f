"""NETC_DEBUG levels through the CLI, as users set them: what each level adds on stderr.

One compile cache per test: the first run (level 2) misses and generates code, the others hit.
"""

from __future__ import annotations

import os
import re

import pytest

from compiler.cli import DEBUG_LOGGERS, debug_level
from compiler.driver.pipelines import PIPELINES
from tests.conftest import EXAMPLES, ROOT, netc


def compile_mlp(level: str, cache) -> str:  # noqa: ANN001
    """stderr of `netc compile mlp.yaml --batch 2` at NETC_DEBUG=level."""
    env = {**os.environ, "NETC_DEBUG": level, "NETC_CACHE_DIR": str(cache)}
    out = netc("compile", EXAMPLES / "mlp.yaml", "--batch", "2", env=env)
    assert out.returncode == 0, out.stderr
    assert "k1_fc1" in out.stdout
    return out.stderr


@pytest.fixture(scope="module")
def stderr_by_level(tmp_path_factory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("cache")
    return {level: compile_mlp(level, cache) for level in ("2", "1", "3", "0")}


def test_level_0_is_silent(stderr_by_level):
    assert stderr_by_level["0"] == ""


def test_level_1_logs_cache_decisions_only(stderr_by_level):
    err = stderr_by_level["1"]
    assert "netc.cache: cache hit mlp-forward" in err
    assert "netc.passes" not in err
    assert "netc.ir" not in err


@pytest.mark.parametrize(("text", "level"), [("", 0), ("0", 0), ("1", 1), (" 2 ", 2), ("3", 3),
                                             ("9", 3), ("yes", 1), ("-1", 1)])
def test_debug_level_reads_numbers_and_treats_other_text_as_1(monkeypatch, text, level):
    monkeypatch.setenv("NETC_DEBUG", text)
    assert debug_level() == level


def test_level_2_adds_pass_timings_and_kernels(stderr_by_level):
    err = stderr_by_level["2"]
    assert "netc.cache: cache miss mlp-forward" in err
    assert "netc.passes: pass plan-memory: " in err
    assert "netc.codegen: kernel k1_fc1: contraction, " in err
    assert "netc.ir" not in err


def test_level_3_adds_the_ir_after_every_pass(stderr_by_level):
    err = stderr_by_level["3"]
    assert "netc.passes: pass dce: " in err
    dumps = err.split("netc: DEBUG: netc.ir: after ")[1:]
    assert [d.split("\n", 1)[0] for d in dumps][-2:] == ["fuse", "plan-memory"]
    assert len(dumps) == len(PIPELINES["forward"]) + 2, "the forward pipeline, fuse, plan-memory"
    assert "kernel @k1_fc1 contraction" in dumps[-1]
    assert dumps[0].split("\n", 1)[1].startswith("graph @mlp(\n    %image: f32[2,784] input")


def readme_switches() -> str:
    """The README's switch table (under "The JIT"), as text."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("| switch | effect |")
    return readme[start:readme.index("\n\n", start)]


def test_every_environment_switch_is_in_the_readme_table():
    """One debug surface: a NETC_* variable that the code reads and the table lacks fails."""
    read = re.compile(r"""environ(?:\.get)?[\[(]\s*["'](NETC_[A-Z_]+)""")
    found = {name for folder in ("compiler", "runtime", "ir", "bench", "tests")
             for path in (ROOT / folder).rglob("*.py")
             for name in read.findall(path.read_text())}
    assert {"NETC_DEBUG", "NETC_GUARD", "NETC_FUZZ", "NETC_THREADS"} <= found
    table = readme_switches()
    assert [name for name in sorted(found) if f"`{name}=" not in table] == []
    assert all(f"`NETC_DEBUG={level}`" in table for level in DEBUG_LOGGERS)
