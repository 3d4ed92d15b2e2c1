"""``python -m autograder check``: how it judges a test cell (as nbgrader does, without
nbgrader) and what it shows of a failure (hints and errors whole, however long the output)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import determine_grade
from nbgrader_course import STUBBORN_LOOP, long_call

from autograder.__main__ import main
from autograder.kernel import CELL_SECONDS, STOP_SECONDS
from autograder.selfcheck import SHOWN_LINES, check, code_cell_points

HINT = ("Hint: your result is the cross-correlation. Convolution turns the kernel half a turn "
        "before sliding it: w[::-1] in 1-D, w[::-1, ::-1] in 2-D. " + "Read it whole. " * 30)


def _test_cell(source: str, **nbgrader: object) -> nbformat.NotebookNode:
    meta = {"grade_id": "test_long", "locked": True, "solution": False, "grade": False,
            "schema_version": 3, **nbgrader}
    return new_code_cell(source, metadata={"nbgrader": meta})


def test_check_shows_a_long_hint_and_the_error_whole(tmp_path, capsys):
    rows = SHOWN_LINES + 20
    source = (f"for i in range({rows}):\n    print(f'row {{i}}')\n"
              f"print({HINT!r})\n"
              "raise AssertionError('3 of 5 cases wrong')\n")
    path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[_test_cell(source)]), path)

    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  test_long" in out
    shown = [line.strip() for line in out.splitlines()]
    assert HINT.strip() in shown  # the hint's one line, not cut
    assert "AssertionError: 3 of 5 cases wrong" in shown
    assert f"row {SHOWN_LINES - 1}" in shown and f"row {SHOWN_LINES}" not in shown
    # Of rows + hint + error lines, the rows past SHOWN_LINES are left out, and counted.
    assert (f"({rows - SHOWN_LINES} more line(s) of this cell's output not shown: run the cell "
            "in Jupyter to see them all)") in shown


def test_check_shows_a_short_failure_whole_and_says_what_is_unwritten(tmp_path, capsys):
    path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("def f():\n    raise NotImplementedError()"),
        _test_cell("print('f: 0 of 3 cases pass.')\nf()")]), path)
    assert main(["check", str(path)]) == 1
    shown = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert shown[shown.index("FAIL  test_long") + 1:][:3] == [
        "f: 0 of 3 cases pass.", "NotImplementedError",
        "(not written yet: replace `raise NotImplementedError()` with your code)"]
    assert not [line for line in shown if "not shown" in line]


def test_check_names_a_failing_cell_that_is_no_test_by_its_first_line(tmp_path, capsys):
    """Jupyter shows no cell numbers that count text cells; the cell's first line finds it."""
    path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Try it:"),
        new_code_cell("\npadded = pad2d([1, 2], 1)  # try it\n"),
        _test_cell("print('ok')")]), path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert ("ERROR in the code cell that starts `padded = pad2d([1, 2], 1)  # try it`, cell 2 "
            "of the file: not a test, but the grader runs it too") in out
    assert "NameError" in out


def test_check_says_what_is_missing_when_the_kernel_cannot_run(tmp_path, capsys, monkeypatch):
    path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[_test_cell("pass")]), path)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ipykernel" else find_spec(name, *a))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m autograder check: needs ipykernel, not installed")
    assert "pip install ipykernel" in err


OUTPUTS = {
    "nothing": [],
    "a message": [new_output("stream", name="stdout", text="all 5 cases pass\n")],
    "stderr": [new_output("stream", name="stderr", text="a warning\n")],
    "an error": [new_output("error", ename="AssertionError", evalue="wrong", traceback=[])],
    "a partial score": [new_output("execute_result", data={"text/plain": "1.5"},
                                   execution_count=1)],
    "a message, then a score": [
        new_output("stream", name="stdout", text="2 of 4\n"),
        new_output("execute_result", data={"text/plain": "1"}, execution_count=1)],
    "a score, then an error": [
        new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
        new_output("error", ename="ValueError", evalue="late", traceback=[])],
    "a result that is no number": [new_output("execute_result", data={"text/plain": "'ok'"},
                                              execution_count=1)],
    "a negative number": [new_output("execute_result", data={"text/plain": "-1"},
                                     execution_count=1)],
    "a list of one number": [new_output("execute_result", data={"text/plain": ["0.5"]},
                                        execution_count=1)],
    "a list of two": [new_output("execute_result", data={"text/plain": ["0.5", "1"]},
                                 execution_count=1)],
}


@pytest.mark.parametrize("outputs", OUTPUTS.values(), ids=OUTPUTS.keys())
def test_check_scores_a_grade_cell_as_nbgrader_does(outputs):
    cell = _test_cell("check()", grade=True, points=3)
    cell.outputs = outputs
    assert code_cell_points(cell) == determine_grade(cell)[0]


def test_check_gives_a_cell_the_time_the_grader_gives_it():
    """A cell that passes the students' check must not then run out of time when graded."""
    config = (Path(__file__).resolve().parents[2] / "labs" / "nbgrader_config.py").read_text()
    assert int(re.search(r"^c\.Execute\.timeout = (\d+)\b", config, re.M)[1]) == CELL_SECONDS
    assert check.__defaults__[0] == CELL_SECONDS
    stop = int(re.search(r"^c\.Execute\.iopub_timeout = (\d+)\b", config, re.M)[1])
    assert stop == STOP_SECONDS >= 30


def test_check_waits_for_an_interrupted_cell_to_stop_before_the_next(tmp_path, capsys):
    """A cell interrupted at its limit in the middle of one long call stops when the call ends
    (here 7 s after the interrupt, the signal held back as a NumPy call would hold it). The
    next cell must not start its own clock while the kernel is still busy with the first."""
    path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(long_call(9)), _test_cell("print('ok')")]),
                   path)
    assert check(path, timeout=2) == 1
    out = capsys.readouterr().out
    assert "PASS  test_long" in out
    assert out.count("ERROR in the code cell") == 1 and "KeyboardInterrupt" in out
    assert "1 of 1 tests passed, 1 other cell(s) raised an error" in out


def test_check_fails_a_cell_that_does_not_stop_and_runs_nothing_after_it(tmp_path, capsys):
    """A loop that catches KeyboardInterrupt outlives its interrupt: the grader cannot grade
    such a notebook, so check must fail it, not go on to pass the tests after it."""
    path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(STUBBORN_LOOP),
                                       _test_cell("print('ok')", grade=True, points=1)]), path)
    assert check(path, timeout=2, stop=3) == 1
    out = capsys.readouterr().out
    assert ("ERROR in the code cell that starts `import time`, cell 1 of the file: it ran past "
            "the 2 s limit and had not stopped 3 s after being interrupted (an endless loop that "
            "catches KeyboardInterrupt?); the cells after it did not run") in out
    assert "PASS" not in out and "0 of 1 tests passed, 1 other cell(s) raised an error" in out


def test_check_names_a_test_that_does_not_stop(tmp_path, capsys):
    """The stuck cell is a test: it is named as one, and counted as a test not passed."""
    path = tmp_path / "lab.ipynb"
    nbformat.write(new_notebook(cells=[_test_cell(STUBBORN_LOOP, grade=True, points=1),
                                       _test_cell("print('ok')", grade_id="test_ok")]), path)
    assert check(path, timeout=2, stop=3) == 1
    out = capsys.readouterr().out
    assert "ERROR in the test test_long: it ran past the 2 s limit and had not stopped 3 s" in out
    assert "PASS" not in out and "0 of 2 tests passed, 0 other cell(s) raised an error" in out
