"""lab06_variants's own tests, beside the shared suite: the reading pointer, which function each
check grades and each hidden cell's points, what the released notebook shows and hides, the
lectures' numbers, valid random geometries, and the table's wrong answers computing right ones
when told to."""

from __future__ import annotations

import numpy as np
import pytest
from lab_cases import assert_judged_on_its_own
from lab_cases.lab06 import (
    BUILDS_ON,
    correlate,
    depthwise_only,
    dilated,
    pad_hw,
    stamps,
    transpose_as_correlation,
)
from lab_suite import graded_course, hidden_calls, max_points, notebook, solution
from lab_table import lab

import convnb
from autograder.checks import lab06

LAB = lab("lab06")


def test_the_intro_sends_students_to_the_chapter():
    assert "07_variants" in notebook(LAB).cells[0].source


def test_each_check_grades_the_function_it_names_for_the_points_the_intro_states():
    assert {name: call.argument for name, call in hidden_calls(LAB).items()} == {
        name: name.removeprefix("check_") for name in lab06.__all__}
    assert max_points(LAB) == {
        "hidden_conv_transpose": 5, "hidden_upsample_weights": 2, "hidden_dilated_conv": 3,
        "hidden_receptive_field": 3, "hidden_depthwise_separable": 3,
        "hidden_separable_params": 2, "hidden_separable_macs": 2}


def test_the_released_notebook_shows_the_shapes(tmp_path_factory):
    text = "\n".join(c.source for c in graded_course(LAB, tmp_path_factory).released.cells)
    assert "Shapes: x (N, C, H, W), w (C, F, KH, KW)" in text
    assert "stamp = np.tensordot" not in text  # not one line of the solution's loop


def test_the_lectures_numbers():
    """Dilated 3 x 3 stacks see 3, 7, 15, 31 pixels; upsampling weights repeat pixels."""
    assert [solution(LAB)["receptive_field"](stack) for stack in lab06.STACKS] == [3, 7, 15, 31]
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    up = convnb.conv_transpose2d(x, lab06.upsample_weights(2, 3), stride=3)
    np.testing.assert_array_equal(up, x.repeat(3, axis=2).repeat(3, axis=3))
    assert solution(LAB)["separable_params"](32, 64, 3) == convnb.depthwise_separable_params(
        32, 64, 3, bias=True) == 32 * 9 + 32 + 32 * 64 + 64


@pytest.mark.parametrize("seed", range(20))
def test_random_cases_are_valid_geometries(seed):
    for case in lab06.check_conv_transpose.cases(seed):
        x, w, stride, pad = case.args
        out = convnb.conv_transpose2d(x, w, stride=stride, padding=pad)
        assert min(out.shape[2:]) >= 2 and w.shape[0] == x.shape[1] and w.shape[2] * w.shape[3] > 1
    for case in lab06.check_dilated_conv.cases(seed):
        x, w, dilation, pad = case.args
        assert min(convnb.conv2d(x, w, padding=pad, dilation=dilation).shape[2:]) >= 2
    for case in lab06.check_depthwise_separable.cases(seed):
        x, w_depth, w_point, pad = case.args
        assert w_depth.shape[:2] == (x.shape[1], 1) and w_point.shape[1:] == (x.shape[1], 1, 1)
    for case in lab06.check_receptive_field.cases(seed):
        assert all(k >= 1 and s >= 1 and d >= 1 for k, s, d in case.args[0])


def test_the_texts_forward_view_of_the_transposed_convolution_holds_on_every_hidden_case():
    """Part 1's text: spread the input, pad by KH - 1, correlate with the turned kernels, then cut
    pad from each border. The hidden cases include pad > KH - 1, where padding by KH - 1 - pad
    (the shortcut the text limits to pad <= KH - 1) would be negative."""
    beyond = 0
    for seed in range(20):
        for case in lab06.check_conv_transpose.cases(seed):
            x, w, stride, pad = case.args
            np.testing.assert_allclose(transpose_as_correlation(x, w, stride, pad),
                                       convnb.conv_transpose2d(x, w, stride=stride, padding=pad),
                                       rtol=1e-12, atol=1e-12)
            beyond += pad > min(w.shape[2:]) - 1
    assert beyond > 0


def test_the_wrong_answers_helpers_are_right_where_they_should_be():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(3, 2, 3, 2))
    right = convnb.conv_transpose2d(x, w, stride=2, padding=1)
    np.testing.assert_allclose(transpose_as_correlation(x, w, 2, 1), right)
    np.testing.assert_allclose(stamps(x, w, 2, 1), right)
    wf = rng.normal(size=(2, 3, 2, 3))
    np.testing.assert_allclose(dilated(x, wf, 2, 1), convnb.conv2d(x, wf, padding=1, dilation=2))
    wd, wp = rng.normal(size=(3, 1, 2, 2)), rng.normal(size=(4, 3, 1, 1))
    np.testing.assert_allclose(correlate(pad_hw(x, 1), wf), convnb.conv2d(x, wf, padding=1))
    np.testing.assert_allclose(np.einsum("nchw,fc->nfhw", depthwise_only(x, wd, wp, 1),
                                         wp[:, :, 0, 0]), lab06.depthwise_separable(x, wd, wp, 1))


@pytest.mark.parametrize("name", sorted(BUILDS_ON))
def test_a_function_is_judged_with_the_courses_versions_of_what_it_builds_on(name):
    """Each stand-in the check declares replaces a broken function of the student's."""
    assert_judged_on_its_own(LAB, name, BUILDS_ON[name])
