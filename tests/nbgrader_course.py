"""A temporary nbgrader course for one lab, driven through the real nbgrader command line.

The lab test suite uses it (``tests/lab_suite.py``): :meth:`GradedCourse.generate`
copies ``labs/source/<lab>`` into a fresh course and runs ``nbgrader generate_assignment`` with
the course's release steps (the hidden tests' seeds derived from a course secret, by default
:data:`TEST_SECRET`);
:meth:`~GradedCourse.submission` makes a student's notebook from the released one (the solution,
with some cells replaced or edited); :meth:`~GradedCourse.submit` files it; one
:meth:`~GradedCourse.autograde` grades every submission; then :meth:`~GradedCourse.score`,
:meth:`~GradedCourse.cell_text` and :meth:`~GradedCourse.rescore` read the results.
:func:`solution_code` gives the solution cells' code, edited as a wrong student's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import GenerateAssignment

from autograder.rescore import rescore_notebook
from autograder.secret import read_secret, secret_path

REPO = Path(__file__).resolve().parents[1]

TEST_SECRET = hashlib.sha256(b"convnb lab suite").digest()

# Student code for the time limit's tests. A loop that catches the interrupt and goes on, and one
# call that holds the interrupt back for ``seconds``, as a long NumPy call does: SIGINT is masked
# in the main thread, so it lands in another thread and Python raises KeyboardInterrupt when the
# sleep ends (deterministic, and no CPU burnt).
STUBBORN_LOOP = ("import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                 "    except KeyboardInterrupt:\n        pass")


def long_call(seconds: int) -> str:
    return ("import signal, time\n"
            "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
            f"try:\n    time.sleep({seconds})\n"
            "finally:\n    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})\n")
"""The lab suite's course secret: fixed, so that a failure can be replayed (the hidden cases
still come from a secret, not from the seeds written in ``labs/``)."""

# A solution cell's replacement: the student's whole code, or [(solution text, the student's
# text), ...], each solution text found exactly once.
Edit = str | list[tuple[str, str]]


def release_steps() -> list[str]:
    """nbgrader's own generate chain with the course's ``SecretSeeds`` step before the first
    ``ComputeChecksums``, as ``labs/nbgrader_config.py`` lists it (``test_plain_nbgrader.py``
    checks that they agree)."""
    steps = [f"nbgrader.preprocessors.{cls.__name__}"
             for cls in GenerateAssignment.class_traits()["preprocessors"].default()]
    steps.insert(steps.index("nbgrader.preprocessors.ComputeChecksums"),
                 "autograder.nbgrader_hooks.SecretSeeds")
    return steps


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


class GradedCourse:
    """One lab's nbgrader course under ``tmp / "course"``."""

    def __init__(self, tmp: Path, lab: str):
        self.lab = lab
        self.root = tmp / "course"
        self.source = self.root / "source" / lab / f"{lab}.ipynb"
        """The course's copy of ``labs/source/<lab>/<lab>.ipynb``."""
        self._env = _environment(tmp)

    @classmethod
    def generate(cls, tmp: Path, lab: str, secret: bytes | None = TEST_SECRET,
                 course_config: bool = False) -> GradedCourse:
        """A course holding ``lab``, its assignment generated (the released notebook made).

        ``secret`` is written as the course secret first; ``None`` leaves it to the release to
        create. The course's configuration is nbgrader's, a 120 s cell limit and the course's
        release steps (:func:`release_steps`), so nbgrader's autograde writes the kernel's own
        scores; ``course_config`` uses the whole of ``labs/nbgrader_config.py`` instead.
        """
        course = cls(tmp, lab)
        shutil.copytree(REPO / "labs" / "source" / lab, course.source.parent)
        if course_config:
            shutil.copy(REPO / "labs" / "nbgrader_config.py", course.root)
        else:
            (course.root / "nbgrader_config.py").write_text(
                "c = get_config()\nc.Execute.timeout = 120\n"
                f"c.GenerateAssignment.preprocessors = {release_steps()!r}\n")
        if secret is not None:
            secret_path(course.root).write_text(secret.hex() + "\n")
            secret_path(course.root).chmod(0o600)
        course.nbgrader("generate_assignment", lab, "--force")
        return course

    @property
    def secret(self) -> bytes:
        return read_secret(self.root, "GradedCourse")

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
        return rescore_notebook(self.source, self.graded_path(student), self.secret, self.lab)


def sample_course(root: Path, extra: str = "", release: bool = True) -> Path:
    """``root/labs``: a course with the repository's ``labs/nbgrader_config.py`` (plus the lines
    ``extra``) and the pipeline's sample lab (``autograder.sample_lab``), released by
    ``python -m autograder release`` unless ``release`` is false."""
    from autograder.__main__ import main
    from autograder.sample_lab import LAB, write_sample_lab

    labs = root / "labs"
    labs.mkdir(parents=True)
    config = (REPO / "labs" / "nbgrader_config.py").read_text()
    (labs / "nbgrader_config.py").write_text(config + "\n" + extra)
    write_sample_lab(labs)
    if release:
        assert main(["--course", str(labs), "release", LAB]) == 0
    return labs


def lab_course(root: Path, lab: str) -> Path:
    """``root/labs``: a course with the repository's ``labs/nbgrader_config.py`` and ``lab``'s
    source notebook, released by ``python -m autograder release``."""
    from autograder.__main__ import main

    labs = root / "labs"
    (labs / "source").mkdir(parents=True)
    shutil.copy(REPO / "labs" / "nbgrader_config.py", labs)
    shutil.copytree(REPO / "labs" / "source" / lab, labs / "source" / lab)
    assert main(["--course", str(labs), "release", lab]) == 0
    return labs


def solved(labs: Path, lab: str, edits: Mapping[str, Edit] | None = None
           ) -> nbformat.NotebookNode:
    """The released notebook of ``lab`` in the course ``labs`` with every solution cell solved,
    except as ``edits`` say (:func:`solution_code`)."""
    codes = solution_code(nbformat.read(labs / "source" / lab / f"{lab}.ipynb", as_version=4),
                          edits)
    nb = nbformat.read(labs / "release" / lab / f"{lab}.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = codes.get(_grade_id(cell), cell.source)
    return nb


def submit(labs: Path, lab: str, student: str, nb: nbformat.NotebookNode) -> None:
    """Files ``nb`` as ``student``'s submission of ``lab`` (``submitted/<student>/<lab>/``)."""
    folder = labs / "submitted" / student / lab
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{lab}.ipynb")


def submit_sample(labs: Path, student: str, nb_or_answers) -> None:
    """Files ``student``'s sample-lab notebook: a notebook, or the released one with the
    solution cells named in a dict of answers replaced (``sample_lab.answer``)."""
    from autograder.sample_lab import LAB, answer

    if not isinstance(nb_or_answers, nbformat.NotebookNode):
        nb_or_answers = answer(labs / "release" / LAB / f"{LAB}.ipynb", nb_or_answers)
    submit(labs, LAB, student, nb_or_answers)
