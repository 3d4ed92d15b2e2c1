"""Pooling (max, average, Lp, stochastic, fractional) and unpooling: lecture examples, explicit
formulas, PyTorch, naive twins, gradient checks, invariance, sampling statistics, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from device_double import DeviceArray
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convnb.nn as nn
from convnb import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_backward_naive,
    avg_pool2d_naive,
    gradcheck,
    lp_pool2d,
    lp_pool2d_backward,
    lp_pool2d_backward_naive,
    lp_pool2d_naive,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_backward_naive,
    max_pool2d_naive,
    max_unpool2d,
    max_unpool2d_naive,
)
from convnb.pool_random import (
    fractional_max_pool2d,
    fractional_max_pool2d_naive,
    stochastic_pool2d,
    stochastic_pool2d_naive,
)

SEEDS = st.integers(0, 2**32 - 1)


def close(actual, desired, tol=1e-12):
    """Equal up to rounding: relative tolerance, plus an absolute one for sums that cancel."""
    np.testing.assert_allclose(actual, desired, rtol=tol, atol=tol)


def torch_or_skip():
    return pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")


def distinct(seed: int, shape: tuple[int, ...], low: float = -2.0, high: float = 2.0):
    """Values without ties (a shuffled grid of ``low .. high``), so every maximum is unique and
    stays so under a gradient check's perturbation."""
    n = math.prod(shape)
    grid = low + (high - low) * (np.arange(n) + 0.5) / n
    return np.random.default_rng(seed).permutation(grid).reshape(shape)


# --- strategies: valid pooling geometries ------------------------------------------------------

@st.composite
def max_cases(draw, dilation=True, ceil=True, max_size=7):
    """x (N, C, H, W) without ties and max_pool2d's keyword arguments."""
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    pad = (draw(st.integers(0, KH // 2)), draw(st.integers(0, KW // 2)))
    H = max(draw(st.integers(1, max_size)), dil[0] * (KH - 1) + 1 - 2 * pad[0])
    W = max(draw(st.integers(1, max_size)), dil[1] * (KW - 1) + 1 - 2 * pad[1])
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), H, W)
    kw = {"kernel_size": (KH, KW), "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
          "padding": pad, "dilation": dil, "ceil_mode": draw(st.booleans()) if ceil else False}
    return distinct(draw(SEEDS), shape), kw


@st.composite
def avg_cases(draw):
    x, kw = draw(max_cases(dilation=False))
    del kw["dilation"]
    return x, {**kw, "count_include_pad": draw(st.booleans())}


@st.composite
def lp_cases(draw):
    """Positive x (Lp pooling is smooth away from zero), norm_type and lp_pool2d's arguments."""
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
             max(KH, draw(st.integers(1, 7))), max(KW, draw(st.integers(1, 7))))
    kw = {"kernel_size": (KH, KW), "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
          "ceil_mode": draw(st.booleans())}
    p = draw(st.sampled_from([1, 2, 3, 1.5, math.inf]))
    return distinct(draw(SEEDS), shape, 0.5, 2.0), p, kw


@st.composite
def fractional_cases(draw):
    """x, kernel_size, output_size and samples for fractional_max_pool2d."""
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    H, W = draw(st.integers(2, 9)), draw(st.integers(2, 9))
    k = (draw(st.integers(1, min(3, H))), draw(st.integers(1, min(3, W))))
    out = (draw(st.integers(1, H - k[0] + 1)), draw(st.integers(1, W - k[1] + 1)))
    seed = draw(SEEDS)
    samples = np.random.default_rng(seed + 1).random((N, C, 2))
    return distinct(seed, (N, C, H, W)), k, out, samples


# --- oracles written from the definitions, sharing nothing with convnb -------------------------

