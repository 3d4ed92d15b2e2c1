"""What a submission changed that a student must not change, found by comparing notebooks.

nbgrader runs a submission with its locked and test cells restored from the gradebook
(``OverwriteCells``), so editing them changes no score; but an instructor wants to see the
attempt. :func:`submission_flags` lists, in words an instructor can act on:

* a locked or test cell deleted, or its source edited (against the released notebook);
* a graded cell's points changed in its metadata, or a cell's grade id renamed;
* text that imitates a check's report, printed by a cell that does not call that check (a
  student who prints ``check_pad2d: all 12 random cases pass: 4 of 4 points.`` to look right
  in the feedback);
* a student's cell that imports the autograder, defines or assigns a ``check_*`` name, or
  writes a grading record's type: the way to replace a check so that it records the course's
  answers, which the rescoring cannot tell apart from the student's.

Each flag names the cell and quotes the evidence. :func:`zeroed_tests` says which test cells
score 0 for these (the rescoring, ``RescoreCells`` and ``grade``, applies it).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .calls import parse_cell
from .rescore import Rescored

FAKE_REPORT = re.compile(r"(check_\w+): (?:all \d+|\d+ of \d+) (?:random )?cases pass[^\n]*")


def _meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _by_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {_meta(c)["grade_id"]: c for c in nb.cells if _meta(c).get("grade_id")}


def _first_change(before: str, after: str) -> str:
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line[:1] in "+-" and not line.startswith(("+++", "---")):
            return line[:100]
    return "(white space)"


def cell_flags(released: NotebookNode, submitted: NotebookNode) -> list[str]:
    """Locked and test cells deleted or edited, points changed, grade ids renamed.

    Parameters
    ----------
    released : the notebook students were given (``release/<lab>/<nb>.ipynb``).
    submitted : one student's notebook as collected (``submitted/<student>/<lab>/<nb>.ipynb``).
    """
    given, handed_in = _by_id(released), _by_id(submitted)
    flags = []
    for grade_id, cell in given.items():
        meta = _meta(cell)
        if meta.get("solution") or not (meta.get("locked") or meta.get("grade")):
            continue
        kind = "test cell" if meta.get("grade") else "locked cell"
        theirs = handed_in.get(grade_id)
        if theirs is None:
            flags.append(f"{grade_id}: the {kind} was deleted (or its grade id changed)")
            continue
        if theirs.source.strip() != cell.source.strip():
            flags.append(f"{grade_id}: the {kind} was edited; first change: "
                         f"{_first_change(cell.source, theirs.source)!r}")
        if meta.get("grade") and _meta(theirs).get("points") != meta.get("points"):
            flags.append(f"{grade_id}: its points were changed from {meta.get('points')} to "
                         f"{_meta(theirs).get('points')} in the notebook's metadata")
    for grade_id in sorted(set(handed_in) - set(given)):
        if _meta(handed_in[grade_id]).get("grade"):
            flags.append(f"{grade_id}: a graded cell that the released notebook does not have")
    return flags


def _text(cell: NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(str(out["data"].get("text/plain", "")))
    return "".join(parts)


def _called_checks(source: str) -> set[str]:
    """Every ``check_*`` name a cell mentions: a check called with any arguments (a seed from a
    loop, say) or under another name prints real reports, which are not imitations."""
    try:
        tree = parse_cell(source)
    except SyntaxError:  # a cell that does not parse runs nothing, so prints nothing
        return set()
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    return {name for name in names if name.startswith("check_")}


def _fake_reports(autograded: NotebookNode) -> list[tuple[str, str]]:
    """(flag, the check imitated) for each cell whose output holds a check's report although
    the cell does not call that check."""
    found = []
    for index, cell in enumerate(autograded.cells, start=1):
        if cell.cell_type != "code":
            continue
        called = _called_checks(cell.source)
        for match in FAKE_REPORT.finditer(_text(cell)):
            name = _meta(cell).get("grade_id") or f"cell {index}"
            flag = (f"{name}: prints text that imitates a check's report: "
                    f"{match.group(0)[:100]!r}")
            if match.group(1) not in called and flag not in [f for f, _ in found]:
                found.append((flag, match.group(1)))
    return found


def fake_report_flags(autograded: NotebookNode) -> list[str]:
    """Cells whose output holds a check's report although the cell does not call that check."""
    return [flag for flag, _ in _fake_reports(autograded)]


