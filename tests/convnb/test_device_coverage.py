"""Every public operator, run on every backend: results stay where the inputs live.

With the device double, any convnb code path that hands a device array to NumPy raises
(``__array__`` refuses), so passing here proves that no operator calls NumPy directly on a
device array. The table must name every public operator: adding one without a row fails.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnb
from convnb import conv, filters, local, lp_pool, pool, pool_random, transposed

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


X, W, B = normal(2, 4, 7, 6), normal(6, 2, 3, 3), normal(6)
X1, W1 = normal(2, 4, 9), normal(6, 2, 3)
CONV = dict(stride=(2, 1), padding=1, groups=2, padding_mode="reflect")
CONV1 = dict(stride=2, padding=1, dilation=2, groups=2, padding_mode="circular")
XT, WT = normal(2, 4, 3, 4), normal(4, 3, 3, 2)
TRANS = dict(stride=2, padding=1, output_padding=1, groups=2)
POOL = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
XP = positive(2, 3, 7, 8)
IMAGE, KERNEL = normal(9, 8), normal(4, 3)
XL = normal(2, 3, 6, 6)
WL, BL = normal(4, 4, 2, 3, 3, 3), normal(2, 4, 4)     # locally connected: 6 -> 4 outputs
WTILE, BTILE = normal(2, 2, 2, 3, 3, 3), normal(2)      # tiled: 2x2 tiles
DOUT1 = normal(*conv.conv1d(X1, W1, **CONV1).shape)
DOUTT = normal(*transposed.conv_transpose2d(XT, WT, **TRANS).shape)
MAX_OUT, MAX_INDICES = convnb.max_pool2d(XP, 2, return_indices=True)

CALLS = {
    "conv1d": (conv.conv1d, (X1, W1, normal(6)), CONV1),
    "conv1d_naive": (conv.conv1d_naive, (X1, W1, normal(6)), CONV1),
    "conv1d_backward": (conv.conv1d_backward, (DOUT1, X1, W1), CONV1),
    "conv1d_backward_naive": (conv.conv1d_backward_naive, (DOUT1, X1, W1), CONV1),
    "conv2d": (conv.conv2d, (X, W, B), CONV),
    "conv2d_naive": (conv.conv2d_naive, (X, W, B), CONV),
    "conv2d_backward": (conv.conv2d_backward, (normal(2, 6, 4, 6), X, W), CONV),
    "conv2d_backward_naive": (conv.conv2d_backward_naive, (normal(2, 6, 4, 6), X, W), CONV),
    "conv_transpose2d": (transposed.conv_transpose2d, (XT, WT, normal(6)), TRANS),
    "conv_transpose2d_naive": (transposed.conv_transpose2d_naive, (XT, WT, normal(6)), TRANS),
    "conv_transpose2d_backward": (transposed.conv_transpose2d_backward,
                                  (DOUTT, XT, WT), TRANS),
    "conv_transpose2d_backward_naive": (transposed.conv_transpose2d_backward_naive,
                                        (DOUTT, XT, WT), TRANS),
    "max_pool2d": (pool.max_pool2d, (XP,), POOL),  # with indices: test_pool's device table
    "max_pool2d_naive": (pool.max_pool2d_naive, (XP,), dict(POOL, return_indices=True)),
    "max_pool2d_backward": (pool.max_pool2d_backward, (normal(2, 3, 4, 5), XP), POOL),
    "max_pool2d_backward_naive": (pool.max_pool2d_backward_naive, (normal(2, 3, 4, 5), XP), POOL),
    "avg_pool2d": (pool.avg_pool2d, (XP,), dict(POOL, count_include_pad=False)),
    "avg_pool2d_naive": (pool.avg_pool2d_naive, (XP,), dict(POOL, count_include_pad=False)),
    "avg_pool2d_backward": (pool.avg_pool2d_backward, (normal(2, 3, 4, 5), XP), POOL),
    "avg_pool2d_backward_naive": (pool.avg_pool2d_backward_naive, (normal(2, 3, 4, 5), XP), POOL),
    "lp_pool2d": (lp_pool.lp_pool2d, (XP, 2.0, 2), {}),
    "lp_pool2d_naive": (lp_pool.lp_pool2d_naive, (XP, 2.0, 2), {}),
    "lp_pool2d_backward": (lp_pool.lp_pool2d_backward, (normal(2, 3, 3, 4), XP, 3.0, 2), {}),
    "lp_pool2d_backward_naive": (lp_pool.lp_pool2d_backward_naive,
                                 (normal(2, 3, 3, 4), XP, 3.0, 2), {}),
    "stochastic_pool2d": (pool_random.stochastic_pool2d, (XP, 2), dict(rng=3)),
    "stochastic_pool2d_naive": (pool_random.stochastic_pool2d_naive, (XP, 2), dict(rng=3)),
    "fractional_max_pool2d": (pool_random.fractional_max_pool2d, (XP, 2, (5, 6)),
                              dict(samples=RNG.uniform(size=(2, 3, 2)))),
    "fractional_max_pool2d_naive": (pool_random.fractional_max_pool2d_naive, (XP, 2, (5, 6)),
                                    dict(samples=RNG.uniform(size=(2, 3, 2)))),
    "max_unpool2d": (pool_random.max_unpool2d, (MAX_OUT, MAX_INDICES, (7, 8)), {}),
    "max_unpool2d_naive": (pool_random.max_unpool2d_naive, (MAX_OUT, MAX_INDICES, (7, 8)), {}),
    "correlate2d": (filters.correlate2d, (IMAGE, KERNEL), dict(mode="same", boundary="symm")),
    "correlate2d_naive": (filters.correlate2d_naive, (IMAGE, KERNEL),
                          dict(mode="same", boundary="symm")),
    "convolve2d": (filters.convolve2d, (IMAGE, KERNEL), dict(boundary="wrap")),
    "convolve2d_naive": (filters.convolve2d_naive, (IMAGE, KERNEL), dict(boundary="wrap")),
    "locally_connected2d": (local.locally_connected2d, (XL, WL, BL), {}),
    "locally_connected2d_naive": (local.locally_connected2d_naive, (XL, WL, BL), {}),
    "locally_connected2d_backward": (local.locally_connected2d_backward,
                                     (normal(2, 2, 4, 4), XL, WL), {}),
    "locally_connected2d_backward_naive": (local.locally_connected2d_backward_naive,
                                           (normal(2, 2, 4, 4), XL, WL), {}),
    "tiled_conv2d": (local.tiled_conv2d, (XL, WTILE, BTILE), dict(padding=1)),
    "tiled_conv2d_naive": (local.tiled_conv2d_naive, (XL, WTILE, BTILE), dict(padding=1)),
    "tiled_conv2d_backward": (local.tiled_conv2d_backward, (normal(2, 2, 6, 6), XL, WTILE),
                              dict(padding=1)),
    "tiled_conv2d_backward_naive": (local.tiled_conv2d_backward_naive,
                                    (normal(2, 2, 6, 6), XL, WTILE), dict(padding=1)),
    "numerical_gradient": (convnb.numerical_gradient,
                           (lambda a: a * a, normal(2, 3), normal(2, 3)), {}),
    "rel_error": (convnb.rel_error, (normal(3), normal(3)), {}),
}

# The named kernels (box_blur, laplacian, ...) take no array: they build small NumPy arrays that
# the filters move to the image's device.
KERNEL_BUILDERS = {"blur_5x5", "box_blur", "gaussian_kernel", "laplacian", "sharpen", "sobel"}


def test_every_public_operator_has_a_row():
    modules = (conv, transposed, pool, lp_pool, pool_random, filters, local)
    public = {name for m in modules for name in m.__all__} - KERNEL_BUILDERS
    public |= {"numerical_gradient", "rel_error"}
    assert public == set(CALLS)


def _move(value, to_backend):
    if isinstance(value, np.ndarray):
        return to_backend(value)
    if isinstance(value, dict):
        return {k: _move(v, to_backend) for k, v in value.items()}
    return value


def _flatten(result):
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_operator_runs_where_its_input_lives(name, to_backend, host):
    fn, args, kwargs = CALLS[name]
    expected = _flatten(fn(*args, **kwargs))
    got = _flatten(fn(*(_move(a, to_backend) for a in args),
                      **{k: _move(v, to_backend) for k, v in kwargs.items()}))
    device_type = type(to_backend(np.zeros(1)))
    for e, g in zip(expected, got, strict=True):
        if e is None:
            assert g is None
        elif isinstance(e, float):  # rel_error gives a Python float on every backend
            assert g == pytest.approx(e)
        else:
            assert type(g) is device_type, f"{name} returned a {type(g).__name__}"
            np.testing.assert_allclose(host(g), e, rtol=1e-12, atol=1e-12)
