"""convnb.conv_algos: every algorithm against the loops (float64 tightly, float32 loosely), forward
and both gradients, for conv2d and conv_transpose2d; flat's dx as a forward pass, at stride 1 and
over a stride's phases; chunking; the device double; the patch buffer's memory bound, measured in
a child process; and the rule behind ``algo="auto"``."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from device_double import DeviceArray
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import PADDING_MODES, conv2d_cases, transposed_cases
from threadpoolctl import threadpool_limits

import convnb
from convnb import conv2d, conv2d_backward, conv_transpose2d, conv_transpose2d_backward
from convnb.conv import conv2d_weight_backward, conv_geometry
from convnb.conv_algos import choose, depthwise, fft, flat, im2col, winograd
from convnb.transposed import transpose_geometry

ALGOS = ("direct", "im2col", "flat", "fft", "winograd")
TOLERANCE = {"direct": 1e-10, "im2col": 1e-10, "flat": 1e-10, "fft": 1e-9, "winograd": 1e-9,
             "auto": 1e-10}


def assert_conv2d_matches_the_loops(case, algo, dtype=np.float64):
    x, w, b, kw = (case[k] for k in ("x", "w", "b", "kwargs"))
    expected = convnb.conv2d_naive(x, w, b, **kw)
    dout = np.random.default_rng(2).standard_normal(expected.shape)
    expected_grads = convnb.conv2d_backward_naive(dout, x, w, **kw)
    x, w, b, dout_ = (a.astype(dtype) for a in (x, w, b, dout))
    out = conv2d(x, w, b, algo=algo, **kw)
    grads = conv2d_backward(dout_, x, w, algo=algo, **kw)
    weight_grads = conv2d_weight_backward(dout_, x, w, algo=algo, **kw)
    if dtype == np.float64:
        tol = {"rtol": TOLERANCE[algo], "atol": TOLERANCE[algo]}
    else:  # float32 sums of up to a few hundred products of standard normals
        tol = {"rtol": 1e-4, "atol": 1e-4 * max(1.0, np.abs(expected).max())}
    for mine, theirs in zip((out, *grads, *weight_grads),
                            (expected, *expected_grads, *expected_grads[1:]), strict=True):
        assert mine.dtype == dtype
        np.testing.assert_allclose(mine, theirs, **tol)


@pytest.mark.parametrize("algo", [*ALGOS, "auto"])
@given(case=conv2d_cases(padding_modes=PADDING_MODES))
def test_every_algorithm_matches_the_loops_in_float64(algo, case):
    assert_conv2d_matches_the_loops(case, algo)


@pytest.mark.parametrize("algo", ALGOS)
@settings(max_examples=40)
@given(case=conv2d_cases(max_batch=3, max_size=12, padding_modes=PADDING_MODES))
def test_every_algorithm_matches_the_loops_in_float32(algo, case):
    assert_conv2d_matches_the_loops(case, algo, np.float32)


@pytest.mark.parametrize("algo", ALGOS)
@settings(max_examples=30)
@given(case=conv2d_cases(max_batch=4, padding_modes=PADDING_MODES))
def test_chunk_by_chunk_equals_the_loops(algo, case):
    with pytest.MonkeyPatch.context() as patch:  # bounds of one byte: one example per chunk
        patch.setattr(im2col, "SCRATCH_BYTES", 1)
        patch.setattr(flat, "SCRATCH_BYTES", 1)
        patch.setattr(depthwise, "CHUNK_BYTES", 1)
        patch.setattr(winograd, "CHUNK_BYTES", 1)
        patch.setattr(fft, "SCRATCH_BYTES", 1)
        assert_conv2d_matches_the_loops(case, algo)


@pytest.mark.parametrize("small_dw", [im2col.SMALL_DW, 0], ids=["dw-by-blocks", "dw-in-one"])
@pytest.mark.parametrize("batch_last_below", [im2col.BATCH_LAST_BELOW, 0],
                         ids=["batch-last", "per-example"])
@settings(max_examples=30)
@given(case=conv2d_cases(max_batch=3, padding_modes=PADDING_MODES))
def test_im2col_matches_the_loops_in_both_column_orders(small_dw, batch_last_below, case):
    # These small cases have outputs narrower than BATCH_LAST_BELOW: the batch goes last. With
    # the limit at 0 the examples come second, as for wider outputs. Their dw are small, so
    # weight_grad sums a product per block of columns; with SMALL_DW at 0 it makes one product.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "BATCH_LAST_BELOW", batch_last_below)
        patch.setattr(im2col, "SMALL_DW", small_dw)
        assert_conv2d_matches_the_loops(case, "im2col")


@settings(max_examples=40)
@given(case=conv2d_cases(max_batch=3, padding_modes=PADDING_MODES))
def test_flat_input_grad_as_a_forward_pass_matches_the_loops(case):
    # With the limits lifted, every case at stride 1 whose padding is within the kernel's reach
    # computes dx as a forward pass of dout with the turned filters (groups, dilation, uneven
    # padding included); the others add the taps back, as before.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flat, "AS_FORWARD_CHANNELS", 1)
        patch.setattr(flat, "AS_FORWARD_WIDTH", 100.0)
        assert_conv2d_matches_the_loops(case, "flat")


@pytest.mark.parametrize("x_shape, w_shape, kw, taken", [
    ((2, 32, 16, 16), (64, 32, 3, 3), {"padding": 1}, True),  # "mid"
    ((2, 16, 32, 32), (16, 16, 3, 3), {"padding": 2, "dilation": 2}, True),  # "dilated"
    ((2, 16, 16, 16), (16, 8, 3, 3), {"padding": 1, "groups": 2}, True),  # 8 per group
    ((2, 16, 16, 16), (16, 4, 3, 3), {"padding": 1, "groups": 4}, False),  # 4 per group
    ((2, 3, 32, 32), (32, 3, 3, 3), {"padding": 1}, False),  # three channels
    ((2, 32, 16, 16), (4, 32, 3, 3), {"padding": 1}, False),  # four filters
    ((2, 16, 14, 14), (16, 16, 5, 5), {}, False),  # dout padded to 18 for 14
    ((2, 16, 16, 16), (16, 16, 3, 3), {"padding": 3}, False),  # a pad of 2 - 3 = -1
    ((2, 16, 16, 16), (16, 16, 3, 3), {"padding": 1, "stride": 2}, False),
    ((2, 8, 7, 7), (8, 1, 7, 7), {"padding": 3, "groups": 8}, True),  # depthwise: 13 for 7
    ((2, 8, 8, 8), (8, 1, 3, 3), {"padding": 3, "groups": 8}, False),  # depthwise, a pad of -1
])
def test_flat_computes_dx_as_a_forward_pass_where_it_pays(x_shape, w_shape, kw, taken):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    g = conv_geometry("test", x, w, None, kw.get("stride", 1), kw.get("padding", 0),
                      kw.get("dilation", 1), kw.get("groups", 1), "zeros")
    turned = flat.as_forward(g)
    assert (turned is not None) == taken
    dout = rng.standard_normal((g.N, g.F, g.H_out, g.W_out))
    expected = convnb.conv2d_backward_naive(dout, x, w, **kw)[0]
    np.testing.assert_allclose(flat.input_grad(dout, w, g), expected, rtol=1e-10, atol=1e-10)
    if taken:  # a convolution of dout with padding d*(K-1) - pad that gives back x's size
        assert (turned.N, turned.C, turned.H, turned.W) == (g.N, g.F, g.H_out, g.W_out)
        assert (turned.F, turned.H_out, turned.W_out) == (g.C, g.H, g.W)
        w_turned = flat.turned_filters(w, g)
        np.testing.assert_allclose(
            convnb.conv2d_naive(dout, w_turned, padding=turned.pads[0],
                                dilation=kw.get("dilation", 1), groups=kw.get("groups", 1)),
            expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("algo", ["flat", "auto"])
def test_dx_as_a_forward_pass_gives_zeros_where_no_window_reads(algo):
    # A transposed convolution at stride 1, dilated, with output_padding: in the convolution it
    # transposes, the last row and column of x are read by no window, and padding 4 = the
    # kernel's reach leaves dout no padding above. dx is 0 there; the forward pass must be padded
    # to give x's full size (until 2026-11-29 it came out a row short and read the next example).
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((3, 8, 20, 20)), rng.standard_normal((8, 8, 3, 3))
    kw = {"stride": 1, "padding": 4, "output_padding": 1, "dilation": 2}
    g = transpose_geometry("test", x, w, None, 1, 4, 1, 1, 2)
    assert g.padded_size[0] - 2 * (3 - 1) - g.H_out == 1  # a row that no window reads
    assert flat.as_forward(g) is not None and choose.rule(g, backward=True) == "flat"
    np.testing.assert_allclose(conv_transpose2d(x, w, algo=algo, **kw),
                               convnb.conv_transpose2d_naive(x, w, **kw), rtol=1e-10, atol=1e-10)


@st.composite
def phase_cases(draw):
    """conv2d cases whose stride divides the kernel (stride not 1, windows not tiling): a dict
    with x, w, b and the keyword arguments, as :func:`strategies.conv2d_cases`."""
    groups = draw(st.integers(1, 2))
    C, F = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    th, tw = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    assume((sh, sw) != (1, 1) and (th, tw) != (1, 1))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    H = max(draw(st.integers(1, 10)), sh * th - 2 * ph)
    W = max(draw(st.integers(1, 10)), sw * tw - 2 * pw)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {"x": rng.standard_normal((draw(st.integers(1, 3)), C, H, W)),
            "w": rng.standard_normal((F, C // groups, sh * th, sw * tw)),
            "b": rng.standard_normal(F),
            "kwargs": {"stride": (sh, sw), "padding": (ph, pw), "groups": groups}}


@settings(max_examples=40)
@given(case=phase_cases())
def test_flat_strided_dx_over_the_phases_matches_the_loops(case):
    x, w, kw = case["x"], case["w"], case["kwargs"]
    with pytest.MonkeyPatch.context() as patch:  # every such layer, whatever its channels
        patch.setattr(flat, "AS_FORWARD_CHANNELS", 1)
        g = conv_geometry("test", x, w, None, kw["stride"], kw["padding"], 1, kw["groups"],
                          "zeros")
        assert flat.as_phases(g) is not None
        assert_conv2d_matches_the_loops(case, "flat")


@settings(max_examples=60)
@given(case=transposed_cases())
def test_flat_conv_transpose2d_with_its_limits_lifted_matches_the_loops(case):
    # Every transposed convolution at stride 1 (within the kernel's reach) or whose stride
    # divides its kernel runs as flat's forward pass, output_padding included.
    x, w, b, kw = (case[k] for k in ("x", "w", "b", "kwargs"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flat, "AS_FORWARD_CHANNELS", 1)
        patch.setattr(flat, "AS_FORWARD_WIDTH", 100.0)
        np.testing.assert_allclose(conv_transpose2d(x, w, b, algo="flat", **kw),
                                   convnb.conv_transpose2d_naive(x, w, b, **kw),
                                   rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape, w_shape, kw, taken", [
    ((2, 16, 16, 16), (16, 16, 4, 4), {"stride": 2, "padding": 1}, True),
    ((2, 8, 15, 13), (16, 8, 6, 4), {"stride": (3, 2), "padding": (2, 1)}, True),
    ((2, 8, 16, 16), (8, 8, 4, 2), {"stride": (2, 1)}, True),
    ((2, 16, 16, 16), (16, 8, 4, 4), {"stride": 2, "padding": 1, "groups": 2}, True),
    ((2, 3, 16, 16), (16, 3, 4, 4), {"stride": 2, "padding": 1}, False),  # three channels
    ((2, 16, 16, 16), (4, 16, 4, 4), {"stride": 2, "padding": 1}, False),  # four filters
    ((2, 16, 16, 16), (16, 16, 3, 3), {"stride": 2, "padding": 1}, False),  # 2 does not divide 3
    ((2, 16, 16, 16), (16, 16, 2, 2), {"stride": 2}, False),  # windows tile: direct's
    ((2, 16, 16, 16), (16, 16, 4, 4), {"stride": 2, "dilation": 2}, False),
    ((2, 16, 16, 16), (16, 16, 4, 4), {"padding": 1}, False),  # stride 1: as_forward's
])
def test_flat_computes_strided_dx_over_the_phases_where_it_applies(x_shape, w_shape, kw, taken):
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    g = conv_geometry("test", x, w, None, kw.get("stride", 1), kw.get("padding", 0),
                      kw.get("dilation", 1), kw.get("groups", 1), "zeros")
    assert (flat.as_phases(g) is not None) == taken
    dout = rng.standard_normal((g.N, g.F, g.H_out, g.W_out))
    expected = convnb.conv2d_backward_naive(dout, x, w, **kw)[0]
    np.testing.assert_allclose(flat.input_grad(dout, w, g), expected, rtol=1e-10, atol=1e-10)
    if taken and g.groups == 1:
        # Phase (a, b) of the padded dx, rows s*p + a and columns s*q + b, is dout convolved in
        # full with the taps (a + sh*t, b + sw*r), turned, channels and filters exchanged (and
        # 0 past the rows and columns that convolution gives).
        (sh, sw), (top, _, left, _) = g.stride, g.pads
        dx_padded = np.zeros((g.N, g.C, *g.padded_size))
        for a in range(sh):
            for b in range(sw):
                taps = w[:, :, a::sh, b::sw][:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
                full = convnb.conv2d_naive(dout, taps, padding="full")
                rows, cols = full.shape[2:]
                dx_padded[:, :, a::sh, b::sw][:, :, :rows, :cols] = full
        np.testing.assert_allclose(dx_padded[:, :, top:top + g.H, left:left + g.W], expected,
                                   rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("algo", ALGOS)
@settings(max_examples=40)
@given(case=transposed_cases())
def test_every_algorithm_computes_conv_transpose2d_as_the_loops(algo, case):
    x, w, b, dout, kw = (case[k] for k in ("x", "w", "b", "dout", "kwargs"))
    tol = {"rtol": TOLERANCE[algo], "atol": TOLERANCE[algo]}
    np.testing.assert_allclose(conv_transpose2d(x, w, b, algo=algo, **kw),
                               convnb.conv_transpose2d_naive(x, w, b, **kw), **tol)
    for fast, slow in zip(conv_transpose2d_backward(dout, x, w, algo=algo, **kw),
                          convnb.conv_transpose2d_backward_naive(dout, x, w, **kw), strict=True):
        np.testing.assert_allclose(fast, slow, **tol)


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("kw", [
    {"groups": 3, "padding": 1},                                 # depthwise
    {"groups": 3, "stride": 2, "dilation": (1, 2), "padding": 2},  # depthwise, strided
    {"groups": 1, "stride": (1, 2), "padding": (2, 0)},
    {"groups": 1, "padding": (2, 0), "dilation": (1, 2)},
], ids=["depthwise", "depthwise-strided", "dense", "dense-stride-1"])
@pytest.mark.parametrize("batch_last_below", [16, 0], ids=["batch-last", "per-example"])
def test_every_algorithm_stays_on_the_device(algo, kw, batch_last_below, monkeypatch):
    monkeypatch.setattr(im2col, "BATCH_LAST_BELOW", batch_last_below)  # both im2col layouts
    rng = np.random.default_rng(3)
    x, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal(3)
    w = rng.standard_normal((3, 3 // kw["groups"], 3, 2))
    out = conv2d(DeviceArray(x), DeviceArray(w), DeviceArray(b), algo=algo, **kw)
    assert isinstance(out, DeviceArray)
    np.testing.assert_allclose(out.get(), convnb.conv2d_naive(x, w, b, **kw), atol=1e-10)
    dout = rng.standard_normal(out.shape)
    grads = conv2d_backward(DeviceArray(dout), DeviceArray(x), DeviceArray(w), algo=algo, **kw)
    for device, host in zip(grads, convnb.conv2d_backward_naive(dout, x, w, **kw), strict=True):
        assert isinstance(device, DeviceArray)
        np.testing.assert_allclose(device.get(), host, atol=1e-10)


@pytest.mark.parametrize("kw, w_shape, path", [
    ({"padding": 1}, (6, 3, 3, 2), flat.as_forward),
    ({"padding": (2, 0), "dilation": (1, 2)}, (6, 3, 3, 2), flat.as_forward),
    ({"padding": 1, "groups": 3}, (6, 1, 3, 2), flat.as_forward),
    ({"stride": (2, 1), "padding": (1, 0)}, (6, 3, 4, 2), flat.as_phases),  # over the phases
], ids=["dense", "dilated", "grouped", "strided"])
def test_flat_dx_as_a_forward_pass_stays_on_the_device(kw, w_shape, path, monkeypatch):
    monkeypatch.setattr(flat, "AS_FORWARD_CHANNELS", 1)  # so that these small layers take it
    monkeypatch.setattr(flat, "AS_FORWARD_WIDTH", 100.0)
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal(w_shape)
    g = conv_geometry("test", x, w, None, kw.get("stride", 1), kw["padding"],
                      kw.get("dilation", 1), kw.get("groups", 1), "zeros")
    assert path(g) is not None
    dout = rng.standard_normal((g.N, g.F, g.H_out, g.W_out))
    dx = flat.input_grad(DeviceArray(dout), DeviceArray(w), g)
    assert isinstance(dx, DeviceArray)
    np.testing.assert_allclose(dx.get(), convnb.conv2d_backward_naive(dout, x, w, **kw)[0],
                               atol=1e-10)


@st.composite
def winograd_cases(draw):
    """A layer that Winograd computes itself (3 x 3, stride 1, no dilation, no groups), of
    sizes around its 4 x 4 output tiles, with any padding and padding mode."""
    C, F, N = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from([0, 1, 2, (2, 0), (0, 1), (1, 2), "same", "valid", "full"]))
    mode = draw(st.sampled_from(PADDING_MODES if padding not in ("valid", "full") else
                                ("zeros",)))
    H, W = draw(st.integers(3, 13)), draw(st.integers(3, 13))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {"x": rng.standard_normal((N, C, H, W)), "w": rng.standard_normal((F, C, 3, 3)),
            "b": rng.standard_normal(F), "kwargs": {"padding": padding, "padding_mode": mode}}


def _refuse(*args, **kwargs):
    raise AssertionError("the layer went to flat")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("chunk_bytes", [winograd.CHUNK_BYTES, 1], ids=["chunks", "one-each"])
@settings(max_examples=40)
@given(case=winograd_cases())
def test_winograd_matches_the_loops_on_every_layer_it_computes(chunk_bytes, dtype, case):
    # The property tests above give Winograd few layers it computes itself (it hands the rest
    # to flat): here every layer is one, and flat's forward pass or dx would fail the test
    # (every padding drawn is at most 2, so Winograd computes dx too; dw is flat's).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(winograd, "CHUNK_BYTES", chunk_bytes)
        patch.setattr(flat, "forward", _refuse)
        patch.setattr(flat, "input_grad", _refuse)
        assert_conv2d_matches_the_loops(case, "winograd", dtype)


@pytest.mark.parametrize("padding", [0, 1, 2, 3, (2, 0), (0, 1)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_winograd_computes_3x3_layers_itself_as_pytorch_does(padding, dtype, monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch oracle: install the 'torch' extra")

    def refuse(*args, **kwargs):
        raise AssertionError("the layer went to flat")

    monkeypatch.setattr(flat, "forward", refuse)  # so that these results are Winograd's own
    if max(np.broadcast_to(padding, 2)) <= 2:  # dx of wider padding is flat's
        monkeypatch.setattr(flat, "input_grad", refuse)
    monkeypatch.setattr(winograd, "CHUNK_BYTES", 4000)  # a few examples per chunk
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((5, 6, 9, 10)), rng.standard_normal((4, 6, 3, 3)), np.ones(4)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    expected = torch.nn.functional.conv2d(tx, tw, tb, padding=padding)
    dout = rng.standard_normal(expected.shape)
    expected.backward(torch.tensor(dout))
    out = conv2d(*(a.astype(dtype) for a in (x, w, b)), padding=padding, algo="winograd")
    dx, dw, db = conv2d_backward(*(a.astype(dtype) for a in (dout, x, w)), padding=padding,
                                 algo="winograd")
    for mine, theirs in ((out, expected), (dx, tx.grad), (dw, tw.grad), (db, tb.grad)):
        theirs = theirs.detach().numpy()
        scale = np.abs(theirs).max()  # F(4, 3)'s float32 error is about 1e-5 of the largest
        tol = 1e-11 if dtype == np.float64 else 1e-4
        assert mine.dtype == dtype
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=tol * scale)


# --- memory ---------------------------------------------------------------------------------------

def test_chunks_cover_the_batch_within_the_bound(monkeypatch):
    x, w = np.zeros((10, 4, 6, 6), np.float32), np.zeros((2, 4, 3, 3), np.float32)
    g = conv_geometry("test", x, w, None, 1, 1, 1, 1, "zeros")
    per_example = (4 * 3 * 3 + 1) * 6 * 6 * 4  # (C*KH*KW + a row of ones)*H_out*W_out floats
    monkeypatch.setattr(im2col, "SCRATCH_BYTES", 3 * per_example + 1)
    parts = im2col.chunks(g, 4)
    assert [(p.start, p.stop) for p in parts] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    monkeypatch.setattr(im2col, "SCRATCH_BYTES", 1)  # less than one example: one at a time
    assert len(im2col.chunks(g, 4)) == 10


@pytest.mark.parametrize("algo", ["im2col", "flat", "winograd", "auto"])
def test_a_large_forward_stays_under_one_and_a_half_gigabytes(algo):
    # The patches of the whole batch alone would take 604 MB (256*64*9*32*32 floats); with the
    # output (128 MB), the input (64 MB) and its padded copy (76 MB) that would be about 0.9 GB
    # on top of the interpreter. Measured in a fresh process, whose peak is its own, for each
    # algorithm "auto" may give this layer (flat at two threads, Winograd at one).
    script = textwrap.dedent(f"""
        import numpy as np, resource, convnb
        x = np.ones((256, 64, 32, 32), np.float32)
        w = np.ones((128, 64, 3, 3), np.float32)
        out = convnb.conv2d(x, w, padding=1, algo="{algo}")
        assert out.shape == (256, 128, 32, 32) and abs(out[0, 0, 5, 5] - 576) < 0.01
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, check=True)
    peak_kib = int(result.stdout.split()[-1])  # Linux reports kibibytes
    assert peak_kib * 1024 < 1.5e9, f"peak RSS {peak_kib / 2**20:.2f} GiB"


