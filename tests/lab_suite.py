"""What the lab test suite knows about a lab: the :class:`Lab` entry of the table in
``tests/lab_table.py``, and what is read from the lab's trusted notebook when a test first asks.

Nothing here runs at import: the notebook is read, its solutions executed and its nbgrader course
graded on first use, once per test session (:func:`notebook`, :func:`solution`,
:func:`graded_course`).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbgrader_course import Edit, GradedCourse, solution_code

from autograder.calls import CheckCall, check_calls
from autograder.course import Course
from autograder.pipeline import grade

REPO = Path(__file__).resolve().parents[1]

# A wrong student: the solution cells it replaces, the hint each listed hidden test cell must
# show (None: any hint), and optionally the test cells that may lose points without a hint
# asserted. Every other test cell must earn full marks.
Student = tuple[Mapping[str, Edit], Mapping[str, str | None]] | tuple[
    Mapping[str, Edit], Mapping[str, str | None], Sequence[str]]
# A classic mistake at the level of one check: (check name, the wrong function, its hint).
Mistake = tuple[str, Callable[..., Any], str]


@dataclass(frozen=True)
class Extra:
    """One more submission graded with the lab's students, for a lab-specific test to read:
    ``build(course)`` returns the notebook; ``honest`` says whether rescoring must agree with
    nbgrader's scores on it (a student who patches the checks is not honest).

    An attack also says what the whole grading chain (:func:`pipeline_course`) must make of
    it: ``flagged`` maps each test cell that must score 0 and be flagged for the instructor to
    the evidence the flag must quote; the tests of ``lost`` score 0 without a flag; every
    other test keeps its full points.
    """

    build: Callable[[GradedCourse], nbformat.NotebookNode]
    honest: bool = True
    flagged: Mapping[str, str] = field(default_factory=dict)
    lost: Sequence[str] = ()


@dataclass(frozen=True, eq=False)
class Lab:
    """One line of the test table.

    name : the lab's folder, ``labs/source/<name>/<name>.ipynb``, e.g. ``"lab01_correlation"``;
        its checks live in ``autograder.checks.<key>`` (``key`` = ``"lab01"``).
    points : the total the lab states in its first cell.
    students : wrong notebooks graded by the real nbgrader, each with the hints it must get.
    mistakes : classic mistakes, each checked directly against one check (no nbgrader).
    extra : more submissions for lab-specific tests (noisy output, tampering).
    few_seeds : checks that are slow enough to try on three seeds, not eight.
    """

    name: str
    points: float
    students: Mapping[str, Student] = field(default_factory=dict)
    mistakes: Mapping[str, Mistake] = field(default_factory=dict)
    extra: Mapping[str, Extra] = field(default_factory=dict)
    few_seeds: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return self.name.split("_")[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lab) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __str__(self) -> str:
        return self.key

    @property
    def source(self) -> Path:
        return REPO / "labs" / "source" / self.name / f"{self.name}.ipynb"

    @property
    def checks(self) -> dict[str, Any]:
        """The lab's checks by name, from its module's ``__all__``."""
        module = importlib.import_module(f"autograder.checks.{self.key}")
        return {name: getattr(module, name) for name in module.__all__}


def notebook(lab: Lab | str) -> nbformat.NotebookNode:
    """The lab's trusted source notebook (hidden tests and solutions in it)."""
    return _notebook(lab if isinstance(lab, str) else lab.name)


@functools.cache
def _notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "labs" / "source" / name / f"{name}.ipynb", as_version=4)


def grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@functools.cache
def hidden_calls(lab: Lab) -> dict[str, CheckCall]:
    """Every scored check call in the notebook's graded cells, by check name."""
    return {call.name: call for cell in notebook(lab).cells
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
            for call in check_calls(cell.source) if call.points is not None}


@functools.cache
def hidden_cells(lab: Lab) -> dict[str, str]:
    """The grade id of the test cell that holds each check's scored call, by check name."""
    return {call.name: grade_id(cell) for cell in notebook(lab).cells
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
            for call in check_calls(cell.source) if call.points is not None}


@functools.cache
def max_points(lab: Lab) -> dict[str, float]:
    """Every autograded test cell's points, by grade id."""
    return {grade_id(c): float(c.metadata["nbgrader"]["points"]) for c in notebook(lab).cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
            and not c.metadata["nbgrader"].get("solution")}


def solution(lab: Lab | str, edits: Mapping[str, Edit] | None = None) -> dict[str, Any]:
    """The namespace of the notebook's ``setup`` and ``given`` cells and its solutions, each
    solution replaced as ``edits`` says (see :data:`nbgrader_course.Edit`). Run once and kept
    when there are no edits."""
    name = lab if isinstance(lab, str) else lab.name
    return _run_solutions(name, edits) if edits else _solution(name)


def solution_of(lab: str) -> Callable[[str], Any]:
    """``sol = solution_of("lab01_correlation")`` at a module's top; ``sol("pad2d")`` is the
    solution's ``pad2d``, the notebook run when first asked (not at import)."""
    return lambda name: solution(lab)[name]


