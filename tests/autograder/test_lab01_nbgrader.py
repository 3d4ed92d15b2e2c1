"""lab01 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade ten submissions made from
the released notebook: the solution, the blank notebook, a solution that prints, logs and warns,
six classic mistakes, and a student who patches the checks to claim full marks. Then
:func:`autograder.rescore.rescore_notebook` is compared with nbgrader's gradebook.
"""

from __future__ import annotations

import nbformat
import pytest
from nbgrader_course import (
    GradedCourse,
    assert_mistakes_lose_points,
    assert_no_hidden_source,
    assert_rescoring_agrees,
    submit_all,
)

from autograder.checks import MIME
from autograder.rescore import rescore_notebook

LAB = "lab01_correlation"
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



def _noisy_solutions(course: GradedCourse) -> dict[str, str]:
    solutions = course.solution_code()
    noisy = {}
    for grade_id, call in NOISY_CALLS.items():
        code = solutions[grade_id]
        body_starts = code.index('"""\n', code.index('"""') + 3) + 4  # after the docstring
        noisy[grade_id] = NOISY.get(grade_id, "") + code[:body_starts] + call + code[body_starts:]
    return noisy


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> GradedCourse:
    course = GradedCourse.generate(tmp_path_factory.mktemp("nbgrader"), LAB)
    submit_all(course, WRONG)
    course.submit("noisy", course.submission(_noisy_solutions(course)))
    flipped = WRONG["flipcorr"][0]["correlate1d"]
    course.submit("tamper", course.submission({"correlate1d": flipped + "\n" + TAMPER}))
    course.autograde()
    return course


def test_the_solution_scores_full_marks(course):
    assert course.score("solution") == MAX


def test_the_released_notebook_scores_zero(course):
    assert course.score("blank") == dict.fromkeys(HIDDEN, 0.0)


def test_printing_logging_and_warnings_cost_nothing(course):
    assert course.score("noisy") == MAX
    hidden = [c for c in course.graded("noisy").cells
              if c.metadata.get("nbgrader", {}).get("grade_id") in HIDDEN]
    assert not [o for c in hidden for o in c.outputs if o.get("name") == "stderr"]
    assert "note: your function printed" in course.cell_text("noisy", "hidden_correlate1d")
    assert "warning(s)" in course.cell_text("noisy", "hidden_correlate2d")


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    assert_mistakes_lose_points(course, student, MAX, WRONG[student][1])


@pytest.mark.parametrize("student", ["solution", "blank", "noisy", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    assert_rescoring_agrees(course, student, HIDDEN)


def test_feedback_shows_no_hidden_test_source(course):
    assert_no_hidden_source(course, ("solution", "blank", *WRONG), HIDDEN)


def test_a_student_who_patches_the_checks_is_rescored_to_the_truth(course):
    kernel = course.score("tamper")
    assert kernel["hidden_correlate1d"] == 3 and kernel["hidden_convolve1d"] == 2  # the claim
    rescored = course.rescore("tamper")
    assert rescored["hidden_correlate1d"].points == 0
    assert "claimed 3 points" in rescored["hidden_correlate1d"].note
    assert rescored["hidden_convolve1d"].points == 0
    assert "no grading record" in rescored["hidden_convolve1d"].note
    assert rescored["hidden_pad2d"].points == 4 and rescored["hidden_pad2d"].note == ""


def test_a_deleted_record_earns_nothing(course, tmp_path):
    nb = course.graded("solution")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "hidden_pad2d":
            cell.outputs = [o for o in cell.outputs if MIME not in o.get("data", {})]
    doctored = tmp_path / "doctored.ipynb"
    nbformat.write(nb, doctored)
    rescored = rescore_notebook(course.source, doctored)
    assert rescored["hidden_pad2d"].points == 0 and rescored["hidden_pad2d"].kernel_points == 4
    assert "no grading record" in rescored["hidden_pad2d"].note
    assert rescored["hidden_correlate1d"].points == 3
