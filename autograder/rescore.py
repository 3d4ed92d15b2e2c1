"""Decide hidden tests' scores outside the student's kernel.

A student's code runs in the kernel before the hidden tests, so it can patch a check to print any
score. The score nbgrader reads from a cell is therefore only a claim. This module recomputes it
in the grader's process: for every autograded test cell of the trusted source notebook it reads
the check call, its seed and points from the cell's source (``ast``), takes the grading record the
check displayed in the autograded notebook's cell (:mod:`autograder.checks.records`), regenerates
the cases from the trusted seed, recomputes the answers with convnb and judges the recorded
outputs with the same strictness. A missing or unreadable record earns 0.

    rescored = rescore_notebook(Path("labs/source/lab01_correlation/lab01_correlation.ipynb"),
                                Path("autograded/alice/lab01_correlation/lab01_correlation.ipynb"))
    rescored["hidden_pad2d"].points

The seed the kernel ran is not the one written in the source: at release every hidden test's
``seed=S`` became a seed derived from the course secret (:mod:`autograder.secret`), and the
rescoring derives it again from ``S``.

A record also carries what the check detected while the student's function ran (forbidden
calls, fake or constant results, replaced functions: ``autograder.checks.detect``). A record with
a detection scores 0 here too, and its evidence is the cell's note, so that the instructor sees
it in grade's report and in formgrader (marked for manual grading). A record with none is the
kernel's claim that it saw nothing: student code can disable the detection, and this module
cannot tell; it only ever judges the recorded outputs against the trusted cases.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbgrader.utils import determine_grade, is_grade

from .calls import check_calls
from .checks import (
    Check,
    Output,
    RecordError,
    get_check,
    partial_credit,
    read_record,
    records_in,
)
from .course import CONFIG_FILE
from .secret import derive_seed, read_secret


@dataclass(frozen=True)
class Rescored:
    """A test cell's trusted score.

    ``points`` is the score decided here; ``kernel_points`` what nbgrader read from the cell
    (``None`` when the cell is missing or its score unreadable); ``note`` is ``""`` when the two
    agree and the check detected nothing, and otherwise explains the difference (tampering, a
    missing or foreign record) and gives the evidence of what the check detected, which is also
    in ``detected``. A cell with a note is for the instructor to look at.
    """

    grade_id: str
    points: float
    max_points: float
    kernel_points: float | None
    note: str = ""
    detected: tuple[str, ...] = ()
    hint: str | None = None
    """The hint the recorded outputs earn (a key of ``autograder.checks.HINTS``), diagnosed
    here from the trusted cases as the check diagnoses them in the kernel; ``None`` when every
    case is right, the record is short or no hint fits."""


def _by_grade_id(nb: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id")}


def _rescore_cell(source_cell: nbformat.NotebookNode, cell: nbformat.NotebookNode | None,
                  lab: str, secret: bytes | None) -> Rescored:
    grade_id = source_cell.metadata["nbgrader"]["grade_id"]
    max_points = float(source_cell.metadata["nbgrader"]["points"])
    scored = [c for c in check_calls(source_cell.source) if c.points is not None]
    if len(scored) > 1:
        raise ValueError(f"{grade_id}: a test cell holds one scored check call, found "
                         f"{len(scored)}")
    if cell is None:
        return Rescored(grade_id, 0.0, max_points, None,
                        "the cell is missing from the submission")
    kernel = _kernel_points(cell)
    if not scored:  # plain asserts, no record to verify: nbgrader's reading stands
        return _verdict(grade_id, kernel or 0.0, max_points, kernel, "no score could be read")
    call = scored[0]
    seed = call.seed
    if secret is not None and seed is not None:
        seed = derive_seed(secret, lab, call.name, seed)
    check = get_check(call.name)  # the trusted source names an existing check, or this raises
    payloads = records_in(cell.get("outputs", []))
    if len(payloads) != 1:
        why = ("no grading record in the cell's output (the check did not run to its end, or "
               "its record was removed)" if not payloads else
               f"{len(payloads)} grading records in the cell's output, expected one")
        return _verdict(grade_id, 0.0, max_points, kernel, why)
    try:
        record = read_record(payloads[0])
    except RecordError as exc:
        return _verdict(grade_id, 0.0, max_points, kernel, f"unreadable grading record: {exc}")
    if (record.check, record.seed, record.points) != (call.name, seed, call.points):
        # The record's own seed only: the kernel had it; the trusted one is not shown.
        return _verdict(grade_id, 0.0, max_points, kernel,
                        f"the grading record is for {record.check} (seed {record.seed}, points "
                        f"{record.points}), not for the cell's check")
    if record.detected:
        return _verdict(grade_id, 0.0, max_points, kernel, "the check flagged it",
                        tuple(d.evidence for d in record.detected))
    passed, total = check.replay(seed, record.outputs)
    trusted = partial_credit(call.points, passed, total)
    verdict = _verdict(grade_id, trusted, max_points, kernel,
                       f"{passed} of {total} recorded cases are right")
    return replace(verdict, hint=_hint(check, seed, record.outputs)) if passed < total \
        else verdict


def _hint(check: Check, seed: int | None, outputs: list[Output]) -> str | None:
    """The hint for recorded outputs, from the trusted cases (none for a short record)."""
    cases = check.cases(seed)
    if len(outputs) < len(cases):
        return None
    outputs = outputs[: len(cases)]
    failing = [i for i, v in enumerate(check.judge(cases, outputs)) if not v.passed]
    return check.diagnose(cases, outputs, failing)[0]


def _kernel_points(cell: nbformat.NotebookNode) -> float | None:
    """The score nbgrader reads from the cell; ``None`` when it cannot read one."""
    if cell.cell_type != "code":
        return None
    try:
        return float(determine_grade(cell)[0])
    except (ValueError, KeyError, TypeError):
        return None  # e.g. a cell claiming more than its points, which nbgrader refuses


def _verdict(grade_id: str, points: float, max_points: float, kernel: float | None,
             why: str, detected: tuple[str, ...] = ()) -> Rescored:
    """The trusted score, with ``why`` in the note when nbgrader's reading differs from it, and
    the evidence of what the check ``detected`` (scored 0) in any case."""
    found = ("scored 0, flagged by the check: " + "; ".join(detected)) if detected else ""
    if kernel is not None and abs(kernel - points) < 1e-9:
        return Rescored(grade_id, points, max_points, kernel, found, detected)
    claimed = "no readable score" if kernel is None else f"{kernel:g} points"
    return Rescored(grade_id, points, max_points, kernel,
                    f"the cell claimed {claimed} but the grader gives {points:g}: "
                    f"{found or why}", detected)


def course_secret_of(notebook: Path) -> bytes | None:
    """The secret of the course folder that holds ``notebook`` (the nearest folder above it with
    an ``nbgrader_config.py``); ``None`` for a notebook outside any course."""
    for folder in Path(notebook).resolve().parents:
        if (folder / CONFIG_FILE).is_file():
            return read_secret(folder, "rescore")
    return None


def rescore_cells(source: nbformat.NotebookNode, autograded: nbformat.NotebookNode, lab: str,
                  secret: bytes | None) -> dict[str, Rescored]:
    """Trusted scores of every autograded test cell of ``source``, keyed by ``grade_id``: the
    notebooks themselves, ``lab`` and the course ``secret`` (``None``: the seeds as written)."""
    cells = _by_grade_id(autograded)
    results = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not is_grade(cell) or meta.get("solution"):
            continue
        results[meta["grade_id"]] = _rescore_cell(cell, cells.get(meta["grade_id"]), lab, secret)
    return results


def rescore_notebook(source_nb: Path, autograded_nb: Path, secret: bytes | None = None,
                     lab: str | None = None) -> dict[str, Rescored]:
    """Trusted scores of every autograded test cell, keyed by nbgrader ``grade_id``.

    Parameters
    ----------
    source_nb : the instructor's notebook (``labs/source/<lab>/<lab>.ipynb``), with the hidden
        tests; only its cells' sources and metadata are trusted.
    autograded_nb : the notebook ``nbgrader autograde`` executed for one student; only the
        grading records in its outputs are used, and judged again here.
    secret : the course secret the lab was released with; by default the secret of the course
        that holds ``source_nb`` (:func:`course_secret_of`).
    lab : the lab's name, as the seeds were derived with it; by default the folder of
        ``source_nb``.
    """
    if secret is None:
        secret = course_secret_of(source_nb)
    return rescore_cells(nbformat.read(source_nb, as_version=4),
                         nbformat.read(autograded_nb, as_version=4),
                         lab or Path(source_nb).parent.name, secret)
