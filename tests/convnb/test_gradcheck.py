"""The gradient checker itself: it must pass right gradients and catch wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from convnb import gradcheck, numerical_gradient, rel_error


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(np.sin, x, dout), np.cos(x) * dout, atol=1e-8)
    A = rng.standard_normal((5, 3))
    dout = rng.standard_normal((5, 4))
    np.testing.assert_allclose(numerical_gradient(lambda z: A @ z, x, dout), A.T @ dout,
                               atol=1e-8)


def test_numerical_gradient_leaves_x_unchanged():
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    saved = x.copy()
    numerical_gradient(np.tanh, x, np.ones_like(x))
    np.testing.assert_array_equal(x, saved)


def test_rel_error_is_elementwise_as_in_the_contract():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 1e-3]), np.array([1.0, 3e-3])) == pytest.approx(0.5)


def test_gradcheck_accepts_right_and_rejects_wrong_gradients():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    dout = rng.standard_normal((4, 2))
    right = {"x": dout @ w.T, "w": x.T @ dout}
    assert gradcheck(lambda x, w: x @ w, {"x": x, "w": w}, right, dout) < 1e-9
    wrong = {"x": right["x"], "w": right["w"].copy()}
    wrong["w"][2, 1] += 1e-3
    with pytest.raises(AssertionError, match=r"d\(loss\)/dw is wrong at w\[2, 1\]"):
        gradcheck(lambda x, w: x @ w, {"x": x, "w": w}, wrong, dout)
    with pytest.raises(AssertionError, match=r"the gradient for x has shape \(3, 4\)"):
        gradcheck(lambda x, w: x @ w, {"x": x, "w": w}, {"x": right["x"].T}, dout)


def test_numerical_gradient_rejects_integer_input():
    with pytest.raises(TypeError, match="numerical_gradient: x must be a floating array"):
        numerical_gradient(np.sin, np.arange(3), np.ones(3))