def expected_size(i: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's documented output size; a ceil_mode window must start inside the input."""
    rounding = math.ceil if ceil_mode else math.floor
    o = rounding((i + 2 * p - d * (k - 1) - 1) / s) + 1
    return o - 1 if ceil_mode and (o - 1) * s >= i + p else o


def listed_windows(a, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False,
                   fill=0.0):
    """Every window's entries as a list, by plain indexing into a generously filled canvas.

    Returns values (N, C, H_out, W_out, KH*KW) and the row and column (H_out, W_out, KH*KW) each
    entry was read from (negative or past the edge: padding).
    """
    (KH, KW), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    N, C, H, W = a.shape
    Ho = expected_size(H, KH, sh, ph, dh, ceil_mode)
    Wo = expected_size(W, KW, sw, pw, dw, ceil_mode)
    canvas = np.full((N, C, H + 2 * ph + dh * KH + sh, W + 2 * pw + dw * KW + sw), fill)
    canvas[:, :, ph:ph + H, pw:pw + W] = a
    values = np.empty((N, C, Ho, Wo, KH * KW))
    rows = np.empty((Ho, Wo, KH * KW), dtype=int)
    cols = np.empty_like(rows)
    for i in range(Ho):
        for j in range(Wo):
            for u in range(KH):
                for v in range(KW):
                    r, c = i * sh + u * dh, j * sw + v * dw
                    values[:, :, i, j, u * KW + v] = canvas[:, :, r, c]
                    rows[i, j, u * KW + v], cols[i, j, u * KW + v] = r - ph, c - pw
    return values, rows, cols


def max_oracle(x, kernel_size, stride, padding, dilation, ceil_mode):
    values, rows, cols = listed_windows(x, kernel_size, stride, padding, dilation, ceil_mode,
                                        -np.inf)
    k = values.argmax(axis=-1)[..., None]
    flat = np.broadcast_to(rows * x.shape[3] + cols, values.shape)
    return values.max(axis=-1), np.take_along_axis(flat, k, axis=-1)[..., 0]


def avg_oracle(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    """Window sum over the count of window positions in the input (or in the padded input)."""
    values, rows, cols = listed_windows(x, kernel_size, stride, padding, (1, 1), ceil_mode)
    H, W = x.shape[2:]
    low, high = ((-padding[0], -padding[1]), (H + padding[0], W + padding[1])) \
        if count_include_pad else ((0, 0), (H, W))
    counted = (rows >= low[0]) & (rows < high[0]) & (cols >= low[1]) & (cols < high[1])
    return values.sum(axis=-1) / counted.sum(axis=-1)


def lp_oracle(x, p, kernel_size, stride, ceil_mode):
    """(sum of x**p)**(1/p); PyTorch scales a partial ceil_mode window up to a full one."""
    if p == math.inf:
        return listed_windows(np.abs(x), kernel_size, stride, ceil_mode=ceil_mode,
                              fill=-np.inf)[0].max(axis=-1)
    values, rows, cols = listed_windows(x ** p, kernel_size, stride, ceil_mode=ceil_mode)
    H, W = x.shape[2:]
    inside = ((rows < H) & (cols < W)).sum(axis=-1)
    return (values.sum(axis=-1) * math.prod(kernel_size) / inside) ** (1 / p)


# --- 1. the lecture's examples and small cases worked by hand -----------------------------------

LECTURE = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)


@pytest.mark.parametrize("fn", [max_pool2d, max_pool2d_naive])
def test_lecture_4x4_max_pool_2x2_stride2(fn):
    out, indices = fn(LECTURE[None, None], 2, stride=2, return_indices=True)
    np.testing.assert_array_equal(out[0, 0], [[6, 8], [3, 4]])
    # the switches: 6 at (1, 1), 8 at (1, 3), 3 at (2, 0), 4 at (3, 3), as row * 4 + col
    np.testing.assert_array_equal(indices[0, 0], [[5, 7], [8, 15]])
    assert indices.dtype == np.int64


def test_lecture_max_pool_gradient_goes_to_the_switches():
    dx = max_pool2d_backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), LECTURE[None, None], 2)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[2, 0], expected[3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("fn", [avg_pool2d, avg_pool2d_naive])
def test_hand_worked_average_pooling(fn):
    # (1+1+5+6)/4, (2+4+7+8)/4; (3+2+1+2)/4, (1+0+3+4)/4
    np.testing.assert_array_equal(fn(LECTURE[None, None], 2)[0, 0], [[3.25, 5.25], [2, 2]])
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    # padding 1: every 2x2 window holds one input and three padded zeros
    np.testing.assert_array_equal(fn(x, 2, padding=1)[0, 0], [[0.25, 0.5], [0.75, 1.0]])
    np.testing.assert_array_equal(fn(x, 2, padding=1, count_include_pad=False)[0, 0],
                                  [[1, 2], [3, 4]])
    # ceil_mode keeps the partial windows [2, 5], [6, 7], [8]; their overhang is not counted
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_array_equal(fn(x, 2, ceil_mode=True)[0, 0], [[2, 3.5], [6.5, 8]])


@pytest.mark.parametrize("fn", [lp_pool2d, lp_pool2d_naive])
def test_hand_worked_l2_pooling(fn):
    x = np.array([[[[3.0, 0.0], [0.0, 4.0]]]])
    assert fn(x, 2, 2)[0, 0, 0, 0] == 5.0  # sqrt(9 + 16)
    assert fn(x, 1, 2)[0, 0, 0, 0] == 7.0
    assert fn(x, math.inf, 2)[0, 0, 0, 0] == 4.0


# --- 2. explicit formulas (always) and PyTorch (when installed) ---------------------------------

@given(max_cases())
def test_max_pool_is_the_max_of_the_listed_window_entries(case):
    x, kw = case
    expected, expected_indices = max_oracle(x, **kw)
    assume(np.isfinite(expected).all())  # dilation can leave a window seeing only padding
    out, indices = max_pool2d(x, **kw, return_indices=True)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(indices, expected_indices)


@given(avg_cases())
def test_avg_pool_is_the_listed_window_sum_over_its_count(case):
    x, kw = case
    close(avg_pool2d(x, **kw), avg_oracle(x, **kw))


@given(lp_cases())
def test_lp_pool_is_the_p_norm_of_the_listed_window(case):
    x, p, kw = case
    close(lp_pool2d(x, p, **kw), lp_oracle(x, p, **kw))


@given(fractional_cases())
def test_fractional_max_pool_follows_grahams_sequence(case):
    x, k, out_size, samples = case
    out, indices = fractional_max_pool2d(x, k, out_size, samples=samples)
    N, C, H, W = x.shape
    for n in range(N):
        for c in range(C):
            starts = []
            for u, size, o, kk in ((samples[n, c, 1], H, out_size[0], k[0]),
                                   (samples[n, c, 0], W, out_size[1], k[1])):
                alpha = (size - kk) / (o - 1) if o > 1 else 0.0
                seq = [int((i + u) * alpha) - int(u * alpha) for i in range(o - 1)] + [size - kk]
                # starts at 0 (one window: flush with the far edge), steps floor or ceil alpha
                assert seq[0] == (0 if o > 1 else size - kk)
                assert all(b - a in (math.floor(alpha), math.ceil(alpha))
                           for a, b in zip(seq, seq[1:], strict=False))
                starts.append(seq)
            for i, r in enumerate(starts[0]):
                for j, col in enumerate(starts[1]):
                    window = x[n, c, r:r + k[0], col:col + k[1]]
                    assert out[n, c, i, j] == window.max()
                    assert x[n, c].reshape(-1)[indices[n, c, i, j]] == window.max()


def _t(a, grad=False):
    torch = torch_or_skip()
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


@settings(max_examples=30)
@given(max_cases(), SEEDS)
def test_max_pool_forward_and_backward_match_torch(case, seed):
    F = torch_or_skip().nn.functional
    x, kw = case
    xt = _t(x, grad=True)
    out_t, idx_t = F.max_pool2d(xt, **kw, return_indices=True)
    out, indices = max_pool2d(x, **kw, return_indices=True)
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_array_equal(indices, idx_t.numpy())
    np.testing.assert_array_equal(max_pool2d(x, **kw), out)  # no indices: the maximum only
    assume(np.isfinite(out).all())  # PyTorch's backward crashes on windows of padding only
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    out_t.backward(_t(dout))
    close(max_pool2d_backward(dout, x, **kw), xt.grad.numpy())
    close(max_unpool2d(dout, indices, x.shape[2:], accumulate=True),
                               xt.grad.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2),  # windows that tile the input
                                dict(kernel_size=3, stride=2, padding=1),  # overlapping windows
                                dict(kernel_size=(2, 3), stride=1, dilation=2)])
