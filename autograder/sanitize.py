"""nbgrader's sanitizing step of autograde without a warning for what the release itself did.

Before it runs a submission, nbgrader's ``OverwriteCells`` puts back each test cell's source
from the gradebook, hidden tests included, and warns when a locked cell's checksum differs:
``Attribute 'checksum' for cell hidden_pad2d has changed!``. Every test cell with hidden tests
differs, in every submission, because the release removed them (``ClearHiddenTests``): the
warning would read like tampering in every log. :class:`OverwriteReleasedCells` restores the
cells exactly as ``OverwriteCells`` does and reports every change except that one, which it
logs at debug level. A student who edits a locked cell is still reported (and flagged in the
report by :mod:`autograder.integrity`).
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, OverwriteCells


class OverwriteReleasedCells(OverwriteCells):
    """``OverwriteCells`` (in ``c.Autograde.sanitize_preprocessors``) that does not report the
    changed checksum of a test cell whose only change is the hidden tests the release removed."""

    _as_released = False

    def released_source(self, grade_id: str) -> str | None:
        """The source the release gave the cell ``grade_id``: the gradebook's with the hidden
        tests removed by nbgrader's ``ClearHiddenTests`` (configured as for the release);
        ``None`` when the cell is not in the gradebook or has no hidden tests."""
        try:
            cell = self.gradebook.find_source_cell(grade_id, self.notebook_id,
                                                   self.assignment_id)
        except MissingEntry:
            return None
        released = NotebookNode(cell_type=cell.cell_type, source=cell.source, metadata={})
        removed = ClearHiddenTests(parent=self)._remove_hidden_test_region(released)
        return released.source if removed else None

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self._as_released = grade_id is not None and self.released_source(grade_id) == cell.source
        try:
            return super().preprocess_cell(cell, resources, cell_index)
        finally:
            self._as_released = False

    def report_change(self, name: str, attr: str, old: Any, new: Any) -> None:
        if attr == "checksum" and self._as_released:
            self.log.debug("Cell %s: hidden tests restored (the release removed them)", name)
            return
        super().report_change(name, attr, old, new)
