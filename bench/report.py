"""Turns the raw per-process records of a run into tables (terminal, markdown) and JSON.

Per cell: the median over rounds of each process's median ms/step, plus the best and worst
process medians as the spread. Ratios are netc / peer, so below 1 means netc is faster.
The cross-check compares each framework's first losses (train) or output checksums (infer)
with the median of the peers' values: within 1e-5 relative counts as the same function.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from functools import partial
from pathlib import Path
from typing import Any

from bench.runner import NETC, PEERS, Framework
from bench.table_text import Cells, cell_text, error_text, fmt_ms, ratio_text, render
from bench.workloads import WORKLOADS, ZOO_WORKLOADS, Workload, gflop_per_step
from bench.zoo import INFER_BATCHES
from bench.zoo_report import zoo_notes, zoo_table

# A run during which other processes used more than this share of the CPU is listed as
# disturbed: its median is kept (the median over rounds absorbs one bad run) but flagged.
DISTURBED = 0.10

ORT_ROWS = ("lenet-infer-b1", "lenet-infer-b64", "cifar-infer-b1", "cifar-infer-b32",
            *(f"zoo-{model}-infer-b{b}" for model in ("resnet18", "mobilenet_v2",
                                                       "efficientnet_b0")
              for b in INFER_BATCHES))
"""The inference rows issue 13 judges netc against ONNX Runtime on: the geometric mean of
netc/ORT over them must be below ORT_GEOMEAN_BAR, and no row above ORT_ROW_BAR."""
ORT_GEOMEAN_BAR, ORT_ROW_BAR = 1.0, 1.15


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def aggregate_cell(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """Summary of one (workload, framework) cell over its rounds."""
    ok = [r for r in recs if "error" not in r]
    errors = [r["error"] for r in recs if "error" in r]
    cell: dict[str, Any] = {"runs": len(ok), "errors": errors, "disturbed": [
        {"round": r["round"], "foreign_cpu": r["foreign_cpu"], "median_ms": r.get("median_ms")}
        for r in ok if r.get("foreign_cpu", 0.0) > DISTURBED]}
    if not ok:
        cell["error"] = errors[0] if errors else "no run"
        return cell
    if "cold" in ok[0]:  # netc compile cell: cold/warm processes
        for phase in ("cold", "warm"):
            for key in ("compile_ms", "load_ms", "first_call_ms", "import_ms"):
                cell[f"{phase}_{key}"] = _median([r[phase][key] for r in ok])
        return cell
    meds = [r["median_ms"] for r in ok]
    cell |= {"median_ms": _median(meds), "best_ms": min(meds), "worst_ms": max(meds),
             "run_medians_ms": meds, "first_call_ms": _median([r["first_call_ms"] for r in ok]),
             "version": ok[0].get("version")}
    for key in ("loss_first", "loss_second", "out_sum", "out_wsum", "compile_ms", "export_ms",
                "session_create_ms", "blas", "output", "vector_bits"):
        if key in ok[0]:
            cell[key] = ok[0][key]
    return cell


def aggregate(runs: list[dict[str, Any]]) -> Cells:
    """cells[workload id][framework name] -> summary, from the raw run list."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        rec = run["record"] | {"round": run["round"]}
        grouped.setdefault((run["workload"], run["framework"]), []).append(rec)
    cells: Cells = {}
    for (wid, fw), recs in grouped.items():
        cells.setdefault(wid, {})[fw] = aggregate_cell(recs)
    return cells


