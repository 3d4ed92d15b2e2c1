"""``python -m autograder release | grade | check`` on the sample lab, in a temporary course.

Real nbgrader, real kernels, the real command line. One module-wide course is released once and
graded once (jobs 2) with four students: right, half right, a notebook that kills its kernel
and one that loops; the tests read what that run left behind.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader_course import sample_course, submit_sample

from autograder.__main__ import main
from autograder.checks import MIME
from autograder.course import Course, UsageError, course_kernel
from autograder.feedback import StripHiddenTests
from autograder.pipeline import grade
from autograder.sample_lab import HIDDEN_MARKER, LAB, RECORD_MARKER, write_sample_lab

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 4  # seconds per cell in the test course: the looping student costs this much

STUDENTS = {
    "good": {"add": "def add(a, b):\n    return a + b",
             "square": "def square(x):\n    return x * x"},
    "half": {"add": "def add(a, b):\n    return a + b",
             "square": "def square(x):\n    return x + x"},
    "crash": {"add": "import os\nos._exit(1)"},
    "loop": {"add": "def add(a, b):\n    return a + b", "square": "while True:\n    pass"},
}
SCORES = {"good": 5.0, "half": 2.0, "loop": 2.0}


def run_cli(labs: Path, *args: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "--course", str(labs), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def labs(tmp_path_factory) -> Path:
    labs = sample_course(tmp_path_factory.mktemp("course"), f"c.Execute.timeout = {TIMEOUT}\n")
    for student, answers in STUDENTS.items():
        submit_sample(labs, student, answers)
    return labs


@pytest.fixture(scope="module")
def graded(labs) -> subprocess.CompletedProcess:
    """The one run through a separate process: the command line as an instructor runs it."""
    return run_cli(labs, "grade", LAB, "--jobs", "2")


def test_release_writes_the_student_notebook_and_the_book_download(labs):
    released = labs / "release" / LAB / f"{LAB}.ipynb"
    text = released.read_text()
    assert "raise NotImplementedError()" in text
    assert "return a + b" not in text and HIDDEN_MARKER not in text
    download = labs.parent / "book" / "_downloads" / "labs" / f"{LAB}.ipynb"
    assert download.read_text() == text


def test_grade_exits_0_and_reports_the_submission_that_crashed(graded):
    assert graded.returncode == 0, graded.stderr
    assert "graded 3 of 4 submission(s)" in graded.stdout
    assert "failed to run: crash: " in graded.stdout and "DeadKernelError" in graded.stdout


def test_grade_writes_every_score_into_the_gradebook(labs, graded):
    with Course.open(labs, "test").gradebook() as gb:
        scores = {s: gb.find_submission(LAB, s).score for s in SCORES}
        by_cell = {g.name: g.score for nb in gb.find_submission(LAB, "half").notebooks
                   for g in nb.grades}
    assert scores == SCORES
    assert by_cell == {"test_add": 2.0, "test_square": 0.0}


def test_grade_exports_nbgrader_csv(labs, graded):
    lines = (labs / "grades" / f"{LAB}.csv").read_text().splitlines()
    assert lines[0].startswith("assignment,duedate,timestamp,student_id")
    rows = {row["student_id"]: row for row in csv.DictReader(lines)}
    assert set(rows) == set(STUDENTS)
    assert float(rows["good"]["score"]) == float(rows["good"]["max_score"]) == 5.0
    # No due date: nothing is late.
    assert rows["good"]["late_by"] == "" and float(rows["good"]["total_seconds_late"]) == 0
    # a 0 that is no verdict on the work is told apart from one that is
    assert {s: rows[s]["status"] for s in ("good", "crash")} == {
        "good": "graded", "crash": "failed to run"}
    assert float(rows["crash"]["score"]) == 0


def test_grade_says_so_when_it_wrote_no_feedback(tmp_path):
    """Without MathJax the feedback pages cannot be written; the scores are, and the terminal
    says that no feedback was, and what to run (it used to print the feedback folder)."""
    labs = sample_course(tmp_path, f"c.Execute.timeout = {TIMEOUT}\n"
                         f"c.SelfContainedHTML.mathjax_source = '{tmp_path / 'none.js'}'\n")
    submit_sample(labs, "good", STUDENTS["good"])
    done = run_cli(labs, "grade", LAB, "--jobs", "1", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "graded 1 of 1 submission(s)" in done.stdout
    assert "feedback: none written: see the report's notes" in done.stdout
    assert "make vendor" in done.stdout


def test_grade_works_under_a_temporary_folder_too_long_for_a_socket(tmp_path):
    """Each kernel talks to the grader over IPC sockets, whose paths Linux limits to 107 bytes
    (unix(7)). Under a long TMPDIR every kernel used to fail ("ZMQError: File name too
    long")."""
    labs = sample_course(tmp_path, f"c.Execute.timeout = {TIMEOUT}\n")
    submit_sample(labs, "good", STUDENTS["good"])
    tmpdir = tmp_path / ("t" * max(1, 110 - len(str(tmp_path))))
    tmpdir.mkdir()
    done = run_cli(labs, "grade", LAB, "--jobs", "1", "--no-progress",
                   env={**os.environ, "TMPDIR": str(tmpdir)})
    assert done.returncode == 0, done.stderr
    assert "graded 1 of 1 submission(s)" in done.stdout, done.stdout
    with Course.open(labs, "test").gradebook() as gb:
        assert gb.find_submission(LAB, "good").score == SCORES["good"]


def test_grade_writes_a_report_with_a_histogram(labs, graded):
    report = (labs / "reports" / f"{LAB}.md").read_text()
    assert "| graded | 3 |" in report and "| failed to run | 1 |" in report
    assert "| test_square | 3 | " in report  # per question
    failed = report.split("## Submissions that failed to run")[1]
    assert "| crash | " in failed and "DeadKernelError" in failed
    assert "loop: sample: square ran past the 4 s limit" in report
    assert "```text" in report  # the text histogram
    png = labs / "reports" / f"{LAB}_histogram.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{LAB}.md (and as a page: {LAB}.html)" in graded.stdout
    assert "<h2>Per question</h2>" in (labs / "reports" / f"{LAB}.html").read_text()
    assert (labs / "reports" / f"{LAB}_logs" / "crash.log").read_text()


def test_feedback_shows_the_checks_messages_but_no_hidden_test_source(labs, graded):
    for student in SCORES:
        html = (labs / "feedback" / student / LAB / f"{LAB}.html").read_text()
        assert HIDDEN_MARKER not in html and RECORD_MARKER not in html
        assert "their source is not shown" in html
    good = (labs / "feedback" / "good" / LAB / f"{LAB}.html").read_text()
    assert "hidden test passed" in good
    # The graded notebook, which nbgrader's own feedback would render, has them.
    assert HIDDEN_MARKER in (labs / "autograded" / "good" / LAB / f"{LAB}.ipynb").read_text()
    assert not (labs / "feedback" / "crash").exists()


def test_grade_one_student_again_keeps_the_others_in_the_report(labs, graded, capsys):
    assert main(["--course", str(labs), "grade", LAB, "--student", "half"]) == 0
    assert "graded 1 of 1 submission(s)" in capsys.readouterr().out
    status = json.loads((labs / "reports" / f"{LAB}_status.json").read_text())
    assert sorted(status) == sorted(STUDENTS)
    assert "| failed to run | 1 |" in (labs / "reports" / f"{LAB}.md").read_text()


def test_grade_refuses_what_it_cannot_grade(labs, tmp_path, capsys):
    course = Course.open(labs, "grade")
    with pytest.raises(UsageError, match=r"unknown lab 'lab99'.*labs in this course: sample"):
        grade(course, "lab99")
    with pytest.raises(UsageError, match="no submission of 'sample' for student 'nobody'"):
        grade(course, LAB, student="nobody")
    write_sample_lab(labs, "unreleased")
    (labs / "submitted" / "good" / "unreleased").mkdir()
    try:
        with pytest.raises(UsageError, match="release it first"):
            grade(course, "unreleased")
    finally:
        shutil.rmtree(labs / "source" / "unreleased")
        shutil.rmtree(labs / "submitted" / "good" / "unreleased")
    empty = sample_course(tmp_path, f"c.Execute.timeout = {TIMEOUT}\n", release=False)
    assert main(["--course", str(empty), "grade", LAB]) == 2
    err = capsys.readouterr().err
    assert "grade: no submissions of 'sample'" in err and "collect" in err
    assert main(["--course", str(tmp_path), "grade", LAB]) == 2
    assert "no nbgrader_config.py in" in capsys.readouterr().err


def test_check_passes_a_right_notebook_and_fails_a_wrong_one(labs, capsys):
    def check(student: str) -> tuple[int, str]:
        code = main(["check", str(labs / "submitted" / student / LAB / f"{LAB}.ipynb")])
        return code, capsys.readouterr().out

    code, out = check("good")
    assert code == 0, out
    assert "PASS  test_add" in out and "PASS  test_square" in out
    code, out = check("half")
    assert code == 1
    assert "FAIL  test_square" in out and "square(3) should be 9" in out
    assert main(["check", str(labs / "nothing.ipynb")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_help_describes_every_command():
    out = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=REPO,
                         capture_output=True, text=True).stdout
    for command in ("release LAB", "collect LAB ARCHIVE", "grade LAB", "check NOTEBOOK"):
        assert command in out


def test_the_kernel_is_this_interpreter_even_with_another_python3_kernel(tmp_path, monkeypatch):
    other = tmp_path / "kernels" / "python3"
    other.mkdir(parents=True)
    (other / "kernel.json").write_text(json.dumps(
        {"argv": ["/elsewhere/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "another Python", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == "/elsewhere/python"
    with course_kernel():
        assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable
    assert os.environ["JUPYTER_PATH"] == str(tmp_path)


def test_strip_hidden_tests_keeps_outputs_and_drops_records_and_cell_frames():
    source = ("visible()\n### BEGIN HIDDEN TESTS\nsecret_check(seed=7)\n"
              "### END HIDDEN TESTS")
    cell = new_code_cell(source, execution_count=5, metadata={"nbgrader": {
        "grade": True, "grade_id": "t", "points": 1, "solution": False, "locked": True}})
    cell.outputs = [
        new_output("stream", name="stdout", text="3 of 4 cases pass\n"),
        new_output("display_data", data={MIME: {"seed": 7}}),
        new_output("error", ename="AssertionError", evalue="1 case wrong", traceback=[
            "\x1b[0;31m----------\x1b[0m", "Cell \x1b[0;32mIn[5], line 3\x1b[0m\n----> 3 "
            "secret_check(seed=7)", "File lab01.py:10, in secret_check\n   10 raise",
            "\x1b[0;31mAssertionError\x1b[0m: 1 case wrong"]),
    ]
    nb, _ = StripHiddenTests().preprocess(new_notebook(cells=[cell]), {})
    out = nb.cells[0]
    assert "secret_check" not in out.source and out.source.startswith("visible()\n# (hidden")
    assert [o.output_type for o in out.outputs] == ["stream", "error"]
    assert out.outputs[0].text == "3 of 4 cases pass\n"
    assert not any("secret_check(seed" in line for line in out.outputs[1].traceback)
    assert out.outputs[1].traceback[-1].endswith("1 case wrong")
