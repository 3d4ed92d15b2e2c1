"""convnb.cuda's kernels against the loops and formulas: im2col's gather and fold, direct
convolution (dense, grouped, depthwise) with its bias and channel sums, max and average pooling,
the softmax cross-entropy and a linear layer's bias gradient, through the calls a GPU run makes
(conv2d, its backward, the pooling functions, the layers); and the fused optimiser steps against
the array code.

Each test runs twice where it can: ``g++``, the kernels' CUDA source compiled for the CPU
(tests/cuda_on_cpu.py: one thread at a time) on NumPy arrays, which the algorithms are told are
CuPy's; and ``cupy``, the real kernels on a GPU, where there is one.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from cuda_on_cpu import compiler, fake_cupy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import PADDING_MODES, conv2d_cases

import convnb
import convnb.nn as nn
from convnb import cuda
from convnb.backend import asnumpy, get_array_module, gpu_available

ONCE = [HealthCheck.function_scoped_fixture]  # the fixture holds for every example alike
WHERE = [pytest.param("g++", marks=pytest.mark.skipif(compiler() is None,
                                                      reason="needs g++ to compile the kernels"))]
if gpu_available():
    WHERE.append("cupy")


@pytest.fixture(params=WHERE)
def kernels(request, monkeypatch):
    """Moves a NumPy array to where convnb.cuda's kernels run: the CPU (g++) or the GPU."""
    if request.param == "cupy":
        import cupy

        return cupy.asarray
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy())
    monkeypatch.setattr(cuda, "_kernel", cuda._kernel.__wrapped__)  # no GPU kernels cached
    monkeypatch.setattr(cuda, "is_cupy_array", lambda a: isinstance(a, np.ndarray))
    return lambda a: a


def check_conv(to, case, algo, dtype):
    x, w, b, kw = (case[k] for k in ("x", "w", "b", "kwargs"))
    expected = convnb.conv2d_naive(x, w, b, **kw)
    dout = np.random.default_rng(1).standard_normal(expected.shape)
    expected_grads = convnb.conv2d_backward_naive(dout, x, w, **kw)
    x, w, b, dout = (to(a.astype(dtype)) for a in (x, w, b, dout))
    tol = 1e-10 if dtype == np.float64 else 1e-4
    out = convnb.conv2d(x, w, b, algo=algo, **kw)
    grads = convnb.conv2d_backward(dout, x, w, algo=algo, **kw)
    for mine, theirs in zip((out, *grads), (expected, *expected_grads), strict=True):
        assert mine.dtype == dtype and type(mine) is type(x)
        np.testing.assert_allclose(asnumpy(mine), theirs, rtol=tol,
                                   atol=tol * max(1, abs(theirs).max()))


