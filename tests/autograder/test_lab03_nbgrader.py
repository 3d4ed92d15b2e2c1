"""lab03 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade the solution, the
released (blank) notebook and four submissions with classic mistakes (two each, in different
functions), made by editing the solution as a student would. Then
:func:`autograder.rescore.rescore_notebook` is compared with nbgrader's gradebook.
"""

from __future__ import annotations

import pytest
from nbgrader_course import (
    assert_hidden_cells_quiet,
    assert_mistakes_lose_points,
    assert_no_hidden_source,
    assert_rescoring_agrees,
    autograded_course,
)

LAB = "lab03_pooling"
MAX = {"hidden_max_pool_forward": 3, "hidden_max_pool_switches": 3,
       "hidden_max_pool_backward": 5, "hidden_avg_pool_forward": 4,
       "hidden_avg_pool_backward": 5}

LAST_MAXIMUM = """\
def max_pool_forward(x, k, stride):
    N, C, H, W = x.shape
    H_out = (H - k) // stride + 1
    W_out = (W - k) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    switches = np.zeros((N, C, H_out, W_out), dtype=np.int64)
    for n, c, i, j in np.ndindex(N, C, H_out, W_out):
        best = -np.inf
        for u in range(k):
            for v in range(k):
                r, s = i * stride + u, j * stride + v
                if x[n, c, r, s] >= best:
                    best = x[n, c, r, s]
                    out[n, c, i, j], switches[n, c, i, j] = best, r * W + s
    return out, switches
"""
WHOLE_WINDOW = """\
def max_pool_backward(dout, x, k, stride):
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        dx[n, c, i * stride:i * stride + k, j * stride:j * stride + k] += dout[n, c, i, j]
    return dx
"""
TIED_MASK = """\
def max_pool_backward(dout, x, k, stride):
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * stride:i * stride + k, j * stride:j * stride + k]
        mask = window == np.max(window)
        dx[n, c, i * stride:i * stride + k, j * stride:j * stride + k] += mask * dout[n, c, i, j]
    return dx
"""
AVG_SHARE = "dx[:, :, r:r + k, s:s + k] += dout[:, :, i, j, None, None] / (k * k)"

# Student -> ({solution cell: the student's code, or [(solution text, the student's text), ...]},
# {test cell: the hint it must show, or None: it loses points, whatever the hint}). Other test
# cells keep full marks.
WRONG = {
    "last_maximum_and_avg_stride": (
        {"max_pool_forward": LAST_MAXIMUM,
         "avg_pool_forward": [("r, s = i * stride, j * stride", "r, s = i, j")]},
        {"hidden_max_pool_switches": "switch_last_max",
         "hidden_max_pool_backward": "switch_last_max",  # it uses the switches
         "hidden_avg_pool_forward": "pool_stride_ignored"}),
    "whole_window_and_sum": (
        {"max_pool_backward": WHOLE_WINDOW,
         "avg_pool_forward": [(".mean(axis=(2, 3))", ".sum(axis=(2, 3))")]},
        {"hidden_max_pool_backward": "maxgrad_to_window",
         "hidden_avg_pool_forward": "avg_sum"}),
    "tied_mask_and_not_divided": (
        {"max_pool_backward": TIED_MASK,
         "avg_pool_backward": [(AVG_SHARE, AVG_SHARE.replace(" / (k * k)", ""))]},
        {"hidden_max_pool_backward": "maxgrad_all_ties",
         "hidden_avg_pool_backward": "avggrad_not_divided"}),
    "switches_in_window_and_assign": (
        {"max_pool_forward": [("(r + first // k) * W + (s + first % k)", "first")],
         "avg_pool_backward": [(AVG_SHARE, AVG_SHARE.replace("+=", "="))]},
        {"hidden_max_pool_switches": "switch_in_window",
         "hidden_max_pool_backward": None,  # it uses the switches
         "hidden_avg_pool_backward": "avggrad_overwrite"}),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return autograded_course(tmp_path_factory, LAB, WRONG)


def test_the_solution_scores_full_marks_and_reproduces_the_lecture(course):
    assert course.score("solution") == MAX
    assert sum(MAX.values()) == 20
    assert "The lecture's example, with its switches." in course.cell_text(
        "solution", "lecture_example")


def test_the_released_notebook_scores_zero(course):
    assert course.score("blank") == dict.fromkeys(MAX, 0.0)
    assert "not written yet" in course.cell_text("blank", "hidden_max_pool_backward")


def test_no_hidden_test_cell_errors_or_writes_to_stderr(course):
    assert_hidden_cells_quiet(course, ("solution", "blank", *WRONG), MAX)


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    assert_mistakes_lose_points(course, student, MAX, *WRONG[student][1:])


@pytest.mark.parametrize("student", ["solution", "blank", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    assert_rescoring_agrees(course, student, MAX)


def test_feedback_shows_no_hidden_test_source(course):
    assert_no_hidden_source(course, ("solution", "blank", *WRONG), MAX)
