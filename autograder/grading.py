"""Grading one submission: nbgrader's autograde, the rescoring hook, nbgrader's feedback.

Runs in a worker process of ``grade`` (or in the main process with ``--jobs 1``). Each step is
nbgrader's own converter, started as ``nbgrader.apps.NbGraderAPI`` starts it (``capture_log``
around ``app.start()``), against the course's one SQLite gradebook: every write nbgrader makes
is a short transaction, so workers share the file (see ``bench/grading.py`` for the numbers).
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.utils import capture_log
from sqlalchemy.exc import SAWarning

from .course import KERNEL_NAME, Course
from .sandbox import Sandbox, sandboxed

TIMEOUT_ERROR = "CellTimeoutError"
UNISOLATED = ("graded without isolation (c.Sandbox.enabled = False): its code could read the "
              "course and use the network")
_ERROR_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit))\b:?\s*(.*)$")
_MODULE = re.compile(r"^(?:[a-z_]\w*\.)+(?=[A-Z])")
"""The module path before an exception's name (``nbclient.exceptions.``)."""


@dataclass
class SubmissionResult:
    """What happened to one student's submission; picklable, sent back from a worker."""

    student: str
    graded: bool
    seconds: float = 0.0
    reason: str = ""
    """Why it could not be graded (empty when graded)."""
    timeouts: list[str] = field(default_factory=list)
    """Cells interrupted at the time limit (graded, scored zero)."""
    flags: list[str] = field(default_factory=list)
    """Rescoring notes: scores the checks' records did not confirm; left for formgrader."""
    notes: list[str] = field(default_factory=list)
    """Other remarks (rescoring unavailable, feedback not written)."""
    hints: dict[str, str] = field(default_factory=dict)
    """``notebook/grade_id`` -> the hint its hidden test's recorded outputs earn (a key of
    ``autograder.checks.hints.HINTS``), diagnosed by the rescoring: the report counts them."""
    log: str = ""


def quiet_logging() -> None:
    """nbgrader logs to ``traitlets``'s logger: keep INFO for ``capture_log``, not the terminal."""
    log = logging.getLogger("traitlets")
    log.setLevel(logging.INFO)
    log.propagate = False
    # nbgrader's own use of SQLAlchemy sessions warns on every autograde; nothing to act on.
    warnings.filterwarnings("ignore", category=SAWarning)


@functools.lru_cache(maxsize=4)
def _course(root: str) -> Course:
    return Course.open(root, "grade")


def _run(app_class: type, course: Course, lab: str, student: str) -> dict:
    coursedir = course.coursedir()
    coursedir.assignment_id, coursedir.student_id = lab, student
    app = app_class(coursedir=coursedir, config=course.config)
    app.force = True
    if app_class is Autograde and Sandbox(config=course.config).enabled:
        app.autograde_preprocessors = sandboxed(app.autograde_preprocessors)
    return capture_log(app)


def failure_reason(result: dict) -> str:
    """The last exception line nbgrader logged, e.g. ``DeadKernelError: Kernel died``."""
    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    if "kernel became unresponsive" in text:
        return "the kernel became unresponsive (an endless loop that ignores interrupts?)"
    lines = [m.group(0).strip() for m in map(_ERROR_LINE.match, text.splitlines()) if m]
    lines = [_MODULE.sub("", line) for line in lines if "NbGraderException" not in line
             and not line.startswith(("nbgrader.", "SystemExit"))]
    errors = [line[len("[ERROR] "):] for line in text.splitlines() if line.startswith("[ERROR] ")]
    return (lines or errors or ["nbgrader failed (see its log)"])[-1]


