"""lab05 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade the solution, the
released (blank) notebook and four submissions with classic mistakes, each made by editing the
solution as a student would. Every submission trains its networks, so the training cells' cost
is paid six times here. Then :func:`autograder.rescore.rescore_notebook` is compared with
nbgrader's gradebook.
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
LAB = "lab05_train_cnn"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"
MAX = {"hidden_relu": 2, "hidden_flatten": 1, "hidden_linear": 3, "hidden_conv": 5,
       "hidden_maxpool": 3, "hidden_softmax_cross_entropy": 3, "hidden_train_step": 3,
       "hidden_build_cnn": 2, "hidden_cnn_accuracy": 4, "hidden_shuffle_pixels": 2,
       "hidden_shuffle_experiment": 2}

SHUFFLE = "    return x.reshape(N, C, H * W)[:, :, perm].reshape(N, C, H, W)"
SHUFFLE_INVERSE = ("    out = np.empty((N, C, H * W))\n"
                   "    out[:, :, perm] = x.reshape(N, C, H * W)\n"
                   "    return out.reshape(N, C, H, W)")

# Student -> ({solution cell: [(solution text, the student's text), ...]}, {test cell: the hint
# it must show, or None: it loses points, whatever the hint}). Other test cells keep full marks.
WRONG = {
    # ReLU's gradient flows everywhere, max pooling's to the whole window. The network still
    # trains, a little worse, so the accuracy may lose a point or keep them all.
    "relu_and_pool": (
        {"relu": [("        return dout * (self.x > 0)", "        return dout")],
         "maxpool": [("dx = self.mask * dout[:, :, :, None, :, None]",
                      "dx = np.ones(self.mask.shape) * dout[:, :, :, None, :, None]")]},
        {"hidden_relu": "relu_backward_negative", "hidden_maxpool": "maxgrad_to_window"},
        {"hidden_cnn_accuracy", "hidden_shuffle_experiment"}),
    # dw = x.T @ dout has the shape (D, M): the update p -= lr * g fails, the CNN stays as drawn.
    "linear_dw_transposed": (
        {"linear": [('self.grads["w"] += dout.T @ self.x', 'self.grads["w"] = self.x.T @ dout')]},
        {"hidden_linear": "linear_dw_transposed", "hidden_cnn_accuracy": "accuracy_near_chance",
         "hidden_shuffle_experiment": None},
        set()),
    # A summed loss makes every step 32 times too large, and gradients pile up from step to
    # step: training diverges.
    "loss_summed_no_zero_grad": (
        {"softmax_cross_entropy": [
            ("loss = -log_p[np.arange(N), y].mean()", "loss = -log_p[np.arange(N), y].sum()"),
            ("return loss, dscores / N", "return loss, dscores")],
         "train_step": [("    model.zero_grad()\n", "")]},
        {"hidden_softmax_cross_entropy": "loss_not_averaged",
         "hidden_train_step": "train_forgot_zero_grad",
         "hidden_cnn_accuracy": "accuracy_near_chance", "hidden_shuffle_experiment": None},
        set()),
    # dx keeps the padding (harmless in the first layer, so the network trains), and the
    # shuffle is inverted: the shuffled models never saw the test digits' shuffle.
    "uncropped_and_inverse_shuffle": (
        {"conv": [("        return dxpad[:, :, p:xpad.shape[2] - p, p:xpad.shape[3] - p]",
                   "        return dxpad")],
         "shuffle_pixels": [(SHUFFLE, SHUFFLE_INVERSE)]},
        {"hidden_conv": "dx_not_cropped", "hidden_shuffle_pixels": "shuffle_inverse",
         "hidden_shuffle_experiment": "shuffle_models_mixed_up"},
        set()),
}


def _solution_code(cell: nbformat.NotebookNode) -> str:
    return "\n".join(line for line in cell.source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _submission(released: nbformat.NotebookNode,
                edits: dict[str, list[tuple[str, str]]]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    solutions = {c.metadata["nbgrader"]["grade_id"]: c
                 for c in nbformat.read(SOURCE, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            code = _solution_code(solutions[grade_id])
            for old, new in edits.get(grade_id, []):
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
    for student, (edits, _, _) in WRONG.items():
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


def test_the_solution_scores_full_marks(course):
    assert _scores(course, "solution") == MAX
    assert sum(MAX.values()) == 30
    assert "all 4 cases pass: 4 of 4 points" in _cell_text(course, "solution",
                                                           "hidden_cnn_accuracy")


def test_the_released_notebook_scores_zero(course):
    assert _scores(course, "blank") == dict.fromkeys(MAX, 0.0)
    assert "not written yet" in _cell_text(course, "blank", "hidden_conv")
    assert "cnn is None" in _cell_text(course, "blank", "hidden_cnn_accuracy")


def test_no_hidden_test_cell_errors_or_writes_to_stderr(course):
    for student in ("solution", "blank", *WRONG):
        for grade_id in MAX:
            outputs = _cell(course, student, grade_id).outputs
            assert not [o for o in outputs if o.output_type == "error"], (student, grade_id)
            assert not [o for o in outputs if o.get("name") == "stderr"], (student, grade_id)


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    scores = _scores(course, student)
    _, expected, either = WRONG[student]
    for grade_id in MAX:
        if grade_id in either:
            continue
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