def test_max_pool_with_nans_and_ties_matches_torch(kw):
    """A window holding NaN gives NaN and the index of its *last* NaN (PyTorch's loop moves on
    every NaN); ties go to the first maximum. Also the loop version, which is the definition."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (2, 2, 9, 9)).astype(float)
    x[rng.random(x.shape) < 0.15] = np.nan  # some windows hold several NaNs
    xt = _t(x, grad=True)
    out_t, idx_t = torch_or_skip().nn.functional.max_pool2d(xt, **kw, return_indices=True)
    dout = rng.standard_normal(out_t.shape)
    out_t.backward(_t(dout))
    for fn in (max_pool2d, max_pool2d_naive):
        out, idx = fn(x, **kw, return_indices=True)
        np.testing.assert_array_equal(out, out_t.detach().numpy())  # NaN where torch has NaN
        np.testing.assert_array_equal(idx, idx_t.numpy())
    np.testing.assert_array_equal(max_pool2d(x, **kw), out_t.detach().numpy())
    close(max_pool2d_backward(dout, x, **kw), xt.grad.numpy())  # overlaps add in another order
    close(max_pool2d_backward_naive(dout, x, **kw), xt.grad.numpy())
    layer = nn.MaxPool2d(**kw)
    layer(x)
    close(layer.backward(dout), xt.grad.numpy())


@pytest.mark.parametrize("kernel, width", [((1, 127), 254), ((1, 128), 256), ((12, 12), 24)])
def test_max_pool_with_many_window_offsets_matches_torch(kernel, width):
    """Windows that tile the input store each maximum's offset in the window in the smallest
    integer type that holds it; indices and gradients must not overflow at its limits."""
    x = np.random.default_rng(0).standard_normal((2, 2, 24, width))
    xt = _t(x, grad=True)
    out_t, idx_t = torch_or_skip().nn.functional.max_pool2d(xt, kernel, return_indices=True)
    dout = np.random.default_rng(1).standard_normal(out_t.shape)
    out_t.backward(_t(dout))
    out, idx = max_pool2d(x, kernel, return_indices=True)
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_array_equal(idx, idx_t.numpy())
    np.testing.assert_array_equal(max_pool2d_backward(dout, x, kernel), xt.grad.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2),  # windows that tile the input
                                dict(kernel_size=3, stride=2, padding=1)])  # overlapping windows
def test_max_pool_backward_sends_inf_and_nan_only_to_the_switch(kw):
    """A non-finite gradient goes where PyTorch sends it, and nowhere else (inf * 0 is NaN)."""
    x = np.random.default_rng(0).integers(0, 3, (2, 2, 6, 6)).astype(float)  # ties, too
    xt = _t(x, grad=True)
    out_t = torch_or_skip().nn.functional.max_pool2d(xt, **kw)
    dout = np.ones(out_t.shape)
    dout[0, 0, 0, 0], dout[1, 1, 1, 1] = np.inf, np.nan
    out_t.backward(_t(dout))
    np.testing.assert_array_equal(max_pool2d_backward(dout, x, **kw), xt.grad.numpy())
    layer = nn.MaxPool2d(**kw)
    layer(x)
    np.testing.assert_array_equal(layer.backward(dout), xt.grad.numpy())


@settings(max_examples=30)
@given(avg_cases(), SEEDS)
def test_avg_pool_forward_and_backward_match_torch(case, seed):
    F = torch_or_skip().nn.functional
    x, kw = case
    xt = _t(x, grad=True)
    out_t = F.avg_pool2d(xt, **kw)
    out = avg_pool2d(x, **kw)
    close(out, out_t.detach().numpy())
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    out_t.backward(_t(dout))
    close(avg_pool2d_backward(dout, x, **kw), xt.grad.numpy())


@settings(max_examples=30)
@given(lp_cases(), SEEDS)
def test_lp_pool_forward_and_backward_match_torch(case, seed):
    F = torch_or_skip().nn.functional
    x, p, kw = case
    xt = _t(x, grad=True)
    # p = inf is the largest |x| by definition. PyTorch's lp_pool2d returns that in some versions
    # (2.13 here) but computes (sum x**inf)**0 in others (2.11 on the GPU run), so the oracle for
    # p = inf is PyTorch's max pooling of |x|, the same in every version.
    out_t = (F.max_pool2d(xt.abs(), **kw) if p == math.inf else F.lp_pool2d(xt, p, **kw))
    out = lp_pool2d(x, p, **kw)
    close(out, out_t.detach().numpy())
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    out_t.backward(_t(dout))
    close(lp_pool2d_backward(dout, x, p, **kw), xt.grad.numpy(), tol=1e-10)


@settings(max_examples=30)
@given(fractional_cases(), st.sampled_from([np.float64, np.float32]))
def test_fractional_max_pool_and_its_unpool_backward_match_torch(case, dtype):
    torch = torch_or_skip()
    x, k, out_size, samples = case
    x, samples = x.astype(dtype), samples.astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    out_t, idx_t = torch.nn.functional.fractional_max_pool2d(
        xt, k, output_size=out_size, return_indices=True, _random_samples=torch.tensor(samples))
    out, indices = fractional_max_pool2d(x, k, out_size, samples=samples)
    np.testing.assert_array_equal(out, out_t.detach().numpy())  # same windows, bit for bit
    np.testing.assert_array_equal(indices, idx_t.numpy())
    dout = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    out_t.backward(torch.tensor(dout))
    tol = 1e-5 if dtype == np.float32 else 1e-12  # sums of gradients, in different orders
    close(max_unpool2d(dout, indices, x.shape[2:], accumulate=True), xt.grad.numpy(), tol)


@settings(max_examples=30)
@given(max_cases(dilation=False, ceil=False))
def test_max_unpool_matches_torch(case):
    F = torch_or_skip().nn.functional
    x, kw = case
    del kw["dilation"], kw["ceil_mode"]
    out, indices = max_pool2d(x, **kw, return_indices=True)
    torch = torch_or_skip()
    expected = F.max_unpool2d(_t(out), torch.tensor(indices), output_size=x.shape[2:], **kw)
    np.testing.assert_array_equal(max_unpool2d(out, indices, x.shape[2:]), expected.numpy())


# --- 3. naive twins agree with the vectorised versions -----------------------------------------

@given(max_cases(), SEEDS)
def test_max_pool_naive_agrees(case, seed):
    x, kw = case
    out, indices = max_pool2d(x, **kw, return_indices=True)
    naive_out, naive_indices = max_pool2d_naive(x, **kw, return_indices=True)
    np.testing.assert_array_equal(out, naive_out)
    np.testing.assert_array_equal(indices, naive_indices)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    close(max_pool2d_backward(dout, x, **kw),
                               max_pool2d_backward_naive(dout, x, **kw))
    assume(np.isfinite(out).all())  # a window of padding only has PyTorch's invalid index
    for accumulate in (False, True):
        np.testing.assert_array_equal(max_unpool2d(out, indices, x.shape[2:], accumulate),
                                      max_unpool2d_naive(out, indices, x.shape[2:], accumulate))


@given(avg_cases(), SEEDS)
def test_avg_pool_naive_agrees(case, seed):
    x, kw = case
    out = avg_pool2d(x, **kw)
    close(out, avg_pool2d_naive(x, **kw))
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    close(avg_pool2d_backward(dout, x, **kw),
                               avg_pool2d_backward_naive(dout, x, **kw))


@given(lp_cases(), SEEDS)
def test_lp_pool_naive_agrees(case, seed):
    x, p, kw = case
    out = lp_pool2d(x, p, **kw)
    close(out, lp_pool2d_naive(x, p, **kw))
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    close(lp_pool2d_backward(dout, x, p, **kw), lp_pool2d_backward_naive(dout, x, p, **kw),
          tol=1e-10)


@given(fractional_cases(), st.sampled_from([np.float64, np.float32]))
def test_fractional_max_pool_naive_agrees(case, dtype):
    x, k, out_size, samples = case
    x, samples = x.astype(dtype), samples.astype(dtype)
    for a, b in zip(fractional_max_pool2d(x, k, out_size, samples=samples),
                    fractional_max_pool2d_naive(x, k, out_size, samples=samples), strict=True):
        np.testing.assert_array_equal(a, b)
    seeded = fractional_max_pool2d(x, k, out_size, rng=7)
    for a, b in zip(seeded, fractional_max_pool2d_naive(x, k, out_size, rng=7), strict=True):
        np.testing.assert_array_equal(a, b)


@given(max_cases(dilation=False), st.sampled_from([np.float64, np.float32]), SEEDS)
def test_stochastic_pool_naive_agrees(case, dtype, seed):
    x, kw = case
    assume(all(k <= s for k, s in zip(kw["kernel_size"], x.shape[2:], strict=True)))
    x = np.abs(x).astype(dtype)
    x[x < 0.5] = 0  # zero activations, and sometimes all-zero windows
    args = (kw["kernel_size"], kw["stride"])
    for a, b in zip(stochastic_pool2d(x, *args, rng=seed),
                    stochastic_pool2d_naive(x, *args, rng=seed), strict=True):
        np.testing.assert_array_equal(a, b)
    close(stochastic_pool2d(x, *args, training=False)[0],
          stochastic_pool2d_naive(x, *args, training=False)[0], tol=1e-6)


# --- 4. gradient checks ---------------------------------------------------------------------------

def _dout(seed, shape):
    """Upstream gradients away from zero, so no input's gradient cancels to nearly nothing."""
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape)


