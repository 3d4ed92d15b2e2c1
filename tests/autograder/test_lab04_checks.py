"""lab04's checks without nbgrader: the notebook's solution passes every seed, the classic mistakes
lose points and get their hint, and the framework pieces lab04 relies on (``pick``, a ``call``
hook, ``fallback_hint``, ``BelowResult``) behave."""

from __future__ import annotations

import numpy as np
import pytest
from nbgrader_course import assert_check_catches, hidden_calls, lab_notebook

import convnb
from autograder.checks import BelowResult, Case, Check, ResultError, lab04, pick
from autograder.checks.compare import describe, from_exception

NB = lab_notebook("lab04_conv_backward")
SETUP = next(c.source for c in NB.cells if c.metadata.get("nbgrader", {}).get("grade_id")
             == "setup")


def _solution(**replace) -> dict:
    """The notebook's setup and solution cells run in one namespace; ``replace`` overrides names
    after the solutions are defined (a wrong conv_backward under a right gradcheck_conv)."""
    namespace: dict = {}
    exec(SETUP, namespace)  # noqa: S102 - the instructor's own notebook
    for cell in NB.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, namespace)  # noqa: S102
    namespace.update(replace)
    return namespace


SOL = _solution()
HIDDEN = hidden_calls(NB)
CHECKS = {name: getattr(lab04, name) for name in lab04.__all__}
FUNCTION = {"check_conv_backward_db": "conv_backward", "check_conv_backward_dw": "conv_backward",
            "check_conv_backward_dx": "conv_backward",
            "check_numerical_gradient": "numerical_gradient",
            "check_numerical_gradient_keeps_x": "numerical_gradient",
            "check_gradcheck_conv": "gradcheck_conv"}


def test_every_check_has_a_hidden_test_and_the_points_add_up():
    assert set(HIDDEN) == set(CHECKS) == set(FUNCTION)
    assert sum(call.points for call in HIDDEN.values()) == 20
    assert "20 points" in NB.cells[0].source
    assert "06_backprop" in NB.cells[0].source


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_solution_passes_the_visible_and_many_random_cases(name):
    fn, check = SOL[FUNCTION[name]], CHECKS[name]
    seeds = (None, HIDDEN[name].seed, 0, 1, 2) if name == "check_gradcheck_conv" else (
        None, HIDDEN[name].seed, 0, 1, 2, 3, 4, 5, 6, 7)
    for seed in seeds:
        ev = check.evaluate(fn, seed)
        assert not ev.failing, (seed, [ev.verdicts[i].problem for i in ev.failing])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_an_unwritten_function_scores_zero(name, capsys):
    def unwritten(*args):
        raise NotImplementedError()

    assert CHECKS[name](unwritten, seed=HIDDEN[name].seed, points=HIDDEN[name].points) == 0
    assert "not written yet" in capsys.readouterr().out


# --- Wrong layers, written the ways students write them -------------------------------------------

