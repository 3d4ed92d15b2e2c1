"""Submissions that break their kernel or are not notebooks, graded through ``python -m
autograder grade``: each is recorded for its student, the batch goes on, the gradebook holds no
score the run did not give, and a second run gives the same grades.

Real nbgrader, real sandboxed kernels. The sample lab (add: 2 points, square: 3) carries one
student per fault; lab01, lab03 and lab04 carry faults after a correct solution, so that the
points they keep are the lab's own (the gradebook's maximum), and one fault that stops the kernel.
"""

from __future__ import annotations

import atexit
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader_course import STUBBORN_LOOP, long_call, solution_code

from autograder.__main__ import main
from autograder.course import Course
from autograder.sample_lab import LAB, answer, write_sample_lab
from autograder.sandbox import sockets_fit

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 4
STOP = 12  # c.Execute.iopub_timeout: how long an interrupted cell may take to stop
# One call that holds the interrupt back for 9 s: it stops 5 s after the interrupt at 4 s
# (nbclient's own 4 s grace called that a stubborn loop).
LONG_CALL = long_call(9) + "def square(x):\n    return x * x"
GOOD = {"add": "def add(a, b):\n    return a + b", "square": "def square(x):\n    return x * x"}
MEMORY_BOMB = "\nblocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))"
FORK_BOMB = "\nimport os\nwhile True:\n    os.fork()"
KILL = "\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)"

# The sample lab's students: the code of their solution cells (GOOD where not given).
SAMPLE = {
    "good": {},
    "loop": {"square": "while True:\n    pass"},
    "longcall": {"square": LONG_CALL},
    "stubborn": {"square": STUBBORN_LOOP},
    "memory": {"square": MEMORY_BOMB},
    "sysexit": {"add": "import sys\nsys.exit('bye')"},
    "osexit": {"square": "import os\nos._exit(3)"},
    "killed": {"square": KILL},
    "forkbomb": {"square": FORK_BOMB},
}
SCORES = {"good": 5.0, "loop": 2.0, "longcall": 2.0, "memory": 2.0, "sysexit": 3.0,
          "forkbomb": 2.0, "kernel": 5.0}
FAILED = {
    "stubborn": "CellTimeoutError: square ran past the 4 s limit and had not stopped 12 s "
                "after being interrupted (an endless loop that catches KeyboardInterrupt?)",
    "osexit": "DeadKernelError: the kernel died while running square: it exited with status 3",
    "killed": "DeadKernelError: the kernel died while running square: it was killed (SIGKILL",
    "corrupt": "sample.ipynb is not a readable notebook (NotJSONError): ask the student",
    "empty": "sample.ipynb is not a readable notebook (an empty file): ask the student",
    "misnamed": "no sample.ipynb in the submission (it holds Sample (1).ipynb: rename the "
                "right file to sample.ipynb and grade --student misnamed again)",
    "regraded": "DeadKernelError: the kernel died while running add: it exited with status 1",
}
NOTES = {
    "memory": ["sample: square: MemoryError (each process of a kernel has 1024 MiB of address "
               "space, c.Sandbox.memory_mb)"],
    "sysexit": ["sample: add called sys.exit(bye): scored as an error"],
    "forkbomb": ["sample: square: BlockingIOError: [Errno 11] Resource temporarily "
                 "unavailable (a kernel may have 32 processes and threads, c.Sandbox.tasks)"],
    "kernel": ["sample.ipynb was saved with the kernel 'julia-1.10'; graded with the course's "
               "'python3'"],
}


def _course(root: Path, extra: str) -> Path:
    labs = root / "labs"
    (labs / "source").mkdir(parents=True)
    config = (REPO / "labs" / "nbgrader_config.py").read_text()
    (labs / "nbgrader_config.py").write_text(config + extra)
    return labs


def _folder(labs: Path, student: str, lab: str) -> Path:
    folder = labs / "submitted" / student / lab
    folder.mkdir(parents=True, exist_ok=True)
    return folder


_SHORT: dict[Path, Path] = {}


def _tmpdir(labs: Path) -> Path:
    """The course's own temporary folder for ``grade`` (each kernel's private folder goes
    there). Where the course's path is too long for a kernel's sockets (under pytest-xdist's
    longer folders), ``grade`` would put the private folders in /tmp itself, out of sight of
    test_no_kernel_leaves_its_private_folder_behind: a short folder in /tmp is used instead."""
    tmp = labs.parent / "tmp"
    if not sockets_fit(tmp / "autograder-kernel-12345678"):  # mkdtemp's name for it
        if labs not in _SHORT:
            _SHORT[labs] = Path(tempfile.mkdtemp(prefix="faults-", dir="/tmp"))
            atexit.register(shutil.rmtree, _SHORT[labs], True)
        tmp = _SHORT[labs]
    tmp.mkdir(exist_ok=True)
    return tmp