def check_workload(w: Workload, row: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Cross-framework agreement of one workload's first losses or output checksums.

    The reference is the (lower) median of the peers' values, not one fixed peer, so a single
    peer that computes something else (torch.compile has been seen to) cannot shift it.
    Anything further than 1e-5 relative from it is flagged: netc as MISMATCH, peers as "off".
    """
    keys = ("loss_first", "loss_second") if w.mode == "train" else ("out_sum", "out_wsum")
    out = []
    for key in keys:
        vals = {fw: c[key] for fw, c in row.items() if key in c}
        peer_vals = sorted((v, fw) for fw, v in vals.items() if fw != "netc")
        if not peer_vals:
            continue
        ref, ref_fw = statistics.median_low(peer_vals)
        tol = 1e-5 * max(1.0, abs(ref))
        diffs = {fw: abs(v - ref) for fw, v in vals.items()}
        off = sorted(fw for fw, d in diffs.items() if fw != "netc" and d > tol)
        spread = max((d for fw, d in diffs.items() if fw != "netc" and fw not in off), default=0.0)
        verdict = "n/a" if "netc" not in diffs else ("ok" if diffs["netc"] <= tol else "MISMATCH")
        out.append({"workload": w.id, "quantity": key, "reference": ref_fw, "ref_value": ref,
                    "values": vals, "abs_diff": diffs, "peer_spread": spread, "tolerance": tol,
                    "peers_off": off, "netc": verdict})
    return out


def checks(workloads: list[Workload], cells: Cells) -> list[dict[str, Any]]:
    """All cross-checks of the timed workloads.

    A zoo network's inference is checked element-wise against ONNX Runtime in the zoo table
    instead: checksums of 1000 logits at 1e-5 would flag float32 rounding, not wrong results.
    """
    timed = [w for w in workloads if w.mode != "compile" and not (w.zoo and w.mode == "infer")]
    return [c for w in timed for c in check_workload(w, cells.get(w.id, {}))]


def suspects(chk: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(workload id, framework) pairs whose check values disagree with the peers' median."""
    out = {(c["workload"], fw) for c in chk for fw in c["peers_off"]}
    return out | {(c["workload"], "netc") for c in chk if c["netc"] == "MISMATCH"}


def ort_ratios(cells: Cells) -> dict[str, float]:
    """netc/ORT of the medians, for each row of ORT_ROWS that has both."""
    out = {}
    for wid in ORT_ROWS:
        row = cells.get(wid, {})
        netc, ort = (row.get(fw, {}).get("median_ms") for fw in ("netc", "onnxruntime"))
        if netc and ort:
            out[wid] = netc / ort
    return out


def geomean(xs: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(x) for x in xs))


def ort_summary(cells: Cells, meta: dict[str, Any]) -> list[str]:
    """The issue's inference bar in a few lines: the geometric mean of netc/ORT and the worst
    row, beside the CPU and vector width they were measured on ([] without such rows)."""
    ratios = ort_ratios(cells)
    if not ratios:
        return []
    worst = max(ratios, key=lambda wid: ratios[wid])
    mean = geomean(list(ratios.values()))
    m = meta["machine"]
    lines = [f"netc/ORT geometric mean over {len(ratios)} of {len(ORT_ROWS)} inference rows: "
             f"{mean:.3f} ({'below' if mean < ORT_GEOMEAN_BAR else 'NOT below'} "
             f"{ORT_GEOMEAN_BAR:g}); max row {worst} {ratios[worst]:.3f} "
             f"({'within' if ratios[worst] <= ORT_ROW_BAR else 'ABOVE'} {ORT_ROW_BAR:g}); "
             f"CPU {m.get('cpu', '?')} (family/model {m.get('cpu_family_model', '?')})"
             f"{vector_text(cells)}."]
    missing = [wid for wid in ORT_ROWS if wid not in ratios]
    if missing:
        lines.append(f"Rows not in this report: {', '.join(missing)}.")
    return lines


