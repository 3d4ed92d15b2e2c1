"""lab01_correlation's wrong solutions for the lab test suite (``tests/lab_table.py``): classic
mistakes against each check, wrong students for nbgrader, and more submissions that
``tests/autograder/labs/test_lab01.py`` reads: a noisy and slow solution, a student who patches the
checks, one who cheats on five parts in five ways the checks detect, one who patches a
comparison."""

from __future__ import annotations

import numpy as np
from lab_suite import Extra, solution_of

import convnb

sol = solution_of("lab01_correlation")


def _loop_correlate2d(x, w, stride=1, rows=None, cols=None, step=None):
    """The solution's loops, with the output size and the jump open to mistakes."""
    (H, W), (KH, KW) = x.shape, w.shape
    rows = (H - KH) // stride + 1 if rows is None else rows(H, KH, stride)
    cols = (W - KW) // stride + 1 if cols is None else cols(W, KW, stride)
    step = stride if step is None else step
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            out[i, j] = np.sum(w * x[i * step:i * step + KH, j * step:j * step + KW])
    return out


def _pad(mode_map=None, widths=None):
    modes = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"} | (mode_map or {})

    def pad2d(x, p, mode="zeros"):
        r, c = (p, p) if isinstance(p, int) else p
        return np.pad(x, ((r, r), (c, c)) if widths is None else widths(r, c), mode=modes[mode])
    return pad2d


