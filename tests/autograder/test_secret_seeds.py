"""The hidden tests' cases come from a course secret, not from the seeds in the repository.

Released through ``python -m autograder release`` (lab01): the first release creates the secret
(mode 0600, git-ignored), a later release keeps it; the gradebook's hidden tests hold the derived
seeds and the released notebook neither them nor the secret; grading with another secret, none,
or a lab released with its public seeds is refused. Graded by nbgrader: the same submission sees
other hidden cases under another secret and the same under the same one, and the rescoring
agrees only with the secret that released the lab.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import stat
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateAssignment
from nbgrader.utils import capture_log
from nbgrader_course import TEST_SECRET, GradedCourse, lab_course

from autograder.__main__ import main
from autograder.calls import check_calls
from autograder.checks import MIME, records_in
from autograder.course import Course
from autograder.rescore import rescore_notebook
from autograder.secret import derive_seed, read_secret, secret_path, with_secret_seeds

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_correlation"
OTHER_SECRET = hashlib.sha256(b"another course").digest()
HIDDEN = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def _hidden_calls(nb: nbformat.NotebookNode) -> dict[str, tuple[str, int]]:
    """``grade_id: (check, seed)`` of the scored check call in each graded test cell."""
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        for call in check_calls(cell.source) if meta.get("grade") else []:
            if call.points is not None:
                found[meta["grade_id"]] = (call.name, call.seed)
    return found


def _stored_sources(labs: Path) -> dict[str, str]:
    """The source of every cell nbgrader stored in the gradebook at release, by grade id."""
    with Gradebook(f"sqlite:///{labs / 'gradebook.db'}") as gb:
        return {c.name: c.source for c in gb.find_notebook(LAB, LAB).source_cells}


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A course folder with the repository's configuration, lab01 released by the CLI."""
    return lab_course(tmp_path_factory.mktemp("course"), LAB)


def _copy(labs: Path, tmp_path: Path) -> Path:
    """A copy of the released course with one submission, ready for ``grade``."""
    copy = tmp_path / "labs"
    shutil.copytree(labs, copy)
    submitted = copy / "submitted" / "alice" / LAB
    submitted.mkdir(parents=True)
    shutil.copy(copy / "release" / LAB / f"{LAB}.ipynb", submitted)
    return copy


# --- The seed and the secret -------------------------------------------------------------------

def test_the_seed_is_hmac_sha256_of_the_secret_truncated_to_63_bits():
    expected = hmac.new(TEST_SECRET, b"lab01_correlation\x00check_pad2d\x001105",
                        hashlib.sha256).digest()
    seed = derive_seed(TEST_SECRET, "lab01_correlation", "check_pad2d", 1105)
    assert seed == int.from_bytes(expected[:8], "big") >> 1 and 0 <= seed < 2**63
    others = {derive_seed(OTHER_SECRET, "lab01_correlation", "check_pad2d", 1105),
              derive_seed(TEST_SECRET, "lab02_conv_forward", "check_pad2d", 1105),
              derive_seed(TEST_SECRET, "lab01_correlation", "check_correlate1d", 1105),
              derive_seed(TEST_SECRET, "lab01_correlation", "check_pad2d", 1106)}
    assert seed not in others and len(others) == 4


def test_only_seeds_inside_the_hidden_tests_change():
    source = ("check_pad2d(pad2d)\nrng = np.random.default_rng(seed=3)\n%time 1\n"
              "### BEGIN HIDDEN TESTS\ncheck_pad2d(pad2d,  seed=1_105, points=4)  # é\n"
              "### END HIDDEN TESTS")
    derived = derive_seed(TEST_SECRET, "lab01", "check_pad2d", 1105)
    assert with_secret_seeds(source, "lab01", TEST_SECRET, *HIDDEN) == source.replace(
        "1_105", str(derived))


def test_a_scored_seed_outside_the_hidden_tests_is_refused():
    with pytest.raises(ValueError, match=r"lab01, cell 3: check_pad2d\(\.\.\., seed=7, "
                                         r"points=\.\.\.\) is outside 'BEGIN HIDDEN TESTS'"):
        with_secret_seeds("check_pad2d(pad2d, seed=7, points=4)", "lab01", TEST_SECRET,
                          *HIDDEN, where="lab01, cell 3")


# --- Release -----------------------------------------------------------------------------------

def test_the_first_release_creates_a_private_secret_and_a_later_one_keeps_it(released):
    path = secret_path(released)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret, stored = read_secret(released, "test"), _stored_sources(released)
    assert len(secret) == 32 and path.read_text().strip() == secret.hex()
    assert main(["--course", str(released), "release", LAB]) == 0
    assert read_secret(released, "test") == secret and _stored_sources(released) == stored


def test_the_secret_file_is_git_ignored():
    ignored = subprocess.run(["git", "check-ignore", "-q", "labs/course_secret"], cwd=REPO)
    assert ignored.returncode == 0