@settings(max_examples=60, suppress_health_check=ONCE)
@given(case=conv2d_cases(max_batch=3, padding_modes=PADDING_MODES),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_im2col_kernels_match_the_loops(kernels, case, dtype):
    check_conv(kernels, case, "im2col", dtype)


@settings(max_examples=60, suppress_health_check=ONCE)
@given(case=conv2d_cases(max_batch=3, padding_modes=PADDING_MODES),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_direct_kernels_match_the_loops(kernels, case, dtype):
    check_conv(kernels, case, "direct", dtype)


@pytest.mark.parametrize("x_shape, w_shape, kw", [
    ((9, 2, 8, 8), (3, 2, 3, 3), dict(padding=1)),  # 64 pixels, 4 threads each, 9 examples
    ((2, 2, 20, 20), (4, 1, 3, 3), dict(padding=1, groups=2)),  # 400 pixels: one thread each
    ((5, 3, 7, 9), (4, 3, 2, 3), dict(stride=2, dilation=(2, 1))),  # 12 pixels, 21 threads
])
def test_direct_weight_gradient_shares_pixels_and_examples_among_threads(kernels, x_shape,
                                                                         w_shape, kw):
    rng = np.random.default_rng(8)
    case = {"x": rng.standard_normal(x_shape), "w": rng.standard_normal(w_shape),
            "b": rng.standard_normal(w_shape[0]), "kwargs": kw}
    check_conv(kernels, case, "direct", np.float64)


@st.composite
def depthwise_cases(draw):
    C, N = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    KH, KW = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    H = max(draw(st.integers(1, 9)), dilation[0] * (KH - 1) + 1 - 2 * padding[0])
    W = max(draw(st.integers(1, 9)), dilation[1] * (KW - 1) + 1 - 2 * padding[1])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {"x": rng.standard_normal((N, C, H, W)), "w": rng.standard_normal((C, 1, KH, KW)),
            "b": rng.standard_normal(C),
            "kwargs": dict(stride=stride, padding=padding, dilation=dilation, groups=C)}


@settings(max_examples=60, suppress_health_check=ONCE)
@given(case=depthwise_cases(), dtype=st.sampled_from([np.float64, np.float32]))
def test_depthwise_kernels_match_the_loops(kernels, case, dtype):
    check_conv(kernels, case, "direct", dtype)


POOLS = [
    dict(kernel_size=2, stride=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=1, padding=1, dilation=2),
    dict(kernel_size=(2, 3), stride=(3, 2), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
]


@pytest.mark.parametrize("kw", POOLS)
@pytest.mark.parametrize("special", [None, "nan", "-inf"])
def test_max_pool_kernels_match_the_loops(kernels, kw, special):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 8))
    x[0, 0, :2, :4] = x[0, 0, 0, 0]  # ties: the first maximum wins
    if special == "nan":
        x[1, 1, 2:4, 3] = np.nan  # two NaNs in a window: the last wins
        x[0, 2, 5, 5] = np.nan
    elif special == "-inf":
        x[1, 2, :4, :4] = -math.inf  # windows of -inf only send nothing back
    out, indices = convnb.max_pool2d(kernels(x), return_indices=True, **kw)
    want, want_indices = convnb.max_pool2d_naive(x, return_indices=True, **kw)
    np.testing.assert_array_equal(asnumpy(out), want)
    np.testing.assert_array_equal(asnumpy(indices), want_indices)
    np.testing.assert_array_equal(asnumpy(convnb.max_pool2d(kernels(x), **kw)), want)
    dout = rng.standard_normal(out.shape)
    want_dx = convnb.max_pool2d_backward_naive(dout, x, **kw)
    dx = convnb.max_pool2d_backward(kernels(dout), kernels(x), **kw)
    np.testing.assert_allclose(asnumpy(dx), want_dx, rtol=1e-12, atol=1e-12)
    layer = nn.MaxPool2d(**kw)
    np.testing.assert_array_equal(asnumpy(layer(kernels(x.astype(np.float32)))),
                                  want.astype(np.float32))
    dx = layer.backward(kernels(dout.astype(np.float32)))
    np.testing.assert_allclose(asnumpy(dx), want_dx, rtol=1e-6, atol=1e-6)


def test_cross_entropy_kernel_matches_the_formula(kernels):
    """loss = mean(logsumexp(z) - z[y]) and d loss / dz = (softmax(z) - onehot(y)) / N, with
    SciPy's logsumexp; a target outside [0, K) makes the loss NaN."""
    from scipy.special import logsumexp, softmax

    rng = np.random.default_rng(6)
    z, y = rng.standard_normal((300, 10)) * 5, rng.integers(0, 10, 300)  # more rows than threads
    for reduction, scale in (("mean", 1 / 300), ("sum", 1.0)):
        loss_fn = nn.CrossEntropyLoss(reduction)
        loss = loss_fn(kernels(z), kernels(y))
        want = (logsumexp(z, axis=1) - z[np.arange(300), y]).sum() * scale
        np.testing.assert_allclose(float(asnumpy(loss)), want, rtol=1e-12)
        grad = softmax(z, axis=1) - np.eye(10)[y]
        np.testing.assert_allclose(asnumpy(loss_fn.backward()), grad * scale, rtol=1e-10,
                                   atol=1e-15)
    y[7] = 10  # the layer refuses it on the host; the kernel, run on the device, gives NaN
    probs, loss = cuda.cross_entropy(kernels(z), kernels(y), True)
    assert np.isnan(float(asnumpy(loss))) and np.isnan(asnumpy(probs)[7]).all()
    np.testing.assert_allclose(asnumpy(probs)[:7], softmax(z[:7], axis=1), rtol=1e-12)


def test_linear_bias_gradient_kernel_sums_the_rows(kernels):
    rng = np.random.default_rng(7)
    layer = nn.Linear(5, 3).to(np.float64)
    layer.weight.data, layer.bias.data = (kernels(p.data) for p in (layer.weight, layer.bias))
    x, dout = rng.standard_normal((70, 5)), rng.standard_normal((70, 3))
    layer(kernels(x))
    layer.backward(kernels(dout))
    np.testing.assert_allclose(asnumpy(layer.bias.grad), dout.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(asnumpy(layer.weight.grad), dout.T @ x, rtol=1e-12)


AVG_POOLS = [
    dict(kernel_size=2, stride=2),  # windows tile the input
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 2), ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=1, padding=1, ceil_mode=True),
]