def edited_solution(lab: str, name: str, edits: Mapping[str, Edit]) -> Callable[..., Any]:
    """The solution's ``name`` (a function or a class) with ``edits`` made to the notebook's
    solution cells, for a table of mistakes: the edited notebook runs once, when first called
    (not at import). ``edited_solution("lab07_fast_conv", "im2col", {"im2col": [(old, new)]})``.
    """
    found = functools.cache(lambda: solution(lab, edits)[name])
    return lambda *args, **kwargs: found()(*args, **kwargs)


@functools.cache
def _solution(name: str) -> dict[str, Any]:
    return _run_solutions(name, {})


def _run_solutions(lab: str, edits: Mapping[str, Edit]) -> dict[str, Any]:
    codes = solution_code(notebook(lab), edits)
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in notebook(lab).cells:
            cell_id = grade_id(cell)
            if cell_id in codes:
                exec(codes[cell_id], namespace)  # noqa: S102 - the instructor's own notebook
            elif cell_id in ("setup", "given") and cell.cell_type == "code":
                exec(cell.source, namespace)  # noqa: S102
    return namespace


def unwritten(lab: Lab) -> dict[str, Any]:
    """The namespace of the released notebook as a student gets it: every solution block
    replaced by ``raise NotImplementedError()``, as ``nbgrader generate_assignment`` does."""
    stubs = {}
    for cell in notebook(lab).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            lines, skipping = [], False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    lines.append(line.replace("### BEGIN SOLUTION", "raise NotImplementedError()"))
                    skipping = True
                elif "### END SOLUTION" in line:
                    skipping = False
                elif not skipping:
                    lines.append(line)
            stubs[grade_id(cell)] = "\n".join(lines)
    return _run_solutions(lab.name, stubs)


def written_by_student(lab: Lab) -> dict[str, CheckCall]:
    """The hidden check calls whose argument a solution cell defines (a function or a class),
    by check name; the others judge what the notebook's own cells make (a trained model)."""
    defined = set()
    for cell in notebook(lab).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            code = cell.source.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", "")
            defined |= {node.name for node in ast.parse(code).body
                        if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    return {name: call for name, call in hidden_calls(lab).items() if call.argument in defined}


def wrong_students(lab: Lab) -> dict[str, tuple[Mapping[str, Edit], Mapping[str, str | None],
                                               Sequence[str]]]:
    """``lab.students`` with every entry as (edits, hints, may lose)."""
    return {name: (entry[0], entry[1], tuple(entry[2]) if len(entry) > 2 else ())
            for name, entry in lab.students.items()}


_COURSES: dict[str, GradedCourse] = {}
_PIPELINES: dict[str, GradedCourse] = {}


def graded_course(lab: Lab, tmp_path_factory) -> GradedCourse:
    """The lab's nbgrader course, autograded once per session: the solution, the released
    notebook (``blank``), every wrong student and every extra submission."""
    if lab.name not in _COURSES:
        course = GradedCourse.generate(tmp_path_factory.mktemp(lab.key), lab.name)
        course.submit("solution", course.submission({}))
        course.submit("blank", course.released)
        for student, (edits, _, _) in wrong_students(lab).items():
            course.submit(student, course.submission(edits))
        for student, extra in lab.extra.items():
            course.submit(student, extra.build(course))
        course.autograde()
        _COURSES[lab.name] = course
    return _COURSES[lab.name]


def attacks(lab: Lab) -> list[str]:
    """The lab's extra submissions that attack the grader (those with flagged tests)."""
    return [name for name, extra in lab.extra.items() if extra.flagged]


def honest_extras(lab: Lab) -> list[str]:
    """The lab's extra submissions that are right answers (noisy, slow): full marks."""
    return [name for name, extra in lab.extra.items() if extra.honest]


def pipeline_course(lab: Lab, tmp_path_factory) -> GradedCourse:
    """The lab's attacks, its honest extra submissions and its solution, graded once per
    session by ``python -m autograder grade`` with the course's whole
    ``labs/nbgrader_config.py``: each kernel in the sandbox,
    the rescoring inside nbgrader's chain, the trusted grades, the integrity checks, the
    report. (:func:`graded_course` grades with nbgrader's default chain, so that its tests can
    compare the kernel's own scores with the rescoring.)"""
    if lab.name not in _PIPELINES:
        course = GradedCourse.generate(tmp_path_factory.mktemp(lab.key + "_pipeline"), lab.name,
                                       course_config=True)
        course.submit("solution", course.submission({}))
        for student in [*attacks(lab), *honest_extras(lab)]:
            course.submit(student, lab.extra[student].build(course))
        run = grade(Course.open(course.root, "grade"), lab.name, jobs=1, progress=False,
                    say=lambda _: None)
        assert not run.failed, [(r.student, r.reason) for r in run.failed]
        _PIPELINES[lab.name] = course
    return _PIPELINES[lab.name]
