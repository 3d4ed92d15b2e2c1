"""``python -m autograder``: the course's labs, from release to feedback, on nbgrader.

Run from the repository root; the course is ``labs/`` (``--course`` names another). Exit
status: 0 done (``grade`` also when some submissions failed to run: they are in the report),
1 ``check`` found failing tests, 2 the command could not run (the message says why).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .kernel import CELL_SECONDS

if TYPE_CHECKING:
    from .course import Course

DESCRIPTION = """\
The instructor's pipeline for the labs, on nbgrader (run from the repository root):

  release LAB [LAB...]   nbgrader generate_assignment: the student notebook goes to
                         labs/release/LAB/ and book/_downloads/labs/ (for the book's links);
                         --due "2026-12-01 23:59 Europe/Berlin" sets nbgrader's due date
  collect LAB ARCHIVE    an LMS download (zip or folder: Canvas, Moodle, or
                         STUDENT/LAB.ipynb, STUDENT.ipynb) into labs/submitted/STUDENT/LAB/,
                         names matched to labs/roster.csv; prints what did not match
  grade LAB              autograde every labs/submitted/*/LAB/ into labs/gradebook.db,
                         rescore, write feedback (hidden tests removed), export
                         labs/grades/LAB.csv and the report labs/reports/LAB.md
  check NOTEBOOK         for students: run a notebook's visible tests, PASS/FAIL per test

The late penalty is configured in labs/nbgrader_config.py (PenaltyPerDay); manual
review, extensions and overrides stay in nbgrader's formgrader
(cd labs && jupyter lab, then the Nbgrader menu, Formgrader)."""

EPILOG = """\
exit status: 0 done (grade: also when some submissions failed to run, they are reported),
1 check found a failing test, 2 the command could not run."""


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got '{text}'")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=Path("labs"),
                        help="the nbgrader course folder (default: labs)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("release", help="generate the student version of labs")
    p.add_argument("labs", metavar="LAB", nargs="+",
                   help="a folder of labs/source/, e.g. lab01_correlation")
    p.add_argument("--due", metavar="WHEN",
                   help="the due date, with its zone, into nbgrader's gradebook, e.g. "
                        "'2026-12-01 23:59 Europe/Berlin' (late penalties: "
                        "labs/nbgrader_config.py)")

    p = commands.add_parser("collect", help="file an LMS download of submissions")
    p.add_argument("lab", metavar="LAB")
    p.add_argument("archive", metavar="ARCHIVE", type=Path,
                   help="a .zip or a folder of submissions as downloaded from the LMS")

    p = commands.add_parser("grade", help="autograde submissions, feedback, CSV and report")
    p.add_argument("lab", metavar="LAB")
    p.add_argument("--student", metavar="S", help="grade only this student's submission")
    p.add_argument("--jobs", metavar="N", type=_positive,
                   help="parallel workers (default: the CPUs available)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = commands.add_parser("check", help="run a notebook's visible tests (for students)")
    p.add_argument("notebook", metavar="NOTEBOOK", type=Path)
    p.add_argument("--timeout", type=_positive, default=CELL_SECONDS, metavar="SECONDS",
                   help=f"time limit per cell (default: {CELL_SECONDS}, the grader's)")
    return parser


def _release(course: Course, args: argparse.Namespace) -> int:
    from .late import parse_due
    from .pipeline import release

    due = None if args.due is None else parse_due(args.due)
    for lab in args.labs:
        released, copies = release(course, lab, due=due)
        print(f"released {lab}:" + (f" due {due:%Y-%m-%d %H:%M} UTC" if due else ""))
        for path in released:
            print(f"  student notebook: {path}")
        for path in copies:
            print(f"  book download:    {path}")
    return 0


def _collect(course: Course, args: argparse.Namespace) -> int:
    from .collect import collect

    print(collect(course, args.lab, args.archive).summary())
    return 0


def _grade(course: Course, args: argparse.Namespace) -> int:
    from .pipeline import grade

    run = grade(course, args.lab, student=args.student, jobs=args.jobs,
                progress=not args.no_progress)
    graded = len(run.results) - len(run.failed)
    print(f"graded {graded} of {len(run.results)} submission(s) of {args.lab} in "
          f"{run.seconds:.1f} s ({run.seconds / max(1, len(run.results)):.2f} s each, "
          f"{run.jobs} worker(s))")
    for r in run.failed:
        print(f"  failed to run: {r.student}: {r.reason}")
    if run.failed and not graded:
        source = course.path("source", ".", args.lab)
        notebook = source / f"{course.notebooks(args.lab, 'grade')[0]}.ipynb"
        print("  no submission could be graded: try the lab's solution in this environment "
              f"with python -m autograder check {notebook}")
    flagged = sum(bool(r.flags or r.timeouts) for r in run.results)
    if flagged:
        print(f"  {flagged} submission(s) with flags or time-outs: see the report")
    print(f"grades:   {run.csv}\nreport:   {run.report} (and as a page: "
          f"{run.report.with_suffix('.html').name})")
    if graded and not any(course.root.glob(f"feedback/*/{args.lab}/*.html")):
        print("feedback: none written: see the report's notes (no MathJax? run `make vendor` "
              "once in the clone, then grade again)")
    else:
        print(f"feedback: {course.path('feedback', '*', args.lab)}")
    return 0


CHECK_NEEDS = ("nbformat", "nbclient", "ipykernel")
"""What ``check`` needs beyond the course's code (the students' package depends on them)."""


def _check(args: argparse.Namespace) -> int:
    from .usage import UsageError

    missing = [name for name in CHECK_NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError("check", f"needs {', '.join(missing)}, not installed in this Python "
                                  f"({sys.executable}): install the course's package (the Labs "
                                  f"page of the book), or pip install {' '.join(missing)}")
    from .selfcheck import check

    return check(args.notebook, timeout=args.timeout)


def _instructor_tools_missing() -> str | None:
    """Why release, collect and grade cannot run here, or None: they need nbgrader, and the
    instructor's modules, which the students' package (:mod:`.student_wheel`) leaves out."""
    missing = [what for what, module in (("nbgrader", "nbgrader"),
                                         ("the instructor's modules", "autograder.pipeline"))
               if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return (f"needs nbgrader and the course repository's autograder; missing in this Python "
            f"({sys.executable}): {' and '.join(missing)}. It is an instructor's command: in "
            "a clone of the course repository, pip install -e \".[labs]\" from its root. "
            "Students need only: python -m autograder check NOTEBOOK")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .usage import UsageError

    try:
        if args.command == "check":
            return _check(args)
        missing = _instructor_tools_missing()
        if missing:
            raise UsageError(args.command, missing)
        # nbgrader takes seconds to import: not for --help.
        from .course import Course

        course = Course.open(args.course, args.command)
        handler = {"release": _release, "collect": _collect, "grade": _grade}[args.command]
        return handler(course, args)
    except UsageError as err:
        print(f"python -m autograder {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"python -m autograder {args.command}: interrupted; run it again to finish "
              "(grade regrades every submission it is given)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
