"""A tiny nbgrader lab that exercises the whole pipeline in seconds (tests and bench/).

Two functions to write (``add``, ``square``), each with a test cell holding visible and hidden
tests; the hidden ones print feedback and emit a check record, like the course's checks do.
``write_sample_lab`` writes it into a course's ``source/`` folder; ``answer`` fills in a released
notebook as a student would.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

LAB = "sample"
HIDDEN_MARKER = "hidden_case_7319"
"""A name that appears only in the hidden tests: feedback must not show it."""
RECORD_MARKER = "secret-record-5521"
"""A value that appears only in a hidden test's check record."""

SOLUTIONS = {"add": "return a + b", "square": "return x * x"}


def _meta(grade_id: str, *, solution: bool, points: int = 0) -> dict:
    meta = {"grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False, "grade": points > 0}
    if points:
        meta["points"] = points
    return {"nbgrader": meta}


def _solution(name: str, args: str) -> str:
    return (f"def {name}({args}):\n    ### BEGIN SOLUTION\n    {SOLUTIONS[name]}\n"
            "    ### END SOLUTION")


def _tests(call: str, value: int, hidden_call: str, hidden_value: int) -> str:
    return (
        f'assert {call} == {value}, "{call} should be {value}"\n'
        'print("visible test passed")\n'
        "### BEGIN HIDDEN TESTS\n"
        "from IPython.display import display\n"
        f"{HIDDEN_MARKER} = {hidden_call}\n"
        f'display({{"application/vnd.convnb.check+json": {{"record": "{RECORD_MARKER}"}}}}, '
        "raw=True)\n"
        f'assert {HIDDEN_MARKER} == {hidden_value}, "{hidden_call} should be {hidden_value}"\n'
        'print("hidden test passed")\n'
        "### END HIDDEN TESTS"
    )


def sample_notebook() -> nbformat.NotebookNode:
    """The instructor's version: solutions and hidden tests, 5 points in all."""
    cells = [
        new_markdown_cell("# A sample lab\n\nWrite `add` and `square`."),
        new_code_cell(_solution("add", "a, b"), metadata=_meta("add", solution=True)),
        new_code_cell(_tests("add(1, 2)", 3, "add(40, 2)", 42),
                      metadata=_meta("test_add", solution=False, points=2)),
        new_code_cell(_solution("square", "x"), metadata=_meta("square", solution=True)),
        new_code_cell(_tests("square(3)", 9, "square(-4)", 16),
                      metadata=_meta("test_square", solution=False, points=3)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_sample_lab(course: Path, lab: str = LAB) -> Path:
    """Writes the sample lab to ``course/source/<lab>/<lab>.ipynb`` and returns that path."""
    path = course / "source" / lab / f"{lab}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(sample_notebook(), path)
    return path


def answer(released: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with the solution cells named in ``answers`` replaced.

    ``answers`` maps a solution cell's grade id (``"add"``, ``"square"``) to its new source.
    """
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb
