"""The zoo's table: per network, netc's import + compile time, its error against ONNX Runtime,
its latency beside ONNX Runtime's and its training step beside PyTorch eager's.

Part of the report (``bench/report.py`` calls it); reads the aggregated cells of a run. The
error is element-wise, max |netc - ORT| / max |ORT| over the whole output of the same input,
because a checksum of 1000 logits can hide a wrong class score.
"""

from __future__ import annotations

import numpy as np

from bench.runner import NETC, PEERS, Framework
from bench.table_text import Cells, cell_text, error_text, ratio_text
from bench.workloads import Workload
from bench.zoo import INFER_BATCHES, TRAIN_BATCH, ZOO, netc_export_batch

# netc matches ONNX Runtime when its relative error is below this (issue 12's bar)
MAX_REL_ERR = 1e-4
ORT, TORCH = PEERS["onnxruntime"], PEERS["torch"]


def rel_err(netc: list[float], ort: list[float]) -> float:
    """max |netc - ORT| / max |ORT| over two outputs of the same input."""
    a, b = np.asarray(netc), np.asarray(ort)
    if a.shape != b.shape:
        raise ValueError(f"netc output has {a.size} values, ONNX Runtime's {b.size}")
    return float(np.abs(a - b).max() / np.abs(b).max())


def err_text(w: Workload | None, cells: Cells) -> str:
    """The relative error of one inference row, flagged when it is over MAX_REL_ERR."""
    row = cells.get(w.id, {}) if w else {}
    a, b = (row.get(fw, {}).get("output") for fw in ("netc", "onnxruntime"))
    if a is None or b is None:
        return ""
    err = rel_err(a, b)
    return f"{err:.1e}" + ("" if err < MAX_REL_ERR else " MISMATCH")


def seconds_text(w: Workload | None, cells: Cells, phase: str) -> str:
    """Load + compile + first forward of a compile row's cold or warm process, in s."""
    c = cells.get(w.id, {}).get("netc") if w else None
    if c is None:
        return ""
    if "error" in c:
        return error_text(c)
    if f"{phase}_compile_ms" not in c or c[f"{phase}_compile_ms"] is None:
        return ""
    total = sum(c[f"{phase}_{k}"] for k in ("load_ms", "compile_ms", "first_call_ms"))
    return f"{total / 1e3:.3g}"


def time_cells(w: Workload | None, peer: Framework, cells: Cells,
               unavailable: dict[str, str]) -> list[str]:
    """netc ms, peer ms and netc/peer of one timed row (blank if the row was not selected)."""
    if w is None:
        return ["", "", ""]
    return [cell_text(NETC, w, cells, unavailable), cell_text(peer, w, cells, unavailable),
            ratio_text(w, peer, cells)]


def zoo_table(workloads: list[Workload], cells: Cells, unavailable: dict[str, str]
              ) -> tuple[list[str], list[list[str]]]:
    """Header and one row per zoo network of the run."""
    b1, b8 = INFER_BATCHES
    header = ["network", "cold s", "warm s", f"rel err b{b1}", f"rel err b{b8}",
              f"netc b{b1} ms", f"ort b{b1} ms", "netc/ort", f"netc b{b8} ms", f"ort b{b8} ms",
              "netc/ort", f"netc train b{TRAIN_BATCH} ms", f"eager train b{TRAIN_BATCH} ms",
              "netc/eager"]
    rows = []
    for model in ZOO:
        mine = {(w.mode, w.batch): w for w in workloads if w.zoo and w.model == model}
        if not mine:
            continue
        compile_w = mine.get(("compile", 1))
        infer = [mine.get(("infer", b)) for b in INFER_BATCHES]
        rows.append([model, seconds_text(compile_w, cells, "cold"),
                     seconds_text(compile_w, cells, "warm"),
                     *(err_text(w, cells) for w in infer),
                     *(c for w in infer for c in time_cells(w, ORT, cells, unavailable)),
                     *time_cells(mine.get(("train", TRAIN_BATCH)), TORCH, cells, unavailable)])
    return header, rows


def zoo_notes() -> list[str]:
    """What a reader of the zoo table needs to know to read it right."""
    rebatch = ("netc loads the batch-1 export and re-batches it with compile(graph, batch=B)"
               if netc_export_batch(TRAIN_BATCH) == 1 else
               "every batch is its own export (netc does not re-batch a batch-1 export yet)")
    return [
        "Networks: " + "; ".join(f"{m.name} = {m.what}" for m in ZOO.values()) + ".",
        "Exports: torch.onnx.export, eval mode, opset 17, dynamo=False, seeded random weights; "
        f"{rebatch}. netc and ONNX Runtime run the same file on the same input.",
        "cold / warm s: netc's load() + compile() + first forward at batch 1, in a fresh "
        "process with an empty NETC_CACHE_DIR / with the cache the cold process left.",
        f"rel err: max |netc - ORT| / max |ORT| over the whole output; MISMATCH from "
        f"{MAX_REL_ERR:g}.",
        "train: one SGD step (lr 0.01, softmax cross-entropy, int64 labels). torch eager trains "
        "the function the export computes (BatchNormalization folded into the convolutions as "
        "the exporter folds it, dropout off), from the same weights on the same data: the "
        "cross-check compares the losses before and after one step.",
        "timeout: the cell's process was killed at --timeout; once a netc cell of a network "
        "times out, its other netc cells are not run.",
    ]
