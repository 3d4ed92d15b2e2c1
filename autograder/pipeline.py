"""The instructor's steps around nbgrader: ``release`` a lab and ``grade`` its submissions.

Both run nbgrader's own converters (``GenerateAssignment``, ``Autograde``, ``GenerateFeedback``)
and export plugin (``CsvExportPlugin``) in-process, with the course's configuration; nothing of
nbgrader is re-implemented. ``grade`` adds what nbgrader lacks for a large class: parallel
workers, the rescoring hook, and a summary report (``report.py``).
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import datetime
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.plugins import CsvExportPlugin
from nbgrader.utils import capture_log
from tqdm import tqdm

from .course import CONFIG_FILE, KERNEL_NAME, Course, UsageError, course_kernel
from .grading import UNISOLATED, SubmissionResult, failure_reason, grade_submission, quiet_logging
from .late import late_by, recompute_penalties
from .nbgrader_hooks import check_released_seeds, configuration_problems
from .report import write_report
from .sandbox import Sandbox, SandboxUnavailable, probe, sandboxed
from .secret import SecretError, create_secret, read_secret, secret_path

CSV_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
               "email", "raw_score", "late_submission_penalty", "score", "max_score"]
"""nbgrader's CSV export (``CsvExportPlugin``), for a lab with no student yet."""


def book_downloads(course: Course) -> Path:
    """Where ``release`` puts student notebooks for the book (``{download}`` links)."""
    return course.root.parent / "book" / "_downloads" / "labs"


def _check_configuration(course: Course, command: str) -> None:
    problems = configuration_problems(course.config)
    if problems:
        raise UsageError(command, f"{course.root / CONFIG_FILE} does not make nbgrader's own "
                                  "commands safe: " + "; ".join(problems) + " (as in the "
                                  "repository's labs/nbgrader_config.py)")


def check_secret(course: Course, lab: str, command: str = "grade") -> None:
    """Refuses to grade ``lab`` without the course secret it was released with."""
    try:
        secret = read_secret(course.root, command)
        with course.gradebook() as gb:
            for name in course.notebooks(lab, command):
                source = course.path("source", ".", lab) / f"{name}.ipynb"
                check_released_seeds(gb, nbformat.read(source, as_version=4), name, lab, secret,
                                     secret_path(course.root))
    except SecretError as err:
        raise UsageError(command, str(err).removeprefix(f"{command}: ")) from None


def release(course: Course, lab: str, say: Callable[[str], None] = print,
            due: datetime.datetime | None = None) -> tuple[list[Path], list[Path]]:
    """Generates the student version of ``lab`` with nbgrader and copies it to the book.

    The first release of the course creates its secret (:mod:`autograder.secret`); nbgrader's
    generate step, as the course configures it, draws the hidden tests' seeds from it. ``due``
    (UTC without a zone, :func:`autograder.late.parse_due`) becomes nbgrader's due date of the
    lab; without it the due date in the gradebook, if any, stays.

    Returns
    -------
    The released notebooks (``release/<lab>/``) and their copies in ``book_downloads``.
    """
    notebooks = course.notebooks(lab, "release")
    _check_configuration(course, "release")
    for name in notebooks:
        path = course.path("source", ".", lab) / f"{name}.ipynb"
        kernel = nbformat.read(path, as_version=4).metadata.get("kernelspec", {}).get("name")
        if kernel != KERNEL_NAME:
            raise UsageError("release", f"{path} uses the kernel '{kernel}'; expected "
                                        f"'{KERNEL_NAME}' (nbgrader grades with it)")
    try:
        _, created = create_secret(course.root)
    except SecretError as err:
        raise UsageError("release", str(err).removeprefix("release: ")) from None
    if created:
        say(f"created the course secret {secret_path(course.root)}: the hidden tests' cases "
            "are drawn from it; back it up with the gradebook")
    quiet_logging()
    coursedir = course.coursedir()
    coursedir.assignment_id = lab
    app = GenerateAssignment(coursedir=coursedir, config=course.config)
    app.force, app.create_assignment = True, True
    result = capture_log(app)
    if not result["success"]:
        raise UsageError("release", f"nbgrader generate_assignment failed for '{lab}': "
                                    f"{failure_reason(result)}\n{result.get('log', '')}")
    if due is not None:
        with course.gradebook() as gb:
            gb.update_or_create_assignment(lab, duedate=due)
    released = [course.path("release", ".", lab) / f"{name}.ipynb" for name in notebooks]
    downloads = book_downloads(course)
    downloads.mkdir(parents=True, exist_ok=True)
    copies = [Path(shutil.copyfile(p, downloads / p.name)) for p in released]
    return released, copies


