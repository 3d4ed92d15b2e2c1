"""Locally connected and tiled convolution: checked against convolution (convnb and PyTorch),
against each other, against their loop definitions, and by finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convnb import (
    conv2d,
    conv2d_backward,
    conv_output_size,
    conv_params,
    get_array_module,
    gradcheck,
    linear_params,
    locally_connected2d,
    locally_connected2d_backward,
    locally_connected2d_backward_naive,
    locally_connected2d_naive,
    locally_connected_params,
    tiled_conv2d,
    tiled_conv2d_backward,
    tiled_conv2d_backward_naive,
    tiled_conv2d_naive,
)

FORWARD = {"local": (locally_connected2d, locally_connected2d_naive),
           "tiled": (tiled_conv2d, tiled_conv2d_naive)}
BACKWARD = {"local": (locally_connected2d_backward, locally_connected2d_backward_naive),
            "tiled": (tiled_conv2d_backward, tiled_conv2d_backward_naive)}


@st.composite
def local_cases(draw, max_size: int = 6):
    """A valid problem for both layers: x, a kernel bank per position (w_local, b_local), a tile
    of kernel banks (w_tiled, b_tiled), dout, stride and padding.

    Shapes: x (N, C, H, W), w_local (H_out, W_out, F, C, KH, KW), b_local (F, H_out, W_out),
    w_tiled (TH, TW, F, C, KH, KW), b_tiled (F,), dout (N, F, H_out, W_out)
    """
    N, C, F = (draw(st.integers(1, 2)) for _ in range(3))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    padding = draw(st.sampled_from([ph, (ph, pw)]))
    if isinstance(padding, int):
        pw = ph
    H = max(draw(st.integers(1, max_size)), KH - 2 * ph)
    W = max(draw(st.integers(1, max_size)), KW - 2 * pw)
    H_out = conv_output_size(H, KH, stride[0], ph)
    W_out = conv_output_size(W, KW, stride[1], pw)
    TH, TW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {
        "x": rng.standard_normal((N, C, H, W)),
        "w_local": rng.standard_normal((H_out, W_out, F, C, KH, KW)),
        "b_local": rng.standard_normal((F, H_out, W_out)),
        "w_tiled": rng.standard_normal((TH, TW, F, C, KH, KW)),
        "b_tiled": rng.standard_normal(F),
        "dout": rng.standard_normal((N, F, H_out, W_out)),
        "kwargs": {"stride": stride, "padding": padding},
    }


def expand_tile(w_tiled, out_size):
    """The per-position kernels a tiled layer uses: position (i, j) gets w[i % TH, j % TW]."""
    rows = np.arange(out_size[0]) % w_tiled.shape[0]
    cols = np.arange(out_size[1]) % w_tiled.shape[1]
    return w_tiled[rows][:, cols]


# --- (a), (b) with one kernel everywhere both layers are a convolution ----------------------------

@settings(max_examples=40, deadline=None)
@given(case=local_cases())
def test_shared_kernels_make_a_convolution(case):
    x, kw, dout = case["x"], case["kwargs"], case["dout"]
    kernel, bias = case["w_tiled"][0, 0], case["b_tiled"]
    expected = conv2d(x, kernel, bias, **kw)
    H_out, W_out = dout.shape[2:]
    w_local = np.broadcast_to(kernel, (H_out, W_out, *kernel.shape))
    b_local = np.broadcast_to(bias[:, None, None], dout.shape[1:])
    np.testing.assert_allclose(locally_connected2d(x, w_local, b_local, **kw), expected)
    np.testing.assert_allclose(tiled_conv2d(x, kernel[None, None], bias, **kw), expected)
    dx, dw, db = conv2d_backward(dout, x, kernel, **kw)
    ldx, ldw, ldb = locally_connected2d_backward(dout, x, w_local, **kw)
    np.testing.assert_allclose(ldx, dx)
    np.testing.assert_allclose(ldw.sum(axis=(0, 1)), dw)  # a shared kernel's gradient: the sum
    np.testing.assert_allclose(ldb.sum(axis=(1, 2)), db)
    tdx, tdw, tdb = tiled_conv2d_backward(dout, x, kernel[None, None], **kw)
    np.testing.assert_allclose(tdx, dx)
    np.testing.assert_allclose(tdw[0, 0], dw)
    np.testing.assert_allclose(tdb, db)


@settings(max_examples=30, deadline=None)
@given(case=local_cases())
def test_shared_kernels_match_pytorch(case):
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")
    x, kw = case["x"], case["kwargs"]
    kernel, bias = case["w_tiled"][0, 0], case["b_tiled"]
    H_out, W_out = case["dout"].shape[2:]
    w_local = np.broadcast_to(kernel, (H_out, W_out, *kernel.shape))
    b_local = np.broadcast_to(bias[:, None, None], case["dout"].shape[1:])
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(kernel),
                                          torch.from_numpy(bias), **kw).numpy()
    np.testing.assert_allclose(locally_connected2d(x, w_local, b_local, **kw), expected)
    np.testing.assert_allclose(tiled_conv2d(x, kernel[None, None], bias, **kw), expected)


# --- (c) a tiled layer is a locally connected one whose kernels repeat ----------------------------

@settings(max_examples=40, deadline=None)
@given(case=local_cases())
def test_tiled_is_locally_connected_with_repeating_kernels(case):
    x, w, b, dout, kw = case["x"], case["w_tiled"], case["b_tiled"], case["dout"], case["kwargs"]
    TH, TW = w.shape[:2]
    H_out, W_out = dout.shape[2:]
    w_local = expand_tile(w, (H_out, W_out))
    b_local = np.broadcast_to(b[:, None, None], dout.shape[1:])
    np.testing.assert_allclose(tiled_conv2d(x, w, b, **kw),
                               locally_connected2d(x, w_local, b_local, **kw))
    dx, dw, db = tiled_conv2d_backward(dout, x, w, **kw)
    ldx, ldw, ldb = locally_connected2d_backward(dout, x, w_local, **kw)
    np.testing.assert_allclose(dx, ldx)
    np.testing.assert_allclose(db, ldb.sum(axis=(1, 2)))
    for a in range(TH):
        for c in range(TW):  # each tile kernel collects the positions it serves (zero if none)
            np.testing.assert_allclose(dw[a, c], ldw[a::TH, c::TW].sum(axis=(0, 1)), atol=1e-12)


def test_tiles_alternate_by_hand():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    w = np.zeros((1, 2, 1, 1, 1, 1))
    w[0, 0] = 1.0   # even columns copy the input
    w[0, 1] = -1.0  # odd columns negate it
    expected = [[0.0, -1.0, 2.0, -3.0], [4.0, -5.0, 6.0, -7.0], [8.0, -9.0, 10.0, -11.0]]
    for op in FORWARD["tiled"]:
        np.testing.assert_array_equal(op(x, w)[0, 0], expected)


# --- (d) the loops agree with the vectorised versions ---------------------------------------------

@settings(max_examples=40, deadline=None)
@given(case=local_cases())
def test_naive_equals_vectorised(case):
    x, dout, kw = case["x"], case["dout"], case["kwargs"]
    for kind in ("local", "tiled"):
        w, b = case[f"w_{kind}"], case[f"b_{kind}"]
        fast, naive = FORWARD[kind]
        np.testing.assert_allclose(naive(x, w, b, **kw), fast(x, w, b, **kw), err_msg=kind)
        np.testing.assert_allclose(naive(x, w, None, **kw), fast(x, w, None, **kw), err_msg=kind)
        fast, naive = BACKWARD[kind]
        for name, got, want in zip("dx dw db".split(), naive(dout, x, w, **kw),
                                   fast(dout, x, w, **kw), strict=True):
            assert got.shape == want.shape, (kind, name)
            np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"{kind} {name}")


# --- (e) gradient check ---------------------------------------------------------------------------

def output_size(size, kernel, stride, padding):
    """(H_out, W_out) by the output-size formula, per axis; 'same' keeps the size."""
    if padding == "same":
        return size
    pairs = [v if isinstance(v, tuple) else (v, v) for v in (stride, padding)]
    return tuple(conv_output_size(i, k, s, p)
                 for i, k, s, p in zip(size, kernel, *pairs, strict=True))


@pytest.mark.parametrize("kind", ["local", "tiled"])
@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((2, 1), (1, 0)), (1, "same")])
def test_gradcheck(kind, stride, padding):
    rng = np.random.default_rng(11)
    x, kernel = rng.standard_normal((2, 2, 5, 4)), (3, 2)
    out_size = output_size((5, 4), kernel, stride, padding)
    if kind == "local":
        w, b = rng.standard_normal((*out_size, 3, 2, *kernel)), rng.standard_normal((3, *out_size))
    else:
        w, b = rng.standard_normal((2, 3, 3, 2, *kernel)), rng.standard_normal(3)
    forward, backward = FORWARD[kind][0], BACKWARD[kind][0]
    dout = rng.standard_normal((2, 3, *out_size))
    dx, dw, db = backward(dout, x, w, stride, padding)

    def f(x, w, b):
        return forward(x, w, b, stride, padding)

    error = gradcheck(f, {"x": x, "w": w, "b": b}, {"x": dx, "w": dw, "b": db}, dout)
    assert error < 1e-7


# --- (f) the lecture's parameter count ------------------------------------------------------------

def test_lecture_parameter_count():
    # 200 x 200 image, 40K hidden units (one per pixel: 'same' padding), a 10 x 10 filter each.
    n_local = locally_connected_params(200, 200, 1, 1, 10, 10)
    assert n_local == 4_000_000
    x = np.zeros((1, 1, 200, 200), dtype=np.float32)
    w = np.zeros((200, 200, 1, 1, 10, 10), dtype=np.float32)
    assert locally_connected2d(x, w, padding="same").shape == (1, 1, 200, 200)
    assert w.size == n_local  # the layer accepts exactly that many weights
    # Fully connected, each of the 40K units sees all 40K pixels: 400 times more.
    assert linear_params(200 * 200, 40_000, bias=False) == 1_600_000_000 == 400 * n_local
    # A convolution shares one 10 x 10 filter among all 40K units.
    assert conv_params(1, 1, 10, 10, bias=False) == 100 == n_local // 40_000


# --- (g) backends ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["local", "tiled"])
def test_results_stay_on_the_device(to_backend, host, kind):
    rng = np.random.default_rng(5)
    x, kw = rng.standard_normal((2, 2, 5, 5)), {"stride": 2, "padding": 1}
    w = rng.standard_normal((3, 3, 2, 2, 3, 3) if kind == "local" else (2, 1, 2, 2, 3, 3))
    b = rng.standard_normal((2, 3, 3) if kind == "local" else 2)
    dout = rng.standard_normal((2, 2, 3, 3))
    xd, wd, bd, doutd = (to_backend(a) for a in (x, w, b, dout))
    module = get_array_module(xd)
    for forward in FORWARD[kind]:
        out = forward(xd, wd, bd, **kw)
        assert get_array_module(out) is module
        np.testing.assert_allclose(host(out), FORWARD[kind][0](x, w, b, **kw))
    expected = BACKWARD[kind][0](dout, x, w, **kw)
    for backward in BACKWARD[kind]:
        for got, want in zip(backward(doutd, xd, wd, **kw), expected, strict=True):
            assert get_array_module(got) is module
            np.testing.assert_allclose(host(got), want)


# --- (h) bad input, no mutation -------------------------------------------------------------------

@pytest.mark.parametrize("op", [locally_connected2d, locally_connected2d_naive])
def test_bad_input_locally_connected(op):
    name, x = op.__name__, np.ones((1, 2, 5, 5))
    w, b = np.ones((3, 3, 4, 2, 3, 3)), np.ones((4, 3, 3))
    with pytest.raises(ValueError, match=rf"{name}: w must hold one kernel per output position, "
                                         r"w.shape\[:2\] = \(H_out, W_out\) = \(3, 3\).*"
                                         r"got w.shape\[:2\] = \(5, 5\)"):
        op(x, np.ones((5, 5, 4, 2, 3, 3)))
    with pytest.raises(ValueError, match=rf"{name}: x has 3 channels but w expects 2"):
        op(np.ones((1, 3, 5, 5)), w)
    with pytest.raises(ValueError, match=rf"{name}: x must have 4 dimensions .*x\[None\]"):
        op(x[0], w)
    with pytest.raises(ValueError, match=rf"{name}: w must have 6 dimensions"):
        op(x, np.ones((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=rf"{name}: b must have shape \(4, 3, 3\), got \(4, 2"):
        op(x, w, np.ones((4, 2, 2)))
    with pytest.raises(ValueError, match=rf"{name}: b must have 3 dimensions \(F, H_out, W_out\)"):
        op(x, w, np.ones(4))
    with pytest.raises(TypeError, match=rf"{name}: x must hold real floating.*astype\(float\)"):
        op(np.ones((1, 2, 5, 5), dtype=int), w)
    with pytest.raises(TypeError, match=rf"{name}: all arrays must have the same dtype"):
        op(x.astype(np.float32), w, b)
    with pytest.raises(ValueError, match=rf"{name}: the kernel height 3 .* larger than"):
        op(np.ones((1, 2, 2, 5)), w)
    with pytest.raises(ValueError, match=rf"{name}: stride must be"):
        op(x, w, stride=0)


@pytest.mark.parametrize("op", [tiled_conv2d, tiled_conv2d_naive])
def test_bad_input_tiled(op):
    name, x, w = op.__name__, np.ones((1, 2, 5, 5)), np.ones((2, 2, 4, 2, 3, 3))
    with pytest.raises(ValueError, match=rf"{name}: b must have shape \(4,\), got \(3,\)"):
        op(x, w, np.ones(3))
    with pytest.raises(ValueError, match=rf"{name}: b must have 1 dimensions \(F,\)"):
        op(x, w, np.ones((4, 3, 3)))
    with pytest.raises(ValueError, match=rf"{name}: x has 1 channels but w expects 2"):
        op(np.ones((1, 1, 5, 5)), w)
    with pytest.raises(ValueError, match=rf"{name}: w must have 6 dimensions \(TH, TW"):
        op(x, np.ones((4, 2, 3, 3)))


@pytest.mark.parametrize("kind", ["local", "tiled"])
def test_bad_dout(kind):
    x = np.ones((1, 2, 5, 5))
    w = np.ones((3, 3, 4, 2, 3, 3) if kind == "local" else (1, 2, 4, 2, 3, 3))
    for backward in BACKWARD[kind]:
        name = backward.__name__
        with pytest.raises(ValueError, match=rf"{name}: dout must have the output's shape "
                                             r"\(1, 4, 3, 3\), got \(1, 4, 5, 5\)"):
            backward(np.ones((1, 4, 5, 5)), x, w)
        with pytest.raises(TypeError, match=f"{name}: all arrays must have the same dtype"):
            backward(np.ones((1, 4, 3, 3), dtype=np.float32), x, w)


@pytest.mark.parametrize("kind", ["local", "tiled"])
def test_inputs_are_not_modified(kind):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 5, 5))
    w = rng.standard_normal((3, 3, 2, 2, 3, 3) if kind == "local" else (2, 2, 2, 2, 3, 3))
    b = rng.standard_normal((2, 3, 3) if kind == "local" else 2)
    dout = rng.standard_normal((2, 2, 3, 3))
    arrays = (x, w, b, dout)
    saved = [a.copy() for a in arrays]
    for a in arrays:
        a.flags.writeable = False  # any write into an input would raise
    for forward in FORWARD[kind]:
        forward(x, w, b, stride=2, padding=1)
    for backward in BACKWARD[kind]:
        for grad in backward(dout, x, w, stride=2, padding=1):
            grad += 1.0  # fresh, writeable arrays, not views of an input
    for a, before in zip(arrays, saved, strict=True):
        np.testing.assert_array_equal(a, before)