def _inspect(course: Course, lab: str, student: str, notebooks: list[str]
             ) -> tuple[str, list[str]]:
    """What nbgrader would say less clearly about the submitted files: why none of them can
    be graded (``""`` when some can), and notes on the others (a missing or unreadable
    notebook, which nbgrader scores zero; a notebook made for another kernel, which nbgrader
    runs with the course's)."""
    folder = course.path("submitted", student, lab)
    found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    problems, notes = [], []
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            others = ", ".join(f for f in found if f.endswith(".ipynb")) or "no notebook"
            problems.append(f"no {name}.ipynb in the submission (it holds {others}: rename "
                            f"the right file to {name}.ipynb and grade --student {student} "
                            "again)")
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as err:  # any unreadable file: nbformat raises several kinds
            what = "an empty file" if path.stat().st_size == 0 else f"{type(err).__name__}"
            problems.append(f"{name}.ipynb is not a readable notebook ({what}): ask the "
                            "student for the file again")
            continue
        kernel = nb.metadata.get("kernelspec", {}).get("name")
        if kernel != KERNEL_NAME:
            notes.append(f"{name}.ipynb was saved with the kernel '{kernel}'; graded with the "
                         f"course's '{KERNEL_NAME}'")
    if len(problems) == len(notebooks):
        return "; ".join(problems), notes
    return "", [f"{p} (scored 0)" for p in problems] + notes


def _mark_failed(course: Course, lab: str, student: str) -> None:
    """A submission that could not run keeps no score from an earlier grading: its automatic
    scores are cleared and every cell waits for a grader in formgrader (its manual scores, if
    any, stay)."""
    with course.gradebook() as gb:
        try:
            submission = gb.find_submission(lab, student)
        except MissingEntry:  # nbgrader failed before it filed the submission
            return
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = None
                grade.needs_manual_grade = True
        gb.db.commit()


def _faults(notebook: Path, limit: float, sandbox: Sandbox) -> tuple[list[str], list[str]]:
    """The cells of a graded notebook stopped at the time limit, and notes on the cells that
    hit a limit of the sandbox or tried to end the kernel (each scored as the error it is)."""
    nb = nbformat.read(notebook, as_version=4)
    timeouts, notes = [], []
    for index, cell in enumerate(nb.cells, start=1):
        name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        where = f"{notebook.stem}: {name}"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        for error in errors:
            ename, evalue = error.get("ename", ""), error.get("evalue", "")
            if ename == TIMEOUT_ERROR:
                timeouts.append(f"{where} ran past the {limit:g} s limit")
            elif ename == "MemoryError":
                notes.append(f"{where}: MemoryError" + (
                    f" (each process of a kernel has {sandbox.memory_mb} MiB of address "
                    "space, c.Sandbox.memory_mb)" if sandbox.enabled else ""))
            elif ename == "SystemExit":
                notes.append(f"{where} called sys.exit({evalue}): scored as an error")
            elif "Resource temporarily unavailable" in evalue or "new thread" in evalue:
                notes.append(f"{where}: {ename}: {evalue}" + (
                    f" (a kernel may have {sandbox.tasks} processes and threads, "
                    "c.Sandbox.tasks)" if sandbox.enabled else ""))
    return timeouts, notes


def _rescore(course: Course, lab: str, student: str, notebooks: list[str]
             ) -> tuple[list[str], dict[str, str]]:
    """Writes the grader's scores again (the course's ``SaveTrustedGrades`` step has already
    written them during autograde; this keeps a course configured without it safe) and returns
    the rescoring's notes and hints (``notebook/grade_id`` -> hint key).

    A note means the checks' records did not confirm what the kernel reported (tampering,
    missing records, a detection): the grade is marked for manual review in formgrader.
    """
    from .integrity import read_zeroed, with_zeroed
    from .rescore import rescore_notebook
    from .secret import read_secret

    # The same judgement as the RescoreCells step of nbgrader's Autograde (the course's
    # configuration): writing it again changes nothing, and returns its notes for the report.
    secret = read_secret(course.root, "grade")
    flags, hints = [], {}
    with course.gradebook() as gb:
        for nb in notebooks:
            graded = course.path("autograded", student, lab) / f"{nb}.ipynb"
            if not graded.exists():
                continue
            source = course.path("source", ".", lab) / f"{nb}.ipynb"
            zeroed = read_zeroed(course.path("release", ".", lab) / f"{nb}.ipynb",
                                 course.path("submitted", student, lab) / f"{nb}.ipynb",
                                 nbformat.read(graded, as_version=4))
            rescored = with_zeroed(rescore_notebook(source, graded, secret, lab), zeroed)
            for grade_id, r in rescored.items():
                grade = gb.find_grade(grade_id, nb, lab, student)
                grade.auto_score = r.points
                if r.note:
                    grade.needs_manual_grade = True
                    flags.append(f"{nb}/{grade_id}: {r.note}")
                if r.hint:
                    hints[f"{nb}/{grade_id}"] = r.hint
        gb.db.commit()
    return flags, hints


