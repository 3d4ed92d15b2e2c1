"""A submission's edits to what a student must not change, and fake reports, are flagged with the
evidence: against lab01's real released notebook, and through ``python -m autograder grade``."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from lab_cases.lab01 import TAMPER
from lab_suite import graded_course
from lab_table import lab
from nbgrader.api import Gradebook
from nbgrader_course import sample_course, submit_sample

from autograder.grading import grade_submission
from autograder.integrity import cell_flags, code_flags, fake_report_flags, zeroed_tests
from autograder.sample_lab import LAB, answer

REPO = Path(__file__).resolve().parents[2]
FAKE = "check_pad2d: all 12 random cases pass: 4 of 4 points."


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return graded_course(lab("lab01"), tmp_path_factory)


def _copy(nb):
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_an_honest_submission_has_no_flags(course):
    assert cell_flags(course.released, course.submission({})) == []
    assert fake_report_flags(course.graded("solution")) == []  # the test cells' real reports


def test_edited_deleted_and_repointed_cells_are_flagged_with_the_evidence(course):
    nb = course.submission({})
    _cell(nb, "test_pad2d").source = "pass  # check_pad2d(pad2d)"
    nb.cells.remove(_cell(nb, "hidden_output_size"))
    _cell(nb, "hidden_correlate1d").metadata["nbgrader"]["points"] = 30
    flags = cell_flags(course.released, nb)
    assert flags == [
        "hidden_correlate1d: its points were changed from 3 to 30 in the notebook's metadata",
        "test_pad2d: the locked cell was edited; first change: '-check_pad2d(pad2d)'",
        "hidden_output_size: the test cell was deleted (or its grade id changed)",
    ]


def test_a_fake_report_outside_the_test_cells_is_flagged(course):
    nb = _copy(course.graded("solution"))
    cell = _cell(nb, "pad2d")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{FAKE}\n")]
    assert fake_report_flags(nb) == [
        f"pad2d: prints text that imitates a check's report: {FAKE!r}"]


def test_a_fake_report_zeroes_the_tests_of_the_check_it_imitates(course):
    nb = _copy(course.graded("solution"))
    _cell(nb, "pad2d").outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                        text=f"{FAKE}\n")]
    flag = f"pad2d: prints text that imitates a check's report: {FAKE!r}"
    # hidden_pad2d is the one graded cell that calls check_pad2d (test_pad2d scores nothing)
    assert zeroed_tests(course.released, course.submission({}), nb) == {"hidden_pad2d": flag}
    assert zeroed_tests(course.released, course.submission({}), course.graded("solution")) == {}


def test_grade_zeroes_an_edited_test_cell_and_marks_it_for_the_instructor(tmp_path):
    """nbgrader restores the edited test, which then passes (square is right); the test scores
    0 all the same, marked for manual grading, with the evidence; add keeps its points."""
    labs = sample_course(tmp_path)
    nb = answer(labs / "release" / LAB / f"{LAB}.ipynb", {
        "add": 'def add(a, b):\n    print("check_add: all 12 cases pass: 2 of 2 points.")\n'
               "    return a + b",
        "square": "def square(x):\n    return x * x"})
    _cell(nb, "test_square").source = "print('visible test passed')"
    _cell(nb, "test_square").metadata["nbgrader"]["points"] = 30
    submit_sample(labs, "mallory", nb)
    result = grade_submission(str(labs), LAB, "mallory")
    assert result.graded, result.reason
    flagged = "\n".join(result.flags)
    assert ("sample/test_square: scored 0, flagged: the test cell was edited; first change: "
            "'-assert square(3) == 9") in flagged
    assert "sample/test_square: its points were changed from 3 to 30" in flagged
    # add's print shows in the test cell that calls add, which calls no check: once, flagged
    assert flagged.count("sample/test_add: prints text that imitates a check's report: "
                         "'check_add: all 12 cases pass: 2 of 2 points.'") == 1
    with Gradebook(f"sqlite:///{labs / 'gradebook.db'}") as gb:
        grades = {g.name: (g.score, g.needs_manual_grade)
                  for g in gb.find_submission_notebook(LAB, LAB, "mallory").grades}
    assert grades == {"test_add": (2, False), "test_square": (0, True)}
    graded = nbformat.read(labs / "autograded" / "mallory" / LAB / f"{LAB}.ipynb", as_version=4)
    outputs = "".join(o.get("text", "") for o in _cell(graded, "test_square").outputs)
    assert "[grader] scored 0, flagged: the test cell was edited" in outputs


def test_a_cell_that_replaces_a_check_is_flagged(course):
    """The one attack the rescoring cannot see: a replaced check can record the course's own
    answers (threat_model.md, "Not claimed"); the code that does it is flagged for a person."""
    nb = course.submission({"correlate1d": course.solution_code()["correlate1d"] + "\n" + TAMPER})
    assert code_flags(nb) == [
        "correlate1d: the student's code imports autograder.checks.lab01, defines "
        "check_correlate1d, defines check_convolve1d, writes a grading record's type"]
    assert code_flags(course.submission({})) == []