@pytest.mark.parametrize("kw", AVG_POOLS)
def test_avg_pool_kernels_match_the_loops(kernels, kw):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 7, 8))
    want = convnb.avg_pool2d_naive(x, **kw)
    np.testing.assert_allclose(asnumpy(convnb.avg_pool2d(kernels(x), **kw)), want, rtol=1e-12,
                               atol=1e-14)
    dout = rng.standard_normal(want.shape)
    dx = convnb.avg_pool2d_backward(kernels(dout), kernels(x), **kw)
    np.testing.assert_allclose(asnumpy(dx), convnb.avg_pool2d_backward_naive(dout, x, **kw),
                               rtol=1e-12, atol=1e-14)
    layer = nn.AvgPool2d(**kw)
    np.testing.assert_allclose(asnumpy(layer(kernels(x.astype(np.float32)))), want, rtol=1e-5)


def test_lp_pooling_gradient_goes_through_the_average_kernel(kernels):
    x = np.abs(np.random.default_rng(10).standard_normal((2, 3, 7, 8))) + 0.1
    dout = np.ones(convnb.lp_pool2d_naive(x, 2, 3, 2, True).shape)
    np.testing.assert_allclose(
        asnumpy(convnb.lp_pool2d_backward(kernels(dout), kernels(x), 2, 3, 2, True)),
        convnb.lp_pool2d_backward_naive(dout, x, 2, 3, 2, True), rtol=1e-10)


OPTIMISERS = {
    "sgd": lambda ps: nn.SGD(ps, lr=0.1),
    "sgd-decay": lambda ps: nn.SGD(ps, lr=0.1, weight_decay=0.01),
    "sgd-momentum": lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.01),
    "sgd-nesterov": lambda ps: nn.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda ps: nn.Adam(ps, lr=0.01),
    "adam-decay": lambda ps: nn.Adam(ps, lr=0.01, betas=(0.8, 0.9), weight_decay=0.1),
}


@pytest.mark.skipif(not gpu_available(), reason="needs CuPy and a GPU (fused elementwise kernels)")
def test_fused_optimiser_steps_match_the_array_code():
    import cupy

    rng = np.random.default_rng(5)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        start = rng.standard_normal((4, 3)).astype(dtype)
        grads = [rng.standard_normal((4, 3)).astype(dtype) for _ in range(4)]
        for name, make in OPTIMISERS.items():
            results = []
            for to in (lambda a: a, cupy.asarray):
                p = nn.Parameter(to(start.copy()))
                opt = make([p])
                for g in grads:
                    p.grad = to(g)
                    opt.step()
                results.append(asnumpy(p.data))
            assert not np.array_equal(results[0], start)
            np.testing.assert_allclose(results[1], results[0], rtol=tol, atol=tol,
                                       err_msg=f"{name}, {dtype.__name__}")


