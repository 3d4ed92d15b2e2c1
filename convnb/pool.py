"""Pooling: summarise each neighbourhood of a feature map by one number.

A pooling layer slides a window over every channel separately, as a convolution does, but instead
of a learned weighted sum it applies a fixed summary: the largest value (max pooling), the mean
(average pooling) or a p-norm (Lp pooling; p = 2 is "L2 pooling", p -> inf is max pooling of |x|).
It has no parameters. With the usual 2x2 window and stride 2 it keeps one number in four::

    out[n, c, i, j] = max_{u, v} xpad[n, c, i*sh + u*dh, j*sw + v*dw]          (max pooling)

Max pooling remembers *where* each maximum came from, the "switch" (``return_indices=True``
gives it as a flat index into ``H*W``, as PyTorch does). Backpropagation routes each output's
gradient to its switch and nowhere else; average pooling spreads it evenly over the window.

Why pool: the summary hardly cares where in its window a feature sits, so moving the input by a
pixel changes few outputs (approximate translation *invariance*), while moving it by a whole stride
moves the output by exactly one step (*equivariance*); and every later layer works on fewer numbers.

``*_naive`` functions are the definitions as loops over every output number; the others compute
the same numbers with whole-array operations on one strided view of the input per window offset
(loops over the KH*KW offsets only; sums go a row of offsets at a time, KH + KW additions).
The geometry and the window views they share are in :mod:`convnb.pool_windows`.
Lp pooling is in :mod:`convnb.lp_pool`; random pooling (stochastic, fractional) and
:func:`~convnb.pool_random.max_unpool2d`, the backward pass of any pooling that returns indices,
are in :mod:`convnb.pool_random`.
"""

from __future__ import annotations

import math

import numpy as np

from . import cuda
from ._checks import check_dout
from .backend import get_array_module, is_device_array
from .pool_windows import (
    PoolGeometry,
    offset_views,
    pool_geometry,
    pool_pad,
    window_sum,
    window_sum_adjoint,
)
from .types import Array, IntOrPair

__all__ = [
    "avg_pool2d", "avg_pool2d_backward", "avg_pool2d_backward_naive", "avg_pool2d_naive",
    "max_pool2d", "max_pool2d_backward", "max_pool2d_backward_naive", "max_pool2d_naive",
]


def _inside(pos: int, size: int) -> bool:
    return 0 <= pos < size


# --- max pooling ----------------------------------------------------------------------------------

def _tiles_the_input(g: PoolGeometry) -> bool:
    """True when the windows tile the input: stride == kernel, no padding, dilation or ceil_mode
    overhang. Then each input is in at most one window."""
    return (g.stride == g.kernel and g.padding == (0, 0) and g.dilation == (1, 1)
            and g.extra == (0, 0))


def _on_gpu(a: Array, g: PoolGeometry) -> bool:
    """True where :mod:`convnb.cuda`'s kernels take ``a`` and the pooling's sizes."""
    return cuda.usable(a, g.N * g.C * g.H * g.W, g.N * g.C * g.H_out * g.W_out)