def test_the_gradebook_holds_the_derived_seeds_and_nothing_else_changes(released):
    secret = read_secret(released, "test")
    source = nbformat.read(released / "source" / LAB / f"{LAB}.ipynb", as_version=4)
    stored = _stored_sources(released)
    hidden = _hidden_calls(source)
    assert len(hidden) == 6
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if grade_id not in stored or meta.get("solution"):  # nbgrader stores those cleared
            continue
        expected = cell.source
        if grade_id in hidden:
            check, seed = hidden[grade_id]
            derived = derive_seed(secret, LAB, check, seed)
            assert f"seed={derived}," in stored[grade_id]
            expected = expected.replace(f"seed={seed},", f"seed={derived},")
        assert stored[grade_id] == expected, grade_id  # visible tests and code unchanged


def test_the_released_notebook_holds_neither_the_secret_nor_a_derived_seed(released):
    secret = read_secret(released, "test")
    source = nbformat.read(released / "source" / LAB / f"{LAB}.ipynb", as_version=4)
    derived = [str(derive_seed(secret, LAB, check, seed))
               for check, seed in _hidden_calls(source).values()]
    for path in (released / "release" / LAB / f"{LAB}.ipynb",
                 released.parent / "book" / "_downloads" / "labs" / f"{LAB}.ipynb"):
        text = path.read_text()
        assert "check_correlate1d(correlate1d)" in text  # the visible tests are there
        assert secret.hex() not in text and not [s for s in derived if s in text], path
        assert not _hidden_calls(nbformat.reads(text, as_version=4)), path


# --- Grading needs the secret that released the lab --------------------------------------------

def test_grading_with_another_secret_or_none_is_refused(released, tmp_path, capsys):
    labs = _copy(released, tmp_path)
    secret_path(labs).write_text(OTHER_SECRET.hex() + "\n")
    assert main(["--course", str(labs), "grade", LAB, "--no-progress"]) != 0
    assert "was released with another course secret than" in capsys.readouterr().err
    secret_path(labs).unlink()
    assert main(["--course", str(labs), "grade", LAB, "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert f"no course secret at {secret_path(labs)}" in err and "backup" in err
    assert not (labs / "autograded").exists()


def test_a_lab_released_with_its_public_seeds_must_be_released_again(released, tmp_path,
                                                                     capsys):
    labs = _copy(released, tmp_path)
    course = Course.open(labs, "test")
    coursedir = course.coursedir()
    coursedir.assignment_id = LAB
    config = course.config.copy()
    config.GenerateAssignment.preprocessors = list(
        GenerateAssignment.class_traits()["preprocessors"].default())  # nbgrader's own
    app = GenerateAssignment(coursedir=coursedir, config=config)
    app.force = True
    assert capture_log(app)["success"]
    assert "seed=1101," in _stored_sources(labs)["hidden_correlate1d"]
    assert main(["--course", str(labs), "grade", LAB, "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "was released with its public seed" in err
    assert f"release the lab again (python -m autograder release {LAB})" in err


# --- The same submission under two secrets ------------------------------------------------------

def _graded_records(tmp_path: Path, name: str, secret: bytes) -> tuple[GradedCourse, dict]:
    """lab01's solution graded by nbgrader in a course with ``secret``: the course and each
    hidden cell's recorded outputs (the student's answers to the hidden cases)."""
    course = GradedCourse.generate(tmp_path / name, LAB, secret=secret)
    course.submit("solution", course.submission({}))
    course.autograde()
    records, graded = {}, set(course.score("solution"))
    for cell in course.graded("solution").cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in graded:
            payloads = records_in(cell.outputs)
            assert len(payloads) == 1, grade_id
            records[grade_id] = payloads[0]["outputs"]
    return course, records


def test_another_secret_draws_other_hidden_cases_and_the_same_secret_the_same(tmp_path):
    first, cases = _graded_records(tmp_path, "a", TEST_SECRET)
    again, same = _graded_records(tmp_path, "a_again", TEST_SECRET)
    other, different = _graded_records(tmp_path, "b", OTHER_SECRET)
    assert set(cases) == set(first.score("solution")) and len(cases) == 6
    assert same == cases
    assert all(different[grade_id] != cases[grade_id] for grade_id in cases)
    for course in (first, again, other):
        assert course.score("solution") == {k: r.points for k, r in
                                             course.rescore("solution").items()}
        assert not [r.note for r in course.rescore("solution").values() if r.note]
    # Judged with a secret other than the release's, the same answers are wrong everywhere.
    wrong = rescore_notebook(other.source, other.graded_path("solution"), TEST_SECRET, LAB)
    assert [r.points for r in wrong.values()] == [0.0] * 6
    assert all("the grading record is for" in r.note for r in wrong.values())
    assert MIME in other.graded_path("solution").read_text()
