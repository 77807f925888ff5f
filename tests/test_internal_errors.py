"""A bug inside netc reaches the user as one line, "internal compiler error", with the stage,
the node and a file holding the IR that reproduces it: never a bare KeyError, whether it
escapes a pass while compile() lowers the model or codegen while the first forward() compiles
its entry (entries compile lazily).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import compiler
import compiler.codegen.module as codegen_module
from compiler.passes import PASSES, PassInfo
from ir.errors import CompileError
from ir.parser import parse
from tests.conftest import EXAMPLES


def _reproducer(message: str) -> Path:
    found = re.search(r"its input IR is in (\S+) \(reproduce: netc dump \1 ", message)
    assert found is not None, message
    path = Path(found.group(1))
    assert path.exists()
    parse(path.read_text(), source=str(path))  # the file is IR netc reads back
    return path


def test_an_exception_escaping_a_pass_is_an_internal_compiler_error(monkeypatch):
    info = PASSES["cse"]

    def broken(graph, ctx):
        for node in graph.nodes():
            if node.op == "dense":
                raise KeyError("onnx__Conv_197")
        return info.run(graph, ctx)

    monkeypatch.setitem(PASSES, "cse", PassInfo("cse", broken, info.doc))
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    with pytest.raises(CompileError) as caught:
        compiler.compile(graph, batch=2)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("internal compiler error in pass 'cse' at %")
    assert "(dense): KeyError: 'onnx__Conv_197'" in message
    assert "--passes cse)" in message
    _reproducer(message)


def test_an_exception_escaping_codegen_on_the_first_call_names_the_kernel(monkeypatch,
                                                                          tmp_path):
    monkeypatch.setenv("NETC_CACHE_DIR", str(tmp_path))  # a cache hit would skip codegen

    real = codegen_module.make_emitter

    def broken(ctx):
        if ctx.anchor.op == "dense":
            raise KeyError("onnx__Conv_197")
        return real(ctx)

    monkeypatch.setattr(codegen_module, "make_emitter", broken)
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    net = compiler.compile(graph, batch=2)  # entries compile on their first call
    with pytest.raises(CompileError) as caught:
        net.forward(np.zeros((2, 1, 28, 28), np.float32))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("internal compiler error in codegen of 'forward' at %")
    assert "(dense): KeyError: 'onnx__Conv_197'" in message
    assert "--stage llvm)" in message
    _reproducer(message)


def test_a_user_error_in_a_pass_keeps_its_own_message():
    graph = compiler.load(EXAMPLES / "lenet5.yaml")
    with pytest.raises(CompileError) as caught:
        compiler.compile(graph, batch=2, dtype="f16")
    assert "internal compiler error" not in str(caught.value)
