"""``check NOTEBOOK``: a student runs their notebook's visible tests before submitting.

The notebook runs top to bottom in a fresh kernel (nbclient, kernel ``python3`` = this
interpreter), as the grader will run it; the notebook file is not changed. Each test cell is
judged the way nbgrader judges it (``nbgrader.utils.determine_grade``: an error, or anything
written to stderr, scores zero). ``nbgrader validate`` is not used: it exits 0 on failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbgrader.utils import determine_grade, is_grade, is_solution

from .course import KERNEL_NAME, UsageError, course_kernel

SHOWN_LINES = 12


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
        points, max_points = determine_grade(cell)
        return points is not None and points >= max_points
    return not any(o.output_type == "error" or o.get("name") == "stderr"
                   for o in cell.get("outputs", []))


def _problem(cell: nbformat.NotebookNode) -> list[str]:
    """What went wrong in an executed cell, for a student: its error and its messages."""
    lines = []
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            lines.append(f"{output.ename}: {output.evalue}" if output.evalue else output.ename)
            if output.ename == "NotImplementedError":
                lines.append("(not written yet: replace `raise NotImplementedError()` with your "
                             "code)")
        elif output.output_type == "stream":
            text = output.text.rstrip().splitlines()
            if output.name == "stderr":
                lines.append("wrote to stderr, which the grader scores as a failure:")
            lines += text
    if len(lines) > SHOWN_LINES:
        lines = lines[:SHOWN_LINES] + ["..."]
    return lines


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
            where = f"cell {cell_index + 1}" + (f" ({grade_id})" if grade_id else "")
            say(f"ERROR {where}")
            say("\n".join("      " + line for line in _problem(cell)))

    return on_cell_executed


def check(path: Path, timeout: int = 300, say: Callable[[str], None] = print) -> int:
    """Runs the notebook at ``path``; returns 0 when every visible test passed and no cell
    failed, 1 otherwise. A missing or unreadable notebook raises ``UsageError``."""
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
    say(f"checking {path} (each cell may run {timeout} s) ...")
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=KERNEL_NAME, allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError",
                          "evalue": f"the cell ran longer than {timeout} s and was stopped",
                          "traceback": []},
        resources={"metadata": {"path": str(path.resolve().parent)}},
        on_cell_executed=_reporter(nb, say, tally))
    start = time.perf_counter()
    with course_kernel():
        try:
            client.execute()
        except DeadKernelError:
            say("ERROR the kernel died (did the notebook exit Python or run out of memory?); "
                "the cells after it did not run")
            tally["errors"] += 1
    total = sum(_is_test(c) for c in nb.cells)
    say(f"{tally['passed']} of {total} tests passed, {tally['errors']} other cell(s) raised an "
        f"error ({time.perf_counter() - start:.1f} s).")
    ok = tally["passed"] == total and not tally["errors"]
    say("All visible tests pass. Hidden tests run when the lab is graded." if ok else
        "Fix the cells above and run the check again.")
    return 0 if ok else 1

