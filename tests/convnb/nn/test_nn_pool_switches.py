"""MaxPool2d routes gradients through the switches it cached in forward: the same numbers as the
functional backward, which searches the windows again."""

from __future__ import annotations

import numpy as np
import pytest

import convnb
import convnb.nn as nn


@pytest.mark.parametrize("options", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),           # overlapping windows share switches
    dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True),
    dict(kernel_size=2, padding=1, dilation=3),         # a window that sees only padding
])
def test_cached_switches_give_the_functional_gradient(options):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(2, 3, 2 if options.get("dilation") == 3 else 7, 6)).astype(float)
    layer = nn.MaxPool2d(**options)
    out = layer(x)
    np.testing.assert_array_equal(out, convnb.max_pool2d(x, **options))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layer.backward(dout), convnb.max_pool2d_backward(dout, x, **options))


def test_backward_rejects_a_dout_of_the_wrong_shape():
    layer = nn.MaxPool2d(2)
    layer(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"MaxPool2d.backward: dout must have the output's shape"):
        layer.backward(np.zeros((1, 1, 3, 3)))
    with pytest.raises(TypeError, match=r"MaxPool2d.backward: all arrays must have the same dtype"):
        layer.backward(np.zeros((1, 1, 2, 2), np.float32))  # the output is float64