@settings(max_examples=15)
@given(max_cases(max_size=5), SEEDS)
def test_max_pool_gradcheck(case, seed):
    x, kw = case
    out = max_pool2d(x, **kw)
    assume(np.isfinite(out).all())
    dout = _dout(seed, out.shape)
    assert gradcheck(lambda x: max_pool2d(x, **kw), {"x": x},
                     {"x": max_pool2d_backward(dout, x, **kw)}, dout) < 1e-7


@settings(max_examples=15)
@given(avg_cases(), SEEDS)
def test_avg_pool_gradcheck(case, seed):
    x, kw = case
    dout = _dout(seed, avg_pool2d(x, **kw).shape)
    assert gradcheck(lambda x: avg_pool2d(x, **kw), {"x": x},
                     {"x": avg_pool2d_backward(dout, x, **kw)}, dout) < 1e-7


@settings(max_examples=15)
@given(lp_cases(), SEEDS)
def test_lp_pool_gradcheck(case, seed):
    x, p, kw = case
    dout = _dout(seed, lp_pool2d(x, p, **kw).shape)
    assert gradcheck(lambda x: lp_pool2d(x, p, **kw), {"x": x},
                     {"x": lp_pool2d_backward(dout, x, p, **kw)}, dout) < 1e-7


@settings(max_examples=15)
@given(fractional_cases(), SEEDS)
def test_fractional_max_pool_gradcheck_through_max_unpool(case, seed):
    x, k, out_size, samples = case
    out, indices = fractional_max_pool2d(x, k, out_size, samples=samples)
    dout = _dout(seed, out.shape)
    dx = max_unpool2d(dout, indices, x.shape[2:], accumulate=True)
    assert gradcheck(lambda x: fractional_max_pool2d(x, k, out_size, samples=samples)[0],
                     {"x": x}, {"x": dx}, dout) < 1e-7


