"""One self-contained HTML page of a graph for learners (`netc dump MODEL --format html`).

Where it sits: a dump format beside text, DOT and JSON. The page holds the picture as inline SVG,
drawn by Graphviz's `dot -Tsvg` from ir/dot.py's DOT (for a training graph: forward, backward and
update side by side, views dashed), a legend, the text IR and the DOT source. Nothing is fetched
when the page opens: no scripts, stylesheets, fonts or images from elsewhere. Without Graphviz
the page says so and shows the text IR and the DOT source instead of the picture.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess

from ir.dot import phases, to_dot
from ir.graph import Graph
from ir.printer import print_graph

DOT_TIMEOUT = 120.0
"""Seconds Graphviz may take (the largest example graphs take well under one)."""

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1.2em; }
.legend span { display: inline-block; width: 1.1em; height: 0.9em; margin-right: 0.35em;
               border: 1px solid #888; border-radius: 3px; vertical-align: middle; }
.legend .dashed { border-style: dashed; background: white; }
.picture { overflow: auto; border: 1px solid #ddd; padding: 0.5em; max-height: 90vh; }
.note { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.6em 1em; }
pre { background: #f7f7f7; padding: 0.8em; overflow: auto; font-size: 0.85em; }
summary { cursor: pointer; font-weight: bold; margin: 0.8em 0 0.4em; }
"""

_LEGEND = (("#dbe9f6", "forward op"), ("#fbe3d6", "backward op (grad of ...)"),
           ("#e2f0d9", "optimizer update"), ("#fff2cc", "parameter"))


def render_svg(dot_source: str, program: str | None) -> tuple[str | None, str]:
    """(inline SVG, "") from Graphviz, or (None, why not) when it is missing or fails."""
    if program is None:
        return None, ("Graphviz's <code>dot</code> is not installed, so there is no picture "
                      "(install graphviz, e.g. <code>apt-get install graphviz</code>). Below "
                      "are the text IR and the DOT source; any Graphviz viewer draws the latter.")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot_source, capture_output=True,
                              text=True, timeout=DOT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, f"Graphviz's dot failed ({html.escape(type(err).__name__)}): no picture."
    if done.returncode != 0 or "<svg" not in done.stdout:
        first = (done.stderr.strip().splitlines() or ["no output"])[0]
        return None, f"Graphviz's dot failed ({html.escape(first)}): no picture."
    return _inline(done.stdout), ""


def _inline(svg: str) -> str:
    """The <svg> element alone: no XML prolog, doctype or namespace URLs (HTML5 knows SVG)."""
    svg = svg[svg.index("<svg"):]
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", svg, count=2)


def _summary(graph: Graph) -> str:
    counts = {"forward": 0, "backward": 0, "update": 0}
    for phase in phases(graph).values():
        counts[phase] += 1
    if not counts["backward"]:
        return f"{counts['forward']} ops; views (dashed) share their operand's buffer."
    return (f"The training step drawn side by side: the forward pass ({counts['forward']} ops), "
            f"the backward pass ({counts['backward']} ops, each gradient op level with the op it "
            f"differentiates; read it upwards) and the optimizer update ({counts['update']} ops). "
            "Views (dashed boxes and edges) share their operand's buffer: 0 bytes moved.")


def to_html(graph: Graph, dot_program: str | None = "auto") -> str:
    """The page; `dot_program` is the Graphviz executable ("auto": found on PATH; None: none)."""
    program = shutil.which("dot") if dot_program == "auto" else dot_program
    dot_source = to_dot(graph)
    svg, why = render_svg(dot_source, program)
    title = html.escape(f"netc: {graph.name}")
    legend = "".join(f'<li><span style="background:{colour}"></span>{html.escape(text)}</li>'
                     for colour, text in _LEGEND)
    legend += '<li><span class="dashed"></span>view: shares its operand\'s buffer</li>'
    picture = f'<div class="picture">{svg}</div>' if svg else f'<p class="note">{why}</p>'
    is_open = "" if svg else " open"
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{title}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        f"<h1>{html.escape(graph.name)}</h1>", f"<p>{html.escape(_summary(graph))}</p>",
        f'<ul class="legend">{legend}</ul>', picture,
        f"<details{is_open}><summary>Text IR</summary><pre>"
        f"{html.escape(print_graph(graph))}</pre></details>",
        f"<details{is_open}><summary>DOT source</summary><pre>"
        f"{html.escape(dot_source)}</pre></details>",
        "</body>", "</html>",
    ]
    return "\n".join(parts) + "\n"
