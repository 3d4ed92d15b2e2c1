"""lab04 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade seven submissions made
from the released notebook: the solution, the blank notebook, and five students with classic
mistakes (each may make several, in different functions). Then
:func:`autograder.rescore.rescore_notebook` is compared with nbgrader's gradebook.
"""

from __future__ import annotations

import pytest
from nbgrader_course import (
    assert_mistakes_lose_points,
    assert_no_hidden_source,
    assert_rescoring_agrees,
    assert_solution_quiet,
    autograded_course,
)

LAB = "lab04_conv_backward"
MAX = {"hidden_conv_backward_db": 2, "hidden_conv_backward_dw": 4, "hidden_conv_backward_dx": 5,
       "hidden_numerical_gradient": 4, "hidden_numerical_gradient_keeps_x": 1,
       "hidden_gradcheck_conv": 4}
HIDDEN = tuple(MAX)

# The layer as loops over the kernel's taps (dw) and a 'full' correlation (dx), the way the
# lectures draw it; the placeholders make the classic mistakes.
CONV_BACKWARD = """\
def conv_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out, W_out = dout.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    db = {DB}
    dw = np.zeros_like(w)
    for u in range(KH):
        for v in range(KW):
            patch = xpad[:, :, u:u + stride * (H_out - 1) + 1:stride,
                         v:v + stride * (W_out - 1) + 1:stride]
            dw[:, :, u, v] = np.tensordot({DW_DOUT}, patch, axes=([0, 2, 3], [0, 2, 3]))
    # dx: dout with zeros between its entries, padded 'full', correlated with the kernels.
    spread = np.zeros((N, F, (H_out - 1) * stride + 1, (W_out - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    spread = np.pad(spread, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    kernels = {KERNELS}
    dxpad = np.zeros_like(xpad)
    for i in range(spread.shape[2] - KH + 1):
        for j in range(spread.shape[3] - KW + 1):
            dxpad[:, :, i, j] = np.tensordot(spread[:, :, i:i + KH, j:j + KW], kernels,
                                             axes=([1, 2, 3], [0, 2, 3]))
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db
"""
RIGHT = {"DB": "dout.sum(axis=(0, 2, 3))", "DW_DOUT": "dout", "KERNELS": "w[:, :, ::-1, ::-1]"}

NO_STRIDE = """\
def conv_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    dw[f] += dout[n, f, i, j] * xpad[n, :, i:i + KH, j:j + KW]
                    dxpad[n, :, i:i + KH, j:j + KW] += dout[n, f, i, j] * w[f]
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
"""

CHECKER = """\
def numerical_gradient(f, x, dout, eps={EPS}):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += eps
        plus = np.sum(f(moved) * dout)
        moved[index] -= 2 * eps
        minus = np.sum(f(moved) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad
"""
ONE_SIDED = """\
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    base = np.sum(f(x) * dout)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += eps
        grad[index] = (np.sum(f(moved) * dout) - base) / eps
    return grad
"""
MUTATING = """\
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x[index] += eps
        plus = np.sum(f(x) * dout)
        x[index] -= 2 * eps
        minus = np.sum(f(x) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad
"""

# Student -> ({solution cell: code replacing the solution}, {test cell: the hint it must show},
# test cells that may lose points without a hint asserted). Other cells must earn full marks.
WRONG = {
    "noflip": ({"conv_backward": CONV_BACKWARD.format(**RIGHT | {"KERNELS": "w"})},
               {"hidden_conv_backward_dx": "dx_not_flipped",
                "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "nostride": ({"conv_backward": NO_STRIDE},
                 {"hidden_conv_backward_dx": "dx_stride_ignored",
                  "hidden_conv_backward_dw": "dw_stride_ignored",
                  "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "db_eps": ({"conv_backward": CONV_BACKWARD.format(**RIGHT | {"DB": "dout.sum(axis=(2, 3))"}),
                "numerical_gradient": CHECKER.format(EPS="1e-2")},
               {"hidden_conv_backward_db": "db_axes",
                "hidden_numerical_gradient": "grad_eps_too_large",
                "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "onesided_dwconv": (
        {"conv_backward": CONV_BACKWARD.format(**RIGHT | {"DW_DOUT": "dout[:, :, ::-1, ::-1]"}),
         "numerical_gradient": ONE_SIDED},
        {"hidden_conv_backward_dw": "dw_swapped", "hidden_numerical_gradient": "grad_one_sided",
         "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "mutating": ({"numerical_gradient": MUTATING},
                 {"hidden_numerical_gradient_keeps_x": "grad_mutates_x"},
                 ("hidden_numerical_gradient", "hidden_gradcheck_conv")),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return autograded_course(tmp_path_factory, LAB, WRONG)


def test_the_released_notebook_keeps_the_signatures_and_drops_the_solutions(course):
    text = "\n".join(c.source for c in course.released.cells)
    for signature in ("def conv_backward(dout, x, w, stride=1, pad=0):",
                      "def numerical_gradient(f, x, dout, eps=1e-6):",
                      "def gradcheck_conv(x, w, b, dout, stride=1, pad=0):",
                      "Shapes: dout (N, F, H_out, W_out)", "def conv_forward(x, w, b"):
        assert signature in text
    assert "np.tensordot(d, xpad" not in text and "seed=" not in text


def test_the_solution_scores_full_marks(course):
    assert course.score("solution") == MAX


def test_the_released_notebook_scores_zero(course):
    assert course.score("blank") == dict.fromkeys(HIDDEN, 0.0)


def test_nothing_errors_or_writes_to_stderr_in_the_solution(course):
    assert_solution_quiet(course)


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    _, expected_hints, may_lose = WRONG[student]
    assert_mistakes_lose_points(course, student, MAX, expected_hints, may_lose)


@pytest.mark.parametrize("student", ["solution", "blank", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    assert_rescoring_agrees(course, student, HIDDEN)


def test_feedback_shows_no_hidden_test_source(course):
    assert_no_hidden_source(course, ("solution", "blank", *WRONG), HIDDEN)
