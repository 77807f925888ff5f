"""The two renderings of `netc explain` for a mean-over-tokens seam: text and a JSON-ready dict.

Where it sits: after compiler/explain/mean_seam.py, which gathers the facts and runs the checks;
like report.py for the flatten seam, this module only formats them.
"""

from __future__ import annotations

from typing import Any

from compiler.explain.mean_seam import MeanExplanation
from compiler.explain.report import checked, checks_data
from compiler.explain.seam import BATCH

MEAN = "m[n,d] = (1/T) sum_t x[n,t,d]"
MEAN_BACK = "dx[n,t,d] = dm[n,d] / T for every t"
CONTRACTION = "y[n,k] = sum_{t,d} x[n,t,d] * A[k,t,d]"
WEIGHT_VIEW = "A[k,t,d] = W[k,d] / T"
GRAD_X = "dx[n,t,d] = sum_k dy[n,k] * A[k,t,d] = (1/T) sum_k dy[n,k] * W[k,d]"
GRAD_W = "dW[k,d] = sum_{n,t} dy[n,k] * x[n,t,d] / T"
GRAD_B = "db[k] = sum_n dy[n,k]"


def to_text(e: MeanExplanation) -> str:
    s = e.site
    where = f" ({e.source_file})" if e.source_file else ""
    bias = " + b[k]" if s.bias else ""
    header = [f"explain {e.model}{where}: mean %{s.mean} -> dense %{s.dense}",
              f"  x = %{s.source}: [N, T, D] = [N, {s.t}, {s.d}], averaged over its {s.t} "
              f"tokens to [N, {s.d}]",
              f"  W = %{s.weight}: [K, D] = [{s.k}, {s.d}]",
              *(f"  {line}" for line in e.ir["forward"])]
    mean = ["1. What the mean does: one vector per sample, the average of its tokens "
            "(a sequence model's flatten)",
            f"  {MEAN}, here (1/{s.t}) sum_(t<{s.t}) x[n,t,d]",
            f"  a reduction, not a view: it reads {s.t * s.d} values and writes {s.d} per "
            "sample (flatten moves 0 bytes)",
            f"  {checked(e.checks['mean'])}"]
    back = ["2. How backprop goes through it: every token gets the same share of dm",
            f"  {MEAN_BACK}, here dm[n,d] / {s.t}: a broadcast back over the token axis",
            f"  dm = dy W arrives from %{s.dense}'s backward (section 4)",
            *(f"  {line}" for line in e.ir["mean backward"]),
            f"  {checked(e.checks['mean backward'])}"]
    contraction = ["3. The tensor contraction: dense(mean(x)), one sum over (t, d) as "
                   "dense(flatten(x)) is one over (c, h, w)",
                   f"  the averaging becomes part of the weight: A is W broadcast over the "
                   f"{s.t} tokens and scaled by 1/{s.t}",
                   f"  {WEIGHT_VIEW}, here W[k,d] / {s.t}",
                   f"  {CONTRACTION}{bias}",
                   f"  {checked(e.checks['contraction'])}"]
    grads = [f"4. Gradients in that form (dy[n,k] = dL/dy[n,k], the gradient arriving at "
             f"%{s.dense})"]
    for formula, section in ((GRAD_X, "dx"), (GRAD_W, "dW"), (GRAD_B, "db")):
        if section in e.checks:
            grads += [f"  {formula}", f"    {checked(e.checks[section])}"]
    grads += [f"  {line}" for line in e.ir["dense backward"]]
    footer = [f"checks: netc ran mean + dense with these shapes (x {s.t}x{s.d}, K={s.k}) on "
              f"random data (seed {e.seed}, batch {BATCH})",
              "through the reference interpreter (f64) and the JIT (f32); the formulas were "
              "evaluated with numpy's einsum; dy came from an MSE loss"]
    sections = [header, mean, back, contraction, grads, footer]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def to_data(e: MeanExplanation) -> dict[str, Any]:
    """The same facts as the text, for tools (`netc explain --format json`)."""
    s = e.site
    return {
        "model": e.model, "file": e.source_file, "mean": s.mean, "dense": s.dense,
        "input": s.source, "shape": {"T": s.t, "D": s.d}, "units": s.k, "weight": s.weight,
        "mean_map": {"formula": MEAN, "backward": MEAN_BACK},
        "contraction": {"formula": CONTRACTION + (" + b[k]" if s.bias else ""),
                        "weight_view": WEIGHT_VIEW},
        "gradients": {"x": GRAD_X, "W": GRAD_W, **({"b": GRAD_B} if s.bias else {})},
        "ir": e.ir,
        **checks_data(e.checks, e.seed, e.ok),
    }
