"""``grade LAB --jobs N`` gives the grades ``--jobs 1`` gives, and leaves a sound gradebook.

Real nbgrader, real sandboxed kernels, ``python -m autograder grade`` in a separate process: the
sample lab's submissions (right, half right, blank, an endless loop, a crash) graded by one
worker, then by three workers sharing the SQLite gradebook. SQLite's own ``integrity_check`` and
the row counts judge the file.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader_course import sample_course, submit_sample

from autograder.course import Course
from autograder.sample_lab import LAB

REPO = Path(__file__).resolve().parents[2]
RIGHT = {"add": "def add(a, b):\n    return a + b", "square": "def square(x):\n    return x * x"}
STUDENTS = {
    "ada": RIGHT, "ben": RIGHT, "cy": {**RIGHT, "square": "def square(x):\n    return x + x"},
    "dee": {}, "eve": {**RIGHT, "square": "while True:\n    pass"},
    "fay": {"add": "import os\nos._exit(1)"}, "gus": {**RIGHT, "add": "def add(a, b):\n    "
                                                                  "return a - b"},
}


def _grade(labs: Path, jobs: int) -> dict:
    proc = subprocess.run([sys.executable, "-m", "autograder", "--course", str(labs), "grade",
                           LAB, "--jobs", str(jobs), "--no-progress"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"with {jobs} worker(s)" in proc.stdout
    with Course.open(labs, "test").gradebook() as gb:
        grades = {s.student.id: {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                                 for nb in s.notebooks for g in nb.grades}
                  for s in gb.find_assignment(LAB).submissions}
    status = json.loads((labs / "reports" / f"{LAB}_status.json").read_text())
    return {"grades": grades,
            "status": {s: {k: v for k, v in r.items() if k != "seconds"}
                       for s, r in status.items()},
            "csv": sorted((labs / "grades" / f"{LAB}.csv").read_text().splitlines())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict, dict]:
    labs = sample_course(tmp_path_factory.mktemp("parallel"), "c.Execute.timeout = 4\n")
    for student, answers in STUDENTS.items():
        submit_sample(labs, student, answers)
    return labs, _grade(labs, 1), _grade(labs, 3)


def test_three_workers_give_the_grades_of_one(runs):
    _, one, three = runs
    assert three == one
    totals = {s: sum(auto or 0 for auto, _, _ in grades.values())
              for s, grades in one["grades"].items()}
    assert totals == {"ada": 5, "ben": 5, "cy": 2, "dee": 0, "eve": 2, "fay": 0, "gus": 3}
    assert not one["status"]["fay"]["graded"] and one["status"]["eve"]["timeouts"]


def test_the_gradebook_is_sound_after_parallel_writes(runs):
    labs = runs[0]
    with sqlite3.connect(labs / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        count = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                 for table in ("student", "submitted_assignment", "submitted_notebook", "grade")}
    assert count == {"student": len(STUDENTS), "submitted_assignment": len(STUDENTS),
                     "submitted_notebook": len(STUDENTS), "grade": 2 * len(STUDENTS)}
