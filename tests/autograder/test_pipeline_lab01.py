"""lab01 through ``python -m autograder``: release, grade with rescoring, feedback, check.

The solution earns every point and the released notebook none; a student who patches a check is
rescored to the truth in the gradebook and flagged for formgrader; no feedback shows a line of
the hidden tests or a grading record.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import lab_course, submit

from autograder.__main__ import main
from autograder.checks import MIME
from autograder.course import Course

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_correlation"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"


TAMPER = """
def check_correlate1d(fn, seed=None, points=None):
    print("check_correlate1d: all cases pass")
    return points
"""


def _solution(cell: nbformat.NotebookNode) -> str:
    return "\n".join(line for line in cell.source.splitlines() if "SOLUTION ###" not in line
                     and "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _submission(released: Path, extra: str = "") -> nbformat.NotebookNode:
    """The released notebook with the solutions filled in (and ``extra`` after the first)."""
    solutions = {c.metadata["nbgrader"]["grade_id"]: _solution(c)
                 for c in nbformat.read(SOURCE, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(released, as_version=4)
    first = True
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id] + (extra if first else "")
            first = False
    return nb


def _text(page: str) -> str:
    """What a reader of the HTML sees (syntax highlighting splits code into many tags)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _hidden_lines() -> list[str]:
    lines, inside = [], False
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


@pytest.fixture(scope="module")
def labs(tmp_path_factory) -> Path:
    labs = lab_course(tmp_path_factory.mktemp("course"), LAB)
    released = labs / "release" / LAB / f"{LAB}.ipynb"
    for student, nb in {"solution": _submission(released),
                        "blank": nbformat.read(released, as_version=4),
                        "tamper": _submission(released, TAMPER)}.items():
        submit(labs, LAB, student, nb)
    assert main(["--course", str(labs), "grade", LAB, "--jobs", "2", "--no-progress"]) == 0
    return labs


def test_solution_scores_full_marks_and_the_released_notebook_zero(labs):
    with Course.open(labs, "test").gradebook() as gb:
        assignment = gb.find_assignment(LAB)
        assert gb.find_submission(LAB, "solution").score == assignment.max_score == 20
        assert gb.find_submission(LAB, "blank").score == 0


def test_a_patched_check_is_rescored_in_the_gradebook_and_flagged(labs):
    with Course.open(labs, "test").gradebook() as gb:
        grade = gb.find_grade("hidden_correlate1d", LAB, LAB, "tamper")
        assert grade.auto_score == 0 and grade.needs_manual_grade
        assert gb.find_submission(LAB, "tamper").score == 17
    flagged = (labs / "reports" / f"{LAB}.md").read_text().split("## Flagged")[1]
    assert "* tamper: lab01_correlation/hidden_correlate1d: the cell claimed 3 points" in flagged
    status = json.loads((labs / "reports" / f"{LAB}_status.json").read_text())
    assert status["solution"]["flags"] == [] and status["solution"]["notes"] == []


def _any_seed(text: str) -> str:
    """``text`` with every ``seed=<number>`` alike: the graded notebook runs the hidden tests
    with seeds derived from the course secret, not with the ones written in the source."""
    return re.sub(r"seed=\d+", "seed=S", text)


def test_feedback_has_no_hidden_test_line_and_no_grading_record(labs):
    hidden = [_any_seed(line) for line in _hidden_lines()]
    assert hidden and all("seed=S" in line for line in hidden)
    for student in ("solution", "blank", "tamper"):
        page = (labs / "feedback" / student / LAB / f"{LAB}.html").read_text()
        seen = _any_seed(_text(page))
        assert "check_correlate1d(correlate1d)" in seen  # the visible test is shown
        assert not [line for line in hidden if line in seen]
        assert MIME not in page and "vnd.convnb" not in page
    graded = (labs / "autograded" / "solution" / LAB / f"{LAB}.ipynb").read_text()
    assert hidden[0] in _any_seed(graded) and MIME in graded


def test_check_runs_the_visible_tests_of_lab01(labs, capsys):
    assert main(["check", str(labs / "submitted" / "solution" / LAB / f"{LAB}.ipynb")]) == 0
    assert "PASS  test_correlate1d" in capsys.readouterr().out
    assert main(["check", str(labs / "release" / LAB / f"{LAB}.ipynb")]) == 1
    out = capsys.readouterr().out
    assert "FAIL  test_correlate1d" in out and "0 of 6 tests passed" in out