MISTAKES = {
    "correlate1d flips the kernel": (
        "check_correlate1d", lambda x, w: sol("correlate1d")(x, w[::-1]), "flipped"),
    "correlate1d one too short": (
        "check_correlate1d", lambda x, w: sol("correlate1d")(x, w)[:-1], "output_too_small"),
    "correlate1d in full mode": (
        "check_correlate1d", lambda x, w: convnb.correlate2d(x[None], w[None])[0], "full_mode"),
    "convolve1d without the flip": ("check_convolve1d", lambda x, w: sol("correlate1d")(x, w),
                                    "not_flipped"),
    "np.convolve's default mode": (
        "check_convolve1d", lambda x, w: np.convolve(x, w), "full_mode"),
    "correlate2d ignores the stride": (
        "check_correlate2d", lambda x, w, stride=1: sol("correlate2d")(x, w), "stride_ignored"),
    "correlate2d sizes right, jumps wrong": (
        "check_correlate2d", lambda x, w, stride=1: _loop_correlate2d(x, w, stride, step=1),
        "stride_ignored"),
    "correlate2d one row and column short": (
        "check_correlate2d", lambda x, w, stride=1: _loop_correlate2d(
            x, w, stride, rows=lambda n, k, s: (n - k) // s, cols=lambda n, k, s: (n - k) // s),
        "output_too_small"),
    "correlate2d flips the kernel": (
        "check_correlate2d", lambda x, w, stride=1: sol("correlate2d")(x, w[::-1, ::-1], stride),
        "flipped"),
    "convolve2d without the flip": (
        "check_convolve2d", lambda x, w: sol("correlate2d")(x, w), "not_flipped"),
    "convolve2d transposes": (
        "check_convolve2d", lambda x, w: sol("correlate2d")(x, w.T), "transposed_kernel"),
    "convolve2d flips rows only": (
        "check_convolve2d", lambda x, w: sol("correlate2d")(x, w[::-1]), "flipped_one_axis"),
    "scipy's default 'full' mode": (
        "check_convolve2d", lambda x, w: convnb.convolve2d(x, w), "full_mode"),
    "pad2d with np.pad(x, (r, c))": (
        "check_pad2d", _pad(widths=lambda r, c: (r, c)), "pad_numpy_pair"),
    "pad2d swaps rows and columns": (
        "check_pad2d", _pad(widths=lambda r, c: ((c, c), (r, r))), "pad_axes_swapped"),
    "pad2d before only": ("check_pad2d", _pad(widths=lambda r, c: ((r, 0), (c, 0))),
                          "pad_one_side"),
    "reflect and replicate swapped": (
        "check_pad2d", _pad({"reflect": "edge", "replicate": "reflect"}),
        "pad_reflect_replicate_swapped"),
    "reflect as np.pad's symmetric": ("check_pad2d", _pad({"reflect": "symmetric"}),
                                      "pad_symmetric"),
    "mode ignored (always zeros)": (
        "check_pad2d", _pad({"reflect": "constant", "replicate": "constant"}),
        "pad_zeros_instead"),
    "output_size with /": ("check_output_size", lambda i, k, s, p: (i + 2 * p - k) / s + 1,
                           "size_true_division"),
    "output_size without the stride": (
        "check_output_size", lambda i, k, s, p: i + 2 * p - k + 1, "size_stride_ignored"),
    "output_size without + 1": (
        "check_output_size", lambda i, k, s, p: (i + 2 * p - k) // s, "size_off_by_one"),
    "output_size pads once": (
        "check_output_size", lambda i, k, s, p: (i + p - k) // s + 1, "size_pad_once"),
    "output_size rounds up": (
        "check_output_size", lambda i, k, s, p: -(-(i + 2 * p - k) // s) + 1, "size_ceil"),
}


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
STUDENTS = {
    "noflip": ({"convolve1d": "def convolve1d(x, w):\n    return correlate1d(x, w)",
                "convolve2d": "def convolve2d(x, w):\n    return correlate2d(x, w)"},
               {"hidden_convolve1d": "not_flipped", "hidden_convolve2d": "not_flipped"}),
    # convolve1d calls the flipped correlate1d: the course's stands in, so it keeps its points.
    "flipcorr": ({"correlate1d": "def correlate1d(x, w):\n    K = len(w)\n    return np.array("
                                 "[np.sum(x[i:i + K] * w[::-1]) for i in range(len(x) - K + 1)])"},
                 {"hidden_correlate1d": "flipped"}),
    "offbyone": ({"output_size": "def output_size(i, k, s=1, p=0):\n    return (i + 2*p - k) // s",
                  "correlate2d": CORRELATE2D_LOOPS.format(
                      SIZE="(H - KH) // stride, (W - KW) // stride",
                      ROWS="i*stride:i*stride + KH", COLS="j*stride:j*stride + KW")},
                 {"hidden_output_size": "size_off_by_one",
                  "hidden_correlate2d": "output_too_small"}),  # convolve2d keeps its points
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
    "correlate1d": "import logging\nimport time\nlogging.basicConfig()\n",
    "correlate2d": "import warnings\n",
}
NOISY_CALLS = {
    "correlate1d": '    print("correlating", x.shape)\n    time.sleep(0.01)  # slow, in limits\n',
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


# A student who cheats on every part but convolve2d, each a way issue 12 names: each of those
# parts earns nothing and is flagged with its evidence (CHEATED: what the flag must say), while
# convolve2d, judged with the course's correlate2d standing in, keeps its points.
CHEATS = {
    # The tracer taken away first, then the reference called.
    "correlate1d": "import sys\n\ndef correlate1d(x, w):\n    sys.setprofile(None)\n"
                   "    return convnb.correlate2d(x[None], w[None], 'valid')[0]",
    "convolve1d": "def convolve1d(x, w):\n    return np.convolve(x, w, mode='valid')",
    # A hand-written function that just calls convnb.
    "correlate2d": "import convnb\n\ndef correlate2d(x, w, stride=1):\n"
                   "    return convnb.correlate2d(x, w, 'valid')[::stride, ::stride]",
    # Equal to anything, and the right padding when NumPy asks for an array.
    "pad2d": """\
class Padded:
    def __init__(self, values):
        self.values = values
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return self.values

def pad2d(x, p, mode="zeros"):
    r, c = (p, p) if isinstance(p, int) else p
    modes = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}
    return Padded(np.pad(x, ((r, r), (c, c)), mode=modes[mode]))""",
    # The visible test's first answer, hard-coded.
    "output_size": "def output_size(i, k, s=1, p=0):\n    return 3",
}
CHEATED = {
    "hidden_correlate1d": "correlate1d called sys.setprofile, which takes the checks' call "
                          "tracer away",
    "hidden_convolve1d": "convolve1d called numpy.convolve (12 times), which the lab's rules "
                         "forbid",
    "hidden_correlate2d": "correlate2d called convnb.filters.correlate2d (12 times), which the "
                          "lab's rules forbid",
    "hidden_pad2d": "returned a __main__.Padded, of a class of the student's own that defines "
                    "__array__, __eq__",
    "hidden_output_size": "output_size(i, k, s, p) returned the same value in all 16 random "
                          "cases (3), whose right answers differ",
}
# A student who makes every answer pass the kernel's comparison of output_size (the last part),
# whose own answer is the true-division mistake: earlier parts keep their points.
PATCHER = """\
from autograder.checks import compare

compare.IntResult.judge = lambda self, expected, got: compare.PASS

def output_size(i, k, s=1, p=0):
    return (i + 2 * p - k) / s + 1
"""
PATCHED = {"hidden_output_size": "autograder.checks.compare.IntResult.judge was replaced by "
                                 "__main__.<lambda>"}


def _noisy(course) -> object:
    """The solution, printing, logging and warning inside three functions."""
    solutions = course.solution_code()
    noisy = {}
    for grade_id, call in NOISY_CALLS.items():
        code = solutions[grade_id]
        body_starts = code.index('"""\n', code.index('"""') + 3) + 4  # after the docstring
        noisy[grade_id] = NOISY.get(grade_id, "") + code[:body_starts] + call + code[body_starts:]
    return course.submission(noisy)


def _slow(course) -> object:
    """The solution, whose pad2d cell takes 10 s to run (the limit is 120 s per cell)."""
    pad2d = course.solution_code()["pad2d"]
    return course.submission({"pad2d": "import time\n\ntime.sleep(10)\n\n" + pad2d})


def _explorer(course) -> object:
    """The solution, whose pad2d cell also runs the check on three seeds of its own, as a
    student exploring would: the reports it prints are real, not imitations."""
    pad2d = course.solution_code()["pad2d"]
    return course.submission({"pad2d": pad2d + "\n\nfor s in range(3):\n"
                                              "    check_pad2d(pad2d, seed=s)\n"})


def _tamper(course) -> object:
    flipped = STUDENTS["flipcorr"][0]["correlate1d"]
    return course.submission({"correlate1d": flipped + "\n" + TAMPER})


TAMPERED = {"hidden_correlate1d": "claimed 3 points", "hidden_convolve1d": "no grading record"}

EXTRA = {"noisy": Extra(_noisy), "slow": Extra(_slow), "explorer": Extra(_explorer),
         "tamper": Extra(_tamper, honest=False, flagged=TAMPERED),
         "cheats": Extra(lambda course: course.submission(CHEATS), honest=False,
                         flagged=CHEATED),
         "patcher": Extra(lambda course: course.submission({"output_size": PATCHER}),
                          honest=False, flagged=PATCHED)}

# Filters built on the smaller ones, by check (None: the solution's cell), for
# lab_cases.assert_judged_on_its_own.
CORRELATE2D_BY_ROWS = """\
def correlate2d(x, w, stride=1):
    H_out = output_size(x.shape[0], w.shape[0], stride)
    W_out = output_size(x.shape[1], w.shape[1], stride)
    out = np.zeros((H_out, W_out))
    for i in range(H_out):
        row = sum(correlate1d(x[i * stride + u], w[u]) for u in range(w.shape[0]))
        out[i] = row[::stride][:W_out]
    return out
"""
CONVOLVE2D_BY_ROWS = """\
def convolve2d(x, w):
    KH = w.shape[0]
    rows = output_size(x.shape[0], KH)
    return np.array([sum({ROW} for u in range(KH)) for i in range(rows)])
"""
BUILDS_ON = {
    "check_convolve1d": [None],
    "check_correlate2d": [CORRELATE2D_BY_ROWS],
    "check_convolve2d": [
        None, CONVOLVE2D_BY_ROWS.format(ROW="convolve1d(x[i + KH - 1 - u], w[u])"),
        CONVOLVE2D_BY_ROWS.format(ROW="correlate1d(x[i + KH - 1 - u], w[u, ::-1])")],
}

CASES = {"students": STUDENTS, "mistakes": MISTAKES, "extra": EXTRA}