@dataclass
class GradeRun:
    """The outcome of ``grade``: per-submission results and the files written."""

    lab: str
    results: list[SubmissionResult]
    seconds: float
    jobs: int
    csv: Path
    report: Path
    files: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[SubmissionResult]:
        return [r for r in self.results if not r.graded]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _students(course: Course, lab: str, student: str | None) -> list[str]:
    found = course.submissions(lab)
    pattern = course.path("submitted", "*", lab)
    if student is not None:
        if student not in found:
            raise UsageError("grade", f"no submission of '{lab}' for student '{student}': "
                                      f"{course.path('submitted', student, lab)} does not exist")
        return [student]
    if not found:
        raise UsageError("grade", f"no submissions of '{lab}': nothing matches {pattern} (collect "
                                  f"them with: python -m autograder collect {lab} ARCHIVE)")
    return found


def _check_released(course: Course, lab: str) -> None:
    with course.gradebook() as gb:
        try:
            gb.find_assignment(lab)
        except MissingEntry:
            raise UsageError("grade", f"lab '{lab}' is not in the gradebook {course.db_url} "
                                      f"(release it first: python -m autograder release {lab})"
                             ) from None


def _workers(jobs: int) -> cf.ProcessPoolExecutor:
    """``jobs`` grading processes: forked on Linux, so that each starts with nbgrader already
    imported (seconds per worker, which a batch of 40 on 2 cores feels), spawned elsewhere."""
    method = "fork" if sys.platform == "linux" else "spawn"
    return cf.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method),
                                  initializer=quiet_logging)


def _run_batch(course: Course, lab: str, students: list[str], jobs: int,
               progress: bool) -> list[SubmissionResult]:
    results = []

    def start_bar() -> tqdm:
        # disable=None: a bar on a terminal only, not in a log file.
        return tqdm(total=len(students), desc=f"grading {lab}", unit="submission",
                    disable=None if progress else True)

    def done(result: SubmissionResult) -> None:
        results.append(result)
        bar.set_postfix(failed=sum(not r.graded for r in results), refresh=False)
        bar.update()

    if jobs == 1:
        bar = start_bar()
        for student in students:
            done(grade_submission(str(course.root), lab, student))
    else:
        with _workers(jobs) as pool:
            futures = {pool.submit(grade_submission, str(course.root), lab, s): s
                       for s in students}
            bar = start_bar()  # after the workers are forked: no thread of its own in them
            for future in cf.as_completed(futures):
                try:
                    done(future.result())
                except Exception as err:  # the worker itself died (out of memory, killed)
                    done(SubmissionResult(futures[future], graded=False,
                                          reason=f"grading worker failed: {err!r}"))
    bar.close()
    return sorted(results, key=lambda r: r.student)


def export_grades(course: Course, lab: str, status: dict[str, dict] | None = None) -> Path:
    """nbgrader's CSV export of ``lab`` (every student in the gradebook) to ``grades/<lab>.csv``,
    with three columns added: ``total_seconds_late`` (nbgrader's ``Submission`` field of that
    name), ``late_by`` (the same for people, empty when on time) and ``status``, from the
    grading runs' ``status`` (:func:`_merge_status`): ``graded``, ``failed to run`` (its score
    of 0 is no verdict on the work: the report says why) or ``no submission``.

    nbgrader's columns: ``duedate`` and ``timestamp`` (UTC), ``raw_score``,
    ``late_submission_penalty`` and ``score`` (the raw score less the penalty).
    """
    path = course.root / "grades" / f"{lab}.csv"
    path.parent.mkdir(exist_ok=True)
    plugin = CsvExportPlugin(config=course.config)
    plugin.to, plugin.assignment = str(path), [lab]
    with course.gradebook() as gb:
        plugin.export(gb)
        late = {s.student.id: s.total_seconds_late
                for s in gb.find_assignment(lab).submissions}
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    columns = [*(rows[0] if rows else CSV_COLUMNS), "total_seconds_late", "late_by", "status"]
    status = status or {}
    for row in rows:
        seconds = late.get(row["student_id"])
        row["total_seconds_late"] = "" if seconds is None else f"{seconds:g}"
        row["late_by"] = late_by(seconds or 0)
        found = status.get(row["student_id"])
        row["status"] = ("no submission" if found is None else
                         "graded" if found["graded"] else "failed to run")
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_logs(course: Course, lab: str, results: list[SubmissionResult]) -> Path:
    folder = course.root / "reports" / f"{lab}_logs"
    folder.mkdir(parents=True, exist_ok=True)
    for r in results:
        (folder / f"{r.student}.log").write_text(r.log, encoding="utf-8")
    return folder


