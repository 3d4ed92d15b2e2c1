"""Pooling's geometry and its windows, shared by max and average pooling (:mod:`convnb.pool`),
Lp pooling (:mod:`convnb.lp_pool`) and random pooling (:mod:`convnb.pool_random`).

:func:`pool_geometry` checks a pooling's arguments once and works out its sizes
(:class:`PoolGeometry`). The rest reads the windows in the ways the fast paths need: every window
at once as a strided view (:func:`pool_windows`), one view per window offset (:func:`offset_views`),
or, for sums, a row of offsets at a time (:func:`window_sum` and its adjoint).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import check_array, pair
from .arithmetic import pool_output_size
from .backend import get_array_module
from .types import Array, IntOrPair
from .windows import inside, sliding_windows


class PoolGeometry(NamedTuple):
    """A pooling's sizes, checked once. ``extra`` counts the rows/columns past the padded input
    that ``ceil_mode`` windows reach (they read nothing there)."""

    N: int
    C: int
    H: int
    W: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    H_out: int
    W_out: int
    extra: tuple[int, int]

    def positions(self, axis: int) -> np.ndarray:
        """Input row (axis 0) or column (axis 1) of every (output, window offset) pair.

        Shapes: -> (H_out, KH) or (W_out, KW); padding gives negative or too large positions.
        """
        out = (self.H_out, self.W_out)[axis]
        return (np.arange(out)[:, None] * self.stride[axis] - self.padding[axis]
                + np.arange(self.kernel[axis])[None, :] * self.dilation[axis])

    def first_index(self) -> np.ndarray:
        """PyTorch's index for a window that sees nothing above -inf: its first row and column at
        or past 0. Shapes: -> (H_out, W_out)"""
        firsts = []
        for axis in (0, 1):
            start, d = self.positions(axis)[:, 0], self.dilation[axis]
            firsts.append(start + (np.maximum(-start, 0) + d - 1) // d * d)
        return np.add.outer(firsts[0] * self.W, firsts[1])


def pool_options(fn: str, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, dilation: IntOrPair = 1,
                 ceil_mode: bool = False) -> tuple[tuple[int, int], ...]:
    """Check the arguments of a pooling that do not depend on its input (see
    :func:`convnb.pool.max_pool2d`); pooling layers check them when they are built. Returns
    kernel, stride, padding and dilation, each as a pair (rows, columns)."""
    kernel = pair(kernel_size, "kernel_size", fn)
    stride = kernel if stride is None else pair(stride, "stride", fn)
    dilation = pair(dilation, "dilation", fn)
    padding = pair(padding, "padding", fn, minimum=0)
    if not isinstance(ceil_mode, bool | np.bool_):
        raise TypeError(f"{fn}: ceil_mode must be True or False, got {ceil_mode!r}")
    for axis, k, p in zip(("height", "width"), kernel, padding, strict=True):
        if p > k // 2:  # PyTorch's rule: half the kernel, whatever the dilation
            raise ValueError(f"{fn}: padding must be at most half the kernel_size, got padding "
                             f"{p} for a kernel {axis} of {k}")
    return kernel, stride, padding, dilation


def pool_geometry(fn: str, x: Array, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                  padding: IntOrPair = 0, dilation: IntOrPair = 1,
                  ceil_mode: bool = False) -> PoolGeometry:
    """Check a pooling's arguments (see :func:`convnb.pool.max_pool2d`) and work out its sizes."""
    check_array(x, "x", fn, "(N, C, H, W)")
    kernel, stride, padding, dilation = pool_options(fn, kernel_size, stride, padding, dilation,
                                                     ceil_mode)
    N, C, H, W = x.shape
    out, extra = [], []
    for axis, size, k, s, p, d in zip(("height", "width"), (H, W), kernel, stride, padding,
                                      dilation, strict=True):
        span = d * (k - 1) + 1
        if span > size + 2 * p:
            raise ValueError(f"{fn}: the window {axis} {span} (kernel_size {k}, dilation {d}) is "
                             f"larger than the padded input {axis} {size + 2 * p} "
                             f"({size} + 2*{p} padding)")
        o = pool_output_size(size, k, s, p, d, ceil_mode)
        out.append(o)
        extra.append(max(0, (o - 1) * s + span - (size + 2 * p)))
    return PoolGeometry(N, C, H, W, kernel, stride, padding, dilation, out[0], out[1],
                        (extra[0], extra[1]))


def pool_pad(x: Array, g: PoolGeometry, fill: float) -> Array:
    """The input with ``fill`` around it: the padding, and the rows and columns past it that
    ``ceil_mode`` windows reach. Shapes: x (N, C, H, W) -> (N, C, Hp, Wp)"""
    (ph, pw), (eh, ew) = g.padding, g.extra
    if not (ph or pw or eh or ew):
        return x
    xp = get_array_module(x)
    xpad = xp.full((g.N, g.C, g.H + 2 * ph + eh, g.W + 2 * pw + ew), fill, dtype=x.dtype)
    xpad[..., ph:ph + g.H, pw:pw + g.W] = x
    return xpad


