"""The two renderings of `netc explain`: text for people, a JSON-ready dict for tools.

Where it sits: after compiler/explain/seam.py, which gathers the facts and runs the checks; this
module only formats them (the same facts in both renderings).
"""

from __future__ import annotations

from typing import Any

from compiler.explain.seam import (
    BATCH,
    Check,
    Explanation,
    Site,
    example_indices,
    flat_index,
    inverse_examples,
    physical_position,
    position_formula,
    short_name,
    unflatten,
)
from ir.layouts import describe

INDEX_MAP = "j = c*H*W + h*W + w"
INVERSE_MAP = "c = j // (H*W), h = (j // W) % H, w = j % W"
CONTRACTION = "y[n,k] = sum_{c,h,w} x[n,c,h,w] * W[k,c,h,w]"
GRAD_X = "dx[n,c,h,w] = sum_k dy[n,k] * W[k,c,h,w]"
GRAD_W = "dW[k,c,h,w] = sum_n dy[n,k] * x[n,c,h,w]"
GRAD_B = "db[k] = sum_n dy[n,k]"
PERMUTATION = "W'[k, phys(j)] = W[k, j]"


def index_here(site: Site) -> str:
    return f"j = c*{site.h * site.w} + h*{site.w} + w"


def inverse_here(site: Site) -> str:
    hw = site.h * site.w
    return f"c = j // {hw}, h = (j // {site.w}) % {site.h}, w = j % {site.w}"


def weight_view(site: Site) -> str:
    return f"W[k,c,h,w] = {site.weight}[k, {index_here(site)[4:]}]"


def _chw(c: int, h: int, w: int) -> str:
    return f"(c={c},h={h},w={w})"


