"""The bench report's inference summary (geometric mean of netc/ORT over issue 13's rows, the
worst row, the CPU and vector width) and the report of recorded runs (`python -m bench.report`),
on medians recorded by earlier runs of this machine: nothing is run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench import report

MACHINE = {"date": "2026-12-01T23:23:50Z", "nproc": 2, "cpu": "Intel(R) Xeon(R) Processor",
           "cpu_family_model": "6/167", "simd": ["avx2", "fma", "avx512f"]}
# (netc ms, onnxruntime ms) medians of a recorded run (bench_after.json, zoo.json)
MAIN = {"lenet-infer-b1": (0.04183, 0.04793), "lenet-infer-b64": (0.7221, 0.6747),
        "cifar-infer-b1": (0.4995, 0.4496), "cifar-infer-b32": (9.627, 6.609)}
ZOO = {"zoo-resnet18-infer-b1": (30.91, 15.66), "zoo-resnet18-infer-b8": (203.0, 118.6),
       "zoo-mobilenet_v2-infer-b1": (9.385, 4.162), "zoo-mobilenet_v2-infer-b8": (60.37, 39.06),
       "zoo-efficientnet_b0-infer-b1": (24.54, 8.817),
       "zoo-efficientnet_b0-infer-b8": (146.0, 65.56)}
COMPILE = {"runs": 1, "errors": [], "disturbed": [], "cold_compile_ms": 1712.0,
           "cold_load_ms": 1226.0, "cold_first_call_ms": 2396.0, "cold_import_ms": 230.0,
           "warm_compile_ms": 295.8, "warm_load_ms": 1172.0, "warm_first_call_ms": 61.4,
           "warm_import_ms": 202.9}


def cell(ms: float) -> dict[str, Any]:
    return {"runs": 1, "errors": [], "disturbed": [], "median_ms": ms, "best_ms": ms,
            "worst_ms": ms, "first_call_ms": ms, "vector_bits": 512}


def payload(rows: dict[str, tuple[float, float]], extra: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    cells = {wid: {"netc": cell(a), "onnxruntime": cell(b)} for wid, (a, b) in rows.items()}
    cells |= extra or {}
    return {"machine": MACHINE, "rounds": 1, "quick": False, "workloads": list(cells),
            "peers": ["onnxruntime"], "unavailable": {}, "cells": cells}


def by_hand(rows: dict[str, tuple[float, float]]) -> float:
    logs = [math.log(a / b) for a, b in rows.values()]
    return math.exp(sum(logs) / len(logs))


def test_geometric_mean_worst_row_cpu_and_width_over_all_rows() -> None:
    inputs = report.merged([payload(MAIN), payload(ZOO)])
    lines = report.ort_summary(inputs[2], inputs[4])
    expected = by_hand(MAIN | ZOO)
    assert expected == pytest.approx(1.601, abs=1e-3)
    assert lines == [
        f"netc/ORT geometric mean over 10 of 10 inference rows: {expected:.3f} (NOT below 1); "
        "max row zoo-efficientnet_b0-infer-b1 2.783 (ABOVE 1.15); CPU Intel(R) Xeon(R) "
        "Processor (family/model 6/167), netc vectors 512-bit (16 float32 lanes)."]


def test_a_partial_run_names_the_rows_it_lacks_and_passes_the_bar() -> None:
    faster = {wid: (a, 2 * a) for wid, (a, _) in MAIN.items()}  # netc twice as fast
    inputs = report.merged([payload(faster)])
    lines = report.ort_summary(inputs[2], inputs[4])
    assert lines[0].startswith("netc/ORT geometric mean over 4 of 10 inference rows: 0.500 "
                               "(below 1); max row lenet-infer-b1 0.500 (within 1.15)")
    assert lines[1] == "Rows not in this report: " + ", ".join(ZOO) + "."


def test_no_ort_rows_no_summary() -> None:
    inputs = report.merged([payload({}, {"compile-lenet-train-b64": {"netc": COMPILE}})])
    assert report.ort_summary(inputs[2], inputs[4]) == []
    assert "geometric mean" not in report.document(*inputs, markdown=True)


def test_markdown_and_text_carry_the_summary_and_the_zoo_compile_rows() -> None:
    zoo = payload(ZOO, {"zoo-resnet18-compile-b1": {"netc": COMPILE}})
    inputs = report.merged([payload(MAIN), zoo])
    md = report.document(*inputs, markdown=True)
    text = report.document(*inputs, markdown=False)
    for doc in (md, text):
        assert "geometric mean over 10 of 10 inference rows" in doc
    assert "## Inference against ONNX Runtime: geometric mean and worst row" in md
    compile_rows = [line for line in md.splitlines() if line.startswith("| zoo-resnet18-compile")]
    assert [row.split(" | ")[1:3] for row in compile_rows] == [["cold", "4108"],
                                                               ["warm", "357.2"]]


def test_report_of_recorded_runs_from_the_command_line(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    first, second = tmp_path / "main.json", tmp_path / "zoo.json"
    first.write_text(json.dumps(payload(MAIN)))
    second.write_text(json.dumps(payload(ZOO)))
    assert report.main([str(first), str(second), "--markdown"]) == 0
    assert "over 10 of 10 inference rows" in capsys.readouterr().out
    assert report.main([str(tmp_path / "missing.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bench.report: error: cannot read the runs:")
    assert err.count("\n") == 1