def pool_windows(x: Array, g: PoolGeometry, fill: float) -> Array:
    """Every window, reading ``fill`` outside the input. Shapes: -> (N, C, H_out, W_out, KH, KW)"""
    return sliding_windows(pool_pad(x, g, fill), g.kernel, g.stride, g.dilation,
                           (g.H_out, g.W_out))


def _offset_slices(g: PoolGeometry, axis: int) -> list[slice]:
    """For each window offset along ``axis``, the padded rows (columns) it reads in every window."""
    k, s, d, out = g.kernel[axis], g.stride[axis], g.dilation[axis], (g.H_out, g.W_out)[axis]
    return [slice(u * d, u * d + s * (out - 1) + 1, s) for u in range(k)]


def offset_views(xpad: Array, g: PoolGeometry) -> list[Array]:
    """One strided view per window offset ``k = u * KW + v``: ``views[k][..., i, j]`` is
    ``xpad[..., i*sh + u*dh, j*sw + v*dw]``, offset (u, v) of window (i, j). The fast paths loop
    over these (KH*KW elementwise operations on whole arrays), never over windows.

    Shapes: xpad (N, C, Hp, Wp) -> KH*KW views of (N, C, H_out, W_out)
    """
    return [xpad[..., rows, cols] for rows in _offset_slices(g, 0) for cols in _offset_slices(g, 1)]


def inside_slices(g: PoolGeometry, axis: int) -> list[tuple[int, slice, slice]]:
    """For each window offset ``u`` along ``axis`` (rows 0, columns 1) that reaches the input:
    ``(u, outputs, inputs)``, the outputs whose entry at offset ``u`` lies inside the input and the
    input rows (columns) those entries are. Padding and ``ceil_mode``'s overhang are left out:
    they add nothing to a sum, and never hold a gradient's switch."""
    size, k, s = (g.H, g.W)[axis], g.kernel[axis], g.stride[axis]
    d, p, out = g.dilation[axis], g.padding[axis], (g.H_out, g.W_out)[axis]
    spans = [(u, inside(size, p, u * d, s, out)) for u in range(k)]  # i reads i*s + u*d - p
    return [(u, *span) for u, span in spans if span is not None]


def add_up(terms: list[tuple[slice, Array]], shape: tuple[int, ...], axis: int,
           step: int) -> Array:
    """The array of ``shape`` that is the sum of ``terms``, pairs ``(where, values)`` adding
    ``values`` into ``out[..., where]`` along ``axis`` (-1 or -2); each ``where`` is a slice with
    this ``step``. Each class of positions ``r, r + step, ...`` starts from the sum of the terms
    that cover it whole (written once, without first writing zeros and adding to them).
    """
    xp = get_array_module(terms[0][1])  # every geometry has an offset inside the input
    out = xp.empty(shape, dtype=terms[0][1].dtype)
    n = shape[axis]

    def at(where: slice) -> tuple:
        return (..., where) if axis == -1 else (..., where, slice(None))

    for r in range(step):
        mine = [(where, values) for where, values in terms if where.start % step == r]
        whole = [values for where, values in mine if values.shape[axis] == len(range(r, n, step))]
        cls = at(slice(r, n, step))
        if len(whole) >= 2:
            xp.add(whole[0], whole[1], out=out[cls])
        elif whole:
            out[cls] = whole[0]
        else:
            out[cls] = 0
        for where, values in mine:
            if not any(values is first for first in whole[:2]):  # not already in
                out[at(where)] += values
    return out


def window_sum(x: Array, g: PoolGeometry) -> Array:
    """The sum of every window's entries inside the input, a row of offsets at a time
    (separable: KH additions over the rows, then KW over the columns, instead of KH*KW). Rows
    first: a strided step over whole rows reads contiguous runs, so the input, the larger array,
    takes that step, and the column step is left for the smaller one.

    Shapes: x (N, C, H, W) -> (N, C, H_out, W_out)
    """
    down = add_up([(outs, x[..., ins, :]) for _, outs, ins in inside_slices(g, 0)],
                  (g.N, g.C, g.H_out, g.W), -2, 1)
    return add_up([(outs, down[..., ins]) for _, outs, ins in inside_slices(g, 1)],
                  (g.N, g.C, g.H_out, g.W_out), -1, 1)


def window_sum_adjoint(share: Array, g: PoolGeometry) -> Array:
    """Adjoint of :func:`window_sum`: every input position collects the ``share`` of each window
    it lies in (columns first, on the smaller array; then rows).

    Shapes: share (N, C, H_out, W_out) -> (N, C, H, W)
    """
    across = add_up([(ins, share[..., outs]) for _, outs, ins in inside_slices(g, 1)],
                    (g.N, g.C, g.H_out, g.W), -1, g.stride[1])
    return add_up([(ins, across[..., outs, :]) for _, outs, ins in inside_slices(g, 0)],
                  (g.N, g.C, g.H, g.W), -2, g.stride[0])
