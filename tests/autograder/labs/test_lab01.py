"""lab01_correlation's own tests, beside the shared suite: valid random geometries, a noisy and
slow solution, a student who patches the checks, a deleted grading record, and the detections
(issue 12, item 3): five parts cheated on in five ways, a comparison patched."""

from __future__ import annotations

import nbformat
import pytest
from lab_cases import assert_flagged, assert_judged_on_its_own
from lab_cases.lab01 import BUILDS_ON, CHEATED, PATCHED
from lab_suite import graded_course
from lab_table import lab

from autograder.checks import MIME, lab01
from autograder.rescore import rescore_notebook

LAB = lab("lab01")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(LAB, tmp_path_factory)


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


def test_printing_logging_and_warnings_cost_nothing(course):
    assert course.score("noisy") == course.score("solution")
    hidden = [c for c in course.graded("noisy").cells
              if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("hidden_")]
    assert hidden and not [o for c in hidden for o in c.outputs if o.get("name") == "stderr"]
    assert "note: your function printed" in course.cell_text("noisy", "hidden_correlate1d")
    assert "warning(s)" in course.cell_text("noisy", "hidden_correlate2d")


def test_a_student_who_patches_the_checks_is_rescored_to_the_truth(course):
    kernel = course.score("tamper")
    assert kernel["hidden_correlate1d"] == 3 and kernel["hidden_convolve1d"] == 2  # the claim
    rescored = course.rescore("tamper")
    assert rescored["hidden_correlate1d"].points == 0
    assert "claimed 3 points" in rescored["hidden_correlate1d"].note
    assert rescored["hidden_convolve1d"].points == 0
    assert "no grading record" in rescored["hidden_convolve1d"].note
    assert rescored["hidden_pad2d"].points == 4 and rescored["hidden_pad2d"].note == ""


def test_a_deleted_record_earns_nothing(course, tmp_path):
    nb = course.graded("solution")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "hidden_pad2d":
            cell.outputs = [o for o in cell.outputs if MIME not in o.get("data", {})]
    doctored = tmp_path / "doctored.ipynb"
    nbformat.write(nb, doctored)
    rescored = rescore_notebook(course.source, doctored)
    assert rescored["hidden_pad2d"].points == 0 and rescored["hidden_pad2d"].kernel_points == 4
    assert "no grading record" in rescored["hidden_pad2d"].note
    assert rescored["hidden_correlate1d"].points == 3


@pytest.mark.parametrize("name", sorted(BUILDS_ON))
def test_a_function_is_judged_with_the_courses_versions_of_what_it_builds_on(name):
    """Each stand-in the check declares replaces a broken function of the student's."""
    assert_judged_on_its_own(LAB, name, BUILDS_ON[name])


def test_cheating_parts_earn_nothing_and_are_flagged_with_the_evidence(course):
    """The tracer removed, np.convolve, a hand-written function that calls convnb, an object
    equal to anything, a hard-coded answer; convolve2d, right and judged with the course's
    correlate2d standing in for the cheating one, keeps its points."""
    assert_flagged(course, "cheats", CHEATED)


def test_a_patched_comparison_earns_nothing_and_is_named(course):
    assert_flagged(course, "patcher", PATCHED)
