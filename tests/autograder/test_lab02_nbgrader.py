"""lab02 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade the solution, the
released (blank) notebook and four submissions with classic mistakes, each made by editing the
solution as a student would. Then :func:`autograder.rescore.rescore_notebook` is compared with
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
LAB = "lab02_conv_forward"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"
MAX = {"hidden_zero_pad": 2, "hidden_conv_forward_loops": 7, "hidden_im2col": 6,
       "hidden_conv_forward_im2col": 5}

LOOP_BODY = "out[n, f, i, j] = np.sum(patch * w[f]) + b[f]"
IM2COL_SLICE = "xpad[:, :, u:u + stride * H_out:stride, v:v + stride * W_out:stride]"
IM2COL_BUFFER = "cols = np.zeros((C, KH, KW, N, H_out, W_out), dtype=x.dtype)"

# Student -> ({solution cell: [(solution text, the student's text), ...]}, {test cell: the hint
# it must show, or None: it loses points, whatever the hint}). Other test cells keep full marks.
WRONG = {
    "flip_and_reshape": (
        {"conv_forward_loops": [(LOOP_BODY, LOOP_BODY.replace("w[f]", "w[f, :, ::-1, ::-1]"))],
         "conv_forward_im2col": [("out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)",
                                  "out.reshape(N, F, H_out, W_out)")]},
        {"hidden_conv_forward_loops": "conv_flipped",
         "hidden_conv_forward_im2col": "conv_output_reshape"}),
    "bias_per_channel_and_stride": (
        {"conv_forward_loops": [(LOOP_BODY, "for c in range(C):\n" + " " * 24
                                 + "out[n, f, i, j] += np.sum(patch[c] * w[f, c]) + b[f]")],
         "im2col": [(IM2COL_SLICE, "xpad[:, :, u:u + H_out, v:v + W_out]")]},
        {"hidden_conv_forward_loops": "conv_bias_per_channel",
         "hidden_im2col": "conv_stride_ignored",
         "hidden_conv_forward_im2col": "conv_stride_ignored"}),
    "channels_assigned_and_patch_order": (
        {"conv_forward_loops": [(LOOP_BODY, "for c in range(C):\n" + " " * 24
                                 + "out[n, f, i, j] = np.sum(patch[c] * w[f, c]) + b[f]")],
         "im2col": [(IM2COL_BUFFER, IM2COL_BUFFER.replace("C, KH, KW", "KH, KW, C")),
                    ("cols[:, u, v] = sliced.transpose(1, 0, 2, 3)",
                     "cols[u, v] = sliced.transpose(1, 0, 2, 3)")]},
        {"hidden_conv_forward_loops": "conv_channels_not_summed",
         "hidden_im2col": "im2col_patch_order",
         "hidden_conv_forward_im2col": "im2col_patch_order"}),
    "pad_every_axis": (  # the layers call zero_pad: they break too
        {"zero_pad": [("    N, C, H, W = x.shape\n", "    return np.pad(x, pad)\n")]},
        {"hidden_zero_pad": "pad_wrong_axes", "hidden_conv_forward_loops": None,
         "hidden_im2col": None, "hidden_conv_forward_im2col": None}),
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
    assert "It is the lecture's output volume." in _cell_text(course, "solution",
                                                               "lecture_example")


def test_the_released_notebook_scores_zero(course):
    assert _scores(course, "blank") == dict.fromkeys(MAX, 0.0)
    assert "not written yet" in _cell_text(course, "blank", "hidden_conv_forward_loops")


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