def _merge_status(course: Course, lab: str, results: list[SubmissionResult]) -> dict[str, dict]:
    """This run's results on top of earlier runs' (``grade --student`` regrades one)."""
    path = course.root / "reports" / f"{lab}_status.json"
    status = json.loads(path.read_text()) if path.exists() else {}
    present = set(course.submissions(lab))
    status = {s: v for s, v in status.items() if s in present}
    for r in results:
        status[r.student] = {k: v for k, v in vars(r).items() if k != "log"}
    path.write_text(json.dumps(status, indent=1, sort_keys=True))
    return status


def _check_isolation(course: Course, say: Callable[[str], None]) -> None:
    """Refuses to grade where the kernels cannot be sandboxed, unless the course opted out."""
    sandbox = Sandbox(config=course.config)
    if not sandbox.enabled:
        say(f"isolation OFF: {UNISOLATED}")
        return
    try:
        sandboxed(Autograde(coursedir=course.coursedir(), config=course.config)
                  .autograde_preprocessors)
        probe(course.config)
    except SandboxUnavailable as err:
        raise UsageError("grade", str(err)) from None
    say(f"isolation: each kernel in a bubblewrap sandbox ({sandbox.limits()})")


@contextmanager
def _kernel_threads(jobs: int) -> Iterator[None]:
    """Within the block, kernels use their share of the CPUs for BLAS and OpenMP threads (at
    most 8), unless the instructor's environment already sets it: ``jobs`` kernels with every
    CPU each would slow each other down."""
    threads = str(max(1, min(8, default_jobs() // jobs)))
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    added = [name for name in names if name not in os.environ]
    os.environ.update({name: threads for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def grade(course: Course, lab: str, student: str | None = None, jobs: int | None = None,
          progress: bool = True, say: Callable[[str], None] = print) -> GradeRun:
    """Autogrades every submission of ``lab`` (or one student's), then exports and reports.

    Submissions that fail to run are recorded, not raised; a ``UsageError`` means the batch
    could not start (unknown lab, not released, no submissions).
    """
    course.notebooks(lab, "grade")
    students = _students(course, lab, student)
    _check_released(course, lab)
    _check_configuration(course, "grade")
    check_secret(course, lab)
    _check_isolation(course, say)
    jobs = max(1, min(jobs or default_jobs(), len(students)))
    imported = course.import_roster()
    if imported:
        say(f"roster: {imported} students from {course.root / 'roster.csv'}")
    say(f"grading {len(students)} submission(s) of {lab} with {jobs} worker(s)")
    quiet_logging()
    start = time.perf_counter()
    with course_kernel(), _kernel_threads(jobs):
        results = _run_batch(course, lab, students, jobs, progress)
    seconds = time.perf_counter() - start
    logs = _write_logs(course, lab, results)
    status = _merge_status(course, lab, results)
    # From the scores as rescored, for every graded student: the CSV and the report cover them
    # all, and a due date, an extension or a score changed in formgrader changes their penalty.
    with course.gradebook() as gb:
        recompute_penalties(course.config, gb, lab, [s for s, v in status.items() if v["graded"]])
    csv = export_grades(course, lab, status)
    report, page, figure = write_report(course, lab, status, seconds=seconds, jobs=jobs,
                                        graded_now=len(results))
    return GradeRun(lab, results, seconds, jobs, csv, report, [page, figure, logs])
