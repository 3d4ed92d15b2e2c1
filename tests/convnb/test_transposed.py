"""Tests for convnb.transposed: worked examples, oracles (PyTorch, adjointness, the definition's
sum), naive == fast, gradient checks, the device double, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from device_double import DeviceArray
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import transposed_cases

from convnb import (
    conv2d,
    conv_transpose2d,
    conv_transpose2d_backward,
    conv_transpose2d_backward_naive,
    conv_transpose2d_naive,
    gradcheck,
)

FAST = (conv_transpose2d, conv_transpose2d_backward)
NAIVE = (conv_transpose2d_naive, conv_transpose2d_backward_naive)


def definition(x, w, b, stride, padding, output_padding, groups, dilation):
    """The defining sum, one number at a time, with the bounds checked explicitly."""
    def pair(v):
        return v if isinstance(v, tuple) else (v, v)

    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(pair, (stride, padding, output_padding,
                                                         dilation))
    N, C_in, H, W = x.shape
    _, Og, KH, KW = w.shape
    H_out = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1
    W_out = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1
    out = np.zeros((N, Og * groups, H_out, W_out)) + b[None, :, None, None]
    for n, c, i, j, o, u, v in np.ndindex(N, C_in, H, W, Og, KH, KW):
        r, q = i * sh - ph + u * dh, j * sw - pw + v * dw
        if 0 <= r < H_out and 0 <= q < W_out:
            out[n, c // (C_in // groups) * Og + o, r, q] += x[n, c, i, j] * w[c, o, u, v]
    return out


# --- worked by hand -------------------------------------------------------------------------------

def test_stride_two_tiles_the_kernel():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = np.array([[[[1.0, 10.0], [100.0, 1000.0]]]])
    expected = np.array([[1, 10, 2, 20],
                         [100, 1000, 200, 2000],
                         [3, 30, 4, 40],
                         [300, 3000, 400, 4000]], dtype=float)
    for f in (conv_transpose2d, conv_transpose2d_naive):
        np.testing.assert_array_equal(f(x, w, stride=2)[0, 0], expected)
    # Each input pixel's gradient is its stamp's patch of dout through w: all ones give sum(w).
    for f in (conv_transpose2d_backward, conv_transpose2d_backward_naive):
        dx, dw, db = f(np.ones((1, 1, 4, 4)), x, w, stride=2)
        np.testing.assert_array_equal(dx, np.full((1, 1, 2, 2), 1111.0))
        np.testing.assert_array_equal(dw, np.full((1, 1, 2, 2), 10.0))  # 1 + 2 + 3 + 4
        np.testing.assert_array_equal(db, [16.0])


def test_overlaps_add_padding_crops_output_padding_extends():
    x, w = np.array([[[[1.0, 2.0]]]]), np.array([[[[1.0, 1.0]]]])
    np.testing.assert_array_equal(conv_transpose2d(x, w)[0, 0], [[1, 3, 2]])
    np.testing.assert_array_equal(conv_transpose2d(x, w, padding=(0, 1))[0, 0], [[3]])
    one = np.ones((1, 1, 1, 1))
    out = conv_transpose2d(np.ones((1, 1, 2, 2)), one, b=np.array([0.5]), stride=2,
                           output_padding=1)
    np.testing.assert_array_equal(out[0, 0], [[1.5, 0.5, 1.5, 0.5], [0.5] * 4,
                                              [1.5, 0.5, 1.5, 0.5], [0.5] * 4])


# --- oracles -----------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(transposed_cases())
def test_matches_torch(case):
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    x, w, b = (torch.tensor(case[k], requires_grad=True) for k in ("x", "w", "b"))
    out = torch.nn.functional.conv_transpose2d(x, w, b, **case["kwargs"])
    out.backward(torch.tensor(case["dout"]))
    ours = conv_transpose2d(case["x"], case["w"], case["b"], **case["kwargs"])
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-10, atol=1e-10)
    grads = conv_transpose2d_backward(case["dout"], case["x"], case["w"], **case["kwargs"])
    for ours, theirs in zip(grads, (x.grad, w.grad, b.grad), strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(transposed_cases())
def test_is_the_adjoint_of_conv2d(case):
    x, w, y, kw = case["x"], case["w"], case["dout"], dict(case["kwargs"])
    del kw["output_padding"]
    # <conv2d(y, w), x> == <y, conv_transpose2d(x, w)>. When output_padding >= stride, conv2d of
    # the larger y has extra rows/columns beyond x's extent: they meet no x, so crop them.
    H, W = x.shape[2:]
    lhs = (conv2d(y, w, **kw)[:, :, :H, :W] * x).sum()
    rhs = (y * conv_transpose2d(x, w, **case["kwargs"])).sum()
    assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(transposed_cases(max_batch=1, max_size=3))
def test_naive_matches_the_definition(case):
    expected = definition(case["x"], case["w"], case["b"], **case["kwargs"])
    got = conv_transpose2d_naive(case["x"], case["w"], case["b"], **case["kwargs"])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(transposed_cases(), st.integers(0, 2**32 - 1))
def test_backward_is_the_derivative_of_a_linear_map(case, seed):
    # The output is linear in x and in w, so <dx, x2> = <dout, f(x2, w)> for any x2, likewise w.
    rng, kw, dout = np.random.default_rng(seed), case["kwargs"], case["dout"]
    x2, w2 = rng.standard_normal(case["x"].shape), rng.standard_normal(case["w"].shape)
    dx, dw, db = conv_transpose2d_backward(dout, case["x"], case["w"], **kw)
    assert np.isclose((dx * x2).sum(), (dout * conv_transpose2d(x2, case["w"], **kw)).sum())
    assert np.isclose((dw * w2).sum(), (dout * conv_transpose2d(case["x"], w2, **kw)).sum())
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)))


@settings(max_examples=40, deadline=None)
@given(transposed_cases())
def test_naive_equals_fast(case):
    x, w, b, dout, kw = case["x"], case["w"], case["b"], case["dout"], case["kwargs"]
    np.testing.assert_allclose(conv_transpose2d_naive(x, w, b, **kw),
                               conv_transpose2d(x, w, b, **kw), rtol=1e-10, atol=1e-12)
    for naive, fast in zip(conv_transpose2d_backward_naive(dout, x, w, **kw),
                           conv_transpose2d_backward(dout, x, w, **kw), strict=True):
        np.testing.assert_allclose(naive, fast, rtol=1e-10, atol=1e-12)


GEOMETRIES = [
    {},
    {"stride": 2},
    {"dilation": 2},
    {"groups": 2},
    {"stride": 2, "output_padding": 1},
    {"padding": (1, 0)},
    {"stride": (2, 1), "padding": 1, "output_padding": (1, 0), "dilation": (1, 2), "groups": 2},
]


@pytest.mark.parametrize("kw", GEOMETRIES, ids=str)
def test_gradcheck(kw):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal((2, 4, 3, 3)), rng.standard_normal((4, 1, 2, 3)),
               rng.standard_normal(kw.get("groups", 1)))
    dout = rng.standard_normal(conv_transpose2d(x, w, b, **kw).shape)
    dx, dw, db = conv_transpose2d_backward(dout, x, w, **kw)
    error = gradcheck(lambda x, w, b: conv_transpose2d(x, w, b, **kw), {"x": x, "w": w, "b": b},
                      {"x": dx, "w": dw, "b": db}, dout)
    assert error < 1e-7


# --- backends ----------------------------------------------------------------------------------

@pytest.mark.parametrize("forward, backward", [FAST, NAIVE], ids=["fast", "naive"])
def test_device_double_stays_on_the_device(forward, backward):
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal((2, 4, 3, 2)), rng.standard_normal((4, 1, 3, 2)),
               rng.standard_normal(2))
    kw = {"stride": 2, "padding": (1, 0), "output_padding": 1, "groups": 2, "dilation": (1, 2)}
    out = forward(DeviceArray(x), DeviceArray(w), DeviceArray(b), **kw)
    assert isinstance(out, DeviceArray)
    np.testing.assert_array_equal(out.get(), forward(x, w, b, **kw))
    dout = rng.standard_normal(out.shape)
    grads = backward(DeviceArray(dout), DeviceArray(x), DeviceArray(w), **kw)
    for device, host in zip(grads, backward(dout, x, w, **kw), strict=True):
        assert isinstance(device, DeviceArray)
        np.testing.assert_array_equal(device.get(), host)


# --- bad input ---------------------------------------------------------------------------------

def _good():
    rng = np.random.default_rng(2)
    return {"x": rng.standard_normal((1, 4, 3, 3)), "w": rng.standard_normal((4, 1, 2, 2)),
            "b": rng.standard_normal(2), "kw": {"groups": 2}}


BAD = [
    ("x", lambda a: a["x"][0], ValueError, r"x must have 4 dimensions.*x\[None\]"),
    ("x", lambda a: a["x"].astype(int), TypeError, "x must hold real floating"),
    ("x", lambda a: a["x"].astype(complex), TypeError, "x must hold real floating"),
    ("x", lambda a: a["x"][:, :3], ValueError, r"x has 3 channels but w expects 4 \(w.shape\[0"),
    ("w", lambda a: a["w"][:, :, 0], ValueError, "w must have 4 dimensions"),
    ("w", lambda a: a["w"].astype(np.float32), TypeError, "the same dtype.*w is float32"),
    ("b", lambda a: a["b"][:1], ValueError, r"b must have shape \(C_out,\) = \(2,\)"),
    ("groups", lambda a: 3, ValueError, r"groups \(3\) must divide the channels of x \(4\)"),
    ("groups", lambda a: 0, ValueError, "groups must be a positive int"),
    ("stride", lambda a: 0, ValueError, "stride must be an int or a pair"),
    ("dilation", lambda a: (1, 2, 3), ValueError, "dilation must be an int or a pair"),
    ("padding", lambda a: "same", ValueError, "padding must be an int or a pair"),
    ("padding", lambda a: -1, ValueError, "padding must be an int or a pair"),
    ("padding", lambda a: 3, ValueError, "the output height would be empty.*less padding"),
    ("output_padding", lambda a: 1, ValueError, "output_padding must be smaller than the stride"),
]


@pytest.mark.parametrize("name, make, error, message", BAD,
                         ids=[f"{b[0]}-{b[3][:24]}" for b in BAD])
@pytest.mark.parametrize("forward", [conv_transpose2d, conv_transpose2d_naive],
                         ids=lambda f: f.__name__)
def test_bad_forward_argument(forward, name, make, error, message):
    a = _good()
    args = {"x": a["x"], "w": a["w"], "b": a["b"], **a["kw"]}
    args[name] = make(a)
    with pytest.raises(error, match=f"{forward.__name__}: (.* )?{message}"):
        forward(**args)


@pytest.mark.parametrize("backward", [conv_transpose2d_backward, conv_transpose2d_backward_naive],
                         ids=lambda f: f.__name__)
def test_bad_backward_argument(backward):
    a, fn = _good(), backward.__name__
    dout = np.ones((1, 2, 4, 4))
    with pytest.raises(ValueError, match=rf"{fn}: dout must have the output's shape \(1, 2, 4, 4"):
        backward(dout[:, :, :3], a["x"], a["w"], **a["kw"])
    with pytest.raises(TypeError, match=f"{fn}: all arrays must have the same dtype.*dout"):
        backward(dout.astype(np.float32), a["x"], a["w"], **a["kw"])
    with pytest.raises(ValueError, match=f"{fn}: x has 4 channels but w expects 2"):
        backward(dout, a["x"], a["w"][:2], **a["kw"])
    with pytest.raises(ValueError, match=f"{fn}: output_padding must be smaller"):
        backward(dout, a["x"], a["w"], output_padding=(0, 2), stride=2, **a["kw"])


def test_inputs_are_not_modified():
    a = _good()
    x, w, b = a["x"], a["w"], a["b"]
    dout = np.random.default_rng(3).standard_normal((1, 2, 4, 4))
    before = [v.copy() for v in (x, w, b, dout)]
    for forward, backward in (FAST, NAIVE):
        forward(x, w, b, **a["kw"])
        forward(x, w, **a["kw"])
        backward(dout, x, w, **a["kw"])
    for original, now in zip(before, (x, w, b, dout), strict=True):
        np.testing.assert_array_equal(original, now)