# --- auto -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape, w_shape, kw, forward, backward", [
    ((32, 32, 32, 32), (32, 1, 3, 3), {"groups": 32}, "flat", "flat"),  # depthwise
    ((16, 96, 14, 14), (96, 1, 7, 7), {"groups": 96, "padding": 3}, "flat", "flat"),
    ((8, 16, 8, 8), (16, 1, 3, 3), {"groups": 16, "padding": 3}, "flat", "direct"),  # pad > reach
    ((32, 32, 32, 32), (32, 1, 3, 3), {"groups": 32, "stride": 2}, "direct", "direct"),
    ((32, 32, 32, 32), (64, 1, 3, 3), {"groups": 32, "padding": 1}, "im2col", "im2col"),  # 2 each
    ((64, 32, 16, 16), (64, 32, 3, 3), {"padding": 1}, "flat", "flat"),  # rows of 18 for 16
    ((32, 64, 8, 8), (128, 64, 3, 3), {"padding": 1}, "im2col", "im2col"),  # 128 filters
    ((32, 64, 8, 8), (96, 64, 3, 3), {"padding": 1}, "flat", "flat"),  # 2 * 96 / 8: the limit
    ((32, 64, 8, 8), (97, 64, 3, 3), {"padding": 1}, "im2col", "im2col"),  # past it
    ((32, 64, 16, 16), (128, 64, 3, 3), {"padding": 1}, "flat", "flat"),  # 2 * 128 / 16
    ((16, 256, 14, 14), (256, 256, 3, 3), {"padding": 1}, "im2col", "im2col"),  # ResNet's
    ((8, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}, "flat", "flat"),
    ((64, 16, 16, 16), (32, 16, 5, 5), {"padding": 2}, "flat", "flat"),  # 20 for 16
    ((64, 16, 16, 16), (16, 16, 7, 7), {"padding": 3}, "im2col", "im2col"),  # 22 for 16
    ((32, 64, 8, 8), (128, 64, 3, 3), {}, "im2col", "im2col"),  # 8 for 6
    ((8, 16, 14, 14), (16, 16, 5, 5), {}, "im2col", "im2col"),  # 14 for 10
    ((64, 3, 32, 32), (32, 3, 3, 3), {"padding": 1}, "im2col", "im2col"),  # three channels
    ((2, 32, 8, 8), (8, 8, 3, 3), {"groups": 4, "padding": 1}, "flat", "flat"),  # 8 per group
    ((2, 4, 8, 8), (8, 1, 3, 3), {"groups": 4}, "im2col", "im2col"),  # two filters per group
    ((128, 6, 14, 14), (16, 6, 5, 5), {}, "im2col", "im2col"),
    ((8, 16, 32, 32), (16, 16, 3, 3), {"dilation": 2, "padding": 2}, "flat", "flat"),
    ((16, 3, 32, 32), (16, 3, 3, 3), {"dilation": 2, "padding": 2}, "im2col", "im2col"),
    ((8, 32, 16, 16), (32, 32, 3, 3), {"dilation": 4, "padding": 4}, "im2col", "direct"),  # 24/16
    ((8, 32, 16, 16), (32, 4, 3, 3), {"dilation": 4, "padding": 4, "groups": 8}, "im2col",
     "im2col"),  # 4 channels per group
    ((8, 16, 32, 32), (16, 16, 3, 3), {"dilation": 2, "stride": 2}, "im2col", "im2col"),
    ((64, 16, 28, 28), (16, 16, 2, 2), {"stride": 2}, "im2col", "direct"),  # windows tile
    ((8, 3, 64, 64), (32, 3, 4, 4), {"stride": 4}, "im2col", "direct"),
    ((8, 3, 64, 64), (32, 3, 4, 4), {"stride": 2}, "im2col", "im2col"),  # overlap, 3 channels
    ((16, 32, 32, 32), (64, 32, 4, 4), {"stride": 2, "padding": 1}, "im2col", "flat"),  # phases
    ((8, 16, 64, 64), (32, 16, 8, 8), {"stride": 4, "padding": 2}, "im2col", "flat"),
    ((16, 4, 32, 32), (64, 4, 4, 4), {"stride": 2, "padding": 1}, "im2col", "im2col"),  # 4 in
    ((16, 32, 32, 32), (64, 32, 3, 3), {"stride": 2, "padding": 1}, "im2col", "im2col"),  # 3 x 3
    ((16, 32, 32, 32), (64, 32, 4, 4), {"stride": 2, "dilation": 2}, "im2col", "im2col"),
    ((64, 16, 28, 28), (16, 16, 2, 2), {"stride": 2, "dilation": 2}, "im2col", "im2col"),
])
def test_auto_rule(x_shape, w_shape, kw, forward, backward):
    g = conv_geometry("test", np.zeros(x_shape), np.zeros(w_shape), None, kw.get("stride", 1),
                      kw.get("padding", 0), kw.get("dilation", 1), kw.get("groups", 1), "zeros")
    assert (choose.rule(g), choose.rule(g, backward=True)) == (forward, backward)
    with threadpool_limits(2, user_api="blas"):
        if choose.blas_threads() < 2:
            pytest.skip("this machine's BLAS runs one thread at most: auto's two-thread rule "
                        "cannot be asked through choose_algo here")
        assert choose.choose_algo(g, np.float32, "numpy") == forward
        assert choose.choose_algo(g, np.float32, "numpy", backward=True) == backward