def _integrity_flags(course: Course, lab: str, student: str, notebooks: list[str]) -> list[str]:
    """Locked or test cells the student edited or deleted, points changed, fake reports
    printed (:mod:`autograder.integrity`), each prefixed with its notebook."""
    from .integrity import submission_flags, zeroed_tests

    flags = []
    for nb in notebooks:
        released = course.path("release", ".", lab) / f"{nb}.ipynb"
        submitted = course.path("submitted", student, lab) / f"{nb}.ipynb"
        graded = course.path("autograded", student, lab) / f"{nb}.ipynb"
        if not (released.exists() and submitted.exists()):
            continue
        try:
            three = (nbformat.read(released, as_version=4),
                          nbformat.read(submitted, as_version=4),
                          nbformat.read(graded, as_version=4) if graded.exists() else None)
            # What zeroed a test is already among the rescoring's notes.
            zeroed = set(zeroed_tests(*three).values())
            found = [f for f in submission_flags(*three) if f not in zeroed]
        except (ValueError, KeyError, AttributeError) as err:  # unreadable: said elsewhere
            found = [f"the notebook could not be compared with the released one: {err}"]
        flags += [f"{nb}/{flag}" for flag in found]
    return flags


def grade_submission(root: str, lab: str, student: str) -> SubmissionResult:
    """Autogrades, rescores and writes feedback for one submission of ``lab``.

    Never raises for a problem of the submission: the result says what went wrong.
    """
    start = time.perf_counter()
    course = _course(root)
    notebooks = course.notebooks(lab, "grade")
    result = SubmissionResult(student, graded=False)
    sandbox = Sandbox(config=course.config)
    if not sandbox.enabled:
        result.notes.append(UNISOLATED)
    unreadable, notes = _inspect(course, lab, student, notebooks)
    result.notes += notes
    autograde = _run(Autograde, course, lab, student)
    result.log = autograde.get("log", "")
    if not autograde["success"]:
        result.reason = unreadable or failure_reason(autograde)
        _mark_failed(course, lab, student)
        # Feedback from an earlier grading of this student would be returned as if current.
        shutil.rmtree(course.path("feedback", student, lab), ignore_errors=True)
        result.seconds = time.perf_counter() - start
        return result
    result.graded = True
    limit = course.config.Execute.get("timeout", 30)
    for nb in notebooks:
        path = course.path("autograded", student, lab) / f"{nb}.ipynb"
        if path.exists():
            timeouts, notes = _faults(path, limit, sandbox)
            result.timeouts += timeouts
            result.notes += notes
    try:
        result.flags, result.hints = _rescore(course, lab, student, notebooks)
    except Exception as err:  # one submission's problem must not stop the batch
        result.flags.append(f"the rescoring after autograde failed ({type(err).__name__}: "
                            f"{err}); the gradebook holds what nbgrader's SaveTrustedGrades "
                            "step wrote: check this submission by hand")
    result.flags += _integrity_flags(course, lab, student, notebooks)
    feedback = _run(GenerateFeedback, course, lab, student)
    if not feedback["success"]:
        result.notes.append(f"no feedback written: {failure_reason(feedback)}")
    result.log += feedback.get("log", "")
    result.seconds = time.perf_counter() - start
    return result
