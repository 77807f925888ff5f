"""README.md's walkthrough ("From the last conv layer to the first dense layer") quotes what netc
prints: these tests fail when a quoted region drifts (regenerate with tools/walkthrough.py)."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("walkthrough", ROOT / "tools" / "walkthrough.py")
assert spec is not None
assert spec.loader is not None
walkthrough = importlib.util.module_from_spec(spec)
spec.loader.exec_module(walkthrough)


@pytest.fixture(scope="module")
def readme() -> str:
    return (ROOT / "README.md").read_text()


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {name: walkthrough.render(name) for name in walkthrough.REGIONS}


def test_section_is_in_the_readme(readme):
    assert "\n## From the last conv layer to the first dense layer\n" in readme
    for question in ("**What flatten does.**", "**How backprop goes through it.**",
                     "**How it is a tensor contraction.**"):
        assert question in readme


@pytest.mark.parametrize("name", list(walkthrough.REGIONS))
def test_region_matches_what_netc_prints(readme, rendered, name):
    quoted = walkthrough.region(readme, name)
    assert walkthrough.normalize(quoted) == walkthrough.normalize(rendered[name]), (
        f"README.md region '{name}' drifted from what netc prints: run "
        ".venv/bin/python tools/walkthrough.py and review the diff")


def test_the_excerpts_show_the_three_answers(rendered):
    dump = rendered["dump"]
    assert "%flatten = reshape(%pool2) {shape=[N,400]} view : f32[N,400]" in dump
    assert "%pool2.grad = reshape(%flatten.grad) {shape=[N,16,5,5]} view" in dump
    assert "%fc1.weight.grad = matmul(%fc1.grad, %flatten) {transpose_a=true" in dump
    assert "flatten  flatten                Nx400" in rendered["check"]
    explain = rendered["explain"]
    assert "(c=1,h=2,w=3) -> 1*25 + 2*5 + 3 = 38" in explain
    assert "y[n,k] = sum_{c,h,w} x[n,c,h,w] * W[k,c,h,w] + b[k]" in explain
    assert "W'[k, 209] = W[k, 38]" in rendered["explain-nhwc"]


def test_drift_is_noticed(readme, rendered):
    """A changed number or line in a region is a difference; the measured diffs are not."""
    quoted = walkthrough.region(readme, "explain")
    assert walkthrough.normalize(quoted.replace("= 38\n", "= 39\n")) != walkthrough.normalize(
        rendered["explain"])
    assert walkthrough.normalize("checked: max abs diff 3.6e-15 (a), 0 (b), 1.5e-06 (c)") == (
        walkthrough.normalize("checked: max abs diff 2.2e-16 (a), 1.1e-17 (b), 9.9e-07 (c)"))
    assert walkthrough.normalize("checked: max abs diff 0 (a)") != walkthrough.normalize(
        "checked: max abs diff 0 (b)")


def test_update_touches_only_the_regions(tmp_path, monkeypatch, rendered):
    text = ("# title\n\nprose before\n"
            + "".join(f"<!-- walkthrough:{n} -->\nold\n<!-- /walkthrough:{n} -->\nbetween\n"
                      for n in walkthrough.REGIONS)
            + "prose after\n")
    path = tmp_path / "README.md"
    path.write_text(text)
    monkeypatch.setattr(walkthrough, "README", path)
    monkeypatch.setattr(walkthrough, "render", lambda name: rendered[name])
    walkthrough.update()
    new = path.read_text()
    assert new.startswith("# title\n\nprose before\n<!-- walkthrough:check -->\n```\n$ netc check")
    assert new.endswith("<!-- /walkthrough:explain-nhwc -->\nbetween\nprose after\n")
    assert "old" not in new
    assert walkthrough.drifted() == []