def _loops(dout, x, w, stride=1, pad=0, dx_step=None, dw_step=None, crop=True):
    """The solution's loops, with the windows' jump and the final crop open to mistakes."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            d = dout[:, :, i, j]
            s = stride if dw_step is None else dw_step
            dw += np.tensordot(d, xpad[:, :, i * s:i * s + KH, j * s:j * s + KW], axes=([0], [0]))
            s = stride if dx_step is None else dx_step
            dxpad[:, :, i * s:i * s + KH, j * s:j * s + KW] += np.tensordot(d, w, axes=([1], [0]))
    dx = dxpad[:, :, pad:pad + H, pad:pad + W] if crop else dxpad
    return dx, dw, dout.sum(axis=(0, 2, 3))


def _full_correlation_dx(dout, x, w, stride=1, pad=0, flip=True, dout_pad=None):
    """dx the lecture's way: spread dout by the stride, pad it, correlate with the kernels."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    spread = np.zeros((N, F, (dout.shape[2] - 1) * stride + 1, (dout.shape[3] - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    ph, pw = (KH - 1, KW - 1) if dout_pad is None else (dout_pad, dout_pad)
    spread = np.pad(spread, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kernels = w[:, :, ::-1, ::-1] if flip else w
    rows, cols = spread.shape[2] - KH + 1, spread.shape[3] - KW + 1
    dxpad = np.zeros((N, C, max(rows, H + 2 * pad), max(cols, W + 2 * pad)))
    for i in range(rows):
        for j in range(cols):
            dxpad[:, :, i, j] = np.tensordot(spread[:, :, i:i + KH, j:j + KW], kernels,
                                             axes=([1, 2, 3], [0, 2, 3]))
    if dout_pad is not None:
        return dxpad[:, :, :rows, :cols]
    return dxpad[:, :, pad:pad + H, pad:pad + W]


def _with(dx=None, dw=None, db=None):
    def conv_backward(dout, x, w, stride=1, pad=0):
        right = SOL["conv_backward"](dout, x, w, stride, pad)
        parts = [part if fn is None else fn(dout, x, w, stride, pad)
                 for part, fn in zip(right, (dx, dw, db), strict=True)]
        return tuple(parts)
    return conv_backward


def _dw_convolved(dout, x, w, stride=1, pad=0):
    """dw as a 'valid convolution of the padded input by dout': dout turned half a turn."""
    return SOL["conv_backward"](np.ascontiguousarray(dout[:, :, ::-1, ::-1]), x, w, 1, pad)[1]


# --- Wrong checkers -------------------------------------------------------------------------------

def _one_sided(f, x, dout, eps=1e-6):
    grad, moved = np.zeros(x.shape), x.copy()
    base = np.sum(f(x) * dout)
    for index in np.ndindex(x.shape):
        moved[index] = x[index] + eps
        grad[index] = (np.sum(f(moved) * dout) - base) / eps
        moved[index] = x[index]
    return grad


def _aliased(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x_plus = x  # not a copy
        x_plus[index] += eps
        plus = np.sum(f(x_plus) * dout)
        x_minus = x
        x_minus[index] -= eps
        minus = np.sum(f(x_minus) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _mutating(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x[index] += eps
        plus = np.sum(f(x) * dout)
        x[index] -= 2 * eps
        minus = np.sum(f(x) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _centred(f, x, dout, eps=1e-6, divide=2.0, weights=True):
    grad, moved = np.zeros(x.shape), x.copy()
    for index in np.ndindex(x.shape):
        moved[index] = x[index] + eps
        plus = f(moved)
        moved[index] = x[index] - eps
        minus = f(moved)
        moved[index] = x[index]
        grad[index] = np.sum((plus - minus) * (dout if weights else 1.0)) / (divide * eps)
    return grad


def _gradcheck_with(conv_backward):
    return _solution(conv_backward=conv_backward)["gradcheck_conv"]


MISTAKES = {
    "db over the positions only": ("check_conv_backward_db",
                                   _with(db=lambda dout, *a: dout.sum(axis=(2, 3))), "db_axes"),
    "db over the batch only": ("check_conv_backward_db",
                               _with(db=lambda dout, *a: dout.sum(axis=0)), "db_axes"),
    "db over the filters too": ("check_conv_backward_db",
                                _with(db=lambda dout, *a: dout.sum(axis=(1, 2, 3))),
                                "db_summed_over_f"),
    "db as a mean": ("check_conv_backward_db",
                     _with(db=lambda dout, *a: dout.mean(axis=(0, 2, 3))), "db_mean"),
    "dw with x and dout swapped": (
        "check_conv_backward_dw",
        _with(dw=lambda *a: SOL["conv_backward"](*a)[1][:, :, ::-1, ::-1]), "dw_swapped"),
    "dw as a convolution": ("check_conv_backward_dw", _with(dw=_dw_convolved), "dw_swapped"),
    "dw ignores the stride": ("check_conv_backward_dw",
                              lambda *a: _loops(*a, dw_step=1), "dw_stride_ignored"),
    "dx with unflipped kernels": (
        "check_conv_backward_dx",
        _with(dx=lambda *a: _full_correlation_dx(*a, flip=False)), "dx_not_flipped"),
    "dx of the padded input": ("check_conv_backward_dx", lambda *a: _loops(*a, crop=False),
                               "dx_not_cropped"),
    "dx ignores the stride": ("check_conv_backward_dx", lambda *a: _loops(*a, dx_step=1),
                              "dx_stride_ignored"),
    "dout padded by pad": (
        "check_conv_backward_dx",
        _with(dx=lambda dout, x, w, stride=1, pad=0: _full_correlation_dx(
            dout, x, w, stride, pad, dout_pad=pad)), "dx_dout_padding"),
    "one-sided difference": ("check_numerical_gradient", _one_sided, "grad_one_sided"),
    "eps = 1e-2": ("check_numerical_gradient", lambda f, x, dout: _centred(f, x, dout, 1e-2),
                   "grad_eps_too_large"),
    "dout ignored": ("check_numerical_gradient",
                     lambda f, x, dout: _centred(f, x, dout, weights=False), "grad_no_dout"),
    "divides by eps": ("check_numerical_gradient",
                       lambda f, x, dout: _centred(f, x, dout, divide=1.0), "grad_double"),
    "x_plus = x": ("check_numerical_gradient", _aliased, "grad_half"),
    "x changed and not restored": ("check_numerical_gradient_keeps_x", _mutating,
                                   "grad_mutates_x"),
    "own layer with an unflipped dx": (
        "check_gradcheck_conv",
        _gradcheck_with(_with(dx=lambda *a: _full_correlation_dx(*a, flip=False))),
        "own_gradcheck_large"),
    "own layer that ignores the stride": (
        "check_gradcheck_conv", _gradcheck_with(lambda *a: _loops(*a, dx_step=1, dw_step=1)),
        "own_gradcheck_large"),
}


def test_the_wrong_layers_are_right_where_they_should_be():
    """The mistakes' helpers compute the right gradients when told to (no bug in the tests)."""
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(2, 3, 3, 2))
    dout = rng.normal(size=convnb.conv2d(x, w, stride=2, padding=1).shape)
    dx, dw, db = convnb.conv2d_backward(dout, x, w, stride=2, padding=1)
    np.testing.assert_allclose(_full_correlation_dx(dout, x, w, 2, 1), dx)
    for got, want in zip(_loops(dout, x, w, 2, 1), (dx, dw, db), strict=True):
        np.testing.assert_allclose(got, want)
    a = rng.normal(size=(6, 2))

    def f(v):
        return np.sin(v) @ a

    out_weights = rng.normal(size=(7, 2))
    np.testing.assert_allclose(_centred(f, x[0, 0], out_weights),
                               convnb.numerical_gradient(f, x[0, 0], out_weights), atol=1e-9)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_classic_mistakes_lose_points_and_get_their_hint(mistake, capsys):
    name, fn, hint = MISTAKES[mistake]
    assert_check_catches(CHECKS[name], fn, HIDDEN[name], hint, capsys)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_visible_test_catches_the_mistake_too(mistake):
    name, fn, _ = MISTAKES[mistake]
    assert CHECKS[name].evaluate(fn, None).failing


def test_a_mutating_checker_still_gets_elementwise_gradients_right():
    """Its only fault is the changed x, which the 1-point test takes; the 4-point one is lenient
    where the gradient itself comes out right."""
    ev = lab04.check_numerical_gradient.evaluate(_mutating, HIDDEN["check_numerical_gradient"].seed)
    assert ev.passed >= len(ev.cases) // 2


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


# --- The framework pieces lab04 added -------------------------------------------------------------

def test_pick_judges_one_part_and_refuses_what_is_not_the_tuple():
    call = pick(1, ("dx", "dw", "db"))
    assert call(lambda a: (a, 2 * a, 3 * a), 1.5) == 3.0
    for returned, problem in [(np.zeros(3), "returned a numpy.ndarray; return the tuple (dx, dw, "
                                            "db)"),
                              ((1, 2), "returned a tuple of 2 items; return the tuple"),
                              ((1, None, 3), "dw is None (in the tuple (dx, dw, db))")]:
        with pytest.raises(ResultError) as caught:
            call(lambda returned=returned: returned)
        out = from_exception(caught.value)
        verdict = lab04.check_conv_backward_dw.result.judge(np.zeros(3), out)
        assert verdict.problem.startswith(problem) and "raised" not in verdict.problem


def test_below_result_wants_small_errors():
    result = BelowResult(1e-6, ("dx", "dw", "db"))
    reference = np.array([1e-10, 2e-10, 0.0])
    assert result.judge(reference, describe(np.array([3e-9, 0.0, 1e-7]))).passed
    for got, problem in [(np.array([0.0, 0.5, 0.0]), "the error of dw is 0.5: not below 1e-06"),
                         (np.array([0.0, 0.0, -1.0]), "the error of db is -1: negative"),
                         (np.array([np.nan, 0.0, 0.0]), "the error of dx is nan"),
                         (np.zeros(2), "shape (2,), expected (3,)"),
                         ([0.0, 0.0, 0.0], "returned a list"),
                         (np.zeros(3, dtype=int), "dtype int64, expected a float dtype")]:
        verdict = result.judge(reference, describe(got))
        assert not verdict.passed and verdict.problem.startswith(problem), verdict.problem


def test_a_fallback_hint_explains_what_no_diagnoser_does():
    check = Check(name="check_toy_keeps", function="toy(x)", reference=lambda x: x,
                  draw=lambda rng: Case((rng.normal(size=3),), "x (3,)", 3),
                  fixed=(Case((np.ones(3),), "x (3,)", 3),), result=lab04.ArrayResult(),
                  call=lambda fn, x: (fn(x), x)[1], fallback_hint="grad_mutates_x")

    def scales(x):
        x *= 2

    ev = check.evaluate(scales, 1)
    assert ev.passed == 0 and ev.hint == "grad_mutates_x" and ev.hint_matches == len(ev.cases)
    assert check.evaluate(lambda x: None, 1).hint is None  # right: nothing to explain

    def broken(x):
        raise ValueError("no")

    assert check.evaluate(broken, 1).hint is None  # an exception is not that mistake
