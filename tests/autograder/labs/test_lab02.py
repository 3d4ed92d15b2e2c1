"""lab02_conv_forward's own tests, beside the shared suite: the lecture's example (a visible case,
reproduced by convnb, the solution and the notebook), the im2col layout the lab states, the
points of each hidden cell, the feedback of the solution and the blank notebook, valid random
geometries, and a student who cheats on every part (issue 12, item 3)."""

from __future__ import annotations

import numpy as np
import pytest
from lab_cases import assert_flagged, assert_judged_on_its_own
from lab_cases.lab02 import BUILDS_ON, CHEATED
from lab_suite import graded_course, max_points, notebook, solution
from lab_table import lab

import convnb
from autograder.checks import lab02

LAB = lab("lab02")
LECTURE_OUT = [[[3, 2, 11], [2, 12, 13], [-3, 6, 6]], [[-2, -3, 0], [-5, -3, 1], [-1, -2, 3]]]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(LAB, tmp_path_factory)


def test_the_lecture_example_is_the_first_visible_case_and_convnb_reproduces_it():
    x, w, b, stride, pad = lab02.check_conv_forward_loops.fixed[0].args
    out = lab02.conv_forward(x, w, b, stride, pad)
    np.testing.assert_array_equal(out, np.array([LECTURE_OUT], dtype=float))
    np.testing.assert_array_equal(solution(LAB)["conv_forward_loops"](x, w, b, stride, pad), out)
    cell = next(c for c in notebook(LAB).cells if c.get("id") == "lecture_example")
    for name in ("x_lecture", "w_lecture", "b_lecture"):
        assert name in cell.source
    scope = dict(solution(LAB))
    exec(cell.source, scope)  # noqa: S102 - the lab's own locked cell
    np.testing.assert_array_equal(scope["x_lecture"], x)
    np.testing.assert_array_equal(scope["w_lecture"], w)
    np.testing.assert_array_equal(scope["out_lecture"], out)


@pytest.mark.parametrize("whose", ["answer key", "solution"])
def test_the_im2col_layout_is_the_one_the_lab_states(whose):
    im2col = lab02.im2col if whose == "answer key" else solution(LAB)["im2col"]
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 4))
    cols = im2col(x, 2, 3, 2, 1)
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    H_out, W_out = (5 + 2 - 2) // 2 + 1, (4 + 2 - 3) // 2 + 1
    assert cols.shape == (3 * 2 * 3, 2 * H_out * W_out)
    for n, c, i, j, u, v in np.ndindex(2, 3, H_out, W_out, 2, 3):
        assert cols[c * 6 + u * 3 + v, n * H_out * W_out + i * W_out + j] == \
            xpad[n, c, i * 2 + u, j * 2 + v]


def test_each_hidden_cell_has_its_points():
    assert max_points(LAB) == {"hidden_zero_pad": 2, "hidden_conv_forward_loops": 7,
                               "hidden_im2col": 6, "hidden_conv_forward_im2col": 5}


def test_the_graded_solution_reproduces_the_lecture(course):
    assert "It is the lecture's output volume." in course.cell_text(
        "solution", "lecture_example")


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


@pytest.mark.parametrize("name", sorted(BUILDS_ON))
def test_a_function_is_judged_with_the_courses_versions_of_what_it_builds_on(name):
    """Each stand-in the check declares replaces a broken function of the student's."""
    assert_judged_on_its_own(LAB, name, BUILDS_ON[name])


def test_cheating_parts_earn_nothing_and_are_flagged_with_the_evidence(course):
    """An ndarray subclass, a function that just calls convnb.conv2d, NumPy's window views
    (forbidden in this lab), SciPy."""
    assert_flagged(course, "cheats", CHEATED)
