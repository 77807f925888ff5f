"""Shared pieces of the fuzz tests (tests/test_fuzz_*.py): example budgets, a time limit, byte
and token mutations.

The default budgets keep `make test` fast; NETC_FUZZ=long multiplies them for a soak run:

    NETC_FUZZ=long .venv/bin/python -m pytest tests/test_fuzz_frontend.py -q
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("NETC_FUZZ", "") == "long"


def fuzz_settings(default: int, long: int) -> settings:
    """Hypothesis settings with `default` examples (`long` under NETC_FUZZ=long), no deadline
    (a first JIT compile is slow) and no complaints about slow data generation. The default run
    is derandomized: the same cases every time, so `make test` is repeatable and its networks
    hit the compile cache; the long run draws new cases each time."""
    return settings(max_examples=long if LONG else default, deadline=None, derandomize=not LONG,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


class Hang(AssertionError):
    """The code under test ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fails with Hang when the block runs longer than `seconds` (SIGALRM: main thread only)."""
    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# Fragments that reach the corners of YAML, JSON and the text IR: structure, anchors and tags,
# huge, negative and non-finite numbers, control characters, invalid UTF-8, IR punctuation.
TOKENS = [
    b"0", b"-1", b"1e9", b"999999999999", b"9" * 5000, b"[]", b"{}", b"null", b"~", b"&a ",
    b"*a", b"!!python/object/apply:os.system ['true']", b"!!binary aGk=", b"!include x",
    b"!!bool ", b"!!int ", b"!!timestamp ", b"!!float ", b"'",
    b'"', b":", b",", b"[", b"]", b"{", b"}", b"- ", b"\n", b"\t", b"  ", b"#", b"true", b"1.5",
    b".nan", b".inf", b"N", b"%", b"@", b"f32[", b"i64", b"nan", b"inf", b"<-", b"view", b"\x00",
    b"\xff\xfe", b"\xc3\xa9", b"\xef\xbb\xbf", b"relu", b"conv2d", b"same", b"-1000", b"[" * 64,
    b"{filters: 100000000, kernel: 3}", b"[100000, 100000, 1000]", b"%conv1", b"= add(", b")",
    b"} : f32[N,6,28,28]", b"# grad of %fc1", b"update %fc1.weight <- ", b"return ", b"loss ",
]

EDITS = ("delete", "insert_byte", "insert_token", "cut", "duplicate", "swap")


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` after 1 to 4 random edits: deleted, inserted, cut, duplicated or swapped bytes
    and inserted tokens."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(EDITS))
        i = draw(st.integers(0, len(out)))
        if edit == "insert_byte":
            out[i:i] = bytes([draw(st.integers(0, 255))])
        elif edit == "insert_token":
            out[i:i] = draw(st.sampled_from(TOKENS))
        elif not out:
            continue
        elif edit == "delete":
            del out[min(i, len(out) - 1)]
        elif edit == "cut":
            del out[i:i + draw(st.integers(1, 40))]
        else:
            j = draw(st.integers(0, len(out) - 1))
            piece = bytes(out[j:j + draw(st.integers(1, 40))])
            if edit == "swap":
                del out[j:j + len(piece)]
                i = min(i, len(out))
            out[i:i] = piece
    return bytes(out)
