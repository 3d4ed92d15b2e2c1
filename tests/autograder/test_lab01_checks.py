"""lab01's checks without nbgrader: the notebook's solution passes every seed, the classic mistakes
lose points and get their hint, and the random cases stay valid."""

from __future__ import annotations

import numpy as np
import pytest
from nbgrader_course import assert_check_catches, hidden_calls, lab_notebook, run_solutions

import convnb
from autograder.checks import lab01

NB = lab_notebook("lab01_correlation")
SOL = run_solutions(NB)
HIDDEN = hidden_calls(NB)
CHECKS = {name: getattr(lab01, name) for name in lab01.__all__}


def test_every_check_has_a_hidden_test_and_the_points_add_up():
    assert set(HIDDEN) == set(CHECKS)
    assert sum(call.points for call in HIDDEN.values()) == 20
    assert "20 points" in NB.cells[0].source


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_solution_passes_the_visible_and_many_random_cases(name):
    fn = SOL[name.removeprefix("check_")]
    check = CHECKS[name]
    for seed in (None, HIDDEN[name].seed, 0, 1, 2, 3, 4, 5):
        ev = check.evaluate(fn, seed)
        assert not ev.failing, (seed, [ev.verdicts[i].problem for i in ev.failing])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_an_unwritten_function_scores_zero(name, capsys):
    def unwritten(*args):
        raise NotImplementedError()

    assert CHECKS[name](unwritten, seed=HIDDEN[name].seed, points=HIDDEN[name].points) == 0
    assert "not written yet" in capsys.readouterr().out


def _loop_correlate2d(x, w, stride=1, rows=None, cols=None, step=None):
    """The solution's loops, with the output size and the jump open to mistakes."""
    (H, W), (KH, KW) = x.shape, w.shape
    rows = (H - KH) // stride + 1 if rows is None else rows(H, KH, stride)
    cols = (W - KW) // stride + 1 if cols is None else cols(W, KW, stride)
    step = stride if step is None else step
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(w * x[i * step:i * step + KH, j * step:j * step + KW])
    return out


def _pad(mode_map=None, widths=None):
    modes = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"} | (mode_map or {})

    def pad2d(x, p, mode="zeros"):
        r, c = (p, p) if isinstance(p, int) else p
        return np.pad(x, ((r, r), (c, c)) if widths is None else widths(r, c), mode=modes[mode])
    return pad2d


MISTAKES = {
    "correlate1d flips the kernel": (
        "check_correlate1d", lambda x, w: SOL["correlate1d"](x, w[::-1]), "flipped"),
    "correlate1d one too short": (
        "check_correlate1d", lambda x, w: SOL["correlate1d"](x, w)[:-1], "output_too_small"),
    "correlate1d in full mode": (
        "check_correlate1d", lambda x, w: convnb.correlate2d(x[None], w[None])[0], "full_mode"),
    "convolve1d without the flip": ("check_convolve1d", SOL["correlate1d"], "not_flipped"),
    "np.convolve's default mode": (
        "check_convolve1d", lambda x, w: np.convolve(x, w), "full_mode"),
    "correlate2d ignores the stride": (
        "check_correlate2d", lambda x, w, stride=1: SOL["correlate2d"](x, w), "stride_ignored"),
    "correlate2d sizes right, jumps wrong": (
        "check_correlate2d", lambda x, w, stride=1: _loop_correlate2d(x, w, stride, step=1),
        "stride_ignored"),
    "correlate2d one row and column short": (
        "check_correlate2d", lambda x, w, stride=1: _loop_correlate2d(
            x, w, stride, rows=lambda n, k, s: (n - k) // s, cols=lambda n, k, s: (n - k) // s),
        "output_too_small"),
    "correlate2d flips the kernel": (
        "check_correlate2d", lambda x, w, stride=1: SOL["correlate2d"](x, w[::-1, ::-1], stride),
        "flipped"),
    "convolve2d without the flip": (
        "check_convolve2d", lambda x, w: SOL["correlate2d"](x, w), "not_flipped"),
    "convolve2d transposes": (
        "check_convolve2d", lambda x, w: SOL["correlate2d"](x, w.T), "transposed_kernel"),
    "convolve2d flips rows only": (
        "check_convolve2d", lambda x, w: SOL["correlate2d"](x, w[::-1]), "flipped_one_axis"),
    "scipy's default 'full' mode": (
        "check_convolve2d", lambda x, w: convnb.convolve2d(x, w), "full_mode"),
    "pad2d with np.pad(x, (r, c))": (
        "check_pad2d", _pad(widths=lambda r, c: (r, c)), "pad_numpy_pair"),
    "pad2d swaps rows and columns": (
        "check_pad2d", _pad(widths=lambda r, c: ((c, c), (r, r))), "pad_axes_swapped"),
    "pad2d before only": ("check_pad2d", _pad(widths=lambda r, c: ((r, 0), (c, 0))),
                          "pad_one_side"),
    "reflect and replicate swapped": (
        "check_pad2d", _pad({"reflect": "edge", "replicate": "reflect"}),
        "pad_reflect_replicate_swapped"),
    "reflect as np.pad's symmetric": ("check_pad2d", _pad({"reflect": "symmetric"}),
                                      "pad_symmetric"),
    "mode ignored (always zeros)": (
        "check_pad2d", _pad({"reflect": "constant", "replicate": "constant"}),
        "pad_zeros_instead"),
    "output_size with /": ("check_output_size", lambda i, k, s, p: (i + 2 * p - k) / s + 1,
                           "size_true_division"),
    "output_size without the stride": (
        "check_output_size", lambda i, k, s, p: i + 2 * p - k + 1, "size_stride_ignored"),
    "output_size without + 1": (
        "check_output_size", lambda i, k, s, p: (i + 2 * p - k) // s, "size_off_by_one"),
    "output_size pads once": (
        "check_output_size", lambda i, k, s, p: (i + p - k) // s + 1, "size_pad_once"),
    "output_size rounds up": (
        "check_output_size", lambda i, k, s, p: -(-(i + 2 * p - k) // s) + 1, "size_ceil"),
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
    for case in lab01.check_pad2d.cases(seed):
        x, p, mode = case.args
        r, c = (p, p) if isinstance(p, int) else p
        assert 0 <= r < x.shape[0] and 0 <= c < x.shape[1] and mode in lab01.NUMPY_MODE
    for case in lab01.check_output_size.cases(seed):
        i, k, s, p = case.args
        assert 1 <= k <= i + 2 * p and s >= 1 and p >= 0
    for case in lab01.check_correlate2d.cases(seed):
        x, w, stride = case.args
        assert w.shape[0] <= x.shape[0] and w.shape[1] <= x.shape[1] and w.size > 1
