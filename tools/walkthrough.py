"""Regenerates the netc output quoted in README.md's walkthrough "From the last conv layer to the
first dense layer".

    .venv/bin/python tools/walkthrough.py           # rewrite the marked regions of README.md
    .venv/bin/python tools/walkthrough.py --check   # exit 1 when README.md has drifted

Each region sits between `<!-- walkthrough:NAME -->` and `<!-- /walkthrough:NAME -->` and holds
one fenced block: the command and an excerpt of what it prints. Only those regions are rewritten;
the prose around them is written by hand. tests/test_walkthrough.py runs the same comparison.
The measured differences in explain's "checked:" lines depend on the CPU and BLAS, so the
comparison ignores those numbers (the README shows the ones measured when it was generated).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MODEL = "examples/lenet5.yaml"


def netc(*args: str) -> str:
    """What `netc ARGS` prints (run from the repository root, as the README shows it)."""
    done = subprocess.run([sys.executable, "-m", "compiler.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"netc {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _check_rows(out: str) -> list[str]:
    """The title, the header and the layers from the last conv layer to the first dense one."""
    lines = out.splitlines()
    rows = [line for line in lines[3:] if line.split()[:1] in (["conv2"], ["relu2"], ["pool2"],
                                                               ["flatten"], ["fc1"])]
    return [*lines[:3], "...", *rows, "..."]


def _dump_lines(out: str) -> list[str]:
    """The forward flatten and its neighbours, then the backward of fc1 and of the flatten."""
    forward = ("%pool2 = ", "%flatten = ", "%fc1 = ")
    backward = ("%flatten.grad = ", "%fc1.weight.grad = ", "%fc1.bias.grad = ", "%pool2.grad = ")
    pick = [line for line in out.splitlines() if line.strip().startswith(forward)]
    rest = [line for line in out.splitlines() if line.strip().startswith(backward)]
    return ["graph @lenet5(", "  ...", *pick, "  ...", *rest, "  ...", "}"]


def _layout_section(out: str) -> list[str]:
    """Section 3 of explain's output (the physical layout and the weight permutation)."""
    blocks = out.split("\n\n")
    section = next(b for b in blocks if b.startswith("3. "))
    return ["...", *section.splitlines(), "..."]


def _all(out: str) -> list[str]:
    return out.rstrip("\n").splitlines()


REGIONS: dict[str, tuple[list[str], Callable[[str], list[str]]]] = {
    "check": (["check", MODEL], _check_rows),
    "dump": (["dump", MODEL, "--train", "--after", "autodiff"], _dump_lines),
    "explain": (["explain", MODEL, "flatten"], _all),
    "explain-nhwc": (["explain", MODEL, "fc1", "--layout", "nhwc"], _layout_section),
}


def render(name: str) -> str:
    """The region's content: a fenced block with the command and the excerpt."""
    args, excerpt = REGIONS[name]
    lines = [f"$ netc {' '.join(args)}", *excerpt(netc(*args))]
    return "```\n" + "\n".join(lines) + "\n```"


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- walkthrough:{re.escape(name)} -->\n)(.*?)(<!-- /walkthrough:"
                      rf"{re.escape(name)} -->)", re.S)


def region(text: str, name: str) -> str:
    """The current content of region `name` in `text` (README.md)."""
    match = _pattern(name).search(text)
    if match is None:
        raise SystemExit(f"README.md has no region <!-- walkthrough:{name} -->")
    return match.group(2).rstrip("\n")


def normalize(text: str) -> str:
    """Masks the measured differences in "checked:" lines (they depend on CPU and BLAS)."""
    def mask(m: re.Match[str]) -> str:
        return re.sub(r"\b\d\.\de[-+]\d+\b|\b0\b", "#", m.group(0))

    return re.sub(r"checked: max abs diff .*", mask, text)


def drifted() -> list[str]:
    """Names of the regions whose content differs from what netc prints now."""
    text = README.read_text()
    return [name for name in REGIONS
            if normalize(region(text, name)) != normalize(render(name))]


def update() -> None:
    """Rewrites every region from what netc prints now (reads README.md just before writing,
    and touches nothing outside the regions)."""
    fresh = {name: render(name) for name in REGIONS}
    text = README.read_text()
    for name, content in fresh.items():
        region(text, name)  # present?
        text = _pattern(name).sub(lambda m, c=content: m.group(1) + c + "\n" + m.group(3), text)
    README.write_text(text)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        stale = drifted()
        if stale:
            print(f"README.md walkthrough drifted in: {', '.join(stale)} "
                  "(run tools/walkthrough.py)")
            return 1
        print("README.md walkthrough matches what netc prints")
        return 0
    update()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