@pytest.mark.parametrize("x_shape, w_shape, kw, expected", [
    ((64, 32, 16, 16), (64, 32, 3, 3), {"padding": 1}, "winograd"),  # "mid"
    ((32, 64, 8, 8), (128, 64, 3, 3), {}, "winograd"),  # any padding
    ((32, 16, 8, 8), (16, 16, 3, 3), {"padding": 1}, "winograd"),  # 16 channels, 128 tiles
    ((31, 16, 8, 8), (16, 16, 3, 3), {"padding": 1}, "flat"),  # 124 tiles
    ((8, 8, 16, 16), (16, 8, 3, 3), {"padding": 1}, "flat"),  # too few input channels
    ((8, 16, 16, 16), (8, 16, 3, 3), {"padding": 1}, "flat"),  # too few output channels
    ((64, 3, 32, 32), (32, 3, 3, 3), {"padding": 1}, "im2col"),  # "cifar-stem"
    ((8, 16, 32, 32), (16, 16, 3, 3), {"dilation": 2, "padding": 2}, "flat"),  # "dilated"
    ((8, 16, 32, 32), (16, 16, 3, 3), {"stride": 2, "padding": 1}, "im2col"),
    ((2, 32, 8, 8), (32, 16, 3, 3), {"groups": 2, "padding": 1}, "flat"),
    ((8, 16, 14, 14), (16, 16, 5, 5), {}, "im2col"),  # 5 x 5
])
def test_auto_takes_winograd_for_3x3_layers_of_16_channels_at_one_thread(x_shape, w_shape, kw,
                                                                          expected):
    g = conv_geometry("test", np.zeros(x_shape), np.zeros(w_shape), None, kw.get("stride", 1),
                      kw.get("padding", 0), kw.get("dilation", 1), kw.get("groups", 1), "zeros")
    assert choose.rule(g, threads=1) == choose.rule(g, backward=True, threads=1) == expected
    with threadpool_limits(1, user_api="blas"):
        assert choose.blas_threads() == 1
        assert choose.choose_algo(g, np.float32, "numpy") == expected
    if expected == "winograd":  # at two threads flat or im2col keeps the layer
        assert choose.rule(g, threads=2) in ("flat", "im2col")
        assert choose.rule(g, backward=True, threads=2) in ("flat", "im2col")


