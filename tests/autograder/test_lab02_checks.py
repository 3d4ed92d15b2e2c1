"""lab02's checks without nbgrader: the notebook's solution passes every seed, the classic mistakes
lose points and get their hint, the lecture's example is a visible case, and the random cases
stay valid."""

from __future__ import annotations

import numpy as np
import pytest
from nbgrader_course import assert_check_catches, hidden_calls, lab_notebook, run_solutions

import convnb
from autograder.checks import lab02

NB = lab_notebook("lab02_conv_forward")
SOL = run_solutions(NB)
HIDDEN = hidden_calls(NB)
CHECKS = {name: getattr(lab02, name) for name in lab02.__all__}


def test_every_check_has_a_hidden_test_and_the_points_add_up():
    assert set(HIDDEN) == set(CHECKS)
    assert sum(call.points for call in HIDDEN.values()) == 20
    assert "20 points" in NB.cells[0].source


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_solution_passes_the_visible_and_many_random_cases(name):
    fn = SOL[name.removeprefix("check_")]
    for seed in (None, HIDDEN[name].seed, *range(8)):
        ev = CHECKS[name].evaluate(fn, seed)
        assert not ev.failing, (seed, [ev.verdicts[i].problem for i in ev.failing])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_an_unwritten_function_scores_zero(name, capsys):
    def unwritten(*args):
        raise NotImplementedError()

    assert CHECKS[name](unwritten, seed=HIDDEN[name].seed, points=HIDDEN[name].points) == 0
    assert "not written yet" in capsys.readouterr().out


def test_the_lecture_example_is_the_first_visible_case_and_convnb_reproduces_it():
    x, w, b, stride, pad = lab02.check_conv_forward_loops.fixed[0].args
    out = lab02.conv_forward(x, w, b, stride, pad)
    lecture = [[[3, 2, 11], [2, 12, 13], [-3, 6, 6]], [[-2, -3, 0], [-5, -3, 1], [-1, -2, 3]]]
    np.testing.assert_array_equal(out, np.array([lecture], dtype=float))
    np.testing.assert_array_equal(SOL["conv_forward_loops"](x, w, b, stride, pad), out)
    cell = next(c for c in NB.cells if c.get("id") == "lecture_example")
    for name in ("x_lecture", "w_lecture", "b_lecture"):
        assert name in cell.source
    scope = dict(SOL)
    exec(cell.source, scope)  # noqa: S102 - the lab's own locked cell
    np.testing.assert_array_equal(scope["x_lecture"], x)
    np.testing.assert_array_equal(scope["w_lecture"], w)
    np.testing.assert_array_equal(scope["out_lecture"], out)


def test_the_im2col_layout_is_the_one_the_lab_states():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5, 4))
    cols = lab02.im2col(x, 2, 3, 2, 1)
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    H_out, W_out = (5 + 2 - 2) // 2 + 1, (4 + 2 - 3) // 2 + 1
    assert cols.shape == (3 * 2 * 3, 2 * H_out * W_out)
    for n, c, i, j, u, v in np.ndindex(2, 3, H_out, W_out, 2, 3):
        assert cols[c * 6 + u * 3 + v, n * H_out * W_out + i * W_out + j] == \
            xpad[n, c, i * 2 + u, j * 2 + v]


# --- Classic mistakes, written as a student would ------------------------------------------------

