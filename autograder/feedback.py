"""What a student may see of a graded notebook: hidden tests removed from nbgrader's feedback.

nbgrader's ``generate_feedback`` renders the autograded notebook, whose test cells hold the
instructor's full source, hidden tests included. ``StripHiddenTests`` runs in that step
(``labs/nbgrader_config.py`` adds it to ``GenerateFeedback.preprocessors``) and, in every cell:

* replaces each region between the hidden-test delimiters with a one-line note;
* drops the display data the checks emit for rescoring (MIME type :data:`autograder.checks.MIME`);
* in a cell that had hidden tests, drops the traceback frames of that cell (they quote its
  source), keeping the error's name and message and the frames of the student's own code;
* in every traceback and printed output, writes a file of the server as the path a student
  would recognise (``autograder/checks/core.py``, ``numpy/lib/_arraypad_impl.py``): no
  folder of the server, its home folder or its Python installation is shown.

The printed output of the checks, which is the feedback written for the student, is kept.
"""

from __future__ import annotations

import os
import re
import sysconfig
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets import Bool, List, Unicode

from .checks import MIME
from .sandbox import KERNEL_HOME

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ANSI_SPLIT = re.compile(r"(\x1b\[[0-9;]*m)")
_FILE = re.compile(r"(?<![\w.~/])(?:~|/)[^\s:'\"()<>\x1b,]*\.pyx?\b")
"""An absolute (or ``~/``) path of a Python file, as IPython prints it in a traceback frame."""
_PACKAGES = re.compile(r"/(?:site|dist)-packages/")
_REPOSITORY = Path(__file__).resolve().parents[1]


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
        for output in outputs:
            if output.output_type == "error":
                if removed:
                    output.traceback = _without_cell_frames(output, cell.get("execution_count"))
                output.traceback = [server_paths_hidden(frame) for frame in output.traceback]
            elif output.output_type == "stream":
                output.text = server_paths_hidden(output.text)
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


def _shown_path(path: str) -> str:
    """A file of the server as a student would name it: inside an installed package from the
    package on (``numpy/lib/_arraypad_impl.py``), inside this repository or the standard
    library from there (``autograder/checks/core.py``, ``json/decoder.py``), else its name."""
    found = _PACKAGES.search(path)
    if found:
        return path[found.end():]
    # "~/..." is the home folder of the process that printed it: the grader's, or a sandboxed
    # kernel's (a repository under /tmp shows as ~/... there).
    fulls = [os.path.expanduser(path)]
    if path.startswith("~/"):
        fulls.append(KERNEL_HOME + path[1:])
    for full in fulls:
        for root in (_REPOSITORY, Path(sysconfig.get_paths()["stdlib"])):
            if full.startswith(f"{root}{os.sep}"):
                return full[len(str(root)) + 1:]
    return os.path.basename(fulls[0])


def server_paths_hidden(text: str) -> str:
    """``text`` (a traceback frame, printed output) with each path of a Python file on the
    server written as :func:`_shown_path` names it, and any other mention of this repository's
    folder or the home folder as ``...``. A frame of the student's cell (``Cell In[n], line m``)
    names no file and is unchanged."""
    parts = _ANSI_SPLIT.split(text)  # colour codes apart, so that a path after one is seen
    text = "".join(p if _ANSI.fullmatch(p) else _FILE.sub(lambda m: _shown_path(m[0]), p)
                   for p in parts)
    for folder in (str(_REPOSITORY), os.path.expanduser("~")):
        if len(folder) > 1:
            text = text.replace(folder, "...")
    return text
