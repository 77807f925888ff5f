"""`netc explain`: what a flatten does, how backprop goes through it, why it is a contraction.

Where it sits: beside the pipelines, called by compiler/commands/explain.py. seam.py finds the
flatten-to-dense seam of a model, gathers its facts and checks every formula numerically against
netc itself; report.py turns those facts into the text and JSON the command prints.
"""

from compiler.explain.report import to_data, to_text
from compiler.explain.seam import explain

__all__ = ["explain", "to_data", "to_text"]