def _loops(x, w, b, stride=1, pad=0, *, flip=False, bias="once", channels="all", step=None,
           size=None, padding=None):
    """The solution's loops with one mistake switched on."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = SOL["zero_pad"](x, pad) if padding is None else padding(x, pad)
    H_out, W_out = ((H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1) \
        if size is None else size(xpad, KH, KW, stride, pad)
    step = stride if step is None else step
    kernel = w[..., ::-1, ::-1] if flip else w
    out = np.zeros((N, F, H_out, W_out))
    for n, f, i, j in np.ndindex(N, F, H_out, W_out):
        patch = xpad[n, :, i * step:i * step + KH, j * step:j * step + KW]
        if channels == "last":  # `=` in a loop over channels keeps the last one
            for c in range(C):
                out[n, f, i, j] = np.sum(patch[c] * kernel[f, c]) + b[f]
            continue
        total = np.sum(patch * kernel[f])
        out[n, f, i, j] = total + {"once": b[f], "none": 0.0, "per_channel": C * b[f]}[bias]
    return out


def _im2col(x, KH, KW, stride=1, pad=0, *, order="cuv,nij", step=None, padded=True):
    N, C, H, W = x.shape
    H_out, W_out = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    xpad = SOL["zero_pad"](x, pad if padded else 0)
    step = stride if step is None else step
    rows, columns = order.split(",")
    cols = {}
    for n, c, i, j, u, v in np.ndindex(N, C, H_out, W_out, KH, KW):
        at = dict(n=n, c=c, i=i, j=j, u=u, v=v)
        sizes = dict(n=N, c=C, i=H_out, j=W_out, u=KH, v=KW)
        row = int(np.ravel_multi_index([at[a] for a in rows], [sizes[a] for a in rows]))
        col = int(np.ravel_multi_index([at[a] for a in columns], [sizes[a] for a in columns]))
        r, s = i * step + u, j * step + v
        cols[row, col] = xpad[n, c, r, s] if r < xpad.shape[2] and s < xpad.shape[3] else 0.0
    out = np.zeros((C * KH * KW, N * H_out * W_out))
    for (row, col), value in cols.items():
        out[row, col] = value
    return out


def _by_im2col(cols_fn=None, w_order=(0, 1, 2, 3), reshape="right"):
    def conv(x, w, b, stride=1, pad=0):
        N, _, H, W = x.shape
        F, _, KH, KW = w.shape
        H_out, W_out = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
        cols = (cols_fn or SOL["im2col"])(x, KH, KW, stride, pad)
        out = w.transpose(w_order).reshape(F, -1) @ cols + b[:, None]
        if reshape == "straight":
            return out.reshape(N, F, H_out, W_out)
        return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
    return conv


MISTAKES = {
    "np.pad(x, pad) pads every axis": (
        "check_zero_pad", lambda x, pad: np.pad(x, pad), "pad_wrong_axes"),
    "channels-last padding (C and H)": (
        "check_zero_pad", lambda x, pad: np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))),
        "pad_wrong_axes"),
    "padding before only": (
        "check_zero_pad", lambda x, pad: np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0))),
        "pad_one_side"),
    "a true convolution (flipped kernels)": (
        "check_conv_forward_loops", lambda *a: _loops(*a, flip=True), "conv_flipped"),
    "bias forgotten": ("check_conv_forward_loops", lambda *a: _loops(*a, bias="none"),
                       "conv_bias_missing"),
    "bias added in the channel loop": (
        "check_conv_forward_loops", lambda *a: _loops(*a, bias="per_channel"),
        "conv_bias_per_channel"),
    "channels assigned, not summed": (
        "check_conv_forward_loops", lambda *a: _loops(*a, channels="last"),
        "conv_channels_not_summed"),
    "stride ignored in the jumps": (
        "check_conv_forward_loops", lambda *a: _loops(*a, step=1), "conv_stride_ignored"),
    "output one short": (
        "check_conv_forward_loops", lambda *a: _loops(*a, size=lambda xp, kh, kw, s, p: (
            (xp.shape[2] - kh) // s, (xp.shape[3] - kw) // s)), "conv_output_size"),
    "padding forgotten": (
        "check_conv_forward_loops", lambda *a: _loops(*a, padding=lambda x, p: x, size=lambda xp,
                                                      kh, kw, s, p: ((xp.shape[2] - kh) // s + 1,
                                                                     (xp.shape[3] - kw) // s + 1)),
        "conv_pad_ignored"),
    "im2col returns rows": (
        "check_im2col", lambda *a: SOL["im2col"](*a).T, "im2col_transposed"),
    "im2col with the examples innermost": (
        "check_im2col", lambda *a: _im2col(*a, order="cuv,ijn"), "im2col_column_order"),
    "im2col patches in (u, v, c) order": (
        "check_im2col", lambda *a: _im2col(*a, order="uvc,nij"), "im2col_patch_order"),
    "im2col ignores the stride": (
        "check_im2col", lambda *a: _im2col(*a, step=1), "conv_stride_ignored"),
    "im2col without padding": (
        "check_im2col", lambda x, kh, kw, s=1, p=0: _im2col(x, kh, kw, s, 0),
        "conv_pad_ignored"),
    "product reshaped straight to (N, F, ...)": (
        "check_conv_forward_im2col", _by_im2col(reshape="straight"), "conv_output_reshape"),
    "kernels flattened (u, v, c), patches (c, u, v)": (
        "check_conv_forward_im2col", _by_im2col(w_order=(0, 2, 3, 1)), "im2col_patch_order"),
    "patches (u, v, c), kernels (c, u, v)": (
        "check_conv_forward_im2col", _by_im2col(lambda *a: _im2col(*a, order="uvc,nij")),
        "im2col_patch_order"),
    "columns (i, j, n) read as (n, i, j)": (
        "check_conv_forward_im2col", _by_im2col(lambda *a: _im2col(*a, order="cuv,ijn")),
        "im2col_column_order"),
    "im2col layer without the bias": (
        "check_conv_forward_im2col",
        lambda x, w, b, s=1, p=0: _by_im2col()(x, w, 0 * b, s, p), "conv_bias_missing"),
    "im2col layer with flipped kernels": (
        "check_conv_forward_im2col",
        lambda x, w, b, s=1, p=0: _by_im2col()(x, w[..., ::-1, ::-1], b, s, p), "conv_flipped"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_classic_mistakes_lose_points_and_get_their_hint(mistake, capsys):
    name, fn, hint = MISTAKES[mistake]
    assert_check_catches(CHECKS[name], fn, HIDDEN[name], hint, capsys)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_visible_test_catches_the_mistake_too(mistake):
    name, fn, _ = MISTAKES[mistake]
    assert CHECKS[name].evaluate(fn, None).failing


@pytest.mark.parametrize("seed", range(30))
def test_random_cases_are_valid_geometries(seed):
    for case in lab02.check_conv_forward_loops.cases(seed):
        x, w, b, stride, pad = case.args
        assert x.shape[1] == w.shape[1] and b.shape == (w.shape[0],) and stride >= 1
        assert w.shape[2] <= x.shape[2] + 2 * pad and w.shape[3] <= x.shape[3] + 2 * pad
        assert w.shape[2] * w.shape[3] > 1
        assert convnb.conv2d(x, w, b, stride=stride, padding=pad).size > 0
    for case in lab02.check_im2col.cases(seed):
        x, KH, KW, stride, pad = case.args
        assert KH <= x.shape[2] + 2 * pad and KW <= x.shape[3] + 2 * pad and stride >= 1
    for case in lab02.check_zero_pad.cases(seed):
        x, pad = case.args
        assert x.ndim == 4 and pad >= 0