@pytest.mark.parametrize("x_shape, w_shape, kw, expected", [
    ((1, 8, 64, 64), (8, 8, 15, 15), {"padding": 7}, "fft"),  # ratio 8.8 (chapter 8's layer)
    ((1, 8, 64, 64), (8, 8, 13, 13), {"padding": 6}, "flat"),  # 7.2
    ((8, 16, 32, 32), (16, 16, 9, 9), {"padding": 4}, "fft"),  # 8.3
    ((8, 16, 64, 64), (16, 16, 15, 15), {"padding": 7}, "fft"),
    ((32, 1, 64, 64), (8, 1, 21, 21), {"padding": 10}, "fft"),  # one input channel
    ((8, 64, 32, 32), (64, 1, 13, 13), {"groups": 64, "padding": 6}, "fft"),  # depthwise, 2.7
    ((8, 3, 64, 64), (16, 3, 11, 11), {"padding": 5}, "im2col"),  # three channels, 7.8: lost
    ((8, 64, 28, 28), (64, 64, 7, 7), {"padding": 3}, "flat"),  # 5.8: lost at two threads
    ((8, 3, 227, 227), (96, 3, 11, 11), {"stride": 4}, "im2col"),  # strided: 0.6
    ((16, 96, 14, 14), (96, 1, 7, 7), {"groups": 96, "padding": 3}, "flat"),  # depthwise, 1.1
])
def test_auto_takes_the_fft_for_large_kernels(x_shape, w_shape, kw, expected):
    g = conv_geometry("test", np.zeros(x_shape), np.zeros(w_shape), None, kw.get("stride", 1),
                      kw.get("padding", 0), 1, kw.get("groups", 1), "zeros")
    for threads in (1, 2):
        assert choose.rule(g, threads=threads) == expected
        assert choose.rule(g, backward=True, threads=threads) == expected


