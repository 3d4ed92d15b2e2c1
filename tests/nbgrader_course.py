"""A temporary nbgrader course for one lab, driven through the real nbgrader command line.

The test files ``tests/autograder/test_labNN_nbgrader.py`` share it: :meth:`GradedCourse.generate`
copies ``labs/source/<lab>`` into a fresh course and runs ``nbgrader generate_assignment``;
:meth:`~GradedCourse.submission` makes a student's notebook from the released one (the solution,
with some cells replaced or edited); :meth:`~GradedCourse.submit` files it; one
:meth:`~GradedCourse.autograde` grades every submission; then :meth:`~GradedCourse.score`,
:meth:`~GradedCourse.cell_text` and :meth:`~GradedCourse.rescore` read the results. The
``assert_*`` functions are the checks every lab's test file makes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.checks.hints import HINTS
from autograder.rescore import rescore_notebook

REPO = Path(__file__).resolve().parents[1]

# A solution cell's replacement: the student's whole code, or [(solution text, the student's
# text), ...], each solution text found exactly once.
Edit = str | list[tuple[str, str]]


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _environment(tmp: Path) -> dict[str, str]:
    """nbgrader's kernel ``python3`` must run this interpreter, with this checkout importable."""
    kernel = tmp / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    env = dict(os.environ)
    env.update(JUPYTER_PATH=str(tmp / "jupyter"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
    return env


def solution_code(nb: nbformat.NotebookNode,
                  edits: Mapping[str, Edit] | None = None) -> dict[str, str]:
    """Each solution cell's code by grade id, the ``### BEGIN/END SOLUTION`` markers dropped,
    and changed as ``edits`` says: a cell's whole new code, or ``[(old, new), ...]``
    replacements, each ``old`` found exactly once."""
    edits = edits or {}
    codes = {_grade_id(c): "\n".join(
                 line for line in c.source.splitlines()
                 if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
             for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
    assert set(edits) <= set(codes), f"no solution cells {set(edits) - set(codes)}"
    for cell_id, change in edits.items():
        if isinstance(change, str):
            codes[cell_id] = change
            continue
        for old, new in change:
            assert codes[cell_id].count(old) == 1, (cell_id, old)
            codes[cell_id] = codes[cell_id].replace(old, new)
    return codes


def lab_notebook(lab: str) -> nbformat.NotebookNode:
    """The trusted source notebook of ``lab`` (``labs/source/<lab>/<lab>.ipynb``)."""
    return nbformat.read(REPO / "labs" / "source" / lab / f"{lab}.ipynb", as_version=4)


def hidden_calls(nb: nbformat.NotebookNode) -> dict:
    """Every check call in the notebook's graded cells, by check name (seed and points)."""
    from autograder.calls import check_calls

    return {call.name: call for cell in nb.cells if cell.metadata.get("nbgrader", {}).get("grade")
            for call in check_calls(cell.source)}


def run_solutions(nb: nbformat.NotebookNode, namespace: dict | None = None) -> dict:
    """The instructor's solution cells run in one namespace (NumPy as ``np`` unless given)."""
    import numpy as np

    namespace = {"np": np} if namespace is None else namespace
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, namespace)  # noqa: S102 - the instructor's own solution
    return namespace


def assert_check_catches(check, fn, call, hint: str, capsys) -> None:
    """A classic mistake ``fn`` fails the hidden cases of ``call`` (its seed and points), loses
    points, and gets ``hint``, which the printed report shows."""
    ev = check.evaluate(fn, call.seed)
    assert ev.failing, "the hidden cases do not catch this mistake"
    assert ev.hint == hint, (ev.hint, ev.hint_matches)
    assert check(fn, seed=call.seed, points=call.points) < call.points
    assert "Hint: " + HINTS[hint] in capsys.readouterr().out


class GradedCourse:
    """One lab's nbgrader course under ``tmp / "course"``."""

    def __init__(self, tmp: Path, lab: str):
        self.lab = lab
        self.source = REPO / "labs" / "source" / lab / f"{lab}.ipynb"
        self.root = tmp / "course"
        self._env = _environment(tmp)

    @classmethod
    def generate(cls, tmp: Path, lab: str) -> GradedCourse:
        """A course holding ``lab``, its assignment generated (the released notebook made)."""
        course = cls(tmp, lab)
        shutil.copytree(course.source.parent, course.root / "source" / lab)
        (course.root / "nbgrader_config.py").write_text(
            "c = get_config()\nc.Execute.timeout = 120\n")
        course.nbgrader("generate_assignment", lab, "--force")
        return course

    def nbgrader(self, *args: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.root,
                              env=self._env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    @property
    def released(self) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "release" / self.lab / f"{self.lab}.ipynb",
                             as_version=4)

    def solution_code(self) -> dict[str, str]:
        """Each solution cell's code, the ``### BEGIN/END SOLUTION`` markers dropped."""
        return solution_code(nbformat.read(self.source, as_version=4))

    def submission(self, edits: Mapping[str, Edit]) -> nbformat.NotebookNode:
        """The released notebook with every solution cell solved, except as ``edits`` say."""
        nb = nbformat.from_dict(json.loads(json.dumps(self.released)))
        solutions = solution_code(nbformat.read(self.source, as_version=4), edits)
        for cell in nb.cells:
            if _grade_id(cell) in solutions:
                cell.source = solutions[_grade_id(cell)]
        return nb

    def submit(self, student: str, nb: nbformat.NotebookNode) -> None:
        folder = self.root / "submitted" / student / self.lab
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{self.lab}.ipynb")

    def autograde(self) -> None:
        self.nbgrader("autograde", self.lab, "--force")

    def score(self, student: str) -> dict[str, float]:
        """The gradebook's points for each graded cell of ``student``'s notebook."""
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            nb = gb.find_submission_notebook(self.lab, self.lab, student)
            return {g.name: g.score for g in nb.grades}

    def graded_path(self, student: str) -> Path:
        return self.root / "autograded" / student / self.lab / f"{self.lab}.ipynb"

    def graded(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.graded_path(student), as_version=4)

    def cell(self, student: str, grade_id: str) -> nbformat.NotebookNode:
        return next(c for c in self.graded(student).cells if _grade_id(c) == grade_id)

    def cell_text(self, student: str, grade_id: str) -> str:
        """What the graded cell printed (its stream outputs)."""
        return "".join(o.get("text", "") for o in self.cell(student, grade_id).outputs
                       if o.output_type == "stream")

    def rescore(self, student: str) -> dict:
        return rescore_notebook(self.source, self.graded_path(student))


def submit_all(course: GradedCourse, wrong: Mapping[str, tuple]) -> None:
    """Files the solution, the blank (released) notebook and each wrong student's edits (the first
    item of its entry in ``wrong``)."""
    course.submit("solution", course.submission({}))
    course.submit("blank", course.released)
    for student, (edits, *_) in wrong.items():
        course.submit(student, course.submission(edits))


def assert_mistakes_lose_points(course: GradedCourse, student: str, max_points: Mapping[str, int],
                                hints: Mapping[str, str | None],
                                may_lose: Collection[str] = ()) -> None:
    """Each test cell in ``hints`` loses points and shows its smallest failing case and the hint
    (``None``: any hint); those in ``may_lose`` are not checked; every other earns full marks."""
    scores = course.score(student)
    for grade_id in max_points:
        if grade_id in hints:
            assert scores[grade_id] < max_points[grade_id], grade_id
            text = course.cell_text(student, grade_id)
            assert "Smallest failing case" in text, text
            if hints[grade_id] is not None:
                assert "Hint: " + HINTS[hints[grade_id]] in text, text
        elif grade_id not in may_lose:
            assert scores[grade_id] == max_points[grade_id], grade_id


def assert_rescoring_agrees(course: GradedCourse, student: str, hidden: Collection[str]) -> None:
    """:func:`rescore_notebook` gives nbgrader's points, with no note for any of the ``hidden``
    test cells, on an honest notebook."""
    rescored = course.rescore(student)
    assert {k: r.points for k, r in rescored.items()} == course.score(student)
    assert [r.note for r in rescored.values()] == [""] * len(hidden)


def assert_no_hidden_source(course: GradedCourse, students: Iterable[str],
                            grade_ids: Iterable[str]) -> None:
    grade_ids = list(grade_ids)
    for student in students:
        for grade_id in grade_ids:
            text = course.cell_text(student, grade_id)
            assert "seed=" not in text and "BEGIN HIDDEN" not in text


def assert_hidden_cells_quiet(course: GradedCourse, students: Iterable[str],
                              grade_ids: Iterable[str]) -> None:
    """No hidden test cell errors or writes to stderr."""
    grade_ids = list(grade_ids)
    for student in students:
        cells = {_grade_id(c): c for c in course.graded(student).cells}
        for grade_id in grade_ids:
            outputs = cells[grade_id].outputs
            assert not [o for o in outputs if o.output_type == "error"], (student, grade_id)
            assert not [o for o in outputs if o.get("name") == "stderr"], (student, grade_id)


def assert_solution_quiet(course: GradedCourse) -> None:
    """Nothing in the graded solution errors or writes to stderr."""
    outputs = [o for c in course.graded("solution").cells if c.cell_type == "code"
               for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]


def autograded_course(tmp_path_factory, lab: str, wrong: Mapping[str, tuple]) -> GradedCourse:
    """A course for ``lab`` in which the solution, the blank notebook and each wrong student (see
    :func:`submit_all`) are submitted and autograded, in one ``nbgrader autograde``."""
    course = GradedCourse.generate(tmp_path_factory.mktemp("nbgrader"), lab)
    submit_all(course, wrong)
    course.autograde()
    return course
