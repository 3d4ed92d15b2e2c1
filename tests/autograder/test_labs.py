"""Every lab of ``tests/lab_table.py``, tested the same way: its checks against the instructor's
solution and the classic mistakes, then the whole lab through the real nbgrader command line (one
``nbgrader autograde`` of the solution, the released notebook and the wrong students) and the
rescoring outside the kernel. ``pytest -m lab03`` runs one lab's tests; a lab's own tests are in
``tests/autograder/labs/``.
"""

from __future__ import annotations

import json
import re

import pytest
from lab_suite import (
    Lab,
    attacks,
    graded_course,
    hidden_calls,
    hidden_cells,
    honest_extras,
    max_points,
    notebook,
    pipeline_course,
    solution,
    unwritten,
    written_by_student,
    wrong_students,
)
from lab_table import LABS
from nbgrader.api import Gradebook
from nbgrader_course import solution_code

from autograder.checks.hints import HINTS

SEEDS, FEW_SEEDS = tuple(range(8)), (0, 1, 2)


def _per_lab(table):
    """``(lab, item)`` parameters with readable ids, e.g. ``lab01-check_pad2d``."""
    return [pytest.param(lab, item, id=f"{lab.key}-{item}") for lab in LABS
            for item in sorted(table(lab))]


LAB = [pytest.param(lab, id=lab.key) for lab in LABS]


def _static_checks(lab: Lab) -> list[str]:
    """The checks of functions the student writes (not of what the notebook trains)."""
    return list(written_by_student(lab))


# --- The checks, without nbgrader -----------------------------------------------------------

@pytest.mark.parametrize("lab", LAB)
def test_every_check_has_a_hidden_test_and_the_points_add_up(lab):
    hidden = hidden_calls(lab)
    assert set(hidden) == set(lab.checks), "a check without a hidden test, or the reverse"
    assert sum(call.points for call in hidden.values()) == lab.points
    assert sum(max_points(lab).values()) == lab.points
    assert f"{lab.points:g} points" in notebook(lab).cells[0].source


@pytest.mark.parametrize(("lab", "name"), _per_lab(_static_checks))
def test_the_solution_passes_the_visible_and_many_random_cases(lab, name):
    call = hidden_calls(lab)[name]
    student_fn = solution(lab)[call.argument]
    for seed in (None, call.seed, *(FEW_SEEDS if name in lab.few_seeds else SEEDS)):
        run = lab.checks[name].evaluate(student_fn, seed)
        assert not run.failing, (seed, [run.verdicts[i].problem for i in run.failing])


@pytest.mark.parametrize(("lab", "name"), _per_lab(_static_checks))
def test_an_unwritten_function_scores_zero(lab, name, capsys):
    call = hidden_calls(lab)[name]
    stub = unwritten(lab)[call.argument]
    assert lab.checks[name](stub, seed=call.seed, points=call.points) == 0
    assert "not written yet" in capsys.readouterr().out


@pytest.mark.parametrize(("lab", "mistake"), _per_lab(lambda lab: lab.mistakes))
def test_classic_mistakes_lose_points_and_get_their_hint(lab, mistake, capsys):
    name, wrong_fn, hint = lab.mistakes[mistake]
    check, call = lab.checks[name], hidden_calls(lab)[name]
    run = check.evaluate(wrong_fn, call.seed)
    assert run.failing, "the hidden cases do not catch this mistake"
    assert run.hint == hint, (run.hint, run.hint_matches)
    assert check(wrong_fn, seed=call.seed, points=call.points) < call.points
    assert "Hint: " + HINTS[hint] in capsys.readouterr().out


@pytest.mark.parametrize(("lab", "mistake"), _per_lab(lambda lab: lab.mistakes))
def test_the_visible_test_catches_the_mistake_too(lab, mistake):
    """... and names it, where the mistake gives numbers: the student reads the visible test's
    hint while working (a mistake that raises, as a matrix product of the wrong shapes does,
    gets the exception's traceback instead)."""
    name, wrong_fn, hint = lab.mistakes[mistake]
    run = lab.checks[name].evaluate(wrong_fn, None)
    assert run.failing
    if set(run.failing) - set(run.exceptions):
        assert run.hint == hint, (run.hint, run.hint_matches)


# --- The lab through nbgrader ---------------------------------------------------------------

@pytest.mark.parametrize("lab", LAB)
def test_the_released_notebook_keeps_the_signatures_and_drops_the_solutions(lab,
                                                                           tmp_path_factory):
    released = "\n".join(c.source for c in graded_course(lab, tmp_path_factory).released.cells)
    for cell_id, code in solution_code(notebook(lab)).items():
        signatures = re.findall(r"^(?:def|class) .*:$", code, flags=re.MULTILINE)
        assert signatures, f"{cell_id}: a solution cell with no def or class to keep"
        assert signatures[0] in released, signatures[0]
    for cell in notebook(lab).cells:
        answer = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.DOTALL)
        body = [line for line in answer[1].splitlines() if line.strip()] if answer else []
        if body:
            assert "\n".join(body) not in released, cell.metadata["nbgrader"]["grade_id"]
    # No hidden check call (its seed); a lab's own code may pass seeds (lab05's data split).
    assert not re.search(r"check_\w+\(.*\bseed=", released)
    assert "BEGIN HIDDEN TESTS" not in released


@pytest.mark.parametrize("lab", LAB)
def test_the_solution_scores_full_marks(lab, tmp_path_factory):
    assert graded_course(lab, tmp_path_factory).score("solution") == max_points(lab)


