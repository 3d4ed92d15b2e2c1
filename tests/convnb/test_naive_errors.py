"""Every ``*_naive`` function's errors name that function, even when the mistake is found by a
helper it shares with another operator (conv1d_backward_naive runs conv2d's loops, for one)."""

from __future__ import annotations

import numpy as np
import pytest

import convnb

X = np.ones((2, 3, 5, 5))
W = np.ones((4, 3, 3, 3))
X1, W1 = np.ones((2, 3, 6)), np.ones((4, 3, 3))
WT = np.ones((3, 2, 3, 3))  # a transposed convolution's: (C_in, C_out, KH, KW)

# One mistake per function, each caught past the function's own first checks where it can be.
MISTAKES = {
    "conv2d_naive": lambda f: f(X, W, padding=5, padding_mode="reflect"),
    "conv2d_backward_naive": lambda f: f(np.ones((2, 4, 3, 4)), X, W),
    "conv1d_naive": lambda f: f(X1, W1, padding=6, padding_mode="reflect"),
    "conv1d_backward_naive": lambda f: f(np.ones((2, 4, 5)), X1, W1),
    "conv_transpose2d_naive": lambda f: f(X, WT, stride=2, output_padding=2),
    "conv_transpose2d_backward_naive": lambda f: f(np.ones((2, 2, 7, 6)), X, WT),
    "locally_connected2d_naive": lambda f: f(X, np.ones((2, 2, 4, 3, 3, 3))),
    "locally_connected2d_backward_naive": lambda f: f(np.ones((2, 4, 3, 2)), X,
                                                      np.ones((3, 3, 4, 3, 3, 3))),
    "tiled_conv2d_naive": lambda f: f(X, np.ones((2, 2, 4, 2, 3, 3))),
    "tiled_conv2d_backward_naive": lambda f: f(np.ones((2, 4, 3, 2)), X,
                                               np.ones((2, 2, 4, 3, 3, 3))),
    "max_pool2d_naive": lambda f: f(X, 6),
    "max_pool2d_backward_naive": lambda f: f(np.ones((2, 3, 2, 3)), X, 2),
    "avg_pool2d_naive": lambda f: f(X, 2, padding=2),
    "avg_pool2d_backward_naive": lambda f: f(np.ones((2, 3, 2, 3)), X, 2),
    "lp_pool2d_naive": lambda f: f(X, 2, 6),
    "lp_pool2d_backward_naive": lambda f: f(np.ones((2, 3, 2, 3)), X, 2, 2),
    "stochastic_pool2d_naive": lambda f: f(-X, 2),
    "fractional_max_pool2d_naive": lambda f: f(X, 2, output_size=5),
    "max_unpool2d_naive": lambda f: f(X, np.full(X.shape, 99), (5, 5)),
    "correlate2d_naive": lambda f: f(X[0, 0], W[0, 0], mode="wide"),
    "convolve2d_naive": lambda f: f(X[0, 0], W[0, 0], boundary="mirror"),
}


def test_every_naive_function_has_a_mistake_here():
    naive = {name for name in convnb.__all__ if name.endswith("_naive")}
    assert naive == set(MISTAKES)


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_a_naive_functions_errors_name_it(name):
    with pytest.raises((ValueError, TypeError)) as info:
        MISTAKES[name](getattr(convnb, name))
    assert str(info.value).startswith(f"{name}: "), str(info.value)
