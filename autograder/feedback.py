"""What a student may see of a graded notebook: hidden tests removed from nbgrader's feedback.

nbgrader's ``generate_feedback`` renders the autograded notebook, whose test cells hold the
instructor's full source, hidden tests included. ``StripHiddenTests`` runs in that step
(``labs/nbgrader_config.py`` adds it to ``GenerateFeedback.preprocessors``) and, in every cell:

* replaces each region between the hidden-test delimiters with a one-line note;
* drops the display data the checks emit for rescoring (MIME type :data:`autograder.checks.MIME`);
* in a cell that had hidden tests, drops the traceback frames of that cell (they quote its
  source), keeping the error's name and message and the frames of the student's own code.

The printed output of the checks, which is the feedback written for the student, is kept.
"""

from __future__ import annotations

import re

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import Bool, List, Unicode

from .checks import MIME

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


class StripHiddenTests(ClearHiddenTests):
    """Preprocessor for ``GenerateFeedback``: hides hidden tests, keeps their printed feedback.

    Shares its delimiters with nbgrader's ``ClearHiddenTests`` (configured there), so the region
    removed here is the region ``generate_assignment`` removed from the released notebook.
    """

    note = Unicode(
        "# (hidden tests ran here; their source is not shown)",
        help="The line that replaces each hidden-test region.",
    ).tag(config=True)

    # Declared configurable as in nbgrader's GetGrades: the HTML exporter configures it.
    display_data_priority = List(GetGrades.display_data_priority.default_value).tag(config=True)

    enforce_metadata = Bool(
        False, help="Feedback is built from graded notebooks; their metadata was checked then."
    ).tag(config=True)

    def _remove_hidden_test_region(self, cell: NotebookNode) -> bool:
        lines, kept, in_test, removed = cell.source.split("\n"), [], False, False
        for line in lines:
            if self.begin_test_delimeter in line:
                in_test = removed = True
                indent = line[: len(line) - len(line.lstrip())]
                kept.append(indent + self.note)
            elif self.end_test_delimeter in line:
                in_test = False
            elif not in_test:
                kept.append(line)
        cell.source = "\n".join(kept)
        return removed

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        removed = self._remove_hidden_test_region(cell)
        if cell.cell_type != "code":
            return cell, resources
        outputs = [o for o in cell.get("outputs", []) if MIME not in o.get("data", {})]
        if removed:
            for output in outputs:
                if output.output_type == "error":
                    output.traceback = _without_cell_frames(output, cell.get("execution_count"))
        cell.outputs = outputs
        return cell, resources


def _without_cell_frames(error: NotebookNode, execution_count: int | None) -> list[str]:
    """The error's traceback less the frames that quote the test cell itself.

    IPython formats one list item per frame; a frame of the cell starts with
    ``Cell In[<execution_count>], line ...``. Without an execution count, only the last line
    (``ename: evalue``) is kept.
    """
    if execution_count is None:
        return error.traceback[-1:]
    own = f"Cell In[{execution_count}]"
    frames = [f for f in error.traceback if not _plain(f).lstrip().startswith(own)]
    if len(frames) == len(error.traceback) and len(frames) > 1:
        # An unfamiliar traceback format: keep only what cannot quote the source.
        return frames[-1:]
    return frames
