"""lab02 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade the solution, the
released (blank) notebook and four submissions with classic mistakes, each made by editing the
solution as a student would. Then :func:`autograder.rescore.rescore_notebook` is compared with
nbgrader's gradebook.
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

LAB = "lab02_conv_forward"
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


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return autograded_course(tmp_path_factory, LAB, WRONG)


def test_the_solution_scores_full_marks_and_reproduces_the_lecture(course):
    assert course.score("solution") == MAX
    assert sum(MAX.values()) == 20
    assert "It is the lecture's output volume." in course.cell_text(
        "solution", "lecture_example")


def test_the_released_notebook_scores_zero(course):
    assert course.score("blank") == dict.fromkeys(MAX, 0.0)
    assert "not written yet" in course.cell_text("blank", "hidden_conv_forward_loops")


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
