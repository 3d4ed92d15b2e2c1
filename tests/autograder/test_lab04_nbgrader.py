"""lab04 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade seven submissions made
from the released notebook: the solution, the blank notebook, and five students with classic
mistakes (each may make several, in different functions). Then
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
LAB = "lab04_conv_backward"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"
MAX = {"hidden_conv_backward_db": 2, "hidden_conv_backward_dw": 4, "hidden_conv_backward_dx": 5,
       "hidden_numerical_gradient": 4, "hidden_numerical_gradient_keeps_x": 1,
       "hidden_gradcheck_conv": 4}
HIDDEN = tuple(MAX)

# The layer as loops over the kernel's taps (dw) and a 'full' correlation (dx), the way the
# lectures draw it; the placeholders make the classic mistakes.
CONV_BACKWARD = """\
def conv_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out, W_out = dout.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    db = {DB}
    dw = np.zeros_like(w)
    for u in range(KH):
        for v in range(KW):
            patch = xpad[:, :, u:u + stride * (H_out - 1) + 1:stride,
                         v:v + stride * (W_out - 1) + 1:stride]
            dw[:, :, u, v] = np.tensordot({DW_DOUT}, patch, axes=([0, 2, 3], [0, 2, 3]))
    # dx: dout with zeros between its entries, padded 'full', correlated with the kernels.
    spread = np.zeros((N, F, (H_out - 1) * stride + 1, (W_out - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    spread = np.pad(spread, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    kernels = {KERNELS}
    dxpad = np.zeros_like(xpad)
    for i in range(spread.shape[2] - KH + 1):
        for j in range(spread.shape[3] - KW + 1):
            dxpad[:, :, i, j] = np.tensordot(spread[:, :, i:i + KH, j:j + KW], kernels,
                                             axes=([1, 2, 3], [0, 2, 3]))
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db
"""
RIGHT = {"DB": "dout.sum(axis=(0, 2, 3))", "DW_DOUT": "dout", "KERNELS": "w[:, :, ::-1, ::-1]"}

NO_STRIDE = """\
def conv_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    dw[f] += dout[n, f, i, j] * xpad[n, :, i:i + KH, j:j + KW]
                    dxpad[n, :, i:i + KH, j:j + KW] += dout[n, f, i, j] * w[f]
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
"""

CHECKER = """\
def numerical_gradient(f, x, dout, eps={EPS}):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += eps
        plus = np.sum(f(moved) * dout)
        moved[index] -= 2 * eps
        minus = np.sum(f(moved) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad
"""
ONE_SIDED = """\
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    base = np.sum(f(x) * dout)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += eps
        grad[index] = (np.sum(f(moved) * dout) - base) / eps
    return grad
"""
MUTATING = """\
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x[index] += eps
        plus = np.sum(f(x) * dout)
        x[index] -= 2 * eps
        minus = np.sum(f(x) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad
"""

# Student -> ({solution cell: code replacing the solution}, {test cell: the hint it must show},
# test cells that may lose points without a hint asserted). Other cells must earn full marks.
WRONG = {
    "noflip": ({"conv_backward": CONV_BACKWARD.format(**RIGHT | {"KERNELS": "w"})},
               {"hidden_conv_backward_dx": "dx_not_flipped",
                "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "nostride": ({"conv_backward": NO_STRIDE},
                 {"hidden_conv_backward_dx": "dx_stride_ignored",
                  "hidden_conv_backward_dw": "dw_stride_ignored",
                  "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "db_eps": ({"conv_backward": CONV_BACKWARD.format(**RIGHT | {"DB": "dout.sum(axis=(2, 3))"}),
                "numerical_gradient": CHECKER.format(EPS="1e-2")},
               {"hidden_conv_backward_db": "db_axes",
                "hidden_numerical_gradient": "grad_eps_too_large",
                "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "onesided_dwconv": (
        {"conv_backward": CONV_BACKWARD.format(**RIGHT | {"DW_DOUT": "dout[:, :, ::-1, ::-1]"}),
         "numerical_gradient": ONE_SIDED},
        {"hidden_conv_backward_dw": "dw_swapped", "hidden_numerical_gradient": "grad_one_sided",
         "hidden_gradcheck_conv": "own_gradcheck_large"}, ()),
    "mutating": ({"numerical_gradient": MUTATING},
                 {"hidden_numerical_gradient_keeps_x": "grad_mutates_x"},
                 ("hidden_numerical_gradient", "hidden_gradcheck_conv")),
}


def _solution(cell: nbformat.NotebookNode) -> str:
    return "\n".join(line for line in cell.source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _submission(released: nbformat.NotebookNode, replace: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    solutions = {c.metadata["nbgrader"]["grade_id"]: c
                 for c in nbformat.read(SOURCE, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    assert set(replace) <= set(solutions)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = replace.get(grade_id, _solution(solutions[grade_id]))
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
    for student, (replace, _, _) in WRONG.items():
        submissions[student] = _submission(released, replace)
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


def _graded(course: Path, student: str) -> Path:
    return course / "autograded" / student / LAB / f"{LAB}.ipynb"


def _cell_text(course: Path, student: str, grade_id: str) -> str:
    nb = nbformat.read(_graded(course, student), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_the_released_notebook_keeps_the_signatures_and_drops_the_solutions(course):
    released = nbformat.read(course / "release" / LAB / f"{LAB}.ipynb", as_version=4)
    text = "\n".join(c.source for c in released.cells)
    for signature in ("def conv_backward(dout, x, w, stride=1, pad=0):",
                      "def numerical_gradient(f, x, dout, eps=1e-6):",
                      "def gradcheck_conv(x, w, b, dout, stride=1, pad=0):",
                      "Shapes: dout (N, F, H_out, W_out)", "def conv_forward(x, w, b"):
        assert signature in text
    assert "np.tensordot(d, xpad" not in text and "seed=" not in text


def test_the_solution_scores_full_marks(course):
    assert _scores(course, "solution") == MAX


def test_the_released_notebook_scores_zero(course):
    assert _scores(course, "blank") == dict.fromkeys(HIDDEN, 0.0)


def test_nothing_errors_or_writes_to_stderr_in_the_solution(course):
    nb = nbformat.read(_graded(course, "solution"), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    scores = _scores(course, student)
    _, expected_hints, may_lose = WRONG[student]
    for grade_id in HIDDEN:
        if grade_id in expected_hints:
            assert scores[grade_id] < MAX[grade_id], grade_id
            text = _cell_text(course, student, grade_id)
            assert "Smallest failing case" in text and "Hint: " + HINTS[
                expected_hints[grade_id]] in text, text
        elif grade_id not in may_lose:
            assert scores[grade_id] == MAX[grade_id], grade_id


@pytest.mark.parametrize("student", ["solution", "blank", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    rescored = rescore_notebook(SOURCE, _graded(course, student))
    scores = _scores(course, student)
    assert {k: r.points for k, r in rescored.items()} == scores
    assert [r.note for r in rescored.values()] == [""] * len(HIDDEN)


def test_feedback_shows_no_hidden_test_source(course):
    for student in ("solution", "blank", *WRONG):
        for grade_id in HIDDEN:
            text = _cell_text(course, student, grade_id)
            assert "seed=" not in text and "BEGIN HIDDEN" not in text
