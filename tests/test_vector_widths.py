"""The whole-network JIT tests at the vector width the host does not pick by itself.

netc blocks its kernels for 16 float lanes on AVX-512 hosts and 8 on AVX2 hosts; the machines
this project runs on are of both kinds. NETC_VECTOR_BITS selects the other blocking (LLVM splits
vectors wider than the host's), so both code paths run on every machine: here the whole-network
tests (tests/test_jit_networks.py, tests/test_depthwise.py, tests/test_conv_kernels.py) run
again in a child process at the other width, and must pass there as they do at the host's.
float32 only: it is the dtype whose lane count the blocking is built around, and the float64
cases would double the time."""

from __future__ import annotations

import os
import subprocess
import sys

from runtime.jit.engine import Engine
from tests.conftest import ROOT

NETWORK_TESTS = ("tests/test_jit_networks.py", "tests/test_depthwise.py",
                 "tests/test_conv_kernels.py")


def other_width() -> int:
    """512 on a host that picks 256 or 128, 256 on an AVX-512 host."""
    env = os.environ.get("NETC_VECTOR_BITS")
    own = int(env) if env else Engine.get().host.vector_bits
    return 256 if own == 512 else 512


def test_network_tests_pass_at_the_other_vector_width():
    width = other_width()
    env = {**os.environ, "NETC_VECTOR_BITS": str(width)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", "not f64",
               *NETWORK_TESTS]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=1200)
    tail = "\n".join(result.stdout.splitlines()[-30:])
    assert result.returncode == 0, f"at NETC_VECTOR_BITS={width}:\n{tail}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout


def test_the_override_changes_the_blocking():
    """The child really compiles for the other width: the target it reports says so."""
    width = other_width()
    env = {**os.environ, "NETC_VECTOR_BITS": str(width)}
    result = subprocess.run([sys.executable, "-m", "compiler.cli", "compile",
                             "examples/mlp.yaml"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"vector={width}" in result.stdout