def switches(x: Array, g: PoolGeometry) -> tuple[Array, Array]:
    """Maximum of every window and its offset ``u * KW + v``: the first maximum in row-major
    order, or the last NaN (PyTorch's rules).

    The KH*KW offsets are first copied into one contiguous array each, and the search uses only
    elementwise arithmetic: on strided views, or with a data-dependent ``where`` (its branch
    mispredicted on about every other number), it is several times slower.
    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out), offset (N, C, H_out, W_out) integer
    (int8 when the offsets fit)
    """
    xp = get_array_module(x)
    if _on_gpu(x, g):  # one kernel for the whole search
        return cuda.max_pool_switches(x, g)
    views = offset_views(pool_pad(x, g, -math.inf), g)
    K = len(views)
    stacked = xp.empty((K, g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    for k, view in enumerate(views):
        stacked[k] = view
    best = stacked[0].copy()  # a new array even for a 1x1 window
    offset = xp.zeros(best.shape, dtype=xp.int8 if K <= 128 else xp.int64)
    for k in range(1, K):  # a strictly larger value moves the switch: the first maximum wins
        larger = stacked[k] > best
        offset += larger * (offset.dtype.type(k) - offset)
        xp.maximum(best, stacked[k], out=best)  # NaN wins
    # A NaN maximum: the last NaN, as PyTorch's loop finds it. The host asks first whether
    # there is one (free on the CPU); a device always runs the pass, since asking would make
    # the host wait for the device in every training step.
    if is_device_array(best) or bool((best != best).any()):
        for k in range(K):
            nan = stacked[k] != stacked[k]
            offset = offset * ~nan + offset.dtype.type(k) * nan
    return best, offset


def window_max(x: Array, g: PoolGeometry) -> Array:
    """The maximum of every window, without looking for where it is.

    Shapes: x (N, C, H, W) -> (N, C, H_out, W_out)
    """
    xp = get_array_module(x)
    if _on_gpu(x, g):
        return switches(x, g)[0]
    views = offset_views(pool_pad(x, g, -math.inf), g)
    best = views[0].copy()
    for view in views[1:]:
        xp.maximum(best, view, out=best)
    return best


def flat_indices(out: Array, offset: Array, g: PoolGeometry) -> Array:
    """The switches as PyTorch returns them: the flat index ``row * W + col`` of each window's
    maximum in its input plane; a window that saw only padding or -inf gets its first position.

    Shapes: out, offset (N, C, H_out, W_out) -> indices (N, C, H_out, W_out) int64
    """
    xp = get_array_module(out, offset)
    offset = offset.astype(xp.int64)  # int8 offsets would overflow below
    KW, (sh, sw), (dh, dw), (ph, pw) = g.kernel[1], g.stride, g.dilation, g.padding
    rows = xp.arange(g.H_out)[:, None] * sh - ph + (offset // KW) * dh
    cols = xp.arange(g.W_out) * sw - pw + (offset % KW) * dw
    indices = xp.where(out == -math.inf, xp.asarray(g.first_index()), rows * g.W + cols)
    return indices.astype(xp.int64)


def max_pool2d(x: Array, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Array | tuple[Array, Array]:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : input, float array.
    kernel_size, stride, dilation : int or (rows, columns) pair; ``stride`` defaults to the window.
    padding : int or pair, at most half the (dilated) window; padded entries never win.
    ceil_mode : round the output size up, so a last partial window is kept (if it starts inside).
    return_indices : also return the switches: for each output, the flat index ``row * W + col``
        of its maximum in its input plane (int64). Ties go to the first maximum in row-major order;
        a window holding NaN gives NaN, with the index of its last NaN (as PyTorch).

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out) [, indices (N, C, H_out, W_out)], with
    ``H_out = (H + 2*pad - dilation*(KH-1) - 1) // stride + 1`` (rounded up with ``ceil_mode``).
    """
    g = pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return window_max(x, g)
    out, offset = switches(x, g)
    return out, flat_indices(out, offset, g)


def max_pool2d_backward(dout: Array, x: Array, kernel_size: IntOrPair,
                        stride: IntOrPair | None = None, padding: IntOrPair = 0,
                        dilation: IntOrPair = 1, ceil_mode: bool = False) -> Array:
    """Gradient of :func:`max_pool2d`: each ``dout`` entry goes to its window's maximum (the
    switch); an input that is the maximum of several overlapping windows collects them all.

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    fn = "max_pool2d_backward"
    g = pool_geometry(fn, x, kernel_size, stride, padding, dilation, ceil_mode)
    check_dout(fn, dout, (g.N, g.C, g.H_out, g.W_out), x, "(N, C, H_out, W_out)")
    return max_backward(dout, x, g)


def max_backward(dout: Array, x: Array, g: PoolGeometry) -> Array:
    """:func:`max_pool2d_backward` after its checks. Shapes: as there."""
    return route_to_max(dout, *switches(x, g), g)


def route_to_max(dout: Array, out: Array, offset: Array, g: PoolGeometry) -> Array:
    """Send each ``dout`` entry to its window's maximum, given the forward pass's ``out`` and
    ``offset`` (from :func:`switches`); a window that saw only padding or -inf sends nothing.

    Shapes: dout, out, offset (N, C, H_out, W_out) -> dx (N, C, H, W)
    """
    xp = get_array_module(dout, out, offset)
    if _on_gpu(dout, g):  # one kernel: each input sums the windows that chose it
        return cuda.max_pool_route(dout, out, offset, g)
    dout = xp.where(out == -math.inf, 0, dout)
    if not _tiles_the_input(g):
        return _add_at_switches(dout, offset, g)
    dx = xp.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)  # each input in one window at most
    dx[..., g.H_out * g.kernel[0]:, :] = 0  # rows and columns no window reaches
    dx[..., g.W_out * g.kernel[1]:] = 0
    # On the CPU, multiplying by the 0/1 mask is several times faster than a data-dependent
    # ``where``, but would turn a non-finite dout entry into NaN at the other offsets too. A
    # device always takes ``where`` (one kernel, and no wait for the device to answer).
    finite = not is_device_array(dout) and bool(xp.isfinite(dout).all())
    for k, view in enumerate(offset_views(dx, g)):
        hit = offset == k
        view[...] = dout * hit if finite else xp.where(hit, dout, 0)
    return dx


def _add_at_switches(dout: Array, offset: Array, g: PoolGeometry) -> Array:
    """:func:`route_to_max` for overlapping windows, where several may pick the same input: a
    histogram of the switches' positions in the whole input, weighted by ``dout``
    (``bincount``, one pass; it adds in float64, and the result is cast back to ``dout``'s
    dtype). A device adds with ``add.at`` instead (atomic adds in ``dout``'s dtype), since CuPy's
    ``bincount`` reads the largest position back to size its result, a wait for the device.
    Shapes: as there."""
    xp = get_array_module(dout, offset)
    KW, (sh, sw), (dh, dw), (ph, pw) = g.kernel[1], g.stride, g.dilation, g.padding
    k = np.arange(g.kernel[0] * KW)
    step = xp.asarray((k // KW) * dh * g.W + (k % KW) * dw)  # offset (u, v) -> flat distance
    first = (np.arange(g.H_out)[:, None] * sh - ph) * g.W + np.arange(g.W_out) * sw - pw
    plane = np.arange(g.N * g.C).reshape(g.N, g.C, 1, 1) * (g.H * g.W)
    where = step[offset]  # from window (i, j)'s first entry (in the padding, perhaps) to its switch
    where += xp.asarray(first)
    where += xp.asarray(plane)
    size = g.N * g.C * g.H * g.W
    xp.clip(where, 0, size - 1, out=where)  # a window that saw only padding sends 0 from there
    if is_device_array(dout):
        dx = xp.zeros(size, dtype=dout.dtype)
        xp.add.at(dx, where.ravel(), dout.ravel())
    else:
        dx = xp.bincount(where.ravel(), weights=dout.ravel(), minlength=size).astype(dout.dtype)
    return dx.reshape(g.N, g.C, g.H, g.W)


def _max_switch_naive(x: Array, g: PoolGeometry, n: int, c: int, i: int,
                      j: int) -> tuple[float, int]:
    """Largest value of window (i, j) and its flat index, scanning in row-major order (PyTorch's
    loop: the index starts at the window's first position and moves for a larger value or a NaN,
    so the first maximum wins a tie and the last NaN wins over everything)."""
    best, where = -math.inf, int(g.first_index()[i, j])
    for r in g.positions(0)[i]:
        for col in g.positions(1)[j]:
            if not (_inside(r, g.H) and _inside(col, g.W)):
                continue
            value = x[n, c, r, col]
            if value > best or value != value:
                best, where = value, int(r) * g.W + int(col)
    return best, where


def max_pool2d_naive(x: Array, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                     padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
                     return_indices: bool = False) -> Array | tuple[Array, Array]:
    """:func:`max_pool2d` as loops: the largest input in each window.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out) [, indices (N, C, H_out, W_out)]
    """
    g = pool_geometry("max_pool2d_naive", x, kernel_size, stride, padding, dilation, ceil_mode)
    xp = get_array_module(x)
    out = xp.zeros((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    indices = xp.zeros(out.shape, dtype=xp.int64)
    for n in range(g.N):
        for c in range(g.C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    out[n, c, i, j], indices[n, c, i, j] = _max_switch_naive(x, g, n, c, i, j)
    return (out, indices) if return_indices else out


def max_pool2d_backward_naive(dout: Array, x: Array, kernel_size: IntOrPair,
                              stride: IntOrPair | None = None, padding: IntOrPair = 0,
                              dilation: IntOrPair = 1, ceil_mode: bool = False) -> Array:
    """:func:`max_pool2d_backward` as loops: ``dx[switch] += dout`` for every output.

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    fn = "max_pool2d_backward_naive"
    g = pool_geometry(fn, x, kernel_size, stride, padding, dilation, ceil_mode)
    check_dout(fn, dout, (g.N, g.C, g.H_out, g.W_out), x, "(N, C, H_out, W_out)")
    dx = get_array_module(dout, x).zeros((g.N, g.C, g.H * g.W), dtype=x.dtype)
    for n in range(g.N):
        for c in range(g.C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    best, switch = _max_switch_naive(x, g, n, c, i, j)
                    if best != -math.inf:  # a NaN maximum takes the gradient, as in PyTorch
                        dx[n, c, switch] += dout[n, c, i, j]
    return dx.reshape(x.shape)


# --- average pooling ------------------------------------------------------------------------------

def _axis_counts(g: PoolGeometry, axis: int, count_include_pad: bool) -> np.ndarray:
    """How many rows (axis 0) or columns (axis 1) each window averages over, by PyTorch's rule:
    padding counts with ``count_include_pad``, but the part of a ``ceil_mode`` window past the
    padding never does. Shapes: -> (H_out,) or (W_out,)"""
    size, p = (g.H, g.W)[axis], g.padding[axis]
    low, high = (0, size) if not count_include_pad else (-p, size + p)
    pos = g.positions(axis)
    return ((pos >= low) & (pos < high)).sum(axis=1)


def avg_pool_divisor(g: PoolGeometry, x: Array, count_include_pad: bool) -> Array:
    """The number average pooling divides each window's sum by: how many inputs it averages.

    Shapes: -> (H_out, W_out), on the device and in the dtype of ``x``
    """
    rows, cols = (_axis_counts(g, axis, count_include_pad) for axis in (0, 1))
    return get_array_module(x).asarray(np.outer(rows, cols).astype(x.dtype))


def avg_pool2d(x: Array, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Array:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``: each window's sum over its size.

    Parameters
    ----------
    x : input, float array.
    kernel_size, stride, padding, ceil_mode : as in :func:`max_pool2d` (no dilation).
    count_include_pad : count the padded zeros in the window's size (the default, as PyTorch);
        the part of a ``ceil_mode`` window past the padding is never counted.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """
    g = pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if _on_gpu(x, g):  # one kernel: each window's sum and size
        return cuda.avg_pool_forward(x, g, count_include_pad)
    sums = window_sum(x, g)
    sums /= avg_pool_divisor(g, x, count_include_pad)
    return sums


def avg_pool2d_backward(dout: Array, x: Array, kernel_size: IntOrPair,
                        stride: IntOrPair | None = None, padding: IntOrPair = 0,
                        ceil_mode: bool = False, count_include_pad: bool = True) -> Array:
    """Gradient of :func:`avg_pool2d`: each ``dout`` entry is shared equally by the inputs of its
    window (``dout / avg_pool_divisor``).

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    fn = "avg_pool2d_backward"
    g = pool_geometry(fn, x, kernel_size, stride, padding, 1, ceil_mode)
    check_dout(fn, dout, (g.N, g.C, g.H_out, g.W_out), x, "(N, C, H_out, W_out)")
    return avg_backward(dout, x, g, count_include_pad)


def avg_backward(dout: Array, x: Array, g: PoolGeometry, count_include_pad: bool) -> Array:
    """:func:`avg_pool2d_backward` after its checks. Shapes: as there."""
    if _on_gpu(dout, g):  # one kernel: each input adds its windows' shares
        return cuda.avg_pool_backward(dout, g, count_include_pad)
    share = dout / avg_pool_divisor(g, x, count_include_pad)
    if not _tiles_the_input(g):
        return window_sum_adjoint(share, g)
    xp = get_array_module(dout, x)
    dx = xp.empty((g.N, g.C, g.H, g.W), dtype=share.dtype)  # each input in one window at most
    dx[..., g.H_out * g.kernel[0]:, :] = 0  # rows and columns no window reaches
    dx[..., g.W_out * g.kernel[1]:] = 0
    for view in offset_views(dx, g):
        view[...] = share
    return dx


def avg_window_naive(g: PoolGeometry, i: int, j: int, count_include_pad: bool):
    """The input positions of window (i, j) and the number PyTorch divides their sum by."""
    inside = [(int(r), int(c)) for r in g.positions(0)[i] for c in g.positions(1)[j]
              if _inside(r, g.H) and _inside(c, g.W)]
    if not count_include_pad:
        return inside, len(inside)
    (ph, pw) = g.padding
    padded = [(r, c) for r in g.positions(0)[i] for c in g.positions(1)[j]
              if -ph <= r < g.H + ph and -pw <= c < g.W + pw]
    return inside, len(padded)


def avg_pool2d_naive(x: Array, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                     padding: IntOrPair = 0, ceil_mode: bool = False,
                     count_include_pad: bool = True) -> Array:
    """:func:`avg_pool2d` as loops: the window's sum over its size.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """
    g = pool_geometry("avg_pool2d_naive", x, kernel_size, stride, padding, 1, ceil_mode)
    out = get_array_module(x).zeros((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    for n in range(g.N):
        for c in range(g.C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    inside, divisor = avg_window_naive(g, i, j, count_include_pad)
                    out[n, c, i, j] = sum(x[n, c, r, col] for r, col in inside) / divisor
    return out


def avg_pool2d_backward_naive(dout: Array, x: Array, kernel_size: IntOrPair,
                              stride: IntOrPair | None = None, padding: IntOrPair = 0,
                              ceil_mode: bool = False, count_include_pad: bool = True) -> Array:
    """:func:`avg_pool2d_backward` as loops.

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    fn = "avg_pool2d_backward_naive"
    g = pool_geometry(fn, x, kernel_size, stride, padding, 1, ceil_mode)
    check_dout(fn, dout, (g.N, g.C, g.H_out, g.W_out), x, "(N, C, H_out, W_out)")
    dx = get_array_module(dout, x).zeros(x.shape, dtype=x.dtype)
    for n in range(g.N):
        for c in range(g.C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    inside, divisor = avg_window_naive(g, i, j, count_include_pad)
                    for r, col in inside:
                        dx[n, c, r, col] += dout[n, c, i, j] / divisor
    return dx
