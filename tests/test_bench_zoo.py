"""The zoo benchmark's harness (bench/zoo*.py, its rows in runner and report), without running
any network: selection, cell commands, the timeout skip and the zoo table from made-up cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import report, runner
from bench.runner import NETC, PEERS, Settings, build_plan, cell_command, run_plan
from bench.workloads import WORKLOADS, ZOO_WORKLOADS, make_data, select
from bench.zoo import ZOO, export_path, netc_export_batch
from bench.zoo_report import rel_err, zoo_table

ORT, TORCH = PEERS["onnxruntime"], PEERS["torch"]


def by_id(wid: str) -> Any:
    return next(w for w in ZOO_WORKLOADS if w.id == wid)


def test_zoo_is_opt_in_and_selected_by_prefix() -> None:
    assert not any(w.zoo for w in select(None))
    assert select(["zoo"]) == ZOO_WORKLOADS
    assert [w.id for w in select(["zoo-transformer"])] == [
        "zoo-transformer-compile-b1", "zoo-transformer-infer-b1", "zoo-transformer-infer-b8",
        "zoo-transformer-train-b8"]
    assert select(["lenet"]) == [w for w in WORKLOADS if w.id.startswith("lenet-")]


def test_each_zoo_row_has_the_frameworks_it_compares() -> None:
    fws = [NETC, *PEERS.values()]
    cols = {w.id: [f.name for f in fws if f.supports(w)] for w in select(["zoo-resnet18"])}
    assert cols == {"zoo-resnet18-compile-b1": ["netc"],
                    "zoo-resnet18-infer-b1": ["netc", "onnxruntime"],
                    "zoo-resnet18-infer-b8": ["netc", "onnxruntime"],
                    "zoo-resnet18-train-b8": ["netc", "torch"]}


def test_cells_read_the_cached_export(tmp_path: Path) -> None:
    s = Settings(zoo_dir=tmp_path, tmp=tmp_path)
    w = by_id("zoo-mobilenet_v2-infer-b8")
    netc, ort = cell_command(NETC, w, s), cell_command(ORT, w, s)
    assert netc[netc.index("--onnx") + 1] == str(
        export_path(tmp_path, "mobilenet_v2", netc_export_batch(8)))
    assert ort[ort.index("--onnx") + 1] == str(export_path(tmp_path, "mobilenet_v2", 8))
    assert "--onnx" not in cell_command(TORCH, by_id("zoo-mobilenet_v2-train-b8"), s)


def test_zoo_data_has_the_networks_shapes_and_classes() -> None:
    x, y = make_data("transformer", 8)
    assert x.shape == (8, *ZOO["transformer"].in_shape)
    assert x.dtype == np.float32
    assert y.dtype == np.int64
    assert y.max() < ZOO["transformer"].classes
    assert make_data("resnet18", 1)[0].shape == (1, 3, 224, 224)


def test_after_a_netc_timeout_the_networks_other_netc_cells_are_not_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, str]] = []

    def fake_cell(fw: Any, w: Any, s: Settings) -> dict[str, Any]:
        ran.append((fw.name, w.id))
        if fw is NETC and w.id == "zoo-resnet18-compile-b1":
            return {"error": "rc=timeout: timed out after 5 s", "wall_s": 5.0}
        if w.mode == "compile":
            done = {"compile_ms": 1.0, "first_call_ms": 1.0}
            return {"cold": done, "warm": done, "wall_s": 0.1}
        return {"median_ms": 1.0, "first_call_ms": 1.0, "wall_s": 0.1}

    monkeypatch.setattr(runner, "run_cell", fake_cell)
    plan = build_plan(select(["zoo-resnet18", "zoo-transformer"]), [NETC, ORT, TORCH])
    runs = run_plan(plan, Settings(rounds=1, tmp=tmp_path))
    netc_ran = [wid for fw, wid in ran if fw == "netc"]
    assert netc_ran == ["zoo-resnet18-compile-b1"] + [
        w.id for w in select(["zoo-transformer"])]
    skipped = [r for r in runs if r["framework"] == "netc" and r["workload"].startswith(
        "zoo-resnet18-") and r["workload"] != "zoo-resnet18-compile-b1"]
    assert len(skipped) == 3
    assert all(runner.timed_out(r["record"]) for r in skipped)
    assert ("onnxruntime", "zoo-resnet18-infer-b8") in ran


def record(wid: str, fw: str, **fields: Any) -> dict[str, Any]:
    return {"round": 1, "workload": wid, "framework": fw,
            "record": {"wall_s": 1.0, "first_call_ms": 1.0} | fields}


def test_zoo_table_compares_outputs_elementwise_and_shows_timeouts() -> None:
    ort_out = [1.0, -2.0, 0.5]
    runs = [
        record("zoo-transformer-infer-b1", "netc", median_ms=2.0, output=[1.0, -2.0, 0.5001]),
        record("zoo-transformer-infer-b1", "onnxruntime", median_ms=4.0, output=ort_out),
        record("zoo-transformer-infer-b8", "netc", median_ms=9.0, output=[1.0, -2.0, 0.52]),
        record("zoo-transformer-infer-b8", "onnxruntime", median_ms=3.0, output=ort_out),
        record("zoo-transformer-train-b8", "netc", error="rc=timeout: timed out after 9 s"),
        record("zoo-transformer-train-b8", "torch", median_ms=30.0),
        record("zoo-transformer-compile-b1", "netc",
               cold={"load_ms": 100.0, "compile_ms": 1000.0, "first_call_ms": 400.0,
                     "import_ms": 1.0},
               warm={"load_ms": 100.0, "compile_ms": 100.0, "first_call_ms": 50.0,
                     "import_ms": 1.0}),
    ]
    header, rows = zoo_table(select(["zoo-transformer"]), report.aggregate(runs), {})
    row = dict(zip(header, rows[0], strict=True))
    assert row["network"] == "transformer"
    assert (row["cold s"], row["warm s"]) == ("1.5", "0.25")
    assert row["rel err b1"] == "5.0e-05"
    assert row["rel err b8"] == "1.0e-02 MISMATCH"
    assert (row["netc b1 ms"], row["ort b1 ms"]) == ("2", "4")
    assert [v for k, v in zip(header, rows[0], strict=True) if k == "netc/ort"] == [
        "0.50", "3.00"]
    assert row["netc train b8 ms"] == "timeout"
    assert row["netc/eager"] == ""


def test_rel_err_refuses_outputs_of_different_sizes() -> None:
    assert rel_err([1.0, 2.0], [1.0, 4.0]) == 0.5
    with pytest.raises(ValueError, match="3 values"):
        rel_err([1.0, 2.0, 3.0], [1.0, 2.0])
