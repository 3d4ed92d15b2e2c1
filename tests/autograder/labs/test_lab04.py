"""lab04_conv_backward's own tests, beside the shared suite: the reading pointer, which function
each check grades and each hidden cell's points, what the released notebook shows and hides,
valid random layers, the table's wrong layers and checkers computing right gradients when told
to, a mutating checker's partial credit, a wrong layer that no longer costs the checker's points,
the checker judged where the answer is known (layers wrong on purpose; issue 12, item 2), and a
student who cheats on every part (item 3)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from lab_cases import assert_flagged, assert_judged_on_its_own
from lab_cases.lab04 import (
    BUILDS_ON,
    CHEATED,
    UNFLIPPED,
    UNJUDGED,
    centred,
    full_correlation_dx,
    loops,
    mutating,
)
from lab_suite import graded_course, hidden_calls, max_points, notebook, solution
from lab_table import lab

import convnb
from autograder.checks import lab04

LAB = lab("lab04")


def test_the_intro_sends_students_to_the_chapter():
    assert "06_backprop" in notebook(LAB).cells[0].source


def test_each_check_grades_the_function_it_names_for_the_points_the_intro_states():
    assert {name: call.argument for name, call in hidden_calls(LAB).items()} == {
        "check_conv_backward_db": "conv_backward", "check_conv_backward_dw": "conv_backward",
        "check_conv_backward_dx": "conv_backward",
        "check_numerical_gradient": "numerical_gradient",
        "check_numerical_gradient_keeps_x": "numerical_gradient",
        "check_gradcheck_conv": "gradcheck_conv"}
    assert max_points(LAB) == {
        "hidden_conv_backward_db": 2, "hidden_conv_backward_dw": 4, "hidden_conv_backward_dx": 5,
        "hidden_numerical_gradient": 4, "hidden_numerical_gradient_keeps_x": 1,
        "hidden_gradcheck_conv": 4}


def test_the_released_notebook_shows_the_shapes_and_the_given_forward_pass(tmp_path_factory):
    text = "\n".join(c.source for c in graded_course(LAB, tmp_path_factory).released.cells)
    assert "Shapes: dout (N, F, H_out, W_out)" in text and "def conv_forward(x, w, b" in text
    assert "np.tensordot(d, xpad" not in text  # not one line of the solution's loop


@pytest.mark.parametrize("seed", range(20))
def test_random_cases_are_valid_small_layers(seed):
    for case in lab04.check_conv_backward_dx.cases(seed):
        dout, x, w, stride, pad = case.args
        assert dout.shape == convnb.conv2d(x, w, stride=stride, padding=pad).shape
        assert dout.shape[2] >= 2 and dout.shape[3] >= 2 and w.shape[2] * w.shape[3] > 1
        assert 0 <= pad < max(w.shape[2:]) and x.size <= 2 * 3 * 9 * 9
    for case in lab04.check_numerical_gradient.cases(seed):
        f, x, dout = case.args
        assert f(x).shape == dout.shape and x.size <= 50
        np.testing.assert_allclose(f.grad(x, dout), convnb.numerical_gradient(f, x, dout),
                                   rtol=1e-6, atol=1e-8)


def test_the_wrong_layers_are_right_where_they_should_be():
    """The mistakes' helpers compute the right gradients when told to (no bug in the tests)."""
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(2, 3, 3, 2))
    dout = rng.normal(size=convnb.conv2d(x, w, stride=2, padding=1).shape)
    dx, dw, db = convnb.conv2d_backward(dout, x, w, stride=2, padding=1)
    np.testing.assert_allclose(full_correlation_dx(dout, x, w, 2, 1), dx)
    for got, want in zip(loops(dout, x, w, 2, 1), (dx, dw, db), strict=True):
        np.testing.assert_allclose(got, want)
    a = rng.normal(size=(6, 2))

    def f(v):
        return np.sin(v) @ a

    out_weights = rng.normal(size=(7, 2))
    np.testing.assert_allclose(centred(f, x[0, 0], out_weights),
                               convnb.numerical_gradient(f, x[0, 0], out_weights), atol=1e-9)


def test_a_mutating_checker_still_gets_elementwise_gradients_right():
    """Its only fault is the changed x, which the 1-point test takes; the 4-point one is lenient
    where the gradient itself comes out right."""
    run = lab04.check_numerical_gradient.evaluate(
        mutating, hidden_calls(LAB)["check_numerical_gradient"].seed)
    assert run.passed >= len(run.cases) // 2


@pytest.mark.parametrize("name", sorted(BUILDS_ON))
def test_a_function_is_judged_with_the_courses_versions_of_what_it_builds_on(name):
    """Each stand-in the check declares replaces a broken function of the student's."""
    assert_judged_on_its_own(LAB, name, BUILDS_ON[name])


