"""Rescoring on hand-made notebooks: honest, tampered, record deleted or forged.

(The same, through the real nbgrader pipeline, is in test_lab01_nbgrader.py.)"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograder.checks import MIME, partial_credit
from autograder.checks.lab01 import check_correlate1d
from autograder.checks.records import make_record
from autograder.rescore import Rescored, rescore_notebook

SEED, POINTS = 77, 3
HIDDEN = ("# Hidden tests (3 points).\n### BEGIN HIDDEN TESTS\n"
          f"check_correlate1d(correlate1d, seed={SEED}, points={POINTS})\n### END HIDDEN TESTS")


def _meta(grade_id: str, points: float | None = None) -> dict:
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": True,
            "schema_version": 3, "solution": False, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def right(x, w):
    return np.array([np.dot(x[i:i + len(w)], w) for i in range(len(x) - len(w) + 1)])


def flipped(x, w):
    return right(x, w[::-1])


def _outputs(fn, *, claimed: str | None = None, record: bool = True, **overrides) -> list:
    """A hidden cell's outputs as the kernel would leave them, optionally doctored."""
    ev = check_correlate1d.evaluate(fn, SEED)
    earned = partial_credit(POINTS, ev.passed, len(ev.cases))
    payload = make_record("check_correlate1d", SEED, POINTS, ev.outputs) | overrides
    outs = [new_output("stream", name="stdout", text="report\n")]
    if record:
        outs.append(new_output("display_data", data={MIME: payload, "text/plain": "[record]"}))
    outs.append(new_output("execute_result", data={"text/plain": claimed or repr(earned)},
                           execution_count=1))
    return outs


def _write(tmp_path: Path, outputs: list | None, extra_source: list | None = None) -> tuple:
    cells = [new_code_cell("x = 1", id="setup", metadata=_meta("setup")),
             new_code_cell(HIDDEN, id="hidden", metadata=_meta("hidden", POINTS))]
    cells += extra_source or []
    source = tmp_path / "source.ipynb"
    nbformat.write(new_notebook(cells=cells), source)
    graded_cells = [nbformat.from_dict(c) for c in cells]
    if outputs is None:
        graded_cells = [graded_cells[0]]
    else:
        graded_cells[1].outputs = outputs
    graded = tmp_path / "graded.ipynb"
    nbformat.write(new_notebook(cells=graded_cells), graded)
    return source, graded


def _rescore(tmp_path, outputs, extra=None) -> Rescored:
    return rescore_notebook(*_write(tmp_path, outputs, extra))["hidden"]


def test_honest_notebooks_keep_their_scores(tmp_path):
    good = _rescore(tmp_path, _outputs(right))
    assert good == Rescored("hidden", 3.0, 3.0, 3.0, "")
    bad = _rescore(tmp_path, _outputs(flipped))
    assert bad.points == bad.kernel_points < 3 and bad.note == ""


def test_a_claimed_score_is_not_believed(tmp_path):
    r = _rescore(tmp_path, _outputs(flipped, claimed="3.0"))
    assert r.kernel_points == 3.0 and r.points < 3
    assert "claimed 3 points" in r.note


def test_a_forged_record_is_judged_on_its_outputs(tmp_path):
    ev = check_correlate1d.evaluate(lambda x, w: np.zeros(len(x) - len(w) + 1), SEED)
    forged = make_record("check_correlate1d", SEED, POINTS, ev.outputs)
    r = _rescore(tmp_path, _outputs(right, claimed="3.0", outputs=forged["outputs"]))
    assert r.points == 0 and "claimed 3 points" in r.note


@pytest.mark.parametrize(("outputs", "why"), [
    (_outputs(flipped, claimed="3", record=False), "no grading record"),
    (_outputs(right, seed=SEED + 1), "the grading record is for check_correlate1d (seed 78"),
    (_outputs(right, check="check_convolve1d"), "the grading record is for check_convolve1d"),
    (_outputs(right, points=1), "points 1"),
    (_outputs(right, version=2), "unreadable grading record"),
    (_outputs(right) + _outputs(right)[1:2], "2 grading records"),
])
def test_missing_or_foreign_records_earn_nothing(tmp_path, outputs, why):
    r = _rescore(tmp_path, outputs)
    assert r.points == 0 and why in r.note


def test_a_correct_record_wins_over_a_cell_that_wrote_to_stderr(tmp_path):
    outputs = [new_output("stream", name="stderr", text="oops\n")] + _outputs(right)
    r = _rescore(tmp_path, outputs)
    assert (r.kernel_points, r.points) == (0.0, 3.0) and "claimed 0 points" in r.note


def test_a_deleted_cell_earns_nothing(tmp_path):
    r = _rescore(tmp_path, None)
    assert r.points == 0 and r.kernel_points is None and "missing" in r.note


def test_test_cells_without_a_check_keep_nbgrader_s_score(tmp_path):
    plain = new_code_cell("assert True", id="plain", metadata=_meta("plain", 2))
    source, graded = _write(tmp_path, _outputs(right), [plain])
    r = rescore_notebook(source, graded)["plain"]
    assert (r.points, r.max_points, r.note) == (2.0, 2.0, "")


def test_the_trusted_source_must_name_a_known_check(tmp_path):
    bad = new_code_cell(HIDDEN.replace("check_correlate1d(", "check_unknown("), id="bad",
                        metadata=_meta("bad", 3))
    with pytest.raises(KeyError, match="check_unknown"):
        rescore_notebook(*_write(tmp_path, _outputs(right), [bad]))
