"""README's "Layout of the code" table against the tree: every package folder of the project is
listed, and every file and folder the table names exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT

PACKAGES = ("ir", "compiler", "runtime")


def layout_table() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Layout of the code")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_every_package_folder_is_in_the_layout_table():
    table = layout_table()
    folders = sorted({p.parent.relative_to(ROOT).as_posix()
                      for top in PACKAGES for p in (ROOT / top).rglob("__init__.py")})
    missing = [f for f in folders if f"`{f}/`" not in table]
    assert not missing, f"README's layout table lacks {missing}"


def test_every_path_the_table_names_exists():
    table = layout_table()
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        folder_cell, what = row.split("|")[1], row.split("|")[2]
        folders = re.findall(r"`([\w/]+)/`", folder_cell)
        for folder in folders:
            assert (ROOT / folder).is_dir(), f"README names a folder {folder}/ that is not there"
        base = ROOT / folders[0] if folders else ROOT
        for name in re.findall(r"`([\w/]+\.py)`", what):
            if "*" not in name and not (base / name).exists() and not (ROOT / name).exists():
                raise AssertionError(f"README's row for {folders} names {name}, not in the tree")