def test_a_wrong_layer_costs_its_own_points_not_the_checkers(tmp_path_factory):
    """The double penalty of issue 12: a student whose conv_backward has an unflipped dx and whose
    gradcheck_conv is right loses dx's points only. Graded by nbgrader, gradcheck_conv keeps its
    4 points (rescoring agrees) and its feedback says why; judged with the student's own
    conv_backward, as before the stand-ins, the same function fails."""
    course = graded_course(LAB, tmp_path_factory)
    scores = course.score("noflip")
    assert scores["hidden_conv_backward_dx"] < max_points(LAB)["hidden_conv_backward_dx"]
    assert scores["hidden_gradcheck_conv"] == max_points(LAB)["hidden_gradcheck_conv"] == 4
    assert course.rescore("noflip")["hidden_gradcheck_conv"].points == 4
    text = course.cell_text("noflip", "hidden_gradcheck_conv")
    assert "the course's conv_backward and numerical_gradient standing in for yours" in text
    call = hidden_calls(LAB)["check_gradcheck_conv"]
    student = solution(LAB, {"conv_backward": UNFLIPPED})["gradcheck_conv"]
    alone = dataclasses.replace(lab04.check_gradcheck_conv, stand_ins={})
    assert alone.evaluate(student, call.seed).failing


def _seeds():
    return (None, hidden_calls(LAB)["check_gradcheck_conv"].seed, 0, 1)


@pytest.mark.parametrize("seed", range(12))
def test_the_wrong_layers_are_wrong_where_they_say_and_right_elsewhere(seed):
    """The true errors the checker must report come from a layer that is wrong in one gradient
    (checked against convnb: no bug in the check), where that gradient is not zero."""
    for case in lab04.check_gradcheck_conv.cases(seed):
        if case.part is None:
            continue
        part, (dout, x, w, stride, pad) = case.part, (case.args[3], *case.args[:2],
                                                      *case.args[4:])
        right = convnb.conv2d_backward(dout, x, w, stride=stride, padding=pad)
        wrong = lab04.WRONG_LAYERS[part](dout, x, w, stride, pad)
        for name, a, b in zip(lab04.NAMES, right, wrong, strict=True):
            assert a.shape == b.shape
            assert np.allclose(a, b) == (name != part), (name, case.label)
        errors = lab04.gradcheck_conv(*case.args, part=part)
        assert errors[lab04.NAMES.index(part)] > 0.05 and sorted(errors)[1] < 1e-8


@pytest.mark.parametrize("seed", _seeds())
def test_the_gradient_checker_is_judged_on_layers_wrong_on_purpose(seed):
    """Each seed's cases hand the checker the course's layer and, at least once for each
    gradient, a layer wrong there: the solution passes them all; a checker that answers small
    errors whatever it checks, or the right errors of the right layer, fails the wrong ones."""
    cases = lab04.check_gradcheck_conv.cases(seed)
    assert {c.part for c in cases} == {None, *lab04.NAMES}
    run = lab04.check_gradcheck_conv.evaluate(solution(LAB)["gradcheck_conv"], seed)
    assert not run.failing and not run.detected

    def blind(x, w, b, dout, stride=1, pad=0):
        return lab04.gradcheck_conv(x, w, b, dout, stride, pad)  # the right layer's errors

    for fn in (lambda *args: np.zeros(3), lambda *args: np.full(3, 1e-10), blind):
        run = lab04.check_gradcheck_conv.evaluate(fn, seed)
        assert {run.cases[i].part for i in run.failing} == set(lab04.NAMES)
        problem = run.verdicts[run.failing[0]].problem
        assert "wrong on purpose" in problem and "a gradient checker must report" in problem


def test_a_zero_gradient_check_earns_nothing_and_is_flagged():
    """np.zeros(3) earned full marks before the checker was judged on wrong layers."""
    call = hidden_calls(LAB)["check_gradcheck_conv"]
    assert lab04.check_gradcheck_conv(lambda *args: np.zeros(3), seed=call.seed,
                                      points=call.points) == 0
    run = lab04.check_gradcheck_conv.evaluate(lambda *args: np.zeros(3), call.seed)
    assert [d.kind for d in run.detected] == ["constant"]


def test_keeping_x_is_judged_only_for_a_checker_that_moves_x():
    """Doing nothing keeps x: that earns nothing. Any checker that evaluates f at a moved x is
    judged on x, even one whose gradient is wrong (its own test takes that)."""
    seed = hidden_calls(LAB)["check_numerical_gradient_keeps_x"].seed
    check = lab04.check_numerical_gradient_keeps_x
    run = check.evaluate(lambda f, x, dout: np.zeros_like(x), seed)
    assert run.passed == 0 and "never evaluated f at a moved x" in run.verdicts[0].problem
    assert check.evaluate(lambda f, x, dout: f.grad(x, dout), seed).passed == 0  # f is wrapped
    assert not check.evaluate(lambda f, x, dout: centred(f, x, dout, divide=1.0), seed).failing
    assert not check.evaluate(solution(LAB)["numerical_gradient"], seed).failing


def test_cheating_parts_earn_nothing_and_are_flagged_with_the_evidence(tmp_path_factory):
    """convnb's layer, the known derivative of the check's function, a checker that reports no
    error: each earns nothing and is flagged; the idle checker keeps x but earns nothing."""
    assert_flagged(graded_course(LAB, tmp_path_factory), "cheats", CHEATED, UNJUDGED)
