"""lab03's checks without nbgrader: the notebook's solution passes every seed, the classic mistakes
lose points and get their hint, the lecture's example is a visible case, and the random cases
stay valid (with ties, so that the first-maximum rule is tested)."""

from __future__ import annotations

import numpy as np
import pytest
from nbgrader_course import assert_check_catches, hidden_calls, lab_notebook, run_solutions

from autograder.checks import lab03

NB = lab_notebook("lab03_pooling")
SOL = run_solutions(NB)
HIDDEN = hidden_calls(NB)
CHECKS = {name: getattr(lab03, name) for name in lab03.__all__}
FUNCTION = {name: name.removeprefix("check_") for name in CHECKS} | {
    "check_max_pool_switches": "max_pool_forward"}


def test_every_check_has_a_hidden_test_and_the_points_add_up():
    assert set(HIDDEN) == set(CHECKS)
    assert sum(call.points for call in HIDDEN.values()) == 20
    assert "20 points" in NB.cells[0].source


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_solution_passes_the_visible_and_many_random_cases(name):
    fn = SOL[FUNCTION[name]]
    for seed in (None, HIDDEN[name].seed, *range(8)):
        ev = CHECKS[name].evaluate(fn, seed)
        assert not ev.failing, (seed, [ev.verdicts[i].problem for i in ev.failing])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_an_unwritten_function_scores_zero(name, capsys):
    def unwritten(*args):
        raise NotImplementedError()

    assert CHECKS[name](unwritten, seed=HIDDEN[name].seed, points=HIDDEN[name].points) == 0
    assert "not written yet" in capsys.readouterr().out


def test_the_lecture_example_is_the_first_visible_case():
    x, k, stride = lab03.check_max_pool_forward.fixed[0].args
    out, switches = lab03.max_pool_forward(x, k, stride)
    np.testing.assert_array_equal(x[0, 0], [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0],
                                            [1, 2, 3, 4]])
    np.testing.assert_array_equal(out, [[[[6, 8], [3, 4]]]])
    np.testing.assert_array_equal(switches, [[[[5, 7], [8, 15]]]])
    assert switches.dtype == np.int64
    cell = next(c for c in NB.cells if c.get("id") == "lecture_example")
    exec(cell.source, dict(SOL))  # noqa: S102 - the lab's own locked cell; it asserts


def test_switches_are_the_first_maximum_in_row_major_order():
    x = np.array([[[[2.0, 5.0, 5.0], [5.0, 1.0, 0.0], [5.0, 5.0, 5.0]]]])
    _, switches = lab03.max_pool_forward(x, 3, 1)
    assert switches.item() == 1
    _, switches = SOL["max_pool_forward"](x, 2, 1)
    np.testing.assert_array_equal(switches, [[[[1, 1], [3, 7]]]])
    np.testing.assert_array_equal(lab03.max_pool_forward(x, 2, 1)[1], switches)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_hidden_cases_hold_ties_and_overlapping_windows(name):
    cases = CHECKS[name].cases(HIDDEN[name].seed)
    inputs = [case.args[-3] for case in cases]  # x, before k and stride
    windows = [case.args[-2:] for case in cases]
    assert sum(len(np.unique(x)) < x.size for x in inputs) >= 3
    assert sum(stride < k for k, stride in windows) >= 2


# --- Classic mistakes, written as a student would ------------------------------------------------

def _max_forward(x, k, stride, *, step=None, tie=">", origin=None, row="W", in_window=False,
                 size=None):
    """Max pooling as loops, with one mistake switched on."""
    N, C, H, W = x.shape
    H_out, W_out = ((H - k) // stride + 1, (W - k) // stride + 1) if size is None else size(
        H, W, k, stride)
    step = stride if step is None else step
    out = np.zeros((N, C, H_out, W_out))
    switches = np.zeros((N, C, H_out, W_out), dtype=np.int64)
    for n, c, i, j in np.ndindex(N, C, H_out, W_out):
        best, where = -np.inf, (0, 0)
        for u, v in np.ndindex(k, k):
            value = x[n, c, i * step + u, j * step + v]
            if value > best or (tie == ">=" and value == best):
                best, where = value, (u, v)
        corner = step if origin is None else origin
        r, s = i * corner + where[0], j * corner + where[1]
        out[n, c, i, j] = best
        switches[n, c, i, j] = where[0] * k + where[1] if in_window else r * (
            W if row == "W" else H) + s
    return out, switches


def _max_backward(dout, x, k, stride, *, route="switch", assign=False, step=None):
    N, C, H, W = x.shape
    step = stride if step is None else step
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * step:i * step + k, j * step:j * step + k]
        if route == "window":
            mask = np.ones_like(window, dtype=bool)
        elif route == "ties":
            mask = window == window.max()  # CS231n's mask, every tied maximum
        else:
            mask = np.zeros(window.size, dtype=bool)
            mask[np.argmax(window)] = True
            mask = mask.reshape(window.shape)
        target = dx[n, c, i * step:i * step + k, j * step:j * step + k]
        if assign:
            target[mask] = dout[n, c, i, j]
        else:
            target[mask] += dout[n, c, i, j]
    return dx


