"""lab06 through the real nbgrader command line, in a temporary course.

One ``nbgrader generate_assignment`` and one ``nbgrader autograde`` grade seven submissions made
from the released notebook: the solution, the blank notebook, and five students with classic
mistakes (each makes several, in different functions). Then
:func:`autograder.rescore.rescore_notebook` is compared with nbgrader's gradebook.
"""

from __future__ import annotations

import pytest
from nbgrader_course import (
    assert_mistakes_lose_points,
    assert_no_hidden_source,
    assert_rescoring_agrees,
    assert_solution_quiet,
    autograded_course,
)

LAB = "lab06_variants"
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


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return autograded_course(tmp_path_factory, LAB, WRONG)


def test_the_released_notebook_keeps_the_signatures_and_drops_the_solutions(course):
    text = "\n".join(c.source for c in course.released.cells)
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
    assert course.score("solution") == MAX


def test_the_released_notebook_scores_zero(course):
    assert course.score("blank") == dict.fromkeys(HIDDEN, 0.0)


def test_nothing_errors_or_writes_to_stderr_in_the_solution(course):
    assert_solution_quiet(course)


@pytest.mark.parametrize("student", sorted(WRONG))
def test_classic_mistakes_lose_points_with_the_matching_hint(course, student):
    _, expected_hints, may_lose = WRONG[student]
    assert_mistakes_lose_points(course, student, MAX, expected_hints, may_lose)


@pytest.mark.parametrize("student", ["solution", "blank", *sorted(WRONG)])
def test_rescoring_agrees_with_nbgrader_on_honest_notebooks(course, student):
    assert_rescoring_agrees(course, student, HIDDEN)


def test_feedback_shows_no_hidden_test_source(course):
    assert_no_hidden_source(course, ("solution", "blank", *WRONG), HIDDEN)