def zeroed_tests(released: NotebookNode, submitted: NotebookNode,
                 autograded: NotebookNode | None) -> dict[str, str]:
    """The test cells that score 0 for what the submission did to them: ``grade_id`` -> the
    evidence (a flag of :func:`cell_flags` or :func:`fake_report_flags`).

    A test cell deleted, edited or given other points, and every test cell that calls a check
    whose report some cell imitates. nbgrader restores the cells and the rescoring ignores
    printed text, so none of these raised a score; the test scores 0 all the same and is
    marked for manual grading, where the instructor decides (``labs/threat_model.md``).
    """
    tests = {gid for gid, cell in _by_id(released).items()
             if _meta(cell).get("grade") and not _meta(cell).get("solution")}
    zeroed = {}
    for flag in cell_flags(released, submitted):
        grade_id = flag.split(":", 1)[0]
        if grade_id in tests:
            zeroed.setdefault(grade_id, flag)
    if autograded is not None:
        callers: dict[str, list[str]] = {}
        for grade_id, cell in _by_id(autograded).items():
            if grade_id in tests:
                for check in _called_checks(cell.source):
                    callers.setdefault(check, []).append(grade_id)
        for flag, check in _fake_reports(autograded):
            for grade_id in callers.get(check, []):
                zeroed.setdefault(grade_id, flag)
    return zeroed


def _reaches_into_the_checks(source: str) -> list[str]:
    """What a student's cell does to the grading machinery, in words (empty when nothing)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                alias.name for alias in node.names]
            found += [f"imports {name}" for name in names if name.split(".")[0] == "autograder"]
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name.startswith("check_"):
            found.append(f"defines {node.name}")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) \
                and node.id.startswith("check_"):
            found.append(f"assigns {node.id}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and "vnd.convnb.check" in node.value:
            found.append("writes a grading record's type")
    return list(dict.fromkeys(found))


def code_flags(submitted: NotebookNode) -> list[str]:
    """The student's own cells (answers and scratch cells) that import the autograder, define or
    assign a ``check_*`` name, or write a grading record: a student who replaces a check can make
    it record the reference's answers, which the rescoring cannot tell from the student's."""
    flags = []
    for index, cell in enumerate(submitted.cells, start=1):
        meta = _meta(cell)
        if cell.cell_type != "code" or (meta.get("locked") and not meta.get("solution")):
            continue
        found = _reaches_into_the_checks(cell.source)
        if found:
            name = meta.get("grade_id") or f"cell {index}"
            flags.append(f"{name}: the student's code " + ", ".join(found))
    return flags


def submission_flags(released: NotebookNode, submitted: NotebookNode,
                     autograded: NotebookNode | None) -> list[str]:
    """Everything :func:`cell_flags`, :func:`code_flags` and :func:`fake_report_flags` find in
    one submission."""
    flags = cell_flags(released, submitted) + code_flags(submitted)
    return flags + (fake_report_flags(autograded) if autograded is not None else [])


def read_zeroed(released: Path, submitted: Path, autograded: NotebookNode) -> dict[str, str]:
    """:func:`zeroed_tests` of one student's notebook, from the released and submitted files;
    empty when either is missing or unreadable (``grade`` reports that on its own)."""
    if not (released.exists() and submitted.exists()):
        return {}
    try:
        return zeroed_tests(nbformat.read(released, as_version=4),
                            nbformat.read(submitted, as_version=4), autograded)
    except (ValueError, KeyError, AttributeError):
        return {}


def with_zeroed(rescored: dict[str, Rescored], zeroed: dict[str, str]) -> dict[str, Rescored]:
    """``rescored`` with each test cell of ``zeroed`` scored 0 and a note quoting the evidence
    (a note marks the cell for manual grading in formgrader)."""
    out = {}
    for grade_id, r in rescored.items():
        if grade_id in zeroed:
            evidence = zeroed[grade_id].removeprefix(f"{grade_id}: ")
            r = dataclasses.replace(r, points=0.0, note=f"scored 0, flagged: {evidence}")
        out[grade_id] = r
    return out