@pytest.mark.parametrize("lab", LAB)
def test_the_released_notebook_scores_zero(lab, tmp_path_factory):
    course = graded_course(lab, tmp_path_factory)
    assert course.score("blank") == dict.fromkeys(max_points(lab), 0.0)
    for name in written_by_student(lab):
        cell = hidden_cells(lab)[name]
        assert "not written yet" in course.cell_text("blank", cell), (name, cell)


@pytest.mark.parametrize("lab", LAB)
def test_nothing_errors_or_writes_to_stderr_in_the_solution(lab, tmp_path_factory):
    cells = graded_course(lab, tmp_path_factory).graded("solution").cells
    outputs = [o for c in cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]


@pytest.mark.parametrize("lab", LAB)
def test_no_hidden_test_cell_errors_or_writes_to_stderr(lab, tmp_path_factory):
    course = graded_course(lab, tmp_path_factory)
    for student in ("solution", "blank", *lab.students, *lab.extra):
        for grade_id in max_points(lab):
            outputs = course.cell(student, grade_id).outputs
            assert not [o for o in outputs if o.output_type == "error"], (student, grade_id)
            assert not [o for o in outputs if o.get("name") == "stderr"], (student, grade_id)


@pytest.mark.parametrize(("lab", "student"), _per_lab(lambda lab: lab.students))
def test_classic_mistakes_lose_points_with_the_matching_hint(lab, student, tmp_path_factory):
    """Each test cell with a hint loses points and shows its smallest failing case and the
    hint (``None``: any hint); the cells that may lose are not checked; every other earns full
    marks."""
    _, hints, may_lose = wrong_students(lab)[student]
    course = graded_course(lab, tmp_path_factory)
    scores = course.score(student)
    for grade_id, points in max_points(lab).items():
        if grade_id in hints:
            assert scores[grade_id] < points, grade_id
            text = course.cell_text(student, grade_id)
            assert "Smallest failing case" in text, text
            if hints[grade_id] is not None:
                assert "Hint: " + HINTS[hints[grade_id]] in text, text
        elif grade_id not in may_lose:
            assert scores[grade_id] == points, grade_id


def _honest(lab: Lab) -> list[str]:
    return ["solution", "blank", *lab.students,
            *(name for name, extra in lab.extra.items() if extra.honest)]


@pytest.mark.parametrize(("lab", "student"), _per_lab(_honest))
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(lab, student, tmp_path_factory):
    """The points decided outside the kernel are nbgrader's, with no note, on an honest
    notebook."""
    course = graded_course(lab, tmp_path_factory)
    rescored = course.rescore(student)
    assert {k: r.points for k, r in rescored.items()} == course.score(student)
    assert [r.note for r in rescored.values()] == [""] * len(max_points(lab))


@pytest.mark.parametrize("lab", LAB)
def test_feedback_shows_no_hidden_test_source(lab, tmp_path_factory):
    course = graded_course(lab, tmp_path_factory)
    for student in ("solution", "blank", *lab.students, *lab.extra):
        for grade_id in max_points(lab):
            text = course.cell_text(student, grade_id)
            assert "seed=" not in text and "BEGIN HIDDEN" not in text, (student, grade_id)


# --- Attacks, through the whole grading chain ------------------------------------------------


@pytest.mark.parametrize(("lab", "student"), _per_lab(attacks))
def test_an_attack_graded_by_the_whole_chain_earns_nothing_and_is_flagged(lab, student,
                                                                          tmp_path_factory):
    """``python -m autograder grade`` with the course's configuration (sandbox, rescoring in
    nbgrader's chain, trusted grades, report): each attacked test scores 0 in the gradebook, is
    marked for manual grading in formgrader, and is listed with its evidence for the student in
    the grading status and the report; every other test keeps its points."""
    course = pipeline_course(lab, tmp_path_factory)
    attack = lab.extra[student]
    status = json.loads((course.root / "reports" / f"{lab.name}_status.json").read_text())
    report = (course.root / "reports" / f"{lab.name}.md").read_text()
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        grades = {g.name: (g.score, g.needs_manual_grade) for g in
                  gb.find_submission_notebook(lab.name, lab.name, student).grades}
        solution_grades = {g.name: g.score for g in
                           gb.find_submission_notebook(lab.name, lab.name, "solution").grades}
    assert solution_grades == max_points(lab)
    for grade_id, points in max_points(lab).items():
        if grade_id in attack.flagged:
            assert grades[grade_id] == (0, True), grade_id
            flag = next(f for f in status[student]["flags"]
                        if f.startswith(f"{lab.name}/{grade_id}: "))
            assert attack.flagged[grade_id] in flag, (attack.flagged[grade_id], flag)
            assert student in report and attack.flagged[grade_id] in report, grade_id
        elif grade_id in attack.lost:
            assert grades[grade_id][0] == 0, grade_id
        else:
            assert grades[grade_id] == (points, False), grade_id


@pytest.mark.parametrize(("lab", "student"), _per_lab(honest_extras))
def test_an_honest_extra_graded_by_the_whole_chain_keeps_full_marks(lab, student,
                                                                    tmp_path_factory):
    """A right answer that prints, warns or is slow (within the limits) in the sandbox: every
    point, nothing flagged, no note."""
    course = pipeline_course(lab, tmp_path_factory)
    status = json.loads((course.root / "reports" / f"{lab.name}_status.json").read_text())
    assert course.score(student) == max_points(lab)
    assert status[student]["flags"] == [] and status[student]["timeouts"] == []

