"""lab06 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade seven submissions made
from the released notebook: the solution, the blank notebook, and five students with classic
mistakes (each makes several, in different functions). Then
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
LAB = "lab06_variants"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"
MAX = {"hidden_conv_transpose": 5, "hidden_upsample_weights": 2, "hidden_dilated_conv": 3,
       "hidden_receptive_field": 3, "hidden_depthwise_separable": 3,
       "hidden_separable_params": 2, "hidden_separable_macs": 2}
HIDDEN = tuple(MAX)

STAMPING = """\
def conv_transpose(x, w, stride=1, pad=0):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # as in a forward convolution
    N, C, H, W = x.shape
    _, F, KH, KW = w.shape
    out = np.zeros((N, F, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for i in range(H):
        for j in range(W):
            out[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW] += np.tensordot(
                x[:, :, i, j], w, axes=([1], [0]))
    return out
"""
AS_CORRELATION = """\
def conv_transpose(x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    _, F, KH, KW = w.shape
    spaced = np.zeros((N, C, (H - 1) * stride + 1, (W - 1) * stride + 1))
    spaced[:, :, ::stride, ::stride] = x
    spaced = np.pad(spaced, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    H_full, W_full = spaced.shape[2] - KH + 1, spaced.shape[3] - KW + 1
    full = np.zeros((N, F, H_full, W_full))
    for i in range(H_full):
        for j in range(W_full):
            full[:, :, i, j] = np.tensordot(spaced[:, :, i:i + KH, j:j + KW], w,
                                            axes=([1, 2, 3], [0, 2, 3]))
    return full[:, :, pad:H_full - pad, pad:W_full - pad]
"""
DILATED = """\
def dilated_conv(x, w, dilation=1, pad=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    F, _, KH, KW = w.shape
    H_out, W_out = {SIZE}
    out = np.zeros((x.shape[0], F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = xpad[:, :, {WINDOW}]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out
"""
FIELD = """\
def receptive_field(layers):
    size, jump = 1, 1
    for k, s, d in layers:
        size += {GROWTH}
        jump *= s
    return size
"""
MIXING_DEPTHWISE = """\
def depthwise_separable(x, w_depth, w_point, pad=0):
    N, C, H, W = x.shape
    KH, KW = w_depth.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    depth = np.zeros((N, C, H_out, W_out))
    for c in range(C):
        for u in range(KH):
            for v in range(KW):
                depth[:, c] += (xpad[:, :, u:u + H_out, v:v + W_out] * w_depth[c, 0, u, v]).sum(1)
    return np.einsum("nchw,fc->nfhw", depth, w_point[:, :, 0, 0])
"""

# Student -> ({solution cell: code replacing the solution}, {test cell: the hint it must show},
# test cells that may lose points without a hint asserted). Other cells must earn full marks.
WRONG = {
    "padded": ({"conv_transpose": STAMPING,
                "upsample_weights": "def upsample_weights(C, factor):\n"
                                    "    return np.ones((C, C, factor, factor))"},
               {"hidden_conv_transpose": "tconv_pad_added",
                "hidden_upsample_weights": "upsample_mixes_channels"}, ()),
    "unflipped": ({"conv_transpose": AS_CORRELATION,
                   "receptive_field": FIELD.format(GROWTH="(d * k - 1) * jump")},
                  {"hidden_conv_transpose": "tconv_not_flipped", "hidden_receptive_field": "rf_dk"},
                  ()),
    "strided": ({"dilated_conv": DILATED.format(
                    SIZE="((xpad.shape[2] - KH) // dilation + 1, (xpad.shape[3] - KW) // dilation"
                         " + 1)",
                    WINDOW="i * dilation:i * dilation + KH, j * dilation:j * dilation + KW"),
                 "separable_macs": "def separable_macs(c_in, c_out, k, h_out, w_out):\n"
                                   "    return c_in * k * k + c_in * c_out"},
                {"hidden_dilated_conv": "dilation_as_stride",
                 "hidden_separable_macs": "macs_no_positions"}, ()),
    "spans": ({"dilated_conv": DILATED.format(
                   SIZE="(xpad.shape[2] - dilation * KH + 1, xpad.shape[3] - dilation * KW + 1)",
                   WINDOW="i:i + dilation * (KH - 1) + 1:dilation, "
                          "j:j + dilation * (KW - 1) + 1:dilation"),
               "receptive_field": FIELD.format(GROWTH="d * (k - 1)"),
               "separable_params": "def separable_params(c_in, c_out, k):\n"
                                   "    return c_in * k * k + c_in * c_out"},
              {"hidden_dilated_conv": "dilation_span_dk",
               "hidden_receptive_field": "rf_jump_ignored",
               "hidden_separable_params": "sep_no_bias"}, ()),
    "depthwise": ({"depthwise_separable": MIXING_DEPTHWISE,
                   "separable_params": "def separable_params(c_in, c_out, k):\n"
                                       "    return c_in * k * k + c_in",
                   "separable_macs": "def separable_macs(c_in, c_out, k, h_out, w_out):\n"
                                     "    return c_in * k * k * h_out * w_out"},
                  {"hidden_depthwise_separable": "dsep_mixes_channels",
                   "hidden_separable_params": "sep_no_pointwise",
                   "hidden_separable_macs": "sep_no_pointwise"}, ()),
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
    for signature in ("def conv_transpose(x, w, stride=1, pad=0):",
                      "def upsample_weights(C, factor):",
                      "def dilated_conv(x, w, dilation=1, pad=0):",
                      "def receptive_field(layers):",
                      "def depthwise_separable(x, w_depth, w_point, pad=0):",
                      "def separable_params(c_in, c_out, k):",
                      "def separable_macs(c_in, c_out, k, h_out, w_out):",
                      "Shapes: x (N, C, H, W), w (C, F, KH, KW)"):
        assert signature in text
    assert "stamp = np.tensordot" not in text and "seed=" not in text


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
