"""``check NOTEBOOK``: a student runs their notebook's visible tests before submitting.

The notebook runs top to bottom in a fresh kernel (nbclient, kernel ``python3`` = this
interpreter), as the grader will run it; the notebook file is not changed. Each test cell is
judged the way nbgrader judges it (``nbgrader.utils.determine_grade``: an error, or anything
written to stderr, scores zero). ``nbgrader validate`` is not used: it exits 0 on failure.

It needs no nbgrader: students run it from the course's package (:mod:`.student_wheel`), which
has none, so the three rules of nbgrader it uses are written out here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .kernel import CELL_SECONDS, KERNEL_NAME, STOP_SECONDS, course_kernel
from .usage import UsageError

SHOWN_LINES = 40
"""The lines of a failing cell's output shown in full; past them, only hints and the error."""


# nbgrader 0.9.6, nbgrader/utils.py: is_grade, is_solution and, for a code grade cell,
# determine_grade and get_partial_grade (where nbgrader raises, for a number above the points or
# an empty result, these return it, or all points). tests/autograder/test_selfcheck.py compares
# them with nbgrader's own functions.
def _nbgrader(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_grade(cell: nbformat.NotebookNode) -> bool:
    return bool(_nbgrader(cell).get("grade", False))


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return bool(_nbgrader(cell).get("solution", False))


def code_cell_points(cell: nbformat.NotebookNode) -> float:
    """nbgrader's points for an executed code grade cell that is not a solution: none after an
    error or stderr, the number an ``execute_result`` shows (all points if it shows no single
    number), else all points."""
    max_points = float(_nbgrader(cell)["points"])
    for output in cell.get("outputs", []):
        if output.output_type == "error" or (output.output_type == "stream"
                                             and output.get("name") == "stderr"):
            return 0.0
        if output.output_type == "execute_result":
            shown = output.get("data", {}).get("text/plain", "")
            if isinstance(shown, list):
                if len(shown) != 1:
                    return max_points
                shown = shown[0]
            try:
                points = float(shown)
            except ValueError:
                return max_points
            return points if points >= 0 else max_points
    return max_points


def _runnable(source: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#")
               for line in source.splitlines())


def _is_test(cell: nbformat.NotebookNode) -> bool:
    """A test the student can run: an nbgrader grade cell with code (a released notebook's
    hidden-test cells hold only a comment), or a locked cell named ``test_*`` (the course's
    visible tests, which score nothing themselves)."""
    meta = cell.metadata.get("nbgrader", {})
    if cell.cell_type != "code" or not meta or is_solution(cell):
        return False
    named = meta.get("locked") and str(meta.get("grade_id", "")).startswith("test")
    return bool(named or is_grade(cell)) and _runnable(cell.source)


def _passed(cell: nbformat.NotebookNode) -> bool:
    """nbgrader's verdict for a grade cell; the same rule (no error, nothing on stderr) else."""
    if is_grade(cell):
        return code_cell_points(cell) >= float(_nbgrader(cell)["points"])
    return not any(o.output_type == "error" or o.get("name") == "stderr"
                   for o in cell.get("outputs", []))


def _problem(cell: nbformat.NotebookNode) -> list[str]:
    """What went wrong in an executed cell, for a student: its messages and its error."""
    lines, kept = [], set()  # kept: the indices of lines never left out (errors and hints)
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            error = f"{output.ename}: {output.evalue}" if output.evalue else output.ename
            if output.ename == "NotImplementedError":
                error += ("\n(not written yet: replace `raise NotImplementedError()` with your "
                          "code)")
            kept |= set(range(len(lines), len(lines) + len(error.splitlines())))
            lines += error.splitlines()
        elif output.output_type == "stream":
            if output.name == "stderr":
                lines.append("wrote to stderr, which the grader scores as a failure:")
            for line in output.text.rstrip().splitlines():
                if line.lstrip().startswith("Hint:"):
                    kept.add(len(lines))
                lines.append(line)
    return _bounded(lines, kept)


def _bounded(lines: list[str], kept: set[int]) -> list[str]:
    """The first SHOWN_LINES lines and, after them, only the lines in ``kept`` (shown whole),
    then a line that says how many were left out and where they are."""
    shown = [line for i, line in enumerate(lines) if i < SHOWN_LINES or i in kept]
    cut = len(lines) - len(shown)
    if cut:
        shown.append(f"({cut} more line(s) of this cell's output not shown: run the cell in "
                     "Jupyter to see them all)")
    return shown


def _where(cell: nbformat.NotebookNode, cell_index: int, grade_id: str | None) -> str:
    """Where a failing cell that is not a test is, in words the student can find in Jupyter:
    its first line of code (the file's cell numbers count the text cells too)."""
    first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    first = first if len(first) <= 60 else first[:57] + "..."
    name = f" ({grade_id})" if grade_id else ""
    return f"in the code cell that starts `{first}`{name}, cell {cell_index + 1} of the file"


def _reporter(nb: nbformat.NotebookNode, say: Callable[[str], None], tally: dict) -> Callable:
    def on_cell_executed(cell: nbformat.NotebookNode, cell_index: int, **_: object) -> None:
        errored = any(o.output_type == "error" for o in cell.get("outputs", []))
        if _is_test(cell):
            name = cell.metadata["nbgrader"].get("grade_id", f"cell {cell_index + 1}")
            passed = _passed(cell)
            tally["tests"] += 1
            tally["passed"] += passed
            say(f"{'PASS' if passed else 'FAIL'}  {name}")
            if not passed:
                say("\n".join("      " + line for line in _problem(cell)))
        elif errored:
            tally["errors"] += 1
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            say(f"ERROR {_where(cell, cell_index, grade_id)}: not a test, but the grader runs "
                "it too, and the cells after it may need what it defines")
            say("\n".join("      " + line for line in _problem(cell)))

    return on_cell_executed


def _stuck(cell: nbformat.NotebookNode, cell_index: int, timeout: int, stop: int) -> str:
    """What to say of a cell that did not stop when interrupted at its time limit."""
    grade_id = _nbgrader(cell).get("grade_id")
    where = (f"in the test {grade_id}" if _is_test(cell) and grade_id
             else _where(cell, cell_index, grade_id))
    return (f"ERROR {where}: it ran past the {timeout} s limit and had not stopped {stop} s "
            "after being interrupted (an endless loop that catches KeyboardInterrupt?); the "
            "cells after it did not run, and the grader cannot grade a notebook that does this")


def check(path: Path, timeout: int = CELL_SECONDS, say: Callable[[str], None] = print, *,
          stop: int = STOP_SECONDS) -> int:
    """Runs the notebook at ``path``; returns 0 when every visible test passed and no cell
    failed, 1 otherwise. A missing or unreadable notebook raises ``UsageError``.

    ``timeout``: the seconds each cell may run before it is interrupted; ``stop``: the seconds
    an interrupted cell then gets to stop (the grader's, :data:`.kernel.STOP_SECONDS`)."""
    if not path.is_file():
        raise UsageError("check", f"NOTEBOOK {path} does not exist (expected the path of your "
                                  "lab notebook, e.g. lab01_correlation.ipynb)")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several kinds for a file that is not a notebook
        raise UsageError("check", f"NOTEBOOK {path} is not a Jupyter notebook ({err})") from None
    if not any(_is_test(c) for c in nb.cells):
        raise UsageError("check", f"NOTEBOOK {path} has no test cells (expected a lab notebook "
                                  "released by the course)")
    tally = dict(tests=0, passed=0, errors=0)
    running: dict = {}  # the cell being run, and its index
    say(f"checking {path} (each cell may run {timeout} s) ...")
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=KERNEL_NAME, allow_errors=True,
        interrupt_on_timeout=True, iopub_timeout=stop, raise_on_iopub_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError",
                          "evalue": f"the cell ran longer than {timeout} s and was stopped",
                          "traceback": []},
        resources={"metadata": {"path": str(path.resolve().parent)}},
        on_cell_execute=lambda cell, cell_index, **_: running.update(cell=cell, index=cell_index),
        on_cell_executed=_reporter(nb, say, tally))
    start = time.perf_counter()
    with course_kernel():
        try:
            client.execute()
        except DeadKernelError:
            say("ERROR the kernel died (did the notebook exit Python or run out of memory?); "
                "the cells after it did not run")
            tally["errors"] += 1
        except CellTimeoutError:
            say(_stuck(running["cell"], running["index"], timeout, stop))
            tally["errors"] += not _is_test(running["cell"])  # a test counts as not passed
    total = sum(_is_test(c) for c in nb.cells)
    say(f"{tally['passed']} of {total} tests passed, {tally['errors']} other cell(s) raised an "
        f"error ({time.perf_counter() - start:.1f} s).")
    ok = tally["passed"] == total and not tally["errors"]
    say("All visible tests pass. Hidden tests run when the lab is graded." if ok else
        "Fix the cells above and run the check again.")
    return 0 if ok else 1