def test_stochastic_pool_gradcheck_through_max_unpool():
    x = distinct(3, (2, 2, 6, 6), 0.1, 2.0)  # a draw is fixed by the seed; a tiny nudge keeps it
    out, indices = stochastic_pool2d(x, 3, stride=2, rng=11)  # overlapping windows
    dout = _dout(0, out.shape)
    dx = max_unpool2d(dout, indices, x.shape[2:], accumulate=True)
    assert gradcheck(lambda x: stochastic_pool2d(x, 3, stride=2, rng=11)[0], {"x": x},
                     {"x": dx}, dout) < 1e-7


# --- 5. invariance and equivariance of max pooling -----------------------------------------------

@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 3), st.integers(0, 3), SEEDS)
def test_max_pool_shift_by_the_stride_shifts_the_output_by_one(k_over_s, s, a, b, seed):
    """Equivariance, exactly: dropping a*s rows and b*s columns at the top-left of the input
    drops a rows and b columns of the output (any window k, here k = s and k = s + 1)."""
    x = distinct(seed, (1, 2, 4 * s + 6, 4 * s + 5))
    for k in (s, s + k_over_s):
        out = max_pool2d(x, k, s)
        moved = max_pool2d(x[:, :, a * s:, b * s:], k, s)
        np.testing.assert_array_equal(moved, out[:, :, a:, b:])


@given(st.integers(2, 6), st.integers(2, 6), st.integers(1, 4), SEEDS)
def test_max_pool_is_nearly_invariant_to_one_pixel_shifts(h, w, m, seed):
    """For 2x2 / stride 2 pooling of a sparse non-negative map (m positive pixels, "features"),
    shifting the input right by one pixel changes only windows that a feature leaves or enters:
    a feature in an odd column crosses into the next window, one in an even column stays in its
    window. So at most 2 * (features in odd columns) <= 2m of the h*w outputs change, and none
    when every feature sits in an even column. For any input, each shifted output is at most
    the larger of the two outputs whose windows it straddles."""
    rng = np.random.default_rng(seed)
    features = np.zeros(2 * h * (2 * w - 1))
    features[rng.choice(features.size, size=m, replace=False)] = rng.uniform(1, 2, m)
    x = np.zeros((1, 1, 2 * h, 2 * w))
    x[0, 0, :, :-1] = features.reshape(2 * h, 2 * w - 1)  # the last column stays 0
    shifted = np.zeros_like(x)
    shifted[..., 1:] = x[..., :-1]
    changed = int((max_pool2d(shifted, 2) != max_pool2d(x, 2)).sum())
    odd = int((x[0, 0, :, 1::2] > 0).sum())
    assert changed <= 2 * odd <= 2 * m  # a fraction of at most 2m / (h*w) of the outputs
    even_only = x.copy()
    even_only[..., 1::2] = 0
    moved = np.zeros_like(even_only)
    moved[..., 1:] = even_only[..., :-1]
    np.testing.assert_array_equal(max_pool2d(moved, 2), max_pool2d(even_only, 2))
    dense = distinct(seed, (1, 1, 2 * h, 2 * w))
    out, out_shifted = max_pool2d(dense, 2), max_pool2d(dense[..., 1:-1], 2)  # starts 1 later
    assert (out_shifted <= np.maximum(out[..., :-1], out[..., 1:])).all()