def _avg_forward(x, k, stride, *, divide_by=None, step=None):
    N, C, H, W = x.shape
    H_out, W_out = (H - k) // stride + 1, (W - k) // stride + 1
    step = stride if step is None else step
    out = np.zeros((N, C, H_out, W_out))
    for i, j in np.ndindex(H_out, W_out):
        window = x[:, :, i * step:i * step + k, j * step:j * step + k]
        out[:, :, i, j] = window.sum(axis=(2, 3)) / (k * k if divide_by is None else divide_by(k))
    return out


def _avg_backward(dout, x, k, stride, *, divide_by=None, assign=False, step=None):
    dx = np.zeros(x.shape)
    step = stride if step is None else step
    for i, j in np.ndindex(*dout.shape[2:]):
        share = dout[:, :, i, j, None, None] / (k * k if divide_by is None else divide_by(k))
        window = dx[:, :, i * step:i * step + k, j * step:j * step + k]
        if assign:
            window[...] = share
        else:
            window += share
    return dx


MISTAKES = {
    "max pooling with the stride ignored": (
        "check_max_pool_forward", lambda x, k, s: _max_forward(x, k, s, step=1),
        "pool_stride_ignored"),
    "max pooling assumes stride == k": (
        "check_max_pool_forward", lambda x, k, s: _max_forward(
            x, k, s, step=k, size=lambda H, W, k, s: ((H - k) // k + 1, (W - k) // k + 1)),
        "pool_stride_ignored"),
    "max pooling one row short": (
        "check_max_pool_forward", lambda x, k, s: _max_forward(
            x, k, s, size=lambda H, W, k, s: ((H - k) // s, (W - k) // s)), "pool_output_size"),
    "switches inside the window": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, in_window=True),
        "switch_in_window"),
    "switches: the last maximum on ties (>=)": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, tie=">="),
        "switch_last_max"),
    "switches: window corners k apart": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, origin=k),
        "switch_wrong_origin"),
    "switches: row * H + col": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, row="H"),
        "switch_flat_index"),
    "max gradient to the whole window": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, route="window"),
        "maxgrad_to_window"),
    "max gradient to every tied maximum": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, route="ties"),
        "maxgrad_all_ties"),
    "max gradient assigned, not added": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, assign=True),
        "maxgrad_overwrite"),
    "max gradient with the stride ignored": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, step=1), "pool_stride_ignored"),
    "average as the sum": (
        "check_avg_pool_forward", lambda x, k, s: _avg_forward(x, k, s, divide_by=lambda k: 1),
        "avg_sum"),
    "average divided by k": (
        "check_avg_pool_forward", lambda x, k, s: _avg_forward(x, k, s, divide_by=lambda k: k),
        "avg_divided_by_k"),
    "average with the stride ignored": (
        "check_avg_pool_forward", lambda x, k, s: _avg_forward(x, k, s, step=1),
        "pool_stride_ignored"),
    "average gradient not divided": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, divide_by=lambda k: 1),
        "avggrad_not_divided"),
    "average gradient divided by k": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, divide_by=lambda k: k),
        "avggrad_divided_by_k"),
    "average gradient assigned, not added": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, assign=True),
        "avggrad_overwrite"),
    "average gradient with the stride ignored": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, step=1), "pool_stride_ignored"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_classic_mistakes_lose_points_and_get_their_hint(mistake, capsys):
    name, fn, hint = MISTAKES[mistake]
    assert_check_catches(CHECKS[name], fn, HIDDEN[name], hint, capsys)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_visible_test_catches_the_mistake_too(mistake):
    name, fn, _ = MISTAKES[mistake]
    assert CHECKS[name].evaluate(fn, None).failing


def test_right_maxima_with_wrong_switches_keep_the_points_for_the_maxima():
    fn = MISTAKES["switches inside the window"][1]
    assert lab03.check_max_pool_forward(fn, seed=1301, points=3) == 3
    assert lab03.check_max_pool_switches(fn, seed=1302, points=3) < 3


def test_switches_of_another_dtype_fail_with_a_clear_problem():
    def float_switches(x, k, s):
        out, switches = SOL["max_pool_forward"](x, k, s)
        return out, switches.astype(float)

    ev = lab03.check_max_pool_switches.evaluate(float_switches, None)
    assert len(ev.failing) == len(ev.cases)
    assert ev.verdicts[0].problem == "dtype float64, expected int64"


@pytest.mark.parametrize("seed", range(30))
def test_random_cases_are_valid_geometries(seed):
    for case in lab03.check_max_pool_forward.cases(seed):
        x, k, stride = case.args
        assert x.ndim == 4 and 2 <= k <= min(x.shape[2:]) and stride >= 1
    for case in lab03.check_avg_pool_backward.cases(seed):
        dout, x, k, stride = case.args
        assert dout.shape == lab03.avg_pool_forward(x, k, stride).shape
