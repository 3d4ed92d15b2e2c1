"""lab03 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade the solution, the
released (blank) notebook and four submissions with classic mistakes (two each, in different
functions), made by editing the solution as a student would. Then
:func:`autograder.rescore.rescore_notebook` is compared with nbgrader's gradebook.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.checks.hints import HINTS
from autograder.rescore import rescore_notebook

REPO = Path(__file__).resolve().parents[2]
LAB = "lab03_pooling"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"
MAX = {"hidden_max_pool_forward": 3, "hidden_max_pool_switches": 3,
       "hidden_max_pool_backward": 5, "hidden_avg_pool_forward": 4,
       "hidden_avg_pool_backward": 5}

LAST_MAXIMUM = """\
def max_pool_forward(x, k, stride):
    N, C, H, W = x.shape
    H_out = (H - k) // stride + 1
    W_out = (W - k) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    switches = np.zeros((N, C, H_out, W_out), dtype=np.int64)
    for n, c, i, j in np.ndindex(N, C, H_out, W_out):
        best = -np.inf
        for u in range(k):
            for v in range(k):
                r, s = i * stride + u, j * stride + v
                if x[n, c, r, s] >= best:
                    best = x[n, c, r, s]
                    out[n, c, i, j], switches[n, c, i, j] = best, r * W + s
    return out, switches
"""
WHOLE_WINDOW = """\
def max_pool_backward(dout, x, k, stride):
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        dx[n, c, i * stride:i * stride + k, j * stride:j * stride + k] += dout[n, c, i, j]
    return dx
"""
TIED_MASK = """\
def max_pool_backward(dout, x, k, stride):
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * stride:i * stride + k, j * stride:j * stride + k]
        mask = window == np.max(window)
        dx[n, c, i * stride:i * stride + k, j * stride:j * stride + k] += mask * dout[n, c, i, j]
    return dx
"""
AVG_SHARE = "dx[:, :, r:r + k, s:s + k] += dout[:, :, i, j, None, None] / (k * k)"

# Student -> ({solution cell: the student's code, or [(solution text, the student's text), ...]},
# {test cell: the hint it must show, or None: it loses points, whatever the hint}). Other test
# cells keep full marks.
WRONG = {
    "last_maximum_and_avg_stride": (
        {"max_pool_forward": LAST_MAXIMUM,
         "avg_pool_forward": [("r, s = i * stride, j * stride", "r, s = i, j")]},
        {"hidden_max_pool_switches": "switch_last_max",
         "hidden_max_pool_backward": "switch_last_max",  # it uses the switches
         "hidden_avg_pool_forward": "pool_stride_ignored"}),
    "whole_window_and_sum": (
        {"max_pool_backward": WHOLE_WINDOW,
         "avg_pool_forward": [(".mean(axis=(2, 3))", ".sum(axis=(2, 3))")]},
        {"hidden_max_pool_backward": "maxgrad_to_window",
         "hidden_avg_pool_forward": "avg_sum"}),
    "tied_mask_and_not_divided": (
        {"max_pool_backward": TIED_MASK,
         "avg_pool_backward": [(AVG_SHARE, AVG_SHARE.replace(" / (k * k)", ""))]},
        {"hidden_max_pool_backward": "maxgrad_all_ties",
         "hidden_avg_pool_backward": "avggrad_not_divided"}),
    "switches_in_window_and_assign": (
        {"max_pool_forward": [("(r + first // k) * W + (s + first % k)", "first")],
         "avg_pool_backward": [(AVG_SHARE, AVG_SHARE.replace("+=", "="))]},
        {"hidden_max_pool_switches": "switch_in_window",
         "hidden_max_pool_backward": None,  # it uses the switches
         "hidden_avg_pool_backward": "avggrad_overwrite"}),
}


def _solution_code(cell: nbformat.NotebookNode) -> str:
    return "\n".join(line for line in cell.source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _submission(released: nbformat.NotebookNode,
                edits: dict[str, str | list[tuple[str, str]]]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    solutions = {c.metadata["nbgrader"]["grade_id"]: c
                 for c in nbformat.read(SOURCE, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            code, change = _solution_code(solutions[grade_id]), edits.get(grade_id, [])
            if isinstance(change, str):
                code, change = change, []
            for old, new in change:
                assert code.count(old) == 1, (grade_id, old)
                code = code.replace(old, new)
            cell.source = code
    return nb


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


def _nbgrader(course: Path, env: dict[str, str], *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("nbgrader")
    course = tmp / "course"
    shutil.copytree(SOURCE.parent, course / "source" / LAB)
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = 120\n")
    env = _environment(tmp)
    _nbgrader(course, env, "generate_assignment", LAB, "--force")
    released = nbformat.read(course / "release" / LAB / f"{LAB}.ipynb", as_version=4)
    submissions = {"solution": _submission(released, {}), "blank": released}
    for student, (edits, _) in WRONG.items():
        submissions[student] = _submission(released, edits)
    for student, nb in submissions.items():
        folder = course / "submitted" / student / LAB
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{LAB}.ipynb")
    _nbgrader(course, env, "autograde", LAB, "--force")
    return course


def _scores(course: Path, student: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(LAB, LAB, student)
        return {g.name: g.score for g in nb.grades}


def _graded(course: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(course / "autograded" / student / LAB / f"{LAB}.ipynb", as_version=4)


def _cell(course: Path, student: str, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in _graded(course, student).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _cell_text(course: Path, student: str, grade_id: str) -> str:
    return "".join(o.get("text", "") for o in _cell(course, student, grade_id).outputs
                   if o.output_type == "stream")


def test_the_solution_scores_full_marks_and_reproduces_the_lecture(course):
    assert _scores(course, "solution") == MAX
    assert sum(MAX.values()) == 20
    assert "The lecture's example, with its switches." in _cell_text(course, "solution",
                                                                      "lecture_example")


def test_the_released_notebook_scores_zero(course):
    assert _scores(course, "blank") == dict.fromkeys(MAX, 0.0)
    assert "not written yet" in _cell_text(course, "blank", "hidden_max_pool_backward")


def test_no_hidden_test_cell_errors_or_writes_to_stderr(course):
    for student in ("solution", "blank", *WRONG):
        for grade_id in MAX:
            outputs = _cell(course, student, grade_id).outputs
            assert not [o for o in outputs if o.output_type == "error"], (student, grade_id)
            assert not [o for o in outputs if o.get("name") == "stderr"], (student, grade_id)


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    scores = _scores(course, student)
    expected = WRONG[student][1]
    for grade_id in MAX:
        if grade_id not in expected:
            assert scores[grade_id] == MAX[grade_id], grade_id
            continue
        assert scores[grade_id] < MAX[grade_id], grade_id
        text = _cell_text(course, student, grade_id)
        assert "Smallest failing case" in text, text
        if expected[grade_id] is not None:
            assert "Hint: " + HINTS[expected[grade_id]] in text, text


@pytest.mark.parametrize("student", ["solution", "blank", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    graded = course / "autograded" / student / LAB / f"{LAB}.ipynb"
    rescored = rescore_notebook(SOURCE, graded)
    assert {k: r.points for k, r in rescored.items()} == _scores(course, student)
    assert [r.note for r in rescored.values()] == [""] * len(MAX)


def test_feedback_shows_no_hidden_test_source(course):
    for student in ("solution", "blank", *WRONG):
        for grade_id in MAX:
            text = _cell_text(course, student, grade_id)
            assert "seed=" not in text and "BEGIN HIDDEN" not in text
