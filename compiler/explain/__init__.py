"""`netc explain`: what a flatten does, how backprop goes through it, why it is a contraction.

Where it sits: beside the pipelines, called by compiler/commands/explain.py. seam.py finds the
flatten-to-dense seam of an image model, mean_seam.py the mean-over-tokens-to-dense seam of a
sequence model; each gathers its facts and checks every formula numerically against netc
itself; report.py turns those facts into the text and JSON the command prints.
"""

from __future__ import annotations

from typing import Any

from compiler.explain import mean_report, report
from compiler.explain.mean_seam import MeanExplanation, explain_mean, mean_site
from compiler.explain.seam import Explanation, explain_flatten
from ir.graph import Graph


def explain(graph: Graph, layer: str, layout: str = "auto", seed: int = 0,
            source_file: str = "") -> Explanation | MeanExplanation:
    """The seam `layer` names (a flatten, a mean over tokens, or the dense layer after
    either), explained and checked; a one-line NetcError for any other layer."""
    node = next((n for n in graph.nodes() if n.name == layer), None)
    site = mean_site(graph, node) if node is not None else None
    if site is not None:
        return explain_mean(graph, site, seed, source_file)
    return explain_flatten(graph, layer, layout, seed, source_file)


def to_text(e: Explanation | MeanExplanation) -> str:
    """What `netc explain` prints."""
    return mean_report.to_text(e) if isinstance(e, MeanExplanation) else report.to_text(e)


def to_data(e: Explanation | MeanExplanation) -> dict[str, Any]:
    """What `netc explain --format json` prints."""
    return mean_report.to_data(e) if isinstance(e, MeanExplanation) else report.to_data(e)


__all__ = ["explain", "to_data", "to_text"]