def main_table(workloads: list[Workload], peers: list[Framework], cells: Cells,
               unavailable: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the headline table: medians and netc/peer ratios."""
    suspect = suspects(checks(workloads, cells))
    header = ["workload", "GFLOP", "netc ms", "netc GFLOPS"]
    for p in peers:
        header += [f"{p.label} ms", f"netc/{p.short}"]
    rows = []
    for w in workloads:
        if w.mode == "compile" or w.zoo:  # the zoo has a table of its own
            continue
        gf = gflop_per_step(w)
        netc_ms = cells.get(w.id, {}).get("netc", {}).get("median_ms")
        row = [w.id, f"{gf:.3g}", cell_text(NETC, w, cells, unavailable, suspect),
               f"{gf / netc_ms * 1e3:.1f}" if netc_ms else ""]
        for p in peers:
            row += [cell_text(p, w, cells, unavailable, suspect), ratio_text(w, p, cells)]
        rows.append(row)
    return header, rows


def spread_table(workloads: list[Workload], fws: list[Framework], cells: Cells
                 ) -> tuple[list[str], list[list[str]]]:
    """best / worst process median and the median first call, per cell."""
    header = ["workload"] + [f"{f.label} best/worst (first call)" for f in fws]
    rows = []
    for w in workloads:
        if w.mode == "compile":
            continue
        row = [w.id]
        for f in fws:
            c = cells.get(w.id, {}).get(f.name, {})
            row.append(f"{fmt_ms(c['best_ms'])} / {fmt_ms(c['worst_ms'])} "
                       f"({fmt_ms(c['first_call_ms'])})" if "median_ms" in c else "")
        rows.append(row)
    return header, rows


def compile_table(workloads: list[Workload], cells: Cells) -> tuple[list[str], list[list[str]]]:
    """netc compile times: cold (empty cache) and warm (cache filled by the cold run).

    "total" is compile() plus the first step, since netc may defer code generation to it.
    """
    header = ["workload", "phase", "total ms", "compile() ms", "first step ms", "load() ms",
              "import ms"]
    rows = []
    for w in workloads:
        c = cells.get(w.id, {}).get("netc", {}) if w.mode == "compile" else None
        if c is None:
            continue
        if "error" in c:
            rows.append([w.id, "", error_text(c)] + [""] * 4)
            continue
        for phase in ("cold", "warm"):
            total = c[f"{phase}_compile_ms"] + c[f"{phase}_first_call_ms"]
            rows.append([w.id, phase, fmt_ms(total)] + [fmt_ms(c[f"{phase}_{k}"]) for k in
                                                         ("compile_ms", "first_call_ms",
                                                          "load_ms", "import_ms")])
    return header, rows


def throughput_table(workloads: list[Workload], fws: list[Framework], cells: Cells
                     ) -> tuple[list[str], list[list[str]]]:
    """Training throughput in images/s (batch / median step time), every framework of the run
    on the same data, for the train workloads."""
    header = ["workload"] + [f"{f.label} img/s" for f in fws]
    rows = []
    for w in workloads:
        if w.mode != "train" or w.zoo:
            continue
        row = [w.id]
        for f in fws:
            ms = cells.get(w.id, {}).get(f.name, {}).get("median_ms")
            row.append(f"{w.batch / ms * 1e3:,.0f}" if ms else "")
        rows.append(row)
    return header, rows


def check_table(chk: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The cross-check as a table: reference value, netc's deviation, the peers' spread."""
    header = ["workload", "quantity", "reference", "value", "netc value", "netc abs diff",
              "peer spread", "netc", "peers off"]
    rows = []
    for c in chk:
        netc = c["values"].get("netc")
        rows.append([c["workload"], c["quantity"], c["reference"], f"{c['ref_value']:.7g}",
                     "" if netc is None else f"{netc:.7g}",
                     "" if netc is None else f"{c['abs_diff']['netc']:.2e}",
                     f"{c['peer_spread']:.2e}", c["netc"], ",".join(c["peers_off"])])
    return header, rows


def error_lines(cells: Cells, unavailable: dict[str, str]) -> list[str]:
    """Every reason a cell has no number, once each."""
    lines = [f"{fw}: {why}" for fw, why in unavailable.items()]
    for wid, row in cells.items():
        for fw, c in row.items():
            if "error" in c:
                lines.append(f"{wid} / {fw}: {c['error']}")
            elif c["errors"]:
                total = c["runs"] + len(c["errors"])
                lines.append(f"{wid} / {fw}: failed in {len(c['errors'])} of {total} rounds "
                             f"(median over the others): {c['errors'][0]}")
    return lines


def disturbed_lines(cells: Cells) -> list[str]:
    """Runs that other processes on the machine competed with, for judging the medians."""
    lines = []
    for wid, row in cells.items():
        for fw, c in row.items():
            for d in c.get("disturbed", []):
                ms = f", process median {fmt_ms(d['median_ms'])} ms" if d["median_ms"] else ""
                lines.append(f"round {d['round']} {wid} / {fw}: "
                             f"{d['foreign_cpu']:.0%} foreign CPU{ms}")
    return lines


def versions(cells: Cells) -> dict[str, str]:
    """The version each framework reported (first one seen)."""
    out: dict[str, str] = {}
    for row in cells.values():
        for fw, c in row.items():
            if c.get("version"):
                out.setdefault(fw, str(c["version"]))
    return out


def vector_text(cells: Cells) -> str:
    """The vector width netc compiled for, as its cells reported it ("" if none did)."""
    bits = next((c["vector_bits"] for row in cells.values() for fw, c in row.items()
                 if fw == "netc" and c.get("vector_bits")), None)
    return f", netc vectors {bits}-bit ({bits // 32} float32 lanes)" if bits else ""


def heading(title: str, markdown: bool) -> str:
    """A section title: a markdown heading, or a blank line and the title."""
    return f"\n## {title}\n" if markdown else f"\n{title}\n"


def preamble(cells: Cells, meta: dict[str, Any], markdown: bool) -> list[str]:
    """Title, machine (CPU, SIMD, netc's vector width) and how to read the tables."""
    m = meta["machine"]
    return ["# netc vs peers: median ms per step\n" if markdown else "",
            f"Machine: {m.get('cpu', '?')} (family/model {m.get('cpu_family_model', '?')}), "
            f"{m.get('nproc')} cores, SIMD {'+'.join(m.get('simd', []))}{vector_text(cells)}; "
            f"{m['date']}.",
            f"{meta['rounds']} interleaved round(s) of fresh processes"
            f"{' (--quick iteration counts)' if meta['quick'] else ''}; each cell is the median "
            "over rounds of the per-process median. netc/peer < 1 means netc is faster; "
            "\"!\" marks a cell whose first loss / output disagrees with the other "
            "frameworks (see the cross-check), so its time is for a different computation.\n"]


def document(workloads: list[Workload], peers: list[Framework], cells: Cells,
             unavailable: dict[str, str], meta: dict[str, Any], markdown: bool) -> str:
    """The whole report, as terminal text or as a RESULTS.md-style markdown document."""
    section = partial(heading, markdown=markdown)
    parts = preamble(cells, meta, markdown)
    header, rows = main_table(workloads, peers, cells, unavailable)
    if rows:
        parts.append(render(header, rows, markdown))
    summary = ort_summary(cells, meta)
    if summary:
        parts += [section("Inference against ONNX Runtime: geometric mean and worst row"),
                  *summary]
    ztab = zoo_table(workloads, cells, unavailable)
    if ztab[1]:
        parts += [section("Zoo: real networks imported from their ONNX exports (median ms)"),
                  render(*ztab, markdown), ""] + [f"- {n}" for n in zoo_notes()]
    ttab = throughput_table(workloads, [NETC, *peers], cells)
    if ttab[1]:
        parts += [section("Training throughput: images/s (batch / median step), same data"),
                  render(*ttab, markdown)]
    ctab = compile_table(workloads, cells)
    if ctab[1]:
        parts += [section("netc compile time (cold: empty NETC_CACHE_DIR; warm: cache reused)"),
                  render(*ctab, markdown)]
    chk = checks(workloads, cells)
    if chk:
        parts += [section("Cross-check: same init and data, so first losses / output checksums "
                          "must agree"), render(*check_table(chk), markdown)]
    if markdown:
        parts += [section("Spread: best / worst per-process median ms (median first call ms)"),
                  render(*spread_table(workloads, [NETC, *peers], cells), markdown)]
    return "\n".join(parts + footer(cells, unavailable, markdown)) + "\n"


def footer(cells: Cells, unavailable: dict[str, str], markdown: bool) -> list[str]:
    """The report's last sections: disturbed runs, cells without a number, versions."""
    section = partial(heading, markdown=markdown)
    parts: list[str] = []
    noisy = disturbed_lines(cells)
    if noisy:
        parts += [section(f"Disturbed runs (other processes used > {DISTURBED:.0%} of the CPU)")]
        parts += [f"- {n}" for n in noisy]
    errs = error_lines(cells, unavailable)
    if errs:
        parts += [section("Not measured")] + [f"- {e}" for e in errs]
    vers = versions(cells)
    if vers:
        parts += [section("Versions"), ", ".join(f"{k} {v}" for k, v in vers.items())]
    return parts


def merged(payloads: list[dict[str, Any]]) -> tuple[list[Workload], list[Framework], Cells,
                                                    dict[str, str], dict[str, Any]]:
    """Recorded runs (`python -m bench --json`) as one report's inputs: the workloads, peers,
    cells and unavailable frameworks of all, the machine and settings of the first. The
    headline table and the zoo's come from separate runs (`--only zoo`); the geometric mean
    needs both."""
    ids = {wid for p in payloads for wid in p["workloads"]}
    workloads = [w for w in WORKLOADS + ZOO_WORKLOADS if w.id in ids]
    names = {name for p in payloads for name in p["peers"]}
    peers = [fw for name, fw in PEERS.items() if name in names]
    cells: Cells = {}
    unavailable: dict[str, str] = {}
    for p in payloads:
        for wid, row in p["cells"].items():
            cells.setdefault(wid, {}).update(row)
        unavailable.update(p.get("unavailable", {}))
    first = payloads[0]
    meta = {"machine": first["machine"], "rounds": first["rounds"], "quick": first["quick"]}
    return workloads, peers, cells, unavailable, meta


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.report RUN.json [RUN.json ...] [--markdown]`: the report of recorded
    runs, again, without running anything."""
    p = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    p.add_argument("runs", nargs="+", type=Path, help="JSON written by python -m bench --json")
    p.add_argument("--markdown", action="store_true", help="RESULTS.md-style markdown")
    args = p.parse_args(argv)
    try:
        payloads = [json.loads(path.read_text()) for path in args.runs]
        inputs = merged(payloads)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"bench.report: error: cannot read the runs: {err}", file=sys.stderr)
        return 1
    print(document(*inputs, markdown=args.markdown), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
