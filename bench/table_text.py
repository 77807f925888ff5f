"""How the report prints: a cell (median ms, ratio, or why there is no number) and a table
(aligned plain text for the terminal, GitHub markdown for RESULTS.md).

Shared by ``report.py`` (the run's tables) and ``zoo_report.py`` (the zoo's table).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from bench.runner import Framework, timed_out
from bench.workloads import Workload

Cells = dict[str, dict[str, dict[str, Any]]]


def fmt_ms(v: float | None) -> str:
    """ms with 4 significant digits (tables span 0.03 ms to 500 ms)."""
    return "" if v is None else f"{v:.4g}" if v < 1000 else f"{v:.0f}"


def short_error(err: str) -> str:
    """The exception name (or the first words) of an error, for a table cell."""
    head = err.split(":", 1)[0]
    if head.startswith("rc="):
        head = err[:40]
    return head[:40]


def error_text(c: dict[str, Any]) -> str:
    """Why a cell has no number: "timeout" (killed at --timeout), or its error in brief."""
    return "timeout" if timed_out(c) else f"n/a (error: {short_error(c['error'])})"


def cell_text(fw: Framework, w: Workload, cells: Cells, unavailable: dict[str, str],
              suspect: AbstractSet[tuple[str, str]] = frozenset()) -> str:
    """A table cell: the median ms (marked "!" if it computes something else), or why not."""
    if not fw.supports(w):
        return "-"
    if fw.name in unavailable:
        return "n/a"
    c = cells.get(w.id, {}).get(fw.name)
    if c is None:
        return "not run"
    if "error" in c:
        return error_text(c)
    return fmt_ms(c["median_ms"]) + (" !" if (w.id, fw.name) in suspect else "")


def ratio_text(w: Workload, peer: Framework, cells: Cells) -> str:
    """netc / peer of the medians, when both exist."""
    row = cells.get(w.id, {})
    a, b = row.get("netc", {}).get("median_ms"), row.get(peer.name, {}).get("median_ms")
    return f"{a / b:.2f}" if a and b else ""


def render(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    """A table as aligned plain text or as a markdown (GitHub) table."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(h.ljust(wd) if i == 0 else h.rjust(wd)
                       for i, (h, wd) in enumerate(zip(header, widths, strict=True)))]
    lines.append("  ".join("-" * wd for wd in widths))
    for r in rows:
        lines.append("  ".join(x.ljust(wd) if i == 0 else x.rjust(wd)
                               for i, (x, wd) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)