# --- 6. stochastic pooling: sampling statistics and the test-time value --------------------------

def test_stochastic_pool_picks_each_input_with_probability_proportional_to_it():
    window = np.array([[0.0, 1.0], [2.0, 5.0]])
    M = 20000  # windows side by side: one call makes M independent draws
    x = np.tile(window, (1, M))[None, None]
    out, indices = stochastic_pool2d(x, 2, rng=np.random.default_rng(2024))
    rows, cols = np.divmod(indices[0, 0, 0], x.shape[3])
    offset = rows * 2 + cols - 2 * np.arange(M)  # position inside the window, row-major
    np.testing.assert_array_equal(out[0, 0, 0], window.reshape(-1)[offset])
    counts = np.bincount(offset, minlength=4)
    p = window.reshape(-1) / window.sum()
    assert counts[0] == 0  # a zero activation is never chosen
    # every count within 4 binomial standard deviations of its expectation
    assert (np.abs(counts - M * p) <= 4 * np.sqrt(M * p * (1 - p)) + 1e-9).all()


def test_stochastic_pool_draws_change_with_the_generator_state_and_repeat_with_the_seed():
    x = distinct(0, (1, 3, 8, 8), 0.0, 1.0)
    rng = np.random.default_rng(5)
    first, second = stochastic_pool2d(x, 2, rng=rng)[1], stochastic_pool2d(x, 2, rng=rng)[1]
    assert (first != second).any()
    np.testing.assert_array_equal(stochastic_pool2d(x, 2, rng=9)[1],
                                  stochastic_pool2d(x, 2, rng=9)[1])


def test_stochastic_pool_all_zero_window_and_test_time_value():
    x = np.array([[[[0.0, 0.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0]]]])
    out, indices = stochastic_pool2d(x, 2, rng=0)
    assert out[0, 0, 0, 0] == 0 and indices[0, 0, 0, 0] == 0
    assert out[0, 0, 0, 1] in (1.0, 3.0)
    expected, none = stochastic_pool2d(x, 2, training=False)
    assert none is None
    np.testing.assert_allclose(expected[0, 0, 0], [0.0, (1 + 9) / (1 + 3)])


@given(max_cases(dilation=False, ceil=False))
def test_stochastic_pool_test_time_is_the_probability_weighted_average(case):
    x, kw = case
    x = np.abs(x)
    assume(all(k <= s for k, s in zip(kw["kernel_size"], x.shape[2:], strict=True)))
    values = listed_windows(x, kw["kernel_size"], kw["stride"])[0]
    out, _ = stochastic_pool2d(x, kw["kernel_size"], kw["stride"], training=False)
    total = values.sum(-1)
    expected = np.divide((values ** 2).sum(-1), total, out=np.zeros_like(total), where=total > 0)
    close(out, expected)  # an all-zero window gives 0


# --- 7. the device double: results stay on the device -------------------------------------------

X = distinct(1, (2, 3, 7, 6), 0.1, 2.0)
SAMPLES = np.random.default_rng(0).random((2, 3, 2))
POOL = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
CALLS = {
    "max_pool2d": lambda B, x: max_pool2d(B(x), **POOL, return_indices=True),
    "max_pool2d_backward": lambda B, x: max_pool2d_backward(
        B(np.ones((2, 3, 4, 4))), B(x), **POOL),
    # 2x2 windows tile the input: the fast path (the last row of the 7 is in no window)
    "max_pool2d_tiles": lambda B, x: [*max_pool2d(B(x), 2, return_indices=True),
                                      max_pool2d(B(x), 2)],
    "max_pool2d_backward_tiles": lambda B, x: max_pool2d_backward(B(np.ones((2, 3, 3, 3))),
                                                                  B(x), 2),
    "avg_pool2d": lambda B, x: avg_pool2d(B(x), **POOL, count_include_pad=False),
    "avg_pool2d_backward": lambda B, x: avg_pool2d_backward(
        B(np.ones((2, 3, 4, 4))), B(x), **POOL, count_include_pad=False),
    "lp_pool2d": lambda B, x: [lp_pool2d(B(x), p, 3, 2, True) for p in (2, math.inf)],
    "lp_pool2d_backward": lambda B, x: [lp_pool2d_backward(B(np.ones((2, 3, 3, 3))), B(x), p, 3,
                                                           2, True) for p in (2, math.inf)],
    "stochastic_pool2d": lambda B, x: stochastic_pool2d(B(x), 2, rng=3),
    "stochastic_pool2d_test_time": lambda B, x: stochastic_pool2d(B(x), 2, training=False)[0],
    "fractional_max_pool2d": lambda B, x: fractional_max_pool2d(B(x), 2, (4, 4),
                                                                samples=B(SAMPLES)),
    "fractional_max_pool2d_rng": lambda B, x: fractional_max_pool2d(B(x), 2, (4, 4), rng=1),
    "max_unpool2d": lambda B, x: [max_unpool2d(*map(B, max_pool2d(x, 3, 2, return_indices=True)),
                                               (7, 6), accumulate) for accumulate in (False, True)],
}


