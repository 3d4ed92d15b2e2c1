"""nbgrader's own commands, run by hand in a course with ``labs/nbgrader_config.py``, grade as
``python -m autograder grade`` does: the gradebook gets the grader's judgement of the recorded
answers, never the kernel's claim, and a cell whose claim was not confirmed is marked for manual
review; ``grade`` on the same submissions writes the same scores and flags."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from lab_cases.lab01 import STUDENTS, TAMPER
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader_course import GradedCourse, release_steps
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.__main__ import main
from autograder.calls import check_calls
from autograder.course import Course
from autograder.nbgrader_hooks import configuration_problems
from autograder.secret import derive_seed, read_secret, secret_path

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_correlation"
TAMPERED = {"hidden_correlate1d": 3, "hidden_convolve1d": 2}  # what the patched checks claim


def _names(chain: list) -> list[str]:
    return [item.rsplit(".", 1)[-1] if isinstance(item, str) else item.__name__
            for item in chain]


def _gradebook(course: GradedCourse, student: str) -> dict[str, tuple[float, bool]]:
    """``grade_id: (auto score, needs manual grade)`` of ``student``'s notebook."""
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(LAB, LAB, student)
        return {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> GradedCourse:
    """lab01 in a course configured as ``labs/``, released and autograded by nbgrader's CLI: the
    solution, the released notebook, and a wrong student who patches the checks."""
    course = GradedCourse.generate(tmp_path_factory.mktemp("plain"), LAB, secret=None,
                                   course_config=True)
    course.submit("solution", course.submission({}))
    course.submit("blank", course.released)
    flipped = STUDENTS["flipcorr"][0]["correlate1d"]
    course.submit("tamper", course.submission({"correlate1d": flipped + "\n" + TAMPER}))
    course.autograde()
    course.plain = {s: _gradebook(course, s) for s in ("solution", "blank", "tamper")}
    return course


def test_the_course_configuration_is_nbgraders_chains_with_the_three_steps():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "labs")).load_config()
    release = _names(config.GenerateAssignment.preprocessors)
    autograde = _names(config.Autograde.autograde_preprocessors)
    assert release.index("SecretSeeds") == release.index("ComputeChecksums") - 1
    release.remove("SecretSeeds")
    assert release == _names(GenerateAssignment.class_traits()["preprocessors"].default())
    assert config.GenerateAssignment.preprocessors == release_steps()  # the lab suite's
    assert autograde.index("RescoreCells") == autograde.index("SandboxedExecute") + 1
    autograde.remove("RescoreCells")
    autograde[autograde.index("SandboxedExecute")] = "Execute"
    autograde[autograde.index("SaveTrustedGrades")] = "SaveAutoGrades"
    assert autograde == _names(Autograde.class_traits()["autograde_preprocessors"].default())
    assert configuration_problems(config) == []
    assert len(configuration_problems(Config())) == 3


def test_release_and_grade_refuse_a_configuration_without_the_steps(tmp_path, capsys):
    labs = tmp_path / "labs"
    shutil.copytree(REPO / "labs" / "source" / LAB, labs / "source" / LAB)
    (labs / "nbgrader_config.py").write_text("c = get_config()\n")
    assert main(["--course", str(labs), "release", LAB]) != 0
    err = capsys.readouterr().err
    assert "does not make nbgrader's own commands safe" in err
    assert "autograder.nbgrader_hooks.SecretSeeds before the first ComputeChecksums" in err
    assert not (labs / "release").exists() and not secret_path(labs).exists()


def test_a_student_who_patches_the_checks_gets_the_trusted_scores(course):
    scores = course.plain["tamper"]
    assert {k: scores[k] for k in TAMPERED} == dict.fromkeys(TAMPERED, (0.0, True))
    assert [v for k, v in scores.items() if k not in TAMPERED] == [(4.0, False), (3.0, False),
                                                                    (4.0, False), (4.0, False)]
    for grade_id, claim in TAMPERED.items():
        text = course.cell_text("tamper", grade_id)
        assert f"[grader] the cell claimed {claim} points but the grader gives 0:" in text


def test_honest_notebooks_keep_their_scores_with_no_flag_and_no_note(course):
    full = {k: (float(r.max_points), False) for k, r in course.rescore("solution").items()}
    assert course.plain["solution"] == full
    assert course.plain["blank"] == {k: (0.0, False) for k in full}
    for student in ("solution", "blank"):
        assert not [k for k in full if "[grader]" in course.cell_text(student, k)]


def test_grade_writes_the_same_scores_and_flags_as_plain_nbgrader(course):
    assert main(["--course", str(course.root), "grade", LAB, "--jobs", "1",
                 "--no-progress"]) == 0
    assert {s: _gradebook(course, s) for s in course.plain} == course.plain
    flagged = (course.root / "reports" / f"{LAB}.md").read_text().split("## Flagged")[1]
    for grade_id, claim in TAMPERED.items():
        assert f"* tamper: {LAB}/{grade_id}: the cell claimed {claim} points" in flagged
    assert flagged.count("[grader]") == 0 and "solution:" not in flagged
    # The feedback shows the grader's note, but neither the secret nor a seed derived from it.
    secret = read_secret(course.root, "test")
    derived = [str(derive_seed(secret, LAB, call.name, call.seed))
               for cell in nbformat.read(course.source, as_version=4).cells
               if cell.cell_type == "code"
               for call in check_calls(cell.source) if call.points is not None]
    assert len(derived) == 6 and derived[0] in course.graded_path("tamper").read_text()
    for student in course.plain:
        page = (course.root / "feedback" / student / LAB / f"{LAB}.html").read_text()
        assert secret.hex() not in page and not [s for s in derived if s in page], student
        assert ("[grader] the cell claimed" in page) == (student == "tamper")


def test_autograde_refuses_a_course_secret_other_than_the_releases(course, tmp_path):
    copy = GradedCourse(tmp_path, LAB)
    shutil.copytree(course.root, copy.root)
    secret_path(copy.root).write_text("ab" * 32 + "\n")
    copy.submit("late", copy.submission({}))
    with pytest.raises(AssertionError, match="was released with another course secret"):
        copy.nbgrader("autograde", LAB, "--student", "late", "--force")
    with Course.open(copy.root, "test").gradebook() as gb:
        grades = gb.find_submission_notebook(LAB, LAB, "late").grades
        assert grades and all(g.auto_score is None for g in grades)  # nothing written