def test_the_kernels_are_what_ran(kernels, monkeypatch):
    """The fixture really routes through convnb.cuda: a broken fold kernel shows in dx."""
    calls = []
    patches = cuda.patches
    monkeypatch.setattr(cuda, "patches", lambda *a: calls.append("patches") or patches(*a))
    monkeypatch.setattr(cuda, "fold", lambda cols, g, out: out.fill(0) or out)
    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))
    out = convnb.conv2d(kernels(x), kernels(w), padding=1, algo="im2col")
    np.testing.assert_array_equal(asnumpy(out), convnb.conv2d_naive(x, w, padding=1))
    dx, _, _ = convnb.conv2d_backward(out, kernels(x), kernels(w), padding=1, algo="im2col")
    assert calls and not dx.any()


def test_the_kernels_take_inputs_in_any_memory_layout(kernels):
    """The kernels read C-ordered memory; given Fortran-ordered inputs (the same numbers, laid
    out the other way), each public call still matches the loops. (On the CPU, a kernel handed
    a non-contiguous array fails an assertion of cuda_on_cpu.)"""
    def other_layout(a):
        moved = kernels(a)
        return get_array_module(moved).asfortranarray(moved)

    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((3, 4, 6, 7)), rng.standard_normal((4, 2, 3, 2)), np.ones(4)
    kw = dict(padding=1, groups=2)
    want = convnb.conv2d_naive(x, w, b, **kw)
    dout = rng.standard_normal(want.shape)
    want_grads = convnb.conv2d_backward_naive(dout, x, w, **kw)
    for algo in ("direct", "im2col"):
        got = convnb.conv2d(other_layout(x), other_layout(w), other_layout(b), algo=algo, **kw)
        np.testing.assert_allclose(asnumpy(got), want, rtol=1e-12, atol=1e-12)
        grads = convnb.conv2d_backward(other_layout(dout), other_layout(x), other_layout(w),
                                       algo=algo, **kw)
        for mine, theirs in zip(grads, want_grads, strict=True):
            np.testing.assert_allclose(asnumpy(mine), theirs, rtol=1e-12, atol=1e-12)
    pool = dict(kernel_size=3, stride=2, padding=1)
    for forward, backward, naive, naive_backward in (
            (convnb.max_pool2d, convnb.max_pool2d_backward, convnb.max_pool2d_naive,
             convnb.max_pool2d_backward_naive),
            (convnb.avg_pool2d, convnb.avg_pool2d_backward, convnb.avg_pool2d_naive,
             convnb.avg_pool2d_backward_naive)):
        want = naive(x, **pool)
        np.testing.assert_allclose(asnumpy(forward(other_layout(x), **pool)), want, rtol=1e-12)
        dout = rng.standard_normal(want.shape)
        np.testing.assert_allclose(asnumpy(backward(other_layout(dout), other_layout(x), **pool)),
                                   naive_backward(dout, x, **pool), rtol=1e-12, atol=1e-14)
    z, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    from scipy.special import logsumexp

    loss = nn.CrossEntropyLoss()(other_layout(z), kernels(y))
    np.testing.assert_allclose(float(asnumpy(loss)),
                               np.mean(logsumexp(z, axis=1) - z[np.arange(5), y]), rtol=1e-12)


def test_the_kernels_refuse_arrays_their_32_bit_indices_cannot_reach(monkeypatch):
    """A grid-stride index steps up to MAX_BLOCKS * THREADS past the last entry: it must stay
    below 2**31, else the kernels are not used (the array code is)."""
    monkeypatch.setattr(cuda, "is_cupy_array", lambda a: True)
    a = np.zeros(1, dtype=np.float32)
    assert cuda.usable(a, 2**30) and cuda.usable(a, cuda.MAX_ENTRIES)
    assert not cuda.usable(a, 2**31 - 1)
    assert not cuda.usable(a, cuda.MAX_ENTRIES + 1)
    assert not cuda.usable(a.astype(np.float16), 10)  # no half-precision kernels
