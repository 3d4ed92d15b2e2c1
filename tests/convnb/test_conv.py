"""conv1d / conv2d and their backward passes: lecture examples, oracles, gradients, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st
from strategies import PADDING_MODES, conv2d_cases

import convnb
from convnb import conv1d, conv1d_backward, conv2d, conv2d_backward, gradcheck
from convnb._checks import resolve_padding
from convnb.conv import conv2d_weight_backward

NP_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def scipy_conv2d(x, w, b, stride, padding, dilation, groups, padding_mode):
    """An oracle that shares nothing with convnb: NumPy padding, SciPy's 2-D correlation per
    channel pair, explicit dilation by inserting zeros, and subsampling for the stride."""
    (sh, sw), (dh, dw) = stride, dilation
    F, Cg, KH, KW = w.shape
    top, bottom, left, right = resolve_padding(padding, (KH, KW), dilation, stride, "oracle")
    xpad = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)),
                  mode=NP_PAD_MODE[padding_mode])
    wide = np.zeros((F, Cg, dh * (KH - 1) + 1, dw * (KW - 1) + 1))
    wide[:, :, ::dh, ::dw] = w
    out = []
    for n in range(x.shape[0]):
        maps = []
        for f in range(F):
            c0 = (f // (F // groups)) * Cg
            full = sum(scipy.signal.correlate2d(xpad[n, c0 + c], wide[f, c], mode="valid")
                       for c in range(Cg))
            maps.append(full[::sh, ::sw] + b[f])
        out.append(maps)
    return np.array(out)


# --- the lectures' worked examples ------------------------------------------------------------

LECTURE_X = np.array([  # the 5x5x3 input of lecture 001, one channel per block (CHW here)
    [[2, 1, 0, 2, 2], [0, 0, 2, 2, 0], [1, 0, 1, 2, 2], [0, 2, 2, 2, 0], [2, 2, 0, 0, 2]],
    [[2, 2, 0, 2, 1], [1, 2, 2, 2, 1], [1, 2, 2, 2, 1], [2, 1, 0, 1, 1], [0, 0, 1, 1, 0]],
    [[2, 2, 1, 0, 2], [1, 2, 2, 2, 2], [0, 0, 0, 1, 0], [1, 0, 2, 1, 2], [2, 2, 1, 0, 1]],
], dtype=float)
LECTURE_W = np.array([
    [[[1, 1, -1], [1, 1, 0], [1, 1, -1]], [[1, -1, 0], [1, 1, 0], [1, -1, 1]],
     [[0, 0, 1], [-1, 0, -1], [-1, 1, -1]]],
    [[[1, 0, 0], [0, 1, 0], [0, 0, 0]], [[1, -1, -1], [1, -1, -1], [0, -1, 1]],
     [[-1, 0, 1], [-1, -1, 1], [1, -1, 0]]],
], dtype=float)
LECTURE_B = np.array([1.0, 0.0])
LECTURE_OUT = np.array([
    [[3, 2, 11], [2, 12, 13], [-3, 6, 6]],
    [[-2, -3, 0], [-5, -3, 1], [-1, -2, 3]],
], dtype=float)


@pytest.mark.parametrize("fn", [conv2d, convnb.conv2d_naive])
def test_lecture_5x5x3_two_filters_stride2_pad1(fn):
    out = fn(LECTURE_X[None], LECTURE_W, LECTURE_B, stride=2, padding=1)
    np.testing.assert_array_equal(out[0], LECTURE_OUT)


def test_lecture_5x5x3_with_fft():
    out = conv2d(LECTURE_X[None], LECTURE_W, LECTURE_B, stride=2, padding=1, algo="fft")
    np.testing.assert_allclose(out[0], LECTURE_OUT, atol=1e-12)


def test_lecture_83_75_14_6_network_sizes():
    x = np.zeros((1, 1, 83, 83))
    h = conv2d(x, np.zeros((64, 1, 9, 9)))
    assert h.shape == (1, 64, 75, 75)
    assert convnb.pool_output_size(75, 10, 5) == 14
    h = np.zeros((1, 64, 14, 14))
    assert conv2d(h, np.zeros((256, 64, 9, 9))).shape == (1, 256, 6, 6)


@pytest.mark.parametrize(
    "i, k, s, padding, expected",
    [
        (4, 3, 1, "valid", 2),  # o = i - k + 1
        (5, 4, 1, 2, 6),        # o = i - k + 2p + 1
        (5, 3, 1, "same", 5),   # half padding, odd k: o = i
        (5, 3, 1, "full", 7),   # full padding: o = i + k - 1
        (7, 3, 2, 0, 3),        # o = floor((i - k) / s) + 1
        (6, 3, 2, 0, 2),        # the floor drops the last column
        (5, 3, 2, 1, 3),        # o = floor((i + 2p - k) / s) + 1
    ],
)
def test_lecture_output_size_relations(i, k, s, padding, expected):
    out = conv2d(np.ones((1, 1, i, i)), np.ones((1, 1, k, k)), stride=s, padding=padding)
    assert out.shape[-2:] == (expected, expected)
    if not isinstance(padding, str):
        assert convnb.conv_output_size(i, k, s, padding) == expected


def test_lecture_dilated_kernel_output_size():
    # i = 7, k = 3, d = 2, s = 1, p = 0: the dilated kernel spans 5, so o = 3.
    assert conv2d(np.ones((1, 1, 7, 7)), np.ones((1, 1, 3, 3)), dilation=2).shape == (1, 1, 3, 3)


def test_lecture_cost_formula_matches_counted_multiplications():
    # M channels, N kernels of K x K on a D x D input: M K^2 N (D-K+1)^2 multiply-adds.
    M, N, K, D = 3, 4, 5, 12
    counted = sum(1 for _f in range(N) for _i in range(D - K + 1) for _j in range(D - K + 1)
                  for _c in range(M) for _u in range(K) for _v in range(K))
    assert convnb.conv_macs(M, N, K, K, D - K + 1, D - K + 1) == counted == M * K * K * N * 64


def test_one_by_one_convolution_is_a_dot_product_over_channels():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((6, 3, 1, 1))
    expected = np.einsum("nchw,fc->nfhw", x, w[:, :, 0, 0])
    np.testing.assert_allclose(conv2d(x, w), expected, rtol=1e-12, atol=1e-12)


# --- property tests against independent oracles --------------------------------------------------

@given(conv2d_cases(padding_modes=PADDING_MODES))
def test_conv2d_matches_scipy_oracle(case):
    kw = case["kwargs"]
    expected = scipy_conv2d(case["x"], case["w"], case["b"], kw["stride"], kw["padding"],
                            kw["dilation"], kw["groups"], kw["padding_mode"])
    np.testing.assert_allclose(conv2d(case["x"], case["w"], case["b"], **kw), expected,
                               rtol=1e-10, atol=1e-10)


@given(conv2d_cases(padding_modes=PADDING_MODES))
def test_conv2d_forward_and_backward_match_torch(case):
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    x, w, b, kw = case["x"], case["w"], case["b"], case["kwargs"]
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    padding = kw["padding"]
    if padding == "full":  # PyTorch has no "full": state it as numbers
        padding = tuple(d * (k - 1) for d, k in zip(kw["dilation"], w.shape[2:], strict=True))
    layer = torch.nn.Conv2d(x.shape[1], w.shape[0], w.shape[2:], stride=kw["stride"],
                            padding=padding, dilation=kw["dilation"], groups=kw["groups"],
                            padding_mode=kw["padding_mode"])
    with warnings.catch_warnings():  # the oracle's note on its own memory use, not ours
        warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
        expected = layer._conv_forward(tx, tw, tb)
    dout = np.random.default_rng(1).standard_normal(expected.shape)
    expected.backward(torch.tensor(dout))
    np.testing.assert_allclose(conv2d(x, w, b, **kw), expected.detach().numpy(),
                               rtol=1e-10, atol=1e-10)
    dx, dw, db = conv2d_backward(dout, x, w, **kw)
    dw_only, db_only = conv2d_weight_backward(dout, x, w, **kw)  # the first layer's backward
    for mine, theirs in ((dx, tx), (dw, tw), (db, tb), (dw_only, tw), (db_only, tb)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


@given(conv2d_cases(padding_modes=PADDING_MODES))
def test_naive_fft_and_im2col_agree(case):
    x, w, b, kw = case["x"], case["w"], case["b"], case["kwargs"]
    out = conv2d(x, w, b, **kw)
    np.testing.assert_allclose(convnb.conv2d_naive(x, w, b, **kw), out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(conv2d(x, w, b, algo="fft", **kw), out, rtol=1e-9, atol=1e-9)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    for fast, slow in zip(conv2d_backward(dout, x, w, **kw),
                          convnb.conv2d_backward_naive(dout, x, w, **kw), strict=True):
        np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-10)


@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 2), st.integers(0, 2**32 - 1))
def test_conv1d_matches_numpy_correlate_and_naive(stride, k, dilation, padding, groups, seed):
    rng = np.random.default_rng(seed)
    L = dilation * (k - 1) + 1 + rng.integers(0, 6)
    x = rng.standard_normal((2, 2 * groups, L))
    w = rng.standard_normal((3 * groups, 2, k))
    out = conv1d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    wide = np.zeros((w.shape[0], 2, dilation * (k - 1) + 1))
    wide[:, :, ::dilation] = w
    expected = np.array([[sum(np.correlate(xpad[n, (f // 3) * 2 + c], wide[f, c], "valid")
                              for c in range(2))[::stride] for f in range(w.shape[0])]
                         for n in range(2)])
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    np.testing.assert_allclose(convnb.conv1d_naive(x, w, **args), out, rtol=1e-10, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    for fast, slow in zip(conv1d_backward(dout, x, w, **args),
                          convnb.conv1d_backward_naive(dout, x, w, **args), strict=True):
        np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-10)


def test_conv1d_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 4, 11)), rng.standard_normal((6, 2, 3)), np.ones(6)
    for padding_mode in PADDING_MODES:
        layer = torch.nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2,
                                padding_mode=padding_mode)
        expected = layer._conv_forward(*(torch.tensor(a) for a in (x, w, b))).numpy()
        out = conv1d(x, w, b, stride=2, padding=2, dilation=2, groups=2,
                     padding_mode=padding_mode)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)


# --- gradients ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
    dict(padding="same", dilation=2),
    dict(groups=2, padding="full"),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=2, padding_mode="replicate", stride=2),
    dict(padding=(1, 2), padding_mode="circular"),
])
def test_conv2d_backward_passes_gradcheck(kw):
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 4 // kw.get("groups", 1),
                                                                      3, 2)), rng.standard_normal(4)
    out = conv2d(x, w, b, **kw)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv2d_backward(dout, x, w, **kw)
    error = gradcheck(lambda x, w, b: conv2d(x, w, b, **kw), {"x": x, "w": w, "b": b},
                      {"x": dx, "w": dw, "b": db}, dout)
    assert error < 1e-7


def test_conv1d_backward_passes_gradcheck():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 2, 9)), rng.standard_normal((3, 2, 3)), np.zeros(3)
    kw = dict(stride=2, padding=1, dilation=2, padding_mode="reflect")
    dout = rng.standard_normal(conv1d(x, w, **kw).shape)
    dx, dw, db = conv1d_backward(dout, x, w, **kw)
    assert gradcheck(lambda x, w, b: conv1d(x, w, b, **kw), {"x": x, "w": w, "b": b},
                     {"x": dx, "w": dw, "b": db}, dout) < 1e-7


def test_adjointness_of_input_gradient():
    # <conv(x), y> is linear in x, so dx for dout = y must satisfy <conv(x), y> = <x, dx>.
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 3, 7, 8)), rng.standard_normal((5, 3, 3, 3))
    y = rng.standard_normal(conv2d(x, w, stride=2, padding=1).shape)
    dx, _, _ = conv2d_backward(y, x, w, stride=2, padding=1)
    assert np.isclose(np.vdot(conv2d(x, w, stride=2, padding=1), y), np.vdot(x, dx), rtol=1e-12)


# --- equivariance ---------------------------------------------------------------------------------

@given(st.integers(-4, 4), st.integers(-4, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_convolution_is_translation_equivariant(dy, dx, k, seed):
    # With circular padding, shifting the input shifts the output by the same amount.
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((1, 2, 8, 9)), rng.standard_normal((3, 2, 2 * k - 1, k))
    conv = lambda a: conv2d(a, w, padding="same", padding_mode="circular")  # noqa: E731
    np.testing.assert_allclose(conv(np.roll(x, (dy, dx), axis=(2, 3))),
                               np.roll(conv(x), (dy, dx), axis=(2, 3)), rtol=1e-10, atol=1e-10)


@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_strided_convolution_is_equivariant_to_shifts_by_the_stride(a, b, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((1, 1, 12, 12)), rng.standard_normal((2, 1, 3, 3))
    conv = lambda z: conv2d(z, w, stride=2, padding=1, padding_mode="circular")  # noqa: E731
    shifted = conv(np.roll(x, (2 * a, 2 * b), axis=(2, 3)))
    np.testing.assert_allclose(shifted, np.roll(conv(x), (a, b), axis=(2, 3)), atol=1e-10)


# --- dtypes, layouts, devices -------------------------------------------------------------------

def test_float32_stays_float32_and_close_to_float64():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    for algo in ("im2col", "flat", "fft"):
        out = conv2d(x.astype(np.float32), w.astype(np.float32), padding=1, algo=algo)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, conv2d(x, w, padding=1), rtol=1e-4, atol=1e-4)
    grads = conv2d_backward(np.ones((2, 4, 8, 8), np.float32), x.astype(np.float32),
                            w.astype(np.float32), padding=1)
    assert all(g.dtype == np.float32 for g in grads)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 7, 6, 3)).transpose(0, 3, 2, 1)  # (2, 3, 6, 7), not contiguous
    w = rng.standard_normal((3, 3, 4, 2))[:, :, ::2]             # (3, 3, 2, 2), strided
    np.testing.assert_allclose(conv2d(x, w, stride=2), conv2d(x.copy(), w.copy(), stride=2))


@pytest.mark.parametrize("algo", ["direct", "im2col", "flat", "fft"])
def test_conv2d_runs_on_the_backend_of_its_input(to_backend, host, algo):
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((2, 4, 6, 7)), rng.standard_normal((4, 2, 3, 3)), np.ones(4)
    kw = dict(stride=(1, 2), padding=1, groups=2, padding_mode="reflect")
    out = conv2d(to_backend(x), to_backend(w), to_backend(b), algo=algo, **kw)
    assert type(out) is type(to_backend(x))
    np.testing.assert_allclose(host(out), conv2d(x, w, b, **kw), rtol=1e-10, atol=1e-10)
    dout = rng.standard_normal(out.shape)
    grads = conv2d_backward(to_backend(dout), to_backend(x), to_backend(w), algo=algo, **kw)
    for g, expected in zip(grads, conv2d_backward(dout, x, w, **kw), strict=True):
        assert type(g) is type(to_backend(x))
        np.testing.assert_allclose(host(g), expected, rtol=1e-10, atol=1e-10)


def test_conv1d_and_naive_versions_run_on_the_backend_of_their_input(to_backend, host):
    rng = np.random.default_rng(10)
    x, w = rng.standard_normal((1, 2, 4, 5)), rng.standard_normal((2, 2, 2, 2))
    out = convnb.conv2d_naive(to_backend(x), to_backend(w), padding=1, padding_mode="replicate")
    np.testing.assert_allclose(host(out), conv2d(x, w, padding=1, padding_mode="replicate"))
    dout = np.ones(out.shape)
    for g, e in zip(convnb.conv2d_backward_naive(to_backend(dout), to_backend(x), to_backend(w),
                                                 padding=1, padding_mode="replicate"),
                    conv2d_backward(dout, x, w, padding=1, padding_mode="replicate"), strict=True):
        np.testing.assert_allclose(host(g), e, atol=1e-12)
    x1, w1 = x[:, :, 0], w[:, :, 0]
    out1 = conv1d(to_backend(x1), to_backend(w1), padding="same")
    np.testing.assert_allclose(host(out1), conv1d(x1, w1, padding="same"))
    grads = conv1d_backward(to_backend(np.ones(out1.shape)), to_backend(x1), to_backend(w1),
                            padding="same")
    assert all(type(g) is type(to_backend(x1)) for g in grads)


# --- bad input ------------------------------------------------------------------------------------

X, W = np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3))


@pytest.mark.parametrize("call, error, message", [
    (lambda: conv2d(X[0], W), ValueError, r"conv2d: x must have 4 dimensions.*x\[None\]"),
    (lambda: conv2d(X, W[0]), ValueError, r"conv2d: w must have 4 dimensions"),
    (lambda: conv2d(X, np.zeros((2, 4, 3, 3))), ValueError,
     r"conv2d: x has 3 channels but w expects 4 \(w.shape\[1\] \* groups"),
    (lambda: conv2d(X, np.zeros((2, 1, 3, 3)), groups=2), ValueError,
     r"conv2d: groups \(2\) must divide the channels of x \(3\)"),
    (lambda: conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"conv2d: groups \(2\) must divide the filters of w \(3"),
    (lambda: conv2d(X, np.zeros((2, 3, 6, 3))), ValueError,
     r"conv2d: the kernel height 6 .* larger than the padded input height 5"),
    (lambda: conv2d(X, W, dilation=3), ValueError, r"conv2d: the kernel height 3 \(spanning 7"),
    (lambda: conv2d(X, W, stride=0), ValueError, r"conv2d: stride must be .* positive, got 0"),
    (lambda: conv2d(X, W, stride=(1, -1)), ValueError, r"conv2d: stride .* got \(1, -1\)"),
    (lambda: conv2d(X, W, dilation=0), ValueError, r"conv2d: dilation .* got 0"),
    (lambda: conv2d(X, W, padding=-1), ValueError, r"conv2d: padding .* got -1"),
    (lambda: conv2d(X, W, padding="half"), ValueError, r"conv2d: padding must be .* got 'half'"),
    (lambda: conv2d(X, W, padding="same", stride=2), ValueError,
     r"conv2d: padding='same' needs stride 1"),
    (lambda: conv2d(X, W, padding_mode="mirror"), ValueError,
     r"conv2d: padding_mode must be one of .* got 'mirror'"),
    (lambda: conv2d(X, W, padding=5, padding_mode="reflect"), ValueError,
     r"conv2d: padding_mode='reflect' needs padding smaller than the input height \(5\)"),
    (lambda: conv2d(X, W, algo="cudnn"), ValueError, r"conv2d: algo must be one of"),
    (lambda: conv2d(X, W, groups=0), ValueError, r"conv2d: groups must be a positive int"),
    (lambda: conv2d(X.astype(int), W), TypeError, r"conv2d: x must hold real floating.*int64"),
    (lambda: conv2d(X, W.astype(complex)), TypeError, r"conv2d: w must hold real floating"),
    (lambda: conv2d(X.astype(np.float32), W), TypeError,
     r"conv2d: all arrays must have the same dtype, got x is float32, w is float64"),
    (lambda: conv2d(X, W, np.zeros(3)), ValueError, r"conv2d: b must have shape \(F,\) = \(2,\)"),
    (lambda: conv2d([[1.0]], W), TypeError, r"conv2d: x must be an array"),
    (lambda: conv2d(np.zeros((1, 3, 0, 5)), W), ValueError, r"conv2d: x must not be empty"),
    (lambda: conv2d_backward(np.zeros((1, 2, 4, 4)), X, W), ValueError,
     r"conv2d_backward: dout must have the output's shape \(1, 2, 3, 3\), got \(1, 2, 4, 4\)"),
    (lambda: conv2d_backward(np.zeros((1, 2, 3, 3), np.float32), X, W), TypeError,
     r"conv2d_backward: all arrays must have the same dtype"),
    (lambda: conv1d(X[0, :, 0], W[:, :, 0]), ValueError,
     r"conv1d: x must have 3 dimensions.*x\[None\]"),
    (lambda: conv1d(X[:, :, 0], W[:, :, 0], stride=(1, 2)), ValueError,
     r"conv1d: stride must be an int for a 1-D convolution"),
    (lambda: conv1d(X[:, :, 0], W[:, :, 0], padding=(1, 2)), ValueError,
     r"conv1d: padding must be an int or a string"),
    (lambda: convnb.conv2d_naive(X, np.zeros((2, 4, 3, 3))), ValueError,
     r"conv2d_naive: x has 3 channels but w expects 4"),
])
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_inputs_are_never_mutated():
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3)), np.ones(2)
    dout = rng.standard_normal((2, 2, 5, 5))
    saved = [a.copy() for a in (x, w, b, dout)]
    for mode in PADDING_MODES:
        conv2d(x, w, b, padding=1, padding_mode=mode)
        conv2d(x, w, b, padding=1, padding_mode=mode, algo="fft")
        convnb.conv2d_naive(x, w, b, padding=1, padding_mode=mode)
        conv2d_backward(dout, x, w, padding=1, padding_mode=mode)
        convnb.conv2d_backward_naive(dout, x, w, padding=1, padding_mode=mode)
    conv1d(x[:, :, 0], w[:, :, 0], b, padding=1)
    conv1d_backward(dout[:, :, 0], x[:, :, 0], w[:, :, 0], padding=1)
    for before, after in zip(saved, (x, w, b, dout), strict=True):
        np.testing.assert_array_equal(before, after)


def test_outputs_do_not_alias_inputs():
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 1, 1))
    out = conv2d(x, w)
    out[...] = 7
    assert (x == 1).all()
