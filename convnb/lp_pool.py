"""Lp pooling: summarise each window by its p-norm, (sum of x**p) ** (1/p).

p = 1 sums the window, p = 2 is "L2 pooling" (the Euclidean length of the window), and as p grows
the largest entry dominates until, at p = inf, Lp pooling of non-negative inputs is max pooling.
The definition is PyTorch's ``lp_pool2d``: it raises x to the power p without taking |x| first, so
use non-negative inputs (after a ReLU, say) or an even p. Its gradient,
``d out / d x_k = x_k**(p-1) * out**(1-p)``, is undefined where a window sums to zero.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_dout
from .backend import get_array_module
from .pool import avg_backward, avg_pool_divisor, avg_window_naive, max_backward, switches
from .pool_windows import PoolGeometry, pool_geometry, pool_windows
from .types import Array, IntOrPair

__all__ = ["lp_pool2d", "lp_pool2d_backward", "lp_pool2d_backward_naive", "lp_pool2d_naive"]


# --- Lp pooling -----------------------------------------------------------------------------------

def _norm_type(fn: str, norm_type: float) -> float:
    if (isinstance(norm_type, bool) or not isinstance(norm_type, int | float | np.number)
            or not norm_type > 0):
        raise ValueError(f"{fn}: norm_type must be a positive number p (2 for L2 pooling, "
                         f"math.inf for the largest |x|), got {norm_type!r}")
    return float(norm_type)


def _lp_totals(x: Array, p: float, g: PoolGeometry) -> Array:
    """PyTorch's window totals: the sum of x**p, scaled by KH*KW / (inputs in the window), which
    is 1 except for a partial ``ceil_mode`` window (PyTorch computes the mean times KH*KW)."""
    KH, KW = g.kernel
    sums = pool_windows(x ** p, g, 0.0).sum(axis=(-2, -1))
    return sums / avg_pool_divisor(g, x, True) * (KH * KW)


def lp_pool2d(x: Array, norm_type: float, kernel_size: IntOrPair, stride: IntOrPair | None = None,
              ceil_mode: bool = False) -> Array:
    """2-D power-average (Lp) pooling, as ``torch.nn.functional.lp_pool2d``:
    ``out = (sum over the window of x**p) ** (1/p)``.

    Parameters
    ----------
    x : input, float array; negative entries with a fractional p give NaN.
    norm_type : p > 0; 1 sums the window, 2 is L2 pooling, ``math.inf`` gives the largest ``|x|``.
    kernel_size, stride, ceil_mode : as in :func:`max_pool2d` (no padding, no dilation). A partial
        ``ceil_mode`` window's sum is scaled up to a full one's, by KH*KW / (inputs it covers), as
        PyTorch does.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """
    fn = "lp_pool2d"
    p = _norm_type(fn, norm_type)
    g = pool_geometry(fn, x, kernel_size, stride, 0, 1, ceil_mode)
    if p == math.inf:
        return switches(get_array_module(x).abs(x), g)[0]
    return _lp_totals(x, p, g) ** (1 / p)


def lp_pool2d_backward(dout: Array, x: Array, norm_type: float, kernel_size: IntOrPair,
                       stride: IntOrPair | None = None, ceil_mode: bool = False) -> Array:
    """Gradient of :func:`lp_pool2d`. With ``T`` a window's total and ``out = T ** (1/p)``,
    ``d out / d x_i = out / T * x_i ** (p - 1)`` for every input of the window (0 where T = 0,
    as in PyTorch); for ``p = inf`` the gradient goes to the largest ``|x|``, times its sign.

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    fn = "lp_pool2d_backward"
    p = _norm_type(fn, norm_type)
    g = pool_geometry(fn, x, kernel_size, stride, 0, 1, ceil_mode)
    check_dout(fn, dout, (g.N, g.C, g.H_out, g.W_out), x, "(N, C, H_out, W_out)")
    xp = get_array_module(dout, x)
    if p == math.inf:
        return max_backward(dout, xp.abs(x), g) * xp.sign(x)
    total = _lp_totals(x, p, g)
    safe = xp.where(total == 0, 1, total)
    scale = xp.where(total == 0, 0, dout * safe ** (1 / p) / safe)
    KH, KW = g.kernel
    # The total is a mean times KH*KW, so its gradient is the mean's (avg pooling's) times KH*KW.
    return avg_backward(scale * (KH * KW), x, g, True) * x ** (p - 1)


def _lp_window_naive(x, p: float, g: PoolGeometry, n: int, c: int, i: int, j: int):
    """The inputs of window (i, j) and PyTorch's total of x**p over them."""
    inside, count = avg_window_naive(g, i, j, True)
    total = sum(x[n, c, r, col] ** p for r, col in inside) * (g.kernel[0] * g.kernel[1] / count)
    return inside, total


def lp_pool2d_naive(x: Array, norm_type: float, kernel_size: IntOrPair,
                    stride: IntOrPair | None = None, ceil_mode: bool = False) -> Array:
    """:func:`lp_pool2d` as loops: the p-norm of each window.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """
    fn = "lp_pool2d_naive"
    p = _norm_type(fn, norm_type)
    g = pool_geometry(fn, x, kernel_size, stride, 0, 1, ceil_mode)
    out = get_array_module(x).zeros((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    for n in range(g.N):
        for c in range(g.C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    inside, total = _lp_window_naive(x, p, g, n, c, i, j)
                    out[n, c, i, j] = (max(abs(x[n, c, r, col]) for r, col in inside)
                                       if p == math.inf else total ** (1 / p))
    return out


def lp_pool2d_backward_naive(dout: Array, x: Array, norm_type: float, kernel_size: IntOrPair,
                             stride: IntOrPair | None = None, ceil_mode: bool = False) -> Array:
    """:func:`lp_pool2d_backward` as loops.

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    fn = "lp_pool2d_backward_naive"
    p = _norm_type(fn, norm_type)
    g = pool_geometry(fn, x, kernel_size, stride, 0, 1, ceil_mode)
    check_dout(fn, dout, (g.N, g.C, g.H_out, g.W_out), x, "(N, C, H_out, W_out)")
    dx = get_array_module(dout, x).zeros(x.shape, dtype=x.dtype)
    for n in range(g.N):
        for c in range(g.C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    inside, total = _lp_window_naive(x, p, g, n, c, i, j)
                    if p == math.inf:
                        r, col = max(inside, key=lambda rc: abs(x[n, c, rc[0], rc[1]]))
                        sign = float(x[n, c, r, col] > 0) - float(x[n, c, r, col] < 0)
                        dx[n, c, r, col] += dout[n, c, i, j] * sign
                        continue
                    if total == 0:
                        continue
                    scale = g.kernel[0] * g.kernel[1] / len(inside) * total ** (1 / p) / total
                    for r, col in inside:
                        dx[n, c, r, col] += dout[n, c, i, j] * scale * x[n, c, r, col] ** (p - 1)
    return dx


