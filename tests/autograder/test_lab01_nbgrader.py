"""lab01 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade ten submissions made from
the released notebook: the solution, the blank notebook, a solution that prints, logs and warns,
six classic mistakes, and a student who patches the checks to claim full marks. Then
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

from autograder.checks import MIME
from autograder.checks.hints import HINTS
from autograder.rescore import rescore_notebook

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_correlation"
SOURCE = REPO / "labs" / "source" / LAB / f"{LAB}.ipynb"
HIDDEN = ("hidden_correlate1d", "hidden_convolve1d", "hidden_correlate2d", "hidden_convolve2d",
          "hidden_pad2d", "hidden_output_size")
MAX = {"hidden_correlate1d": 3, "hidden_convolve1d": 2, "hidden_correlate2d": 4,
       "hidden_convolve2d": 3, "hidden_pad2d": 4, "hidden_output_size": 4}

PAD_WITH_NUMPY = """\
def pad2d(x, p, mode="zeros"):
    p_rows, p_cols = (p, p) if isinstance(p, int) else p
    modes = {MODES}
    return np.pad(x, {WIDTHS}, mode=modes[mode])
"""
CORRELATE2D_LOOPS = """\
def correlate2d(x, w, stride=1):
    H, W = x.shape
    KH, KW = w.shape
    H_out, W_out = {SIZE}
    out = np.zeros((H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[i, j] = np.sum(w * x[{ROWS}, {COLS}])
    return out
"""
RIGHT_MODES = '{"zeros": "constant", "reflect": "reflect", "replicate": "edge"}'

# Student -> {solution cell: code replacing the solution} (other cells get the solution), and
# the test cells that must lose points with the hint they must show.
WRONG = {
    "noflip": ({"convolve1d": "def convolve1d(x, w):\n    return correlate1d(x, w)",
                "convolve2d": "def convolve2d(x, w):\n    return correlate2d(x, w)"},
               {"hidden_convolve1d": "not_flipped", "hidden_convolve2d": "not_flipped"}),
    "flipcorr": ({"correlate1d": "def correlate1d(x, w):\n    K = len(w)\n    return np.array("
                                 "[np.sum(x[i:i + K] * w[::-1]) for i in range(len(x) - K + 1)])"},
                 {"hidden_correlate1d": "flipped", "hidden_convolve1d": "not_flipped"}),
    "offbyone": ({"output_size": "def output_size(i, k, s=1, p=0):\n    return (i + 2*p - k) // s",
                  "correlate2d": CORRELATE2D_LOOPS.format(
                      SIZE="(H - KH) // stride, (W - KW) // stride",
                      ROWS="i*stride:i*stride + KH", COLS="j*stride:j*stride + KW")},
                 {"hidden_output_size": "size_off_by_one",
                  "hidden_correlate2d": "output_too_small",
                  "hidden_convolve2d": "output_too_small"}),  # it calls correlate2d
    "stride": ({"output_size": "def output_size(i, k, s=1, p=0):\n    return i + 2*p - k + 1",
                "correlate2d": CORRELATE2D_LOOPS.format(
                    SIZE="(H - KH) // stride + 1, (W - KW) // stride + 1",
                    ROWS="i:i + KH", COLS="j:j + KW")},
               {"hidden_output_size": "size_stride_ignored",
                "hidden_correlate2d": "stride_ignored"}),
    "numpypair": ({"pad2d": PAD_WITH_NUMPY.format(MODES=RIGHT_MODES, WIDTHS="(p_rows, p_cols)")},
                  {"hidden_pad2d": "pad_numpy_pair"}),
    "modeswap": ({"pad2d": PAD_WITH_NUMPY.format(
        MODES='{"zeros": "constant", "reflect": "edge", "replicate": "reflect"}',
        WIDTHS="((p_rows, p_rows), (p_cols, p_cols))")},
                 {"hidden_pad2d": "pad_reflect_replicate_swapped"}),
}

NOISY = {
    "correlate1d": "import logging\nlogging.basicConfig()\n",
    "correlate2d": "import warnings\n",
}
NOISY_CALLS = {
    "correlate1d": '    print("correlating", x.shape)\n',
    "correlate2d": '    warnings.warn("slow loops")\n    logging.warning("still looping")\n',
    "pad2d": '    import sys\n    print("padding", file=sys.stderr)\n',
}

TAMPER = """
# A student who patches the checks: full marks claimed, a fake record with no outputs for one
# check and no record at all for the other.
import autograder.checks.lab01 as _lab
from IPython.display import display

def check_correlate1d(fn, seed=None, points=None):
    if points is None:
        return None
    display({"application/vnd.convnb.check+json": {"version": 1, "check": "check_correlate1d",
             "seed": seed, "points": points, "outputs": []}, "text/plain": "record"}, raw=True)
    print("check_correlate1d: all 12 random cases pass: 3 of 3 points.")
    return points

def check_convolve1d(fn, seed=None, points=None):
    return points

_lab.check_correlate1d, _lab.check_convolve1d = check_correlate1d, check_convolve1d
"""


def _solution(cell: nbformat.NotebookNode) -> str:
    return "\n".join(line for line in cell.source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _submission(released: nbformat.NotebookNode, replace: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    solutions = {c.metadata["nbgrader"]["grade_id"]: c
                 for c in nbformat.read(SOURCE, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = replace.get(grade_id, _solution(solutions[grade_id]))
    return nb


def _noisy_solutions() -> dict[str, str]:
    cells = {c.metadata["nbgrader"]["grade_id"]: c
             for c in nbformat.read(SOURCE, as_version=4).cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    noisy = {}
    for grade_id, call in NOISY_CALLS.items():
        code = _solution(cells[grade_id])
        body_starts = code.index('"""\n', code.index('"""') + 3) + 4  # after the docstring
        noisy[grade_id] = NOISY.get(grade_id, "") + code[:body_starts] + call + code[body_starts:]
    return noisy


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
    submissions = {"solution": _submission(released, {}), "blank": released,
                   "noisy": _submission(released, _noisy_solutions())}
    for student, (replace, _) in WRONG.items():
        submissions[student] = _submission(released, replace)
    flipped = WRONG["flipcorr"][0]["correlate1d"]
    submissions["tamper"] = _submission(released, {"correlate1d": flipped + "\n" + TAMPER})
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


def test_the_solution_scores_full_marks(course):
    assert _scores(course, "solution") == MAX


def test_the_released_notebook_scores_zero(course):
    assert _scores(course, "blank") == dict.fromkeys(HIDDEN, 0.0)


def test_printing_logging_and_warnings_cost_nothing(course):
    assert _scores(course, "noisy") == MAX
    nb = nbformat.read(_graded(course, "noisy"), as_version=4)
    hidden = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in HIDDEN]
    assert not [o for c in hidden for o in c.outputs if o.get("name") == "stderr"]
    assert "note: your function printed" in _cell_text(course, "noisy", "hidden_correlate1d")
    assert "warning(s)" in _cell_text(course, "noisy", "hidden_correlate2d")


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    scores = _scores(course, student)
    expected_hints = WRONG[student][1]
    for grade_id in HIDDEN:
        if grade_id in expected_hints:
            assert scores[grade_id] < MAX[grade_id], grade_id
            text = _cell_text(course, student, grade_id)
            assert "Smallest failing case" in text and "Hint: " + HINTS[
                expected_hints[grade_id]] in text, text
        else:
            assert scores[grade_id] == MAX[grade_id], grade_id


@pytest.mark.parametrize("student", ["solution", "blank", "noisy", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    rescored = rescore_notebook(course / "source" / LAB / f"{LAB}.ipynb", _graded(course, student))
    scores = _scores(course, student)
    assert {k: r.points for k, r in rescored.items()} == scores
    assert [r.note for r in rescored.values()] == [""] * len(HIDDEN)


def test_feedback_shows_no_hidden_test_source(course):
    for student in ("solution", "blank", *WRONG):
        for grade_id in HIDDEN:
            text = _cell_text(course, student, grade_id)
            assert "seed=" not in text and "BEGIN HIDDEN" not in text


def test_a_student_who_patches_the_checks_is_rescored_to_the_truth(course):
    kernel = _scores(course, "tamper")
    assert kernel["hidden_correlate1d"] == 3 and kernel["hidden_convolve1d"] == 2  # the claim
    rescored = rescore_notebook(SOURCE, _graded(course, "tamper"))
    assert rescored["hidden_correlate1d"].points == 0
    assert "claimed 3 points" in rescored["hidden_correlate1d"].note
    assert rescored["hidden_convolve1d"].points == 0
    assert "no grading record" in rescored["hidden_convolve1d"].note
    assert rescored["hidden_pad2d"].points == 4 and rescored["hidden_pad2d"].note == ""


def test_a_deleted_record_earns_nothing(course, tmp_path):
    nb = nbformat.read(_graded(course, "solution"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "hidden_pad2d":
            cell.outputs = [o for o in cell.outputs if MIME not in o.get("data", {})]
    doctored = tmp_path / "doctored.ipynb"
    nbformat.write(nb, doctored)
    rescored = rescore_notebook(SOURCE, doctored)
    assert rescored["hidden_pad2d"].points == 0 and rescored["hidden_pad2d"].kernel_points == 4
    assert "no grading record" in rescored["hidden_pad2d"].note
    assert rescored["hidden_correlate1d"].points == 3
