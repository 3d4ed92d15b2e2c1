"""lab07 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade the solution, the
released (blank) notebook and four submissions with classic mistakes of im2col and of the FFT,
each made by editing the solution as a student would. Then
:func:`autograder.rescore.rescore_notebook` is compared with nbgrader's gradebook.
"""

from __future__ import annotations

import pytest
from nbgrader_course import (
    assert_hidden_cells_quiet,
    assert_mistakes_lose_points,
    assert_no_hidden_source,
    assert_rescoring_agrees,
    autograded_course,
)

LAB = "lab07_fast_conv"
MAX = {"hidden_im2col": 3, "hidden_conv2d_im2col": 3, "hidden_correlate1d_fft": 4,
       "hidden_conv2d_fft": 5}

IM2COL = "windows.transpose(1, 4, 5, 0, 2, 3)"
SPECTRUM = "spectrum = xp.fft.rfft(x, L) * xp.conj(xp.fft.rfft(w, L))"
INVERSE = "return xp.fft.irfft(spectrum, L)[:L - K + 1]"
KERNELS = "K = xp.conj(xp.fft.rfft2(w, s=(H, W)))"

# Student -> ({solution cell: [(solution text, the student's text), ...]}, {test cell: the hint
# it must show}). Other test cells keep full marks.
WRONG = {
    # Patches listed (u, v, c) while w.reshape(F, -1) lists kernels (c, u, v).
    "patch_order": (
        {"im2col": [(IM2COL, "windows.transpose(4, 5, 1, 0, 2, 3)")]},
        {"hidden_im2col": "im2col_patch_order", "hidden_conv2d_im2col": "im2col_patch_order"}),
    # The spectra multiplied as they are: a convolution.
    "no_conjugate": (
        {"correlate1d_fft": [(SPECTRUM, "spectrum = xp.fft.rfft(x, L) * xp.fft.rfft(w, L)")],
         "conv2d_fft": [(KERNELS, "K = xp.fft.rfft2(w, s=(H, W))")]},
        {"hidden_correlate1d_fft": "fft_convolution", "hidden_conv2d_fft": "fft_convolution"}),
    # The last L - K + 1 outputs kept (wrapped around), and the product reshaped straight.
    "crop_and_reshape": (
        {"correlate1d_fft": [(INVERSE, "return xp.fft.irfft(spectrum, L)[K - 1:]")],
         "conv2d_im2col": [("out.reshape(F, N, H - KH + 1, W - KW + 1).transpose(1, 0, 2, 3)",
                            "out.reshape(N, F, H - KH + 1, W - KW + 1)")]},
        {"hidden_correlate1d_fft": "fft_wrong_crop",
         "hidden_conv2d_im2col": "conv_output_reshape"}),
    # Transforms as long as the output (the input is cut), and an inverse without its length.
    "too_short": (
        {"conv2d_fft": [("s=(H, W))\n    K", "s=(H - KH + 1, W - KW + 1))\n    K"),
                        (KERNELS, "K = xp.conj(xp.fft.rfft2(w, s=(H - KH + 1, W - KW + 1)))"),
                        ("X, K), s=(H, W))", "X, K), s=(H - KH + 1, W - KW + 1))")],
         "correlate1d_fft": [(INVERSE, "return xp.fft.irfft(spectrum)[:L - K + 1]")]},
        {"hidden_conv2d_fft": "fft_size_too_small",
         "hidden_correlate1d_fft": "fft_irfft_length"}),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return autograded_course(tmp_path_factory, LAB, WRONG)


def test_the_solution_scores_full_marks(course):
    assert course.score("solution") == MAX
    assert sum(MAX.values()) == 15
    assert "GPU timings are skipped" in "".join(
        o.get("text", "") for o in course.cell("solution", "gpu").outputs)


def test_the_released_notebook_scores_zero(course):
    assert course.score("blank") == dict.fromkeys(MAX, 0.0)
    assert "not written yet" in course.cell_text("blank", "hidden_conv2d_fft")


def test_no_hidden_test_cell_errors_or_writes_to_stderr(course):
    assert_hidden_cells_quiet(course, ("solution", "blank", *WRONG), MAX)


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    assert_mistakes_lose_points(course, student, MAX, *WRONG[student][1:])


@pytest.mark.parametrize("student", ["solution", "blank", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    assert_rescoring_agrees(course, student, MAX)


def test_feedback_shows_no_hidden_test_source(course):
    assert_no_hidden_source(course, ("solution", "blank", *WRONG), MAX)