def _grade(labs: Path, lab: str, *args: str) -> subprocess.CompletedProcess:
    """``grade`` with the course's own temporary folder, :func:`_tmpdir`."""
    tmp = _tmpdir(labs)
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course", str(labs), "grade",
                           lab, "--no-progress", *args], env={**os.environ, "TMPDIR": str(tmp)},
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _gradebook(labs: Path, lab: str) -> dict[str, dict[str, tuple]]:
    """Every grade of every submission: (auto score, manual score, needs manual grading)."""
    with Course.open(labs, "test").gradebook() as gb:
        return {s.student.id: {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                               for nb in s.notebooks for g in nb.grades}
                for s in gb.find_assignment(lab).submissions}


def _status(labs: Path, lab: str) -> dict[str, dict]:
    status = json.loads((labs / "reports" / f"{lab}_status.json").read_text())
    return {s: {k: v for k, v in r.items() if k != "seconds"} for s, r in status.items()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> dict:
    """The sample lab's faults graded twice; "regraded" was graded right before it broke."""
    labs = _course(tmp_path_factory.mktemp("faults"),
                   f"c.Execute.timeout = {TIMEOUT}\nc.Execute.iopub_timeout = {STOP}\n"
                   "c.Sandbox.memory_mb = 1024\n"
                   "c.Sandbox.tasks = 32\n")
    write_sample_lab(labs)
    assert main(["--course", str(labs), "release", LAB]) == 0
    released = labs / "release" / LAB / f"{LAB}.ipynb"

    def submit(student: str, answers: dict[str, str], name: str = f"{LAB}.ipynb") -> None:
        nbformat.write(answer(released, {**GOOD, **answers}), _folder(labs, student, LAB) / name)

    submit("regraded", {})
    _grade(labs, LAB, "--student", "regraded")
    first = _gradebook(labs, LAB)["regraded"]
    submit("regraded", {"add": "import os\nos._exit(1)"})
    for student, answers in SAMPLE.items():
        submit(student, answers)
    (_folder(labs, "corrupt", LAB) / f"{LAB}.ipynb").write_text('{"cells": [')
    (_folder(labs, "empty", LAB) / f"{LAB}.ipynb").write_text("")
    submit("misnamed", {}, name="Sample (1).ipynb")
    nb = answer(released, GOOD)
    nb.metadata["kernelspec"] = {"name": "julia-1.10", "display_name": "Julia 1.10",
                                 "language": "julia"}
    nbformat.write(nb, _folder(labs, "kernel", LAB) / f"{LAB}.ipynb")

    out = _grade(labs, LAB, "--jobs", "2").stdout
    run1 = {"gradebook": _gradebook(labs, LAB), "status": _status(labs, LAB),
            "report": (labs / "reports" / f"{LAB}.md").read_text(),
            "csv": (labs / "grades" / f"{LAB}.csv").read_text()}
    _grade(labs, LAB, "--jobs", "2")
    run2 = {"gradebook": _gradebook(labs, LAB), "status": _status(labs, LAB)}
    return {"labs": labs, "out": out, "first": first, "run1": run1, "run2": run2}


def test_every_fault_is_recorded_and_the_batch_goes_on(sample):
    status = sample["run1"]["status"]
    assert sorted(status) == sorted([*SCORES, *FAILED])
    assert f"graded {len(SCORES)} of {len(SCORES) + len(FAILED)} submission(s)" in sample["out"]
    for student, reason in FAILED.items():
        assert not status[student]["graded"]
        assert status[student]["reason"].startswith(reason), status[student]["reason"]
    for student in SCORES:
        assert status[student]["graded"] and status[student]["reason"] == ""
        assert status[student]["notes"] == NOTES.get(student, []), student
    for student in ("loop", "longcall"):  # stopped at the interrupt, or 5 s after it
        assert status[student]["timeouts"] == ["sample: square ran past the 4 s limit"], student


def test_graded_faults_keep_the_points_of_the_cells_they_did_not_break(sample):
    gradebook = sample["run1"]["gradebook"]
    scores = {s: sum(auto for auto, _, _ in gradebook[s].values()) for s in SCORES}
    assert scores == SCORES
    assert not any(manual for s in SCORES for _, _, manual in gradebook[s].values())


def test_a_submission_that_failed_keeps_no_score_and_waits_for_a_grader(sample):
    assert sample["first"] == {"test_add": (2.0, None, False), "test_square": (3.0, None, False)}
    gradebook = sample["run1"]["gradebook"]
    for student in FAILED:
        assert gradebook[student] == {"test_add": (None, None, True),
                                      "test_square": (None, None, True)}, student
    rows = {row["student_id"]: row for row in
            csv.DictReader(sample["run1"]["csv"].splitlines())}
    assert sorted(rows) == sorted([*SCORES, *FAILED])
    for s in FAILED:  # not the 5.0 of "regraded"'s past, and marked as no verdict on the work
        assert (float(rows[s]["score"]), rows[s]["status"]) == (0.0, "failed to run"), s


def test_the_report_lists_each_fault_with_its_reason(sample):
    report = sample["run1"]["report"]
    assert f"| failed to run | {len(FAILED)} |" in report
    failed = report.split("## Submissions that failed to run")[1].split("## ")[0]
    for student, reason in FAILED.items():
        assert f"| {student} | {reason}" in failed.replace("\\|", "|"), student
    notes = report.split("## Notes")[1]
    for student, lines in NOTES.items():
        assert all(f"* {student}: {line}" in notes for line in lines), student
    assert "* loop: sample: square ran past the 4 s limit" in report
    assert "* longcall: sample: square ran past the 4 s limit" in report


def test_a_second_run_gives_the_same_grades_and_records(sample):
    for record in ("gradebook", "status"):
        first, second = sample["run1"][record], sample["run2"][record]
        changed = {student: {"first": first.get(student), "second": second.get(student)}
                   for student in sorted(first.keys() | second.keys())
                   if first.get(student) != second.get(student)}
        assert not changed, f"the {record} changed between the two runs: {changed}"


def test_no_kernel_leaves_its_private_folder_behind(sample):
    assert list(_tmpdir(sample["labs"]).iterdir()) == []


def test_a_kernel_past_its_cpu_time_is_stopped_and_named(tmp_path):
    labs = _course(tmp_path, "c.Execute.timeout = 60\nc.Sandbox.cpu_seconds = 3\n")
    write_sample_lab(labs)
    assert main(["--course", str(labs), "release", LAB]) == 0
    released = labs / "release" / LAB / f"{LAB}.ipynb"
    for student, answers in {"good": GOOD, "burner": {**GOOD, "square": "while True:\n    pass"}
                             }.items():
        nbformat.write(answer(released, answers), _folder(labs, student, LAB) / f"{LAB}.ipynb")
    _grade(labs, LAB, "--jobs", "2")
    status = _status(labs, LAB)
    assert status["burner"]["reason"] == (
        "DeadKernelError: the kernel died while running square: it used up its 3 s of CPU time "
        "(c.Sandbox.cpu_seconds) and was stopped")
    assert status["good"]["graded"]
    assert _gradebook(labs, LAB)["good"] == {"test_add": (2.0, None, False),
                                             "test_square": (3.0, None, False)}


# Real labs: each fault comes after the whole solution of the cell it is in, so a student who
# survives it keeps every point; the one that stops the kernel fails the submission.
LABS = {
    "lab01_correlation": {"memory": ("pad2d", MEMORY_BOMB),
                          "sysexit": ("convolve1d", "\nimport sys\nsys.exit(0)")},
    "lab03_pooling": {"forkbomb": ("max_pool_forward", FORK_BOMB),
                      "osexit": ("avg_pool_backward", "\nimport os\nos._exit(1)")},
    "lab04_conv_backward": {"killed": ("conv_backward", KILL), "kernel": None},
}
LAB_NOTES = {
    ("lab01_correlation", "memory"): "lab01_correlation: pad2d: MemoryError",
    ("lab01_correlation", "sysexit"): "lab01_correlation: convolve1d called sys.exit(0)",
    ("lab03_pooling", "forkbomb"): "lab03_pooling: max_pool_forward: BlockingIOError",
    ("lab04_conv_backward", "kernel"): "lab04_conv_backward.ipynb was saved with the kernel "
                                       "'ir'",
}
LAB_FAILED = {
    ("lab03_pooling", "osexit"): "DeadKernelError: the kernel died while running "
                                 "avg_pool_backward: it exited with status 1",
    ("lab04_conv_backward", "killed"): "DeadKernelError: the kernel died while running "
                                       "conv_backward: it was killed (SIGKILL",
}


@pytest.fixture(scope="module")
def real_labs(tmp_path_factory) -> Path:
    labs = _course(tmp_path_factory.mktemp("labs"), "c.Sandbox.memory_mb = 2048\n")
    for lab, students in LABS.items():
        shutil.copytree(REPO / "labs" / "source" / lab, labs / "source" / lab)
        assert main(["--course", str(labs), "release", lab]) == 0
        source = nbformat.read(labs / "source" / lab / f"{lab}.ipynb", as_version=4)
        for student, fault in {"solution": None, **students}.items():
            codes = solution_code(source)
            if fault:
                codes[fault[0]] += fault[1]
            nb = nbformat.read(labs / "release" / lab / f"{lab}.ipynb", as_version=4)
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                cell.source = codes.get(grade_id, cell.source)
            if student == "kernel":
                nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R",
                                             "language": "R"}
            nbformat.write(nb, _folder(labs, student, lab) / f"{lab}.ipynb")
        _grade(labs, lab, "--jobs", "2")
    return labs


@pytest.mark.parametrize("lab", list(LABS))
def test_real_labs_record_each_fault_and_keep_the_points_it_did_not_break(real_labs, lab):
    status = _status(real_labs, lab)
    with Course.open(real_labs, "test").gradebook() as gb:
        top = gb.find_assignment(lab).max_score
        scores = {s.student.id: s.score for s in gb.find_assignment(lab).submissions}
    assert scores["solution"] == top and status["solution"]["notes"] == []
    for student in LABS[lab]:
        if (lab, student) in LAB_FAILED:
            assert status[student]["reason"].startswith(LAB_FAILED[lab, student])
            assert scores[student] == 0
        else:
            assert scores[student] == top, student
            assert [n for n in status[student]["notes"]
                    if n.startswith(LAB_NOTES[lab, student])], status[student]["notes"]
