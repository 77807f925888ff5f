"""ONNX's own conformance cases through netc's public API, as a user runs a model:
`compiler.load(model.onnx)` -> `compiler.compile(graph)` -> `net.forward(...)`.

The cases are those of tests/test_onnx_conformance.py (every float32 node, pytorch-converted and
pytorch-operator case whose ops the importer converts; tests/onnx_cases.py selects them), with
its exclusions (tests/onnx_cases.EXCLUDED).
`compile` gets `batch=` only when the model has a symbolic batch (the first input's dim 0);
a model whose shapes are all fixed is compiled as it is. `forward` returns the model's first
output, which is compared with the case's first expected output with the runner's tolerances
(rtol 1e-3, atol 1e-7 unless the case says otherwise).

Refused by design, and checked to be refused with a one-line error that names the input: the
cases that feed a shape, axes, pads, split sizes, indices or a ratio as a graph input
(netc compiles static shapes, so these must be constants; compiler/onnx_backend.py binds them
when it runs, the public path cannot). They are listed, not counted in the rate.

The pass rate per op and in all is written to the test output (`pytest -s`) and must reach 97%.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx", reason="the ONNX conformance run needs the onnx package")

import onnx  # noqa: E402

import compiler  # noqa: E402
from compiler.onnx_backend import static_inputs  # noqa: E402
from ir.errors import ModelError  # noqa: E402
from tests.onnx_cases import case_data, case_model, case_ops, exclusion, selected  # noqa: E402

REQUIRED_RATE = 0.97


def _reason(name: str) -> str | None:
    return exclusion(name)


def _model_path(case: Any, tmp: Path) -> Path:
    if case.model_dir is not None:
        return Path(case.model_dir) / "model.onnx"
    path = tmp / f"{case.name}.onnx"
    onnx.save(case_model(case), str(path))
    return path




def run_case(case: Any, tmp: Path) -> str | None:
    """None when every data set matches; else a one-line reason."""
    try:
        graph = compiler.load(str(_model_path(case, tmp)))
        symbolic = any(not v.type.is_concrete for v in graph.inputs_with_role("input"))
        for inputs, expected in case_data(case):
            net = (compiler.compile(graph, batch=int(inputs[0].shape[0])) if symbolic
                   else compiler.compile(graph))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = net.forward(*inputs)
            want = expected[0]
            if out.shape != want.shape:
                return f"shape {list(out.shape)}, expected {list(want.shape)}"
            np.testing.assert_allclose(out, want, rtol=case.rtol, atol=case.atol)
    except AssertionError as err:
        return "mismatch: " + " ".join(str(err).split())[:160]
    except Exception as err:  # noqa: BLE001 - every failure is counted with its message
        return f"{type(err).__name__}: " + " ".join(str(err).split())[:160]
    return None


def _runnable() -> list[Any]:
    return [case for case in selected()
            if _reason(case.name) is None and not static_inputs(case_model(case))]


def _refused() -> list[Any]:
    return [case for case in selected()
            if _reason(case.name) is None and static_inputs(case_model(case))]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    tmp = tmp_path_factory.mktemp("cases")
    return {case.name: run_case(case, tmp) for case in _runnable()}


def test_constant_inputs_fed_at_run_time_are_refused_by_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refused = _refused()
    for case in refused:
        names = static_inputs(case_model(case))
        with pytest.raises(ModelError) as err:
            compiler.load(str(_model_path(case, tmp_path)))
        message = str(err.value)
        assert "\n" not in message, (case.name, message)
        assert f"input '{names[0]}'" in message, (case.name, message)
    with capsys.disabled():
        print(f"\nrefused by design (a constant input fed at run time): {len(refused)}: "
              + ", ".join(case.name for case in refused))


def _table(outcomes: dict[str, str | None]) -> str:
    per_op: dict[str, Counter[str]] = {}
    by_name = {case.name: case for case in selected()}
    for name, failure in outcomes.items():
        for op in case_ops(by_name[name]):
            per_op.setdefault(op, Counter())["pass" if failure is None else "fail"] += 1
    lines = [f"{'op':<24}{'pass':>6}{'run':>6}"]
    for op in sorted(per_op):
        c = per_op[op]
        lines.append(f"{op:<24}{c['pass']:>6}{c['pass'] + c['fail']:>6}")
    lines += [f"FAIL {name}: {why}" for name, why in sorted(outcomes.items()) if why]
    return "\n".join(lines)


def test_public_api_pass_rate(outcomes: dict[str, str | None],
                              capsys: pytest.CaptureFixture[str]) -> None:
    passed = sum(1 for why in outcomes.values() if why is None)
    rate = passed / len(outcomes)
    with capsys.disabled():
        print(f"\npublic-API conformance: {passed}/{len(outcomes)} = {rate:.1%}\n"
              f"{_table(outcomes)}")
    assert rate >= REQUIRED_RATE, f"{passed}/{len(outcomes)} = {rate:.1%}\n{_table(outcomes)}"
