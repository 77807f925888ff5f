"""Golden LLVM text: what codegen makes of two small models, stored so that a codegen change
shows up in review as a diff of tests/golden/llvm/ (rewrite with `pytest --update-goldens`).

The text comes through the same functions as `netc dump MODEL --stage llvm --batch 1`, but for a
fixed target (x86-64, 256-bit vectors, 2 threads), so the goldens hold on any host. And codegen
is deterministic: the same model twice, and in a fresh interpreter with another hash seed, gives
byte-identical LLVM.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import llvmlite.binding as llvm
import pytest

from compiler.cli import build_parser
from compiler.codegen.target import CodegenTarget
from compiler.commands._lowering import plan_model
from compiler.commands.dump import entry_modules, llvm_listing
from tests.conftest import EXAMPLES, GOLDEN, ROOT

TARGET = CodegenTarget("x86_64-unknown-linux-gnu", vector_bits=256, threads=2, profile=False)
MODELS = ["mlp.yaml", "lenet5.yaml"]
HEADING = "; ===== "


@pytest.fixture(autouse=True)
def _no_guard_mode(monkeypatch):
    """Guard mode (NETC_GUARD) changes the memory plan and so the code: the goldens are made
    without it, whatever the environment running the suite sets."""
    monkeypatch.delenv("NETC_GUARD", raising=False)


def llvm_text(model: str, *options: str) -> str:
    """`netc dump examples/MODEL --stage llvm --batch 1 OPTIONS` at TARGET, under a one-line
    header."""
    flags = ["--stage", "llvm", "--batch", "1", *options]
    kind, planned, _ = plan_model(build_parser().parse_args(["dump", str(EXAMPLES / model),
                                                             *flags]))
    header = f"; netc dump {model} {' '.join(flags)}, target {TARGET.describe()}\n"
    return header + llvm_listing(entry_modules(planned, kind, TARGET))


def golden_path(model: str) -> Path:
    return GOLDEN / "llvm" / f"{Path(model).stem}.forward.b1.ll"


def modules_of(listing: str) -> list[str]:
    """The module texts of a listing, split at the `; ===== kernel (symbol)` headings."""
    chunks = listing.split("\n" + HEADING)[1:]
    return [chunk.split("\n", 1)[1] for chunk in chunks]


@pytest.mark.parametrize("model", MODELS)
def test_llvm_matches_golden(model, update_goldens):
    text = llvm_text(model)
    golden = golden_path(model)
    if update_goldens:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text(), (f"codegen changed {golden.name}; review the diff and "
                                        "rerun with --update-goldens")


@pytest.mark.parametrize("model", MODELS)
def test_golden_llvm_parses_and_verifies(model):
    modules = modules_of(golden_path(model).read_text())
    assert len(modules) >= 2, "a listing holds the kernels and the entry"
    for text in modules:
        mod = llvm.parse_assembly(text)
        mod.verify()
        assert mod.triple == TARGET.triple
    assert any(f.name == "netc_forward" and not f.is_declaration
               for f in llvm.parse_assembly(modules[-1]).functions)


def test_the_same_model_twice_gives_the_same_llvm():
    """Fresh graph objects in this process: nothing keyed by object identity reaches the text."""
    assert llvm_text("lenet5.yaml") == llvm_text("lenet5.yaml")


def test_llvm_does_not_depend_on_the_hash_seed():
    """A fresh interpreter with another PYTHONHASHSEED: no set or str-keyed hash order leaks
    into the text (the goldens, and a training step with Adam in the blocked layout)."""
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    train = ["--train", "--optimizer", "adam", "--layout", "nchw8c"]
    code = ("import sys; from tests.test_llvm_goldens import llvm_text; "
            "sys.stdout.write(llvm_text(sys.argv[1], *sys.argv[2:]))")
    out = subprocess.run([sys.executable, "-c", code, "lenet5.yaml", *train], cwd=ROOT,
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONHASHSEED": seed})
    assert out.returncode == 0, out.stderr
    assert out.stdout == llvm_text("lenet5.yaml", *train)
    assert "netc_train_step" in out.stdout
