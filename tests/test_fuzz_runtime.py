"""Random wrong arrays handed to a compiled network: each is refused with a RuntimeInputError
before native code runs, or handled correctly (copied, converted, propagated).

A counter wraps the network's native call so that "before native code runs" is checked, not
assumed. Wrong: shapes, dtypes, Python objects that are not arrays, label ranges and dtypes,
argument counts and names. Handled: non-contiguous, transposed, read-only and misaligned arrays
(same result as a clean copy), plain lists, NaN and Inf (they stay in their own sample).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import compiler
from ir.errors import RuntimeInputError
from tests.conftest import EXAMPLES
from tests.fuzz import fuzz_settings

BATCH = 3
SHAPE = (BATCH, 1, 28, 28)


@pytest.fixture(scope="module")
def net():
    net = compiler.compile(compiler.load(EXAMPLES / "lenet5.yaml"), batch=BATCH, train=True)
    native, forward = net._run, net._forward_checked
    net.native_calls = 0

    def counted(entry, feeds):
        net.native_calls += 1
        return native(entry, feeds)

    def counted_forward(feeds):  # forward's own path to the native call (it skips _run)
        net.native_calls += 1
        return forward(feeds)

    net._run, net._forward_checked = counted, counted_forward
    net.forward(clean()[0])
    net.train_step(*clean())
    # the counter sees both paths to native code (else the tests are void)
    assert net.native_calls >= 2
    return net


def clean(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(SHAPE).astype(np.float32), rng.integers(0, 10, BATCH)


# ---------------------------------------------------------------- refused

WRONG_SHAPES = [(BATCH + 1, 1, 28, 28), (1, 1, 28, 28), (BATCH, 28, 28), (BATCH, 1, 28, 28, 1),
                (BATCH, 28, 1, 28), (BATCH, 1, 27, 28), (0, 1, 28, 28), (BATCH, 784), ()]
WRONG_DTYPES = [np.float64, np.float16, np.int32, np.int64, np.uint8, np.bool_, np.complex64,
                np.dtype(">f4"), np.dtype(object)]
NOT_ARRAYS = [None, "image", b"\x00" * 16, {1, 2}, object(), [[1.0, 2.0], [3.0]], 1.5,
              [np.zeros(3), "a"]]


@st.composite
def wrong_image(draw):
    x, _ = clean(draw(st.integers(0, 3)))
    kind = draw(st.sampled_from(["shape", "dtype", "object"]))
    if kind == "shape":
        shape = draw(st.sampled_from(WRONG_SHAPES))
        return np.zeros(shape, np.float32), "must have shape"
    if kind == "dtype":
        return x.astype(draw(st.sampled_from(WRONG_DTYPES))), "must be float32"
    return draw(st.sampled_from(NOT_ARRAYS)), "input 'image'"


@st.composite
def wrong_labels(draw):
    _, y = clean(draw(st.integers(0, 3)))
    kind = draw(st.sampled_from(["range", "dtype", "shape", "object"]))
    if kind == "range":
        y = y.copy()
        y[draw(st.integers(0, BATCH - 1))] = draw(st.sampled_from([-1, 10, 11, 2**40, -2**62]))
        return y, "outside the 10 classes"
    if kind == "dtype":
        dtype = draw(st.sampled_from([np.float32, np.float64, np.bool_, np.complex64, object]))
        return y.astype(dtype), "integer class indices"
    if kind == "shape":
        shape = draw(st.sampled_from([(BATCH + 1,), (BATCH, 1), (1, BATCH), (), (0,)]))
        return np.zeros(shape, np.int64), "must have shape"
    return draw(st.sampled_from([None, "a", [[1], [2, 3]], {"a": 1}])), "labels 'labels'"


@fuzz_settings(default=120, long=3000)
@given(bad=wrong_image(), entry=st.sampled_from(["forward", "loss_and_grads", "train_step"]))
def test_wrong_images_are_refused_before_native_code(net, bad, entry):
    value, message = bad
    _, y = clean()
    before = net.native_calls
    args = (value,) if entry == "forward" else (value, y)
    with pytest.raises(RuntimeInputError, match=message):
        getattr(net, entry)(*args)
    assert net.native_calls == before


@fuzz_settings(default=80, long=2000)
@given(bad=wrong_labels(), entry=st.sampled_from(["loss_and_grads", "train_step"]))
def test_wrong_labels_are_refused_before_native_code(net, bad, entry):
    value, message = bad
    x, _ = clean()
    weights = net.params["fc3.weight"].copy()
    before = net.native_calls
    with pytest.raises(RuntimeInputError, match=message):
        getattr(net, entry)(x, value)
    assert net.native_calls == before
    np.testing.assert_array_equal(net.params["fc3.weight"], weights)


@pytest.mark.parametrize(("call", "args", "message"), [
    ("forward", (), r"expected 1 input array\(s\) \(image\), got 0"),
    ("forward", ("x", "x"), r"expected 1 input array\(s\) \(image\), got 2"),
    ("train_step", ("x",), r"train_step takes 1 input array\(s\) \(image\) and then the labels, "
                           r"got 1 argument\(s\)"),
    ("loss_and_grads", ("x", "y", "y"), r"and then the labels, got 3 argument"),
    ("train_step", ("x", None), "no array given for labels 'labels'"),
    ("forward", ({"imag": "x"},),
     r"the network has no input named 'imag' \(did you mean 'image'\?\)"),
    ("forward", ({},), "no array given for input 'image'"),
    ("train_step", ({"image": "x"},), "no array given for labels 'labels'"),
    ("train_step", ({"image": "x", "labels": "y", "extra": 1},), "no input named 'extra'"),
])
def test_wrong_argument_counts_and_names(net, call, args, message):
    x, y = clean()
    real = {"x": x, "y": y}

    def resolve(a):
        if isinstance(a, dict):
            return {k: real.get(v, v) for k, v in a.items()}
        return real.get(a, a) if isinstance(a, str) else a

    before = net.native_calls
    with pytest.raises(RuntimeInputError, match=message):
        getattr(net, call)(*[resolve(a) for a in args])
    assert net.native_calls == before


def test_wrong_parameter_assignments_are_refused(net):
    w = net.params["conv1.bias"].copy()
    for value, message in [(np.zeros(5), "has shape"), (np.zeros((6, 1)), "has shape"),
                           (np.zeros(6, complex), "needs numbers"), (["a"] * 6, "needs numbers"),
                           ([[1.0], [1.0, 2.0]], "needs an array of numbers"),
                           (np.zeros(6, object), "needs numbers")]:
        with pytest.raises(RuntimeInputError, match=message):
            net.params["conv1.bias"] = value
    np.testing.assert_array_equal(net.params["conv1.bias"], w)
    with pytest.raises(KeyError, match="no parameter 'conv1.weigth' \\(did you mean"):
        net.params["conv1.weigth"] = w


# ---------------------------------------------------------------- handled

def layouts(x: np.ndarray, kind: str) -> np.ndarray:
    """The same values as `x` in an awkward memory layout."""
    if kind == "strided":
        wide = np.zeros((*x.shape[:-1], 2 * x.shape[-1]), x.dtype)
        wide[..., ::2] = x
        return wide[..., ::2]
    if kind == "fortran":
        return np.asfortranarray(x)
    if kind == "readonly":
        y = x.copy()
        y.flags.writeable = False
        return y
    if kind == "misaligned":  # one byte past an aligned address: numpy's aligned flag is off
        raw = np.zeros(x.nbytes + 64, np.uint8)
        y = np.ndarray(x.shape, x.dtype, buffer=raw, offset=1 + (-raw.ctypes.data) % 64)
        y[...] = x
        return y
    if kind == "offset4":  # element-aligned but not vector-aligned
        raw = np.zeros(x.nbytes + 64, np.uint8)
        y = np.ndarray(x.shape, x.dtype, buffer=raw, offset=4 + (-raw.ctypes.data) % 64)
        y[...] = x
        return y
    if kind == "list":
        return x.tolist()
    raise AssertionError(kind)


KINDS = ["strided", "fortran", "readonly", "misaligned", "offset4", "list"]


@fuzz_settings(default=24, long=400)
@given(kind=st.sampled_from(KINDS), label_kind=st.sampled_from(KINDS), seed=st.integers(0, 3))
def test_awkward_layouts_give_the_clean_result(net, kind, label_kind, seed):
    x, y = clean(seed)
    assert_same = np.testing.assert_array_equal
    odd_x, odd_y = layouts(x, kind), layouts(y, label_kind)
    assert_same(net.forward(odd_x), net.forward(x))
    loss, grads = net.loss_and_grads(odd_x, odd_y)
    want_loss, want = net.loss_and_grads(x, y)
    assert loss == want_loss
    for name in want:
        assert_same(grads[name], want[name], err_msg=name)
    assert_same(np.asarray(odd_x), x)  # never written


@fuzz_settings(default=16, long=300)
@given(sample=st.integers(0, BATCH - 1), value=st.sampled_from([np.nan, np.inf, -np.inf]),
       where=st.tuples(st.integers(0, 27), st.integers(0, 27)))
def test_nan_and_inf_stay_in_their_sample(net, sample, value, where):
    """lenet5 treats samples independently: a non-finite pixel poisons its own logits only."""
    x, _ = clean()
    bad = x.copy()
    bad[sample, 0, where[0], where[1]] = value
    out, ok = net.forward(bad), net.forward(x)
    others = [i for i in range(BATCH) if i != sample]
    np.testing.assert_array_equal(out[others], ok[others])
    assert out.shape == ok.shape


def test_integer_and_list_labels_are_converted(net):
    x, y = clean()
    want = net.loss_and_grads(x, y)[0]
    for labels in (y.astype(np.uint8), y.astype(np.int32), y.tolist(), tuple(int(v) for v in y)):
        assert net.loss_and_grads(x, labels)[0] == want
