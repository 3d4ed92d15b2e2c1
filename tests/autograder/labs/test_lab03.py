"""lab03_pooling's own tests, beside the shared suite: the lecture's example (a visible case, with
its switches), the first-maximum rule, hidden cases with ties and overlapping windows, maxima and
switches scored apart, switches of the wrong dtype, the points of each hidden cell, the feedback
of the solution and the blank notebook, and valid random geometries."""

from __future__ import annotations

import numpy as np
import pytest
from lab_cases import assert_judged_on_its_own
from lab_cases.lab03 import BUILDS_ON
from lab_suite import graded_course, hidden_calls, max_points, notebook, solution
from lab_table import lab

from autograder.checks import lab03

LAB = lab("lab03")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(LAB, tmp_path_factory)


def test_the_lecture_example_is_the_first_visible_case():
    x, k, stride = lab03.check_max_pool_forward.fixed[0].args
    out, switches = lab03.max_pool_forward(x, k, stride)
    np.testing.assert_array_equal(x[0, 0], [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0],
                                            [1, 2, 3, 4]])
    np.testing.assert_array_equal(out, [[[[6, 8], [3, 4]]]])
    np.testing.assert_array_equal(switches, [[[[5, 7], [8, 15]]]])
    assert switches.dtype == np.int64
    cell = next(c for c in notebook(LAB).cells if c.get("id") == "lecture_example")
    exec(cell.source, dict(solution(LAB)))  # noqa: S102 - the lab's own locked cell; it asserts


def test_switches_are_the_first_maximum_in_row_major_order():
    x = np.array([[[[2.0, 5.0, 5.0], [5.0, 1.0, 0.0], [5.0, 5.0, 5.0]]]])
    _, switches = lab03.max_pool_forward(x, 3, 1)
    assert switches.item() == 1
    _, switches = solution(LAB)["max_pool_forward"](x, 2, 1)
    np.testing.assert_array_equal(switches, [[[[1, 1], [3, 7]]]])
    np.testing.assert_array_equal(lab03.max_pool_forward(x, 2, 1)[1], switches)


@pytest.mark.parametrize("name", sorted(LAB.checks))
def test_hidden_cases_hold_ties_and_overlapping_windows(name):
    cases = LAB.checks[name].cases(hidden_calls(LAB)[name].seed)
    inputs = [case.args[-3] for case in cases]  # x, before k and stride
    windows = [case.args[-2:] for case in cases]
    assert sum(len(np.unique(x)) < x.size for x in inputs) >= 3
    assert sum(stride < k for k, stride in windows) >= 2


def test_right_maxima_with_wrong_switches_keep_the_points_for_the_maxima():
    _, in_window, _ = LAB.mistakes["switches inside the window"]
    forward, switches = (hidden_calls(LAB)[name] for name in ("check_max_pool_forward",
                                                              "check_max_pool_switches"))
    assert forward.points == switches.points == 3
    assert lab03.check_max_pool_forward(in_window, seed=forward.seed, points=3) == 3
    assert lab03.check_max_pool_switches(in_window, seed=switches.seed, points=3) < 3


def test_switches_of_another_dtype_fail_with_a_clear_problem():
    def float_switches(x, k, s):
        out, switches = solution(LAB)["max_pool_forward"](x, k, s)
        return out, switches.astype(float)

    run = lab03.check_max_pool_switches.evaluate(float_switches, None)
    assert len(run.failing) == len(run.cases)
    assert run.verdicts[0].problem == "dtype float64, expected int64; its values are right"


def test_each_hidden_cell_has_its_points():
    assert max_points(LAB) == {"hidden_max_pool_forward": 3, "hidden_max_pool_switches": 3,
                               "hidden_max_pool_backward": 5, "hidden_avg_pool_forward": 4,
                               "hidden_avg_pool_backward": 5}


def test_the_graded_solution_reproduces_the_lecture(course):
    assert "The lecture's example, with its switches." in course.cell_text(
        "solution", "lecture_example")


@pytest.mark.parametrize("seed", range(30))
def test_random_cases_are_valid_geometries(seed):
    for case in lab03.check_max_pool_forward.cases(seed):
        x, k, stride = case.args
        assert x.ndim == 4 and 2 <= k <= min(x.shape[2:]) and stride >= 1
    for case in lab03.check_avg_pool_backward.cases(seed):
        dout, x, k, stride = case.args
        assert dout.shape == lab03.avg_pool_forward(x, k, stride).shape


@pytest.mark.parametrize("name", sorted(BUILDS_ON))
def test_a_function_is_judged_with_the_courses_versions_of_what_it_builds_on(name):
    """Each stand-in the check declares replaces a broken function of the student's."""
    assert_judged_on_its_own(LAB, name, BUILDS_ON[name])
