"""The layer checks: ReLU, Flatten, Linear, Conv and MaxPool, each with a forward and a backward.

A case judges one part of a layer (:attr:`..cases.Case.part`, a key of :data:`LAYER_PARTS`): its
forward output, ``dx``, or the gradient of one parameter. The case's arguments are how to build
the layer (``init``), its input ``x`` and the upstream gradient ``dout``; the student's class and
the reference (:mod:`.given`'s layers around convnb.nn) are run alike by :func:`run_layer`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import convnb

from ..common import (
    DB_WRONG_AXES,
    arange_grid,
    draw_kernel_hw,
    draw_part,
    pad_hw,
    rounded_normal,
    seeded_normal,
)
from ..compare import ArrayResult, ResultError
from ..core import Case, Check, Diagnoser
from ..registry import register
from .given import FORBIDDEN, conv_layer, flatten_layer, linear_layer, maxpool_layer, relu_layer

LAYER_PARTS = {"out": "forward, out", "dx": "backward, dx", "w": "backward, grads['w']",
               "b": "backward, grads['b']"}


def run_layer(make: Callable[..., Any], init: tuple, x: np.ndarray, dout: np.ndarray, *,
              part: str) -> Any:
    """Build the layer with ``make(*init)``, run forward (and backward), return the ``part``."""
    layer = make(*init)
    out = layer.forward(x)
    if part == "out":
        return out
    dx = layer.backward(dout)
    if part == "dx":
        return dx
    grads = getattr(layer, "grads", None)
    if not isinstance(grads, dict) or part not in grads:
        raise ResultError(f"the layer has no grads[{part!r}]: backward adds the gradient of "
                          f"params[{part!r}] to grads[{part!r}] (see Layer)")
    return grads[part]


def _layer_case(init: tuple, label: str, x: np.ndarray, dout: np.ndarray, part: str) -> Case:
    arrays = [a for a in init if isinstance(a, np.ndarray)]
    return Case((init, x, dout), f"{label}x {x.shape} (dout {dout.shape}): {LAYER_PARTS[part]}",
                x.size + sum(a.size for a in arrays), part)


def _layer_check(name: str, function: str, make: Callable[..., Any], draw, fixed,
                 diagnosers: Sequence[Diagnoser], n_random: int, cover=None) -> Check:
    return register(Check(
        name=name, function=function, reference=functools.partial(run_layer, make), draw=draw,
        forbidden=FORBIDDEN,
        fixed=fixed, result=ArrayResult(), diagnosers=diagnosers, n_random=n_random,
        call=run_layer, cover=cover))


def _nonzero(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values with no exact zero, where ReLU's gradient is a matter of convention."""
    x = rounded_normal(rng, *shape)
    return np.where(x == 0, 0.5, x)