def test_auto_gives_a_depthwise_layers_gradients_to_the_fft_from_a_higher_ratio():
    # x (16, 32, 56, 56) by 9 x 9 depthwise filters (ratio 2.2): the FFT's forward pass was
    # 1.10-1.18 times as fast as flat's, its backward pass 1.3-1.5 times slower
    g = conv_geometry("test", np.zeros((16, 32, 56, 56)), np.zeros((32, 1, 9, 9)), None, 1, 4,
                      1, 32, "zeros")
    assert choose.FFT_RATIO_DEPTHWISE <= choose.fft_ratio(g) < choose.FFT_RATIO_DEPTHWISE_BACKWARD
    assert choose.rule(g) == "fft" and choose.rule(g, backward=True) == "flat"


@pytest.mark.parametrize("spec", ["ngchw,gfchw->ngfhw", "ngfhw,gfchw->ngchw",
                                  "ngchw,ngfhw->gfchw"], ids=["forward", "dx", "dw"])
@pytest.mark.parametrize("C, F, groups", [(6, 8, 2), (6, 12, 6), (6, 3, 3), (5, 1, 1), (4, 4, 4)])
def test_the_ffts_channel_sums_are_the_einsum(spec, C, F, groups):
    # per-frequency matrix products, or the einsum itself for depthwise layers (4, 4, 4); one
    # channel and two filters per group (6, 12, 6), the reverse (6, 3, 3) and a single filter
    rng = np.random.default_rng(3)
    x, w = np.zeros((3, C, 6, 7)), np.zeros((F, C // groups, 2, 2))
    g = conv_geometry("test", x, w, None, 1, 0, 1, groups, "zeros")
    axes = {"n": 3, "g": groups, "c": C // groups, "f": F // groups, "h": 6, "w": 4}
    ins, _ = spec.split("->")
    a, b = (rng.standard_normal([axes[k] for k in o]) + 1j * rng.standard_normal(
        [axes[k] for k in o]) for o in ins.split(","))
    np.testing.assert_allclose(fft._channel_sums(np, spec, a, b, g), np.einsum(spec, a, b),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, w_shape, kw", [
    ((2, 4, 9, 12), (6, 2, 3, 5), {"padding": (1, 2), "groups": 2}),  # padded 11 x 16
    ((1, 3, 20, 17), (2, 3, 4, 4), {"padding": 3, "dilation": (2, 3)}),  # dilated taps
    ((1, 5, 33, 33), (5, 1, 11, 11), {"padding": 5, "groups": 5}),  # depthwise, 43 x 43
])
def test_the_filters_spectra_are_numpys_rfft2_of_the_zero_filled_kernels(x_shape, w_shape, kw,
                                                                          dtype):
    # The DFT of the taps (two matrix products) against NumPy's FFT of each filter, dilated
    # and zero-filled to the transform size here, and its conjugate; then the way back to
    # the taps (dw's last step) against NumPy's inverse FFT.
    rng = np.random.default_rng(4)
    x, w = np.zeros(x_shape, dtype), rng.standard_normal(w_shape).astype(dtype)
    g = conv_geometry("test", x, w, None, 1, kw["padding"], kw.get("dilation", 1),
                      kw.get("groups", 1), "zeros")
    (dh, dw), (Ht, Wt) = g.dilation, fft.transform_size(g)
    wide = np.zeros(w.shape[:2] + (Ht, Wt), dtype)
    wide[:, :, ::dh, ::dw][:, :, :g.KH, :g.KW] = w
    expected = np.fft.rfft2(wide).reshape(g.groups, g.F // g.groups, g.C // g.groups, Ht, -1)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for conjugate in (False, True):
        found = fft._kernel_spectrum(np, w, g, conjugate)
        # complex of the filters' precision (NumPy before 2.0 transforms float32 in float64)
        assert found.dtype == np.result_type(dtype, np.complex64)
        assert found.shape == expected.shape
        np.testing.assert_allclose(found, np.conj(expected) if conjugate else expected,
                                   rtol=0, atol=tol * np.abs(expected).max())
    spectra = expected.reshape(g.F, g.C // g.groups, Ht, -1)
    back = np.fft.irfft2(spectra, s=(Ht, Wt))[:, :, ::dh, ::dw][:, :, :g.KH, :g.KW]
    np.testing.assert_allclose(fft._taps(np, spectra, g), back, rtol=0,
                               atol=tol * np.abs(back).max())
    np.testing.assert_allclose(back, w, rtol=0, atol=tol * np.abs(w).max())


def test_fft_lengths_are_the_next_even_ones_with_no_prime_factor_above_7():
    # against a list made another way: every even product of powers of 2, 3, 5 and 7 to 2,000
    smooth = sorted(m for m in (2 ** a * 3 ** b * 5 ** c * 7 ** d for a in range(1, 11)
                                for b in range(7) for c in range(5) for d in range(4))
                    if m <= 2000)
    for n in range(1, 1500):
        assert fft.fast_length(n) == next(m for m in smooth if m >= n), n
    assert [fft.fast_length(n) for n in (42, 62, 63, 74, 75, 97)] == [42, 64, 64, 80, 80, 98]


def test_the_fft_keeps_its_spectra_within_the_bound():
    # x (64, 16, 64, 64) by w (16, 16, 15, 15) ("same", transforms of 80 x 80): the spectra of
    # the whole batch would take 2 * 32 * 80 * 41 * 8 bytes = 1.7 MB per example, 107 MB in
    # all; chunked, the pass holds a chunk's spectra (8 MiB here), the filters' (6.7 MB, with
    # the temporaries of their DFT) and its output (16 MiB).
    import tracemalloc
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 16, 64, 64)).astype(np.float32)
    w = rng.standard_normal((16, 16, 15, 15)).astype(np.float32)
    g = conv_geometry("test", x, w, None, 1, "same", 1, 1, "zeros")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fft, "SCRATCH_BYTES", 8 * 2**20)  # 4 examples a chunk
        assert fft.transform_size(g) == (80, 80)  # 78 = 2 * 3 * 13
        assert len(fft._chunks(g, 4)) == 16
        tracemalloc.start()
        out = fft.forward(x, w, g)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    np.testing.assert_allclose(out[:2], conv2d(x[:2], w, padding="same", algo="im2col"),
                               rtol=1e-3, atol=1e-3 * np.abs(out[:2]).max())
    filters = 16 * 16 * 80 * 41 * 8  # the filters' spectra, complex64
    assert peak < out.nbytes + 2 * 8 * 2**20 + 3 * filters, f"{peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("groups, K", [(1, 19), (3, 25)])
def test_the_fft_that_auto_takes_matches_scipy(groups, K, monkeypatch):
    # Layers auto gives to the FFT (ratios 11.0, 9.7), forward and both gradients against
    # scipy.signal.correlate2d of each (filter, channel) pair, computed here.
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 6, 40, 40)), rng.standard_normal((6, 6 // groups, K, K))
    g = conv_geometry("test", x, w, None, 1, "same", 1, groups, "zeros")
    assert choose.rule(g) == choose.rule(g, backward=True) == "fft"
    calls = []
    for name in ("forward", "input_grad", "weight_grad"):  # count the FFT's passes
        original = getattr(fft, name)
        monkeypatch.setattr(fft, name, lambda *a, f=original, n=name: calls.append(n) or f(*a))
    out = conv2d(x, w, padding="same", groups=groups)
    dout = rng.standard_normal(out.shape)
    dx, dw, _ = conv2d_backward(dout, x, w, padding="same", groups=groups)
    assert sorted(calls) == ["forward", "input_grad", "weight_grad"]
    per = 6 // groups
    expected = np.zeros_like(out)
    expected_dx, expected_dw = np.zeros_like(x), np.zeros_like(w)
    for n, f in np.ndindex(2, 6):
        for k in range(per):
            c = f // per * per + k
            expected[n, f] += signal.correlate2d(x[n, c], w[f, k], mode="same")
            expected_dx[n, c] += signal.convolve2d(dout[n, f], w[f, k], mode="same")
            expected_dw[f, k] += signal.correlate2d(np.pad(x[n, c], K // 2), dout[n, f],
                                                    "valid")
    for mine, theirs in ((out, expected), (dx, expected_dx), (dw, expected_dw)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-9 * np.abs(theirs).max())


def test_auto_remembers_its_choice_per_shape_and_dtype():
    choose._cached.cache_clear()  # earlier tests may have met these shapes
    x, w = np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32)
    conv2d(x, w)
    assert choose._cached.cache_info().misses == 1
    hits = choose._cached.cache_info().hits
    conv2d(x, w)
    assert choose._cached.cache_info().hits == hits + 1
    misses = choose._cached.cache_info().misses
    conv2d(x.astype(np.float64), w.astype(np.float64))
    assert choose._cached.cache_info().misses == misses + 1


@pytest.mark.parametrize("call", [
    lambda x, w: conv2d_backward(np.ones((1, 1, 3, 3)), x, w, algo="cudnn"),
    lambda x, w: conv2d_weight_backward(np.ones((1, 1, 3, 3)), x, w, algo="cudnn"),
    lambda x, w: conv_transpose2d(x[:, :1], w, algo="cudnn"),
    lambda x, w: conv_transpose2d_backward(np.ones((1, 1, 7, 7)), x[:, :1], w, algo="cudnn"),
], ids=["conv2d_backward", "conv2d_weight_backward", "conv_transpose2d",
        "conv_transpose2d_backward"])
def test_a_bad_algo_is_named(call, request):
    x, w = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))
    function = request.node.callspec.id  # the function the call makes, which must name itself
    with pytest.raises(ValueError, match=rf"^{function}: algo must be one of \('auto', "
                                         r"'direct', 'im2col', 'flat', 'fft', 'winograd'\), "
                                         r"got 'cudnn'"):
        call(x, w)