# Results computed by arithmetic: sums of at most 9 positive float64 terms, divisions, powers.
# A GPU may add them in another order (CuPy's reductions are trees, NumPy's pairwise) and CUDA's
# pow is within 2 ulp instead of correctly rounded, so a few ulp differ: rtol 1e-13 (about 450
# ulp of float64) allows that, and nothing more than 1e-13 of a value. Every other call picks
# input values (maxima, switches, samples) and must match bit for bit.
COMPUTED = {"avg_pool2d", "avg_pool2d_backward", "lp_pool2d", "lp_pool2d_backward",
            "stochastic_pool2d_test_time"}


@pytest.mark.parametrize("name", list(CALLS))
def test_pooling_runs_on_the_backend_of_its_input(name, to_backend, host):
    results, expected = CALLS[name](to_backend, X), CALLS[name](lambda a: a, X)
    if not isinstance(results, list | tuple):
        results, expected = [results], [expected]
    for got, want in zip(results, expected, strict=True):
        assert type(got) is type(to_backend(X))
        if name in COMPUTED:
            np.testing.assert_allclose(host(got), want, rtol=1e-13, atol=0)
        else:
            np.testing.assert_array_equal(host(got), want)


@pytest.mark.parametrize("options", [{"kernel_size": 2}, POOL], ids=["tiles", "overlaps"])
def test_max_pooling_takes_its_device_paths_without_reading_back(options):
    """On a device max pooling always runs its NaN pass, routes gradients with ``where`` and
    adds overlapping ones with ``add.at`` (the host asks first, or uses ``bincount``): same
    numbers as the loops, with NaNs, -inf windows, a non-finite dout and shared switches, and
    no read from the device."""
    x = X.copy()
    x[0, 0, 1, 1] = np.nan
    x[1, 2, :3, :3] = -np.inf
    x[1, 1] = 1.0  # ties: every window's first entry is its switch, shared by overlapping ones
    out = max_pool2d_naive(x, **options)
    dout = np.random.default_rng(4).standard_normal(out.shape)
    dout[0, 1, 0, 0] = np.inf
    reads = DeviceArray.host_reads
    got, got_dx = (max_pool2d(DeviceArray(x), **options),
                   max_pool2d_backward(DeviceArray(dout), DeviceArray(x), **options))
    assert DeviceArray.host_reads == reads
    np.testing.assert_array_equal(got.get(), out)
    np.testing.assert_allclose(got_dx.get(), max_pool2d_backward_naive(dout, x, **options),
                               rtol=1e-15, atol=0)


def test_naive_twins_run_on_the_device_double():
    D = DeviceArray
    assert type(max_pool2d_naive(D(X), 2)) is DeviceArray
    close(avg_pool2d_naive(D(X), 2, padding=1).get(),
                               avg_pool2d(X, 2, padding=1))
    np.testing.assert_array_equal(stochastic_pool2d_naive(D(X), 2, rng=4)[0].get(),
                                  stochastic_pool2d(X, 2, rng=4)[0])


# --- 8. bad input, and inputs left alone ---------------------------------------------------------

x4 = np.ones((1, 1, 4, 4))
BAD = [
    (lambda: max_pool2d(np.ones((1, 4, 4)), 2), ValueError, ["max_pool2d", "x", "x[None]"]),
    (lambda: avg_pool2d(np.ones((1, 4, 4)), 2), ValueError, ["avg_pool2d", "x[None]"]),
    (lambda: max_pool2d(x4, 0), ValueError, ["max_pool2d", "kernel_size", "0"]),
    (lambda: max_pool2d(x4, 2, stride=0), ValueError, ["max_pool2d", "stride"]),
    (lambda: max_pool2d(x4, 2, dilation=-1), ValueError, ["max_pool2d", "dilation"]),
    (lambda: max_pool2d(x4, 2, padding=2), ValueError, ["max_pool2d", "padding", "half"]),
    (lambda: avg_pool2d(x4, 3, padding=-1), ValueError, ["avg_pool2d", "padding"]),
    (lambda: max_pool2d(x4, 5), ValueError, ["max_pool2d", "window", "larger", "4"]),
    (lambda: lp_pool2d(x4, 2, (2, 7)), ValueError, ["lp_pool2d", "width", "larger"]),
    (lambda: max_pool2d(np.ones((1, 1, 4, 4), int), 2), TypeError, ["max_pool2d", "x", "int64"]),
    (lambda: avg_pool2d(np.ones((1, 1, 4, 4), complex), 2), TypeError,
     ["avg_pool2d", "x", "complex"]),
    (lambda: max_pool2d(x4, 2, ceil_mode="yes"), TypeError, ["max_pool2d", "ceil_mode"]),
    (lambda: max_pool2d_backward(np.ones((1, 1, 3, 3)), x4, 2), ValueError,
     ["max_pool2d_backward", "dout", "(1, 1, 2, 2)", "(1, 1, 3, 3)"]),
    (lambda: avg_pool2d_backward(np.ones((1, 1, 2)), x4, 2), ValueError,
     ["avg_pool2d_backward", "dout"]),
    (lambda: lp_pool2d_backward(np.ones((1, 1, 2, 2), np.float32), x4, 2, 2), TypeError,
     ["lp_pool2d_backward", "dtype"]),
    (lambda: max_pool2d_backward_naive(np.ones((1, 1, 1, 1)), x4, 2), ValueError,
     ["max_pool2d_backward_naive", "dout"]),
    (lambda: lp_pool2d(x4, 0, 2), ValueError, ["lp_pool2d", "norm_type", "0"]),
    (lambda: lp_pool2d(x4, "2", 2), ValueError, ["lp_pool2d", "norm_type"]),
    (lambda: stochastic_pool2d(-x4, 2), ValueError, ["stochastic_pool2d", "non-negative"]),
    (lambda: stochastic_pool2d_naive(-x4, 2), ValueError, ["stochastic_pool2d_naive", "x"]),
    (lambda: stochastic_pool2d(x4, 2, rng=1.5), TypeError, ["stochastic_pool2d", "rng"]),
    (lambda: stochastic_pool2d(x4, 5), ValueError, ["stochastic_pool2d", "larger"]),
    (lambda: fractional_max_pool2d(x4, 2, None), ValueError,
     ["fractional_max_pool2d", "output_size"]),
    (lambda: fractional_max_pool2d(x4, 2, (4, 2)), ValueError,
     ["fractional_max_pool2d", "output_size", "height", "5"]),
    (lambda: fractional_max_pool2d(x4, 2, 2, samples=np.zeros((1, 2, 2))), ValueError,
     ["fractional_max_pool2d", "samples", "(1, 1, 2)"]),
    (lambda: fractional_max_pool2d(x4, 2, 2, samples=np.ones((1, 1, 2))), ValueError,
     ["fractional_max_pool2d", "samples", "[0, 1)"]),
    (lambda: max_unpool2d(x4, np.zeros((1, 1, 4, 4), int), None), ValueError,
     ["max_unpool2d", "output_size"]),
    (lambda: max_unpool2d(x4, np.zeros((1, 1, 4, 4), int), "big"), ValueError,
     ["max_unpool2d", "output_size"]),
    (lambda: max_unpool2d(x4, np.full((1, 1, 4, 4), 16), (4, 4)), ValueError,
     ["max_unpool2d", "indices", "[0, 16)"]),
    (lambda: max_unpool2d(x4, np.zeros((1, 1, 4, 4)), (4, 4)), TypeError,
     ["max_unpool2d", "indices", "float64"]),
    (lambda: max_unpool2d(x4, np.zeros((1, 1, 2, 2), int), (4, 4)), ValueError,
     ["max_unpool2d", "indices", "shape"]),
]


