"""The course's grading steps inside nbgrader's own converters, so nbgrader's commands are safe.

``labs/nbgrader_config.py`` adds these preprocessors to nbgrader's chains. ``nbgrader
generate_assignment`` and ``nbgrader autograde``, run by hand in ``labs/``, then do what
``python -m autograder release`` and ``grade`` do (those run the same converters):

* :class:`SecretSeeds` (``GenerateAssignment.preprocessors``, before the first
  ``ComputeChecksums``): every hidden check call's ``seed=S`` becomes the seed derived from the
  course secret (:mod:`autograder.secret`; created here at the first release), before nbgrader
  stores the hidden tests in the gradebook. ``ClearHiddenTests`` then removes them from the
  student's version.
* :class:`RescoreCells` (``Autograde.autograde_preprocessors``, right after ``Execute``): judges
  each test cell again from its grading record (:mod:`autograder.rescore`), scores 0 the test
  cells the student edited or imitated (:func:`autograder.integrity.zeroed_tests`), and prints a
  note in a cell whose claimed score the grader does not confirm. It refuses (raises) when the
  course secret is not the one the lab was released with.
* :class:`SaveTrustedGrades` (in place of ``SaveAutoGrades``): nbgrader's step that writes the
  scores into the gradebook, writing the grader's points instead of the kernel's and marking a
  cell with a note for manual review in formgrader.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ComputeChecksums,
    Execute,
    NbGraderPreprocessor,
    SaveAutoGrades,
)
from nbgrader.utils import is_grade
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from .calls import check_calls
from .integrity import read_zeroed, with_zeroed
from .rescore import Rescored, rescore_cells
from .secret import SecretError, create_secret, derive_seed, read_secret, secret_path
from .secret import with_secret_seeds as _with_secret_seeds

RESCORED = "autograder_rescored"
"""The key of ``resources`` where :class:`RescoreCells` leaves its judgement for
:class:`SaveTrustedGrades` (resources never pass through the student's kernel)."""


def _hidden_tests(source: NotebookNode) -> dict[str, tuple[str, int]]:
    """``grade_id: (check, seed)`` of each test cell whose scored check call has a seed."""
    found = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not is_grade(cell) or meta.get("solution"):
            continue
        calls = [c for c in check_calls(cell.source) if c.points is not None]
        if calls and calls[0].seed is not None:
            found[meta["grade_id"]] = (calls[0].name, calls[0].seed)
    return found


def check_released_seeds(gb: Gradebook, source: NotebookNode, notebook: str, lab: str,
                         secret: bytes, where: Path | str) -> None:
    """Raises :class:`SecretError` unless the hidden tests nbgrader stored for ``notebook`` of
    ``lab`` at release draw from ``secret`` (read from ``where``): grading with another secret
    would judge every record against other cases."""
    for grade_id, (check, seed) in _hidden_tests(source).items():
        try:
            stored = gb.find_source_cell(grade_id, notebook, lab).source
        except MissingEntry:
            continue  # nbgrader itself reports a cell it does not know
        seeds = [c.seed for c in check_calls(stored) if c.points is not None]
        if seeds == [derive_seed(secret, lab, check, seed)]:
            continue
        if seeds == [seed]:
            raise SecretError(
                f"{lab}/{notebook}: the hidden test {grade_id} was released with its public seed "
                f"{seed} (released before secret seeds, or with a configuration without "
                "autograder.nbgrader_hooks.SecretSeeds): release the lab again (python -m "
                f"autograder release {lab}) so that its hidden cases come from the course secret")
        raise SecretError(
            f"{lab}/{notebook}: the hidden test {grade_id} was released with another course "
            f"secret than {where}: restore the course_secret backed up with the gradebook, or "
            f"release the lab again (python -m autograder release {lab}), which changes its "
            "hidden cases")


class SecretSeeds(NbGraderPreprocessor):
    """``GenerateAssignment`` step: the hidden tests' seeds derived from the course secret."""

    def preprocess(self, nb: NotebookNode,
                   resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        lab = resources["nbgrader"]["assignment"]
        root = CourseDirectory(config=self.config).root
        secret, created = create_secret(root)
        if created:
            self.log.warning("Created the course secret %s: back it up with the gradebook; "
                             "the hidden tests' cases are drawn from it", secret_path(root))
        hidden = ClearHiddenTests(config=self.config)
        for index, cell in enumerate(nb.cells, start=1):
            if cell.cell_type == "code" and "check_" in cell.source:
                cell.source = _with_secret_seeds(
                    cell.source, lab, secret, hidden.begin_test_delimeter,
                    hidden.end_test_delimeter, where=f"{lab}, cell {index}")
        return nb, resources


class RescoreCells(NbGraderPreprocessor):
    """``Autograde`` step after ``Execute``: each test cell judged from its grading record."""

    def preprocess(self, nb: NotebookNode,
                   resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        lab, notebook = info["assignment"], info["notebook"]
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.source_directory, ".", lab),
                    f"{notebook}.ipynb")
        source = nbformat.read(path, as_version=4)
        secret = read_secret(coursedir.root, "autograde")
        with Gradebook(info["db_url"]) as gb:
            check_released_seeds(gb, source, notebook, lab, secret, secret_path(coursedir.root))
        released = Path(coursedir.format_path(coursedir.release_directory, ".", lab),
                        f"{notebook}.ipynb")
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, info["student"],
                                               lab), f"{notebook}.ipynb")
        rescored = with_zeroed(rescore_cells(source, nb, lab, secret),
                               read_zeroed(released, submitted, nb))
        for cell in nb.cells:
            r = rescored.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if r is not None and r.note and cell.cell_type == "code":
                cell.outputs.append(nbformat.v4.new_output(
                    "stream", name="stdout", text=f"\n[grader] {r.note}\n"))
        resources[RESCORED] = rescored
        return nb, resources


class SaveTrustedGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, with the points :class:`RescoreCells` decided; a cell
    whose claim differed is marked for manual review."""

    def preprocess(self, nb: NotebookNode,
                   resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        if RESCORED not in resources:
            raise ValueError("SaveTrustedGrades: no rescored points; list "
                             "autograder.nbgrader_hooks.RescoreCells after Execute in "
                             "Autograde.autograde_preprocessors")
        self._rescored: dict[str, Rescored] = resources[RESCORED]
        return super().preprocess(nb, resources)

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        r = self._rescored.get(grade_id)
        if r is None:  # not an autograded test cell (a written answer): nbgrader's own rule
            return super()._add_score(cell, resources)
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id,
                                          self.student_id)
        grade.auto_score = r.points
        grade.needs_manual_grade = bool(r.note) or grade.manual_score is not None
        self.gradebook.db.commit()
        return None


def _classes(chain: list) -> list[type]:
    return [import_item(item) if isinstance(item, str) else item for item in chain]


def _position(chain: list[type], kind: type) -> int | None:
    return next((i for i, cls in enumerate(chain) if issubclass(cls, kind)), None)


def configuration_problems(config: Config) -> list[str]:
    """What keeps nbgrader's own commands from grading safely with ``config`` (a course's
    ``nbgrader_config.py``); empty when the three hooks are where they belong."""
    release = _classes(config.GenerateAssignment.get("preprocessors", []))
    autograde = _classes(config.Autograde.get("autograde_preprocessors", []))
    problems = []
    seeds, checksums = _position(release, SecretSeeds), _position(release, ComputeChecksums)
    if seeds is None or checksums is None or seeds > checksums:
        problems.append("c.GenerateAssignment.preprocessors must list "
                        "autograder.nbgrader_hooks.SecretSeeds before the first ComputeChecksums")
    execute, rescore = _position(autograde, Execute), _position(autograde, RescoreCells)
    save = [cls for cls in autograde if issubclass(cls, SaveAutoGrades)]
    if execute is None or rescore is None or rescore < execute:
        problems.append("c.Autograde.autograde_preprocessors must list "
                        "autograder.nbgrader_hooks.RescoreCells after Execute")
    if save != [SaveTrustedGrades] or (rescore is not None
                                       and _position(autograde, SaveAutoGrades) < rescore):
        problems.append("c.Autograde.autograde_preprocessors must list "
                        "autograder.nbgrader_hooks.SaveTrustedGrades after RescoreCells, in "
                        "place of nbgrader's SaveAutoGrades")
    return problems