def _distinct(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values without ties, so that every pooling window has one maximum."""
    n = int(np.prod(shape))
    return (rng.permutation(n) - n / 2).reshape(shape) / 4


# --- ReLU and Flatten: layers without parameters --------------------------------------------------

def _plain_case(x: np.ndarray, dout: np.ndarray, part: str) -> Case:
    return _layer_case((), "", x, dout, part)


def _draw_relu(rng: np.random.Generator) -> Case:
    shape = tuple(int(n) for n in rng.integers(1, 4, size=int(rng.choice([2, 4]))))
    return _plain_case(_nonzero(rng, *shape), _nonzero(rng, *shape), draw_part(rng, ("out", "dx")))


_RELU_X = np.array([[1.5, -2.0, 0.25], [-0.5, 3.0, -1.0]])
_RELU_DOUT = np.array([[1.0, 2.0, 3.0], [-4.0, -5.0, 6.0]])

check_relu = _layer_check(
    "check_relu", "ReLU().forward / .backward", relu_layer, _draw_relu,
    fixed=(_plain_case(_RELU_X, _RELU_DOUT, "out"), _plain_case(_RELU_X, _RELU_DOUT, "dx")),
    diagnosers=[Diagnoser("relu_backward_negative", lambda init, x, dout: dout, part="dx"),
                Diagnoser("relu_backward_of_dout", lambda init, x, dout: np.maximum(dout, 0),
                          part="dx"),
                Diagnoser("relu_backward_of_dout",
                          lambda init, x, dout: dout * (x > 0) * (dout > 0), part="dx")],
    n_random=10)


def _draw_flatten(rng: np.random.Generator) -> Case:
    N, C, H, W = (int(n) for n in rng.integers(1, 4, size=4))
    return _plain_case(rounded_normal(rng, N, C, H, W), rounded_normal(rng, N, C * H * W),
                       draw_part(rng, ("out", "dx")))


_FLAT_X = arange_grid(2, 2, 2, 2)
_FLAT_DOUT = arange_grid(2, 8) / 4

check_flatten = _layer_check(
    "check_flatten", "Flatten().forward / .backward", flatten_layer, _draw_flatten,
    fixed=(_plain_case(_FLAT_X, _FLAT_DOUT, "out"), _plain_case(_FLAT_X, _FLAT_DOUT, "dx")),
    diagnosers=[Diagnoser("flatten_backward_shape", lambda init, x, dout: dout, part="dx"),
                Diagnoser("flatten_batch_axis", lambda init, x, dout: x.reshape(-1), part="out")],
    n_random=8)


# --- Linear ---------------------------------------------------------------------------------------

def _linear_case(w: np.ndarray, b: np.ndarray, x: np.ndarray, dout: np.ndarray,
                 part: str) -> Case:
    return _layer_case((w, b), f"w {w.shape}, b {b.shape}, ", x, dout, part)


def _draw_linear(rng: np.random.Generator) -> Case:
    N, D, M = (int(n) for n in rng.integers(1, 6, size=3))
    return _linear_case(rounded_normal(rng, M, D), rounded_normal(rng, M),
                        rounded_normal(rng, N, D), rounded_normal(rng, N, M),
                        draw_part(rng, tuple(LAYER_PARTS)))


def _fixed_linear(part: str) -> Case:
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0], [2.0, 2.0, -2.0], [1.0, 0.0, 0.0]])
    dout = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0], [-2.0, 0.0]])
    return _linear_case(w, np.array([0.5, -1.0]), x, dout, part)


def _square(fn):
    """A mistake whose shapes only work out when w is square (else its matmul fails)."""
    def wrong(init, x, dout):
        return fn(init, x, dout) if init[0].shape[0] == init[0].shape[1] else None
    return wrong


check_linear = _layer_check(
    "check_linear", "Linear(w, b).forward / .backward", linear_layer, _draw_linear,
    fixed=tuple(_fixed_linear(part) for part in LAYER_PARTS),
    diagnosers=[
        Diagnoser("linear_dw_transposed", lambda init, x, dout: x.T @ dout, part="w"),
        Diagnoser("linear_db_not_summed", lambda init, x, dout: dout, part="b"),
        Diagnoser("db_mean", lambda init, x, dout: dout.mean(axis=0), part="b"),
        Diagnoser("linear_forward_not_transposed",
                  _square(lambda init, x, dout: x @ init[0] + init[1]), part="out"),
        Diagnoser("linear_dx_not_transposed",
                  _square(lambda init, x, dout: dout @ init[0].T), part="dx"),
    ],
    n_random=16)


# --- Conv -----------------------------------------------------------------------------------------

def _conv_case(w: np.ndarray, b: np.ndarray, pad: int, x: np.ndarray, dout: np.ndarray,
               part: str) -> Case:
    return _layer_case((w, b, pad), f"w {w.shape}, b {b.shape}, pad {pad}, ", x, dout, part)


def _draw_conv(rng: np.random.Generator) -> Case:
    N, C, F = (int(n) for n in rng.integers(1, [3, 3, 4]))
    KH, KW = draw_kernel_hw(rng)
    pad = int(rng.choice([0, 1, 1]))
    H, W = (int(rng.integers(max(1, k - 2 * pad), k + 3)) for k in (KH, KW))
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    return _conv_case(rounded_normal(rng, F, C, KH, KW), rounded_normal(rng, F), pad,
                      rounded_normal(rng, N, C, H, W), rounded_normal(rng, N, F, H_out, W_out),
                      draw_part(rng, tuple(LAYER_PARTS)))


def _fixed_conv(part: str, seed: int, pad: int) -> Case:
    rng = np.random.default_rng(seed)
    x, w = rounded_normal(rng, 2, 2, 4, 5), rounded_normal(rng, 3, 2, 2, 3)
    b = rounded_normal(rng, 3)
    return _conv_case(w, b, pad, x, rounded_normal(rng, 2, 3, 3 + 2 * pad, 3 + 2 * pad), part)


def _conv_backward(init, x, dout, kernels=None):
    w, _, pad = init
    return convnb.conv2d_backward(dout, x, w if kernels is None else kernels, padding=pad)


def _conv_pad_ignored(init, x, dout):
    w, b, pad = init
    return None if pad == 0 else convnb.conv2d(x, w, b)


def _conv_dx_not_cropped(init, x, dout):
    w, _, pad = init
    return None if pad == 0 else convnb.conv2d_backward(dout, pad_hw(x, pad), w)[0]


check_conv = _layer_check(
    "check_conv", "Conv(w, b, pad).forward / .backward", conv_layer, _draw_conv,
    fixed=(*(_fixed_conv(part, 5001, 0) for part in LAYER_PARTS),
           *(_fixed_conv(part, 5002, 1) for part in LAYER_PARTS)),
    diagnosers=[
        Diagnoser("conv_flipped", lambda init, x, dout: convnb.conv2d(
            x, init[0][:, :, ::-1, ::-1], init[1], padding=init[2]), part="out"),
        Diagnoser("layer_conv_pad_ignored", _conv_pad_ignored, part="out"),
        Diagnoser("conv_bias_missing", lambda init, x, dout: convnb.conv2d(
            x, init[0], padding=init[2]), part="out"),
        Diagnoser("dx_not_cropped", _conv_dx_not_cropped, part="dx"),
        Diagnoser("dx_not_flipped", lambda init, x, dout: _conv_backward(
            init, x, dout, init[0][:, :, ::-1, ::-1])[0], part="dx"),
        Diagnoser("dw_swapped", lambda init, x, dout: _conv_backward(
            init, x, dout)[1][:, :, ::-1, ::-1], part="w"),
        *(Diagnoser("db_axes", lambda init, x, dout, axes=axes: dout.sum(axis=axes), part="b")
          for axes in DB_WRONG_AXES),
        Diagnoser("db_mean", lambda init, x, dout: dout.mean(axis=(0, 2, 3)), part="b"),
    ],
    n_random=16, cover=lambda case: (case.part, case.args[0][2] > 0))  # each part, padded or not


# --- MaxPool --------------------------------------------------------------------------------------

def _maxpool_case(k: int, x: np.ndarray, dout: np.ndarray, part: str) -> Case:
    return _layer_case((k,), f"k {k}, ", x, dout, part)


def _draw_maxpool(rng: np.random.Generator) -> Case:
    k = int(rng.choice([2, 2, 3]))
    N, C, rows, cols = (int(n) for n in rng.integers(1, [3, 3, 4, 4]))
    return _maxpool_case(k, _distinct(rng, N, C, k * rows, k * cols),
                         rounded_normal(rng, N, C, rows, cols), draw_part(rng, ("out", "dx")))


def _spread(dout: np.ndarray, k: int) -> np.ndarray:
    """Every window filled with its entry of dout."""
    return np.repeat(np.repeat(dout, k, axis=2), k, axis=3)


_POOL_X = _distinct(np.random.default_rng(5003), 1, 2, 4, 4)
_POOL_DOUT = np.array([[[[1.0, -2.0], [3.0, 0.5]], [[-1.0, 2.0], [0.25, 4.0]]]])

check_maxpool = _layer_check(
    "check_maxpool", "MaxPool(k).forward / .backward", maxpool_layer, _draw_maxpool,
    fixed=(_maxpool_case(2, _POOL_X, _POOL_DOUT, "out"),
           _maxpool_case(2, _POOL_X, _POOL_DOUT, "dx"),
           _maxpool_case(3, _distinct(np.random.default_rng(5004), 2, 1, 6, 3),
                         seeded_normal(5005, 2, 1, 2, 1), "dx")),
    diagnosers=[
        Diagnoser("maxgrad_to_window", lambda init, x, dout: _spread(dout, init[0]), part="dx"),
        Diagnoser("maxgrad_averaged", lambda init, x, dout: _spread(dout, init[0]) / init[0] ** 2,
                  part="dx"),
        Diagnoser("maxpool_forward_average", lambda init, x, dout: convnb.avg_pool2d(x, init[0]),
                  part="out"),
    ],
    n_random=10)
