"""Discovery by file name (ir/extensions.py): one helper, name order, and every folder that uses
it documented in README.md's code layout table."""

from __future__ import annotations

import re
import subprocess

from ir.extensions import load_modules
from tests.conftest import ROOT


def test_modules_load_in_name_order_by_prefix():
    names = [m.__name__ for m in load_modules("ir", "ops_")]
    assert names == ["ir.ops_grad", "ir.ops_nn", "ir.ops_sequence", "ir.ops_tensor", "ir.ops_train"]


def test_skip_leaves_out_prefixes():
    names = {m.__name__.rsplit(".", 1)[1] for m in load_modules("compiler.passes",
                                                                skip=("_", "grad_rules"))}
    assert "fuse" in names
    assert not {n for n in names if n.startswith(("_", "grad_rules"))}


def _discovery_calls() -> set[tuple[str, str]]:
    """(package, prefix) of every load_modules call in netc's source."""
    out = subprocess.run(["git", "grep", "load_modules(", "--", "ir", "compiler", "runtime"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    calls = set()
    call = re.compile(r"^(\S+?):.*load_modules\(([^()]*(?:\([^()]*\))?)\)", re.MULTILINE)
    for path, args in call.findall(out):
        if path == "ir/extensions.py":
            continue  # the definition
        parts = [p.strip().strip('"') for p in args.split(",")]
        if parts[0] == "__name__":  # a package's __init__.py naming itself
            parts[0] = path.rsplit("/", 1)[0].replace("/", ".")
        prefix = parts[1] if len(parts) > 1 and "=" not in parts[1] else ""
        calls.add((parts[0], prefix))
    return calls


def test_readme_lists_every_discovery_prefix():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout of the code"):]
    table = layout[layout.index("Tables filled by discovery"):layout.index("Adding an op")]
    calls = _discovery_calls()
    assert {("ir", "ops_"), ("compiler.passes", ""), ("compiler.passes", "grad_rules_")} <= calls
    for package, prefix in sorted(calls):
        folder = package.replace(".", "/") + "/"
        assert f"`{folder}{prefix}*" in table, f"README's discovery table misses {folder}{prefix}*"