@pytest.mark.parametrize("call, error, words", BAD)
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_inputs_are_never_mutated_and_outputs_do_not_alias_them():
    x, dout = distinct(2, (2, 2, 6, 6), 0.1, 2.0), distinct(3, (2, 2, 3, 3))
    samples = np.random.default_rng(1).random((2, 2, 2))
    out, indices = max_pool2d(x, 2, return_indices=True)
    arrays = [x, dout, samples, out, indices]
    copies = [a.copy() for a in arrays]
    results = [
        max_pool2d(x, 1, return_indices=True), max_pool2d_backward(dout, x, 2),
        max_pool2d_naive(x, 2), max_pool2d_backward_naive(dout, x, 2),
        avg_pool2d(x, 1), avg_pool2d_backward(dout, x, 2), avg_pool2d_naive(x, 2, padding=1),
        avg_pool2d_backward_naive(dout, x, 2), lp_pool2d(x, 2, 1), lp_pool2d(x, math.inf, 1),
        lp_pool2d_backward(dout, x, 3, 2), lp_pool2d_backward(dout, x, math.inf, 2),
        lp_pool2d_naive(x, 2, 2), lp_pool2d_backward_naive(dout, x, 2, 2),
        stochastic_pool2d(x, 1, rng=0), stochastic_pool2d(x, 2, training=False)[0],
        stochastic_pool2d_naive(x, 2, rng=0), fractional_max_pool2d(x, 1, 6, samples=samples),
        fractional_max_pool2d_naive(x, 2, 3, samples=samples),
        max_unpool2d(out, indices, (6, 6)), max_unpool2d(out, indices, (6, 6), accumulate=True),
        max_unpool2d_naive(out, indices, (6, 6)),
    ]
    for a, copy in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, copy)
    flat = [r for result in results for r in (result if isinstance(result, tuple) else [result])]
    for r in flat:
        assert not any(np.shares_memory(r, a) for a in arrays)


@pytest.mark.parametrize("shape, kernel", [((4, 3, 8, 8), 2), ((2, 2, 7, 9), 3),
                                           ((3, 1, 6, 7), (2, 3))])
def test_windows_that_tile_the_input_keep_the_first_maximum_on_ties(shape, kernel):
    # stride == kernel takes a running-maximum fast path; small integers make ties common.
    x = np.random.default_rng(5).integers(0, 3, size=shape).astype(float)
    out, indices = max_pool2d(x, kernel, return_indices=True)
    naive_out, naive_indices = max_pool2d_naive(x, kernel, return_indices=True)
    np.testing.assert_array_equal(out, naive_out)
    np.testing.assert_array_equal(indices, naive_indices)
    dout = np.random.default_rng(6).standard_normal(out.shape)
    np.testing.assert_allclose(max_pool2d_backward(dout, x, kernel),
                               max_pool2d_backward_naive(dout, x, kernel))
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    tx = torch.tensor(x, requires_grad=True)
    t_out, t_indices = torch.nn.functional.max_pool2d(tx, kernel, return_indices=True)
    t_out.backward(torch.tensor(dout))
    np.testing.assert_array_equal(indices, t_indices.numpy())
    np.testing.assert_allclose(max_pool2d_backward(dout, x, kernel), tx.grad.numpy())
