"""Padding and sliding windows: the two pieces every convolution and pooling is built from.

``sliding_windows`` turns a padded input into a view of every kernel placement (the "im2col"
view, without copying); ``fold_windows`` is its adjoint, adding each placement's entries back
where they came from. ``pad2d`` and ``pad2d_backward`` are a pair in the same way. Loops here
run over kernel offsets only, never over pixels or examples.
"""

from __future__ import annotations

import numpy as np

from .backend import get_array_module
from .types import Array

_NUMPY_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _check_pad_fits(size: tuple[int, int], pads: tuple[int, int, int, int], mode: str, fn: str):
    limits = {"reflect": ("smaller than", 1), "circular": ("at most", 0)}
    if mode not in limits:
        return
    words, margin = limits[mode]
    for axis, extent, amounts in (("height", size[0], pads[:2]), ("width", size[1], pads[2:])):
        if max(amounts) > extent - margin:
            raise ValueError(
                f"{fn}: padding_mode={mode!r} needs padding {words} the input {axis} "
                f"({extent}), got padding {max(amounts)}"
            )


def pad2d(
    x: Array, pads: tuple[int, int, int, int], mode: str = "zeros", value: float = 0.0,
    fn: str = "pad2d",
) -> Array:
    """Pad the last two axes of ``x`` by ``pads`` = (top, bottom, left, right).

    ``mode`` is ``"zeros"`` (``value`` everywhere outside), ``"reflect"`` (mirror without repeating
    the edge), ``"replicate"`` (repeat the edge) or ``"circular"`` (wrap around).

    Shapes: x (..., H, W) -> (..., H + top + bottom, W + left + right)
    """
    if not any(pads):
        return x
    _check_pad_fits(x.shape[-2:], pads, mode, fn)
    xp = get_array_module(x)
    widths = [(0, 0)] * (x.ndim - 2) + [(pads[0], pads[1]), (pads[2], pads[3])]
    if mode == "zeros":
        return xp.pad(x, widths, mode="constant", constant_values=value)
    return xp.pad(x, widths, mode=_NUMPY_PAD_MODE[mode])


def source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """For each position of a padded axis, the input position it copies (-1 for a zero).

    Shapes: -> (before + n + after,)
    """
    i = np.arange(-before, n + after)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i > n - 1, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    return np.where((i >= 0) & (i < n), i, -1)


def pad2d_backward(dxpad: Array, size: tuple[int, int], pads: tuple[int, int, int, int],
                   mode: str = "zeros") -> Array:
    """Adjoint of :func:`pad2d`: send each padded position's gradient back to its source.

    A copied pixel (reflect, replicate, circular) collects the gradient of all its copies.

    Shapes: dxpad (..., Hp, Wp) -> (..., H, W) with (H, W) = ``size``
    """
    if not any(pads):
        return dxpad
    H, W = size
    top, _, left, _ = pads
    if mode == "zeros":
        return dxpad[..., top:top + H, left:left + W]
    xp = get_array_module(dxpad)
    # One-hot matrices: route[i, p] = 1 when padded position p copies input position i.
    rows = np.arange(H)[:, None] == source_index(H, pads[0], pads[1], mode)[None, :]
    cols = np.arange(W)[:, None] == source_index(W, pads[2], pads[3], mode)[None, :]
    rows = xp.asarray(rows.astype(dxpad.dtype))
    cols = xp.asarray(cols.astype(dxpad.dtype))
    return xp.matmul(xp.matmul(rows, dxpad), cols.T)


def sliding_windows(
    xpad: Array, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
    out_size: tuple[int, int],
) -> Array:
    """A read-only view of every kernel placement on ``xpad`` (no copy is made).

    ``windows[..., i, j, u, v] == xpad[..., i*sh + u*dh, j*sw + v*dw]``.

    Shapes: xpad (..., Hp, Wp) -> (..., H_out, W_out, KH, KW)
    """
    xp = get_array_module(xpad)
    (KH, KW), (sh, sw), (dh, dw), (H_out, W_out) = kernel, stride, dilation, out_size
    *lead, sH, sW = xpad.strides
    shape = (*xpad.shape[:-2], H_out, W_out, KH, KW)
    strides = (*lead, sH * sh, sW * sw, sH * dh, sW * dw)
    return xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)


def fold_windows(
    cols: Array, padded_size: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
    out: Array | None = None,
) -> Array:
    """Adjoint of :func:`sliding_windows`: add every window entry back onto the padded input.

    ``out``, if given, is a zeroed array of the result's shape to add into and return. Its memory
    layout sets the length of the contiguous runs each addition moves: a view of a batch-last
    buffer, for example, makes them ``W_out * N`` numbers long instead of ``W_out``.

    Shapes: cols (..., H_out, W_out, KH, KW) -> (..., Hp, Wp) with (Hp, Wp) = ``padded_size``
    """
    xp = get_array_module(cols)
    *lead, H_out, W_out, KH, KW = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    if out is None:
        out = xp.zeros((*lead, *padded_size), dtype=cols.dtype)
    for u in range(KH):
        for v in range(KW):
            rows = slice(u * dh, u * dh + sh * (H_out - 1) + 1, sh)
            columns = slice(v * dw, v * dw + sw * (W_out - 1) + 1, sw)
            out[..., rows, columns] += cols[..., u, v]
    return out


def inside(size: int, pad: int, offset: int, stride: int, n_out: int) -> tuple[slice, slice] | None:
    """Along one axis: the outputs ``i`` whose window entry at ``offset`` lies inside the input,
    ``0 <= i*stride + offset - pad < size``, and the input positions those entries are, as
    ``(outputs, inputs)`` slices; ``None`` when that entry is padding for every output."""
    first = max(0, -(-(pad - offset) // stride))
    stop = min(n_out, (size - 1 + pad - offset) // stride + 1)
    if stop <= first:
        return None
    start = first * stride + offset - pad
    return slice(first, stop), slice(start, start + stride * (stop - first - 1) + 1, stride)