def _diff(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"


def checked(checks: list[Check]) -> str:
    """`checked: max abs diff 0 (reference interpreter, f64), 1.5e-06 (JIT, f32, NCHW)`."""
    parts = []
    for c in checks:
        verdict = "" if c.ok else f", FAILED: tolerance {_diff(c.tolerance)}"
        parts.append(f"{_diff(c.max_abs_diff)} ({c.backend}{verdict})")
    return "checked: max abs diff " + ", ".join(parts)


# ---------------------------------------------------------------- text


def to_text(e: Explanation) -> str:
    sections = [_header(e), _index_section(e), _inverse_section(e), _layout_section(e),
                _contraction_section(e), _gradient_section(e), _footer(e)]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _header(e: Explanation) -> list[str]:
    s = e.site
    where = f" ({e.source_file})" if e.source_file else ""
    lines = [f"explain {e.model}{where}: flatten %{s.flatten} -> dense %{s.dense}",
             f"  x = %{s.source}: [N, C, H, W] = [N, {s.c}, {s.h}, {s.w}], flattened to "
             f"[N, {s.features}]",
             f"  W = %{s.weight}: [K, C*H*W] = [{s.k}, {s.features}]"]
    lines += [f"  {e.ir[role]}" for role in ("flatten", "dense") if role in e.ir]
    return lines


def _index_section(e: Explanation) -> list[str]:
    s, hw = e.site, e.site.h * e.site.w
    lines = ["1. What flatten does: the flat index map (row-major over C, H, W, the order of "
             "PyTorch and ONNX)",
             f"  {INDEX_MAP}, here {index_here(s)}, 0 <= j < {s.features}"]
    for c, h, w in example_indices(s):
        lines.append(f"  {_chw(c, h, w)} -> {c}*{hw} + {h}*{s.w} + {w} = "
                     f"{flat_index(c, h, w, s)}")
    lines += [f"  flat[n, j] = x[n, c, h, w]: a view of %{s.source}'s buffer, no kernel, "
              "0 bytes moved",
              f"  {checked(e.checks['index'])}"]
    return lines


def _inverse_section(e: Explanation) -> list[str]:
    s, hw = e.site, e.site.h * e.site.w
    lines = ["2. How backprop goes through it: the inverse map j -> (c, h, w)",
             f"  {INVERSE_MAP}, here {inverse_here(s)}"]
    for j in inverse_examples(s):
        c, h, w = unflatten(j, s)
        lines.append(f"  j={j} -> c = {j} // {hw} = {c}, h = ({j} // {s.w}) % {s.h} = {h}, "
                     f"w = {j} % {s.w} = {w}: {_chw(c, h, w)}")
    lines.append(f"  dflat = dy W arrives from %{s.dense}'s backward (section 5); "
                 "dx[n, c, h, w] = dflat[n, j]:")
    lines.append("  the gradient of the view is the inverse view, 0 bytes moved")
    if "view back" in e.ir:
        lines.append(f"  {e.ir['view back']}")
    lines.append(f"  {checked(e.checks['inverse'])}")
    return lines


def _layout_title(e: Explanation) -> str:
    lay = e.layout
    name = describe(lay.applied)
    if lay.requested == "auto":
        return (f"3. Physical layout: {name}, what layout=\"auto\" chooses "
                "(compiler/driver/network.py)")
    if lay.chosen != lay.applied:
        return (f"3. Physical layout: {name}: --layout {lay.requested} asked for "
                f"{short_name(lay.chosen)}, but the layout pass keeps this model plain "
                "(NETC_DEBUG=1 logs why)")
    return f"3. Physical layout: {name}, asked for with --layout {lay.requested}"


def _layout_section(e: Explanation) -> list[str]:
    s, lay = e.site, e.layout
    generic, here = position_formula(lay.applied, s)
    lines = [_layout_title(e),
             f"  position of (c, h, w) in one sample's memory: {generic}", f"  here {here}"]
    if not lay.weight_tag:
        lines.append(f"  no weight permutation: the physical order is the logical one and "
                     f"%{s.weight} is stored as given")
    else:
        lines += ["  flatten stays a view: feature j sits at phys(j) = p(c, h, w), so the dense "
                  "weight's columns",
                  f"  are permuted instead of the activation: {PERMUTATION}",
                  f"  (%{s.weight} is stored as @{lay.weight_tag})"]
        for c, h, w in example_indices(s):
            j, p = flat_index(c, h, w, s), physical_position(lay.applied, c, h, w, s)
            lines.append(f"  {_chw(c, h, w)}: j={j} -> phys={p}: W'[k, {p}] = W[k, {j}]")
        lines.append(f"  net.params[\"{s.weight}\"] reads and writes W (PyTorch's order); "
                     "the kernels read W'")
    lines.append(f"  {checked(e.checks['permutation'])}")
    return lines


def _contraction_section(e: Explanation) -> list[str]:
    s = e.site
    bias = " + b[k]" if s.bias else ""
    return [f"4. The tensor contraction: dense(flatten(x)), with W seen as [K, C, H, W] = "
            f"[{s.k}, {s.c}, {s.h}, {s.w}]",
            f"  {weight_view(s)}",
            f"  {CONTRACTION}{bias}",
            f"  {checked(e.checks['contraction'])}"]


def _gradient_section(e: Explanation) -> list[str]:
    s = e.site
    lines = [f"5. Gradients in that form (dy[n,k] = dL/dy[n,k], the gradient arriving at "
             f"%{s.dense})"]
    parts = [(GRAD_X, "dx", "dx"), (GRAD_W, "dW", "dW")]
    if s.bias:
        parts.append((GRAD_B, "db", "db"))
    for formula, role, section in parts:
        lines.append(f"  {formula}")
        if role in e.ir:
            lines.append(f"    {e.ir[role]}")
        lines.append(f"    {checked(e.checks[section])}")
    return lines


def _footer(e: Explanation) -> list[str]:
    s = e.site
    return [f"checks: netc ran flatten + dense with these shapes (x {s.c}x{s.h}x{s.w}, K={s.k}) "
            f"on random data",
            f"(seed {e.seed}, batch {BATCH}) through the reference interpreter (f64) and the JIT "
            "(f32);",
            "the formulas were evaluated with numpy's einsum; dy came from an MSE loss"]


# ---------------------------------------------------------------- data


def checks_data(checks: dict[str, list[Check]], seed: int, ok: bool) -> dict[str, Any]:
    """The checks of an explanation as JSON-ready data (both seams)."""
    return {"checks": {name: [{"backend": c.backend, "max_abs_diff": c.max_abs_diff,
                                "tolerance": c.tolerance, "ok": c.ok} for c in cs]
                       for name, cs in checks.items()},
            "check_data": {"seed": seed, "batch": BATCH}, "ok": ok}


def to_data(e: Explanation) -> dict[str, Any]:
    """The same facts as the text, for tools (`netc explain --format json`)."""
    s, lay = e.site, e.layout
    examples = [{"c": c, "h": h, "w": w, "j": flat_index(c, h, w, s)}
                for c, h, w in example_indices(s)]
    generic, here = position_formula(lay.applied, s)
    return {
        "model": e.model, "file": e.source_file, "flatten": s.flatten, "dense": s.dense,
        "input": s.source, "shape": {"C": s.c, "H": s.h, "W": s.w}, "features": s.features,
        "units": s.k, "weight": s.weight,
        "index_map": {"formula": INDEX_MAP, "here": index_here(s), "examples": examples},
        "inverse_map": {"formula": INVERSE_MAP, "here": inverse_here(s), "examples": [
            dict(zip(("j", "c", "h", "w"), (j, *unflatten(j, s)), strict=True))
            for j in inverse_examples(s)]},
        "layout": {
            "requested": lay.requested, "chosen": lay.chosen, "applied": lay.applied,
            "name": describe(lay.applied), "position": generic, "position_here": here,
            "weight_tag": lay.weight_tag, "permuted": bool(lay.weight_tag),
            "permutation": PERMUTATION if lay.weight_tag else None,
            "examples": [{**x, "phys": physical_position(lay.applied, x["c"], x["h"], x["w"], s)}
                         for x in examples]},
        "contraction": {"formula": CONTRACTION + (" + b[k]" if s.bias else ""),
                        "weight_view": weight_view(s)},
        "gradients": {"x": GRAD_X, "W": GRAD_W, **({"b": GRAD_B} if s.bias else {})},
        "ir": e.ir,
        **checks_data(e.checks, e.seed, e.ok),
    }
