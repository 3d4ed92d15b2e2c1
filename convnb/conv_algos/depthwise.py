"""Direct convolution of a depthwise layer (one input channel and one filter per group) on a flat
frame.

Lay the zero-padded input out channel by channel, (C, N, Hp, Wp), and flatten it: the "frame".
For tap ``(u, v)`` every position of the frame reads the one ``u*dh`` rows and ``v*dw`` columns
further on, which in the flat array is the fixed offset ``u*dh*Wp + v*dw``. So a tap's shifted
input is a contiguous slice of one array, and the tap is one multiply by each channel's weight and
one addition, over runs of ``N*Hp*Wp`` numbers: no matrix product, no patch matrix, no short rows.
The frame computes every kernel placement on the padded input and the output keeps every
``stride``-th; placements near the right and bottom edges read across into the next row or image
and are among those dropped. The batch is done a chunk of examples at a time, each chunk's frame
about :data:`CHUNK_BYTES` (1 MiB), so that the few arrays of a chunk stay in the cache.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from ..backend import get_array_module
from ..geometry import batch_chunks
from ..types import Array

if TYPE_CHECKING:
    from ..geometry import ConvGeometry


@lru_cache(maxsize=256)  # asked for once per tap: _shifted needs the largest
def _offsets(g: ConvGeometry) -> tuple[tuple[int, int, int], ...]:
    """``(u, v, offset)`` of every tap in the flat frame."""
    Wp = g.padded_size[1]
    (dh, dw) = g.dilation
    return tuple((u, v, u * dh * Wp + v * dw) for u in range(g.KH) for v in range(g.KW))


CHUNK_BYTES = 2**20  # frames of about this size, so that a chunk's arrays stay in the cache


def _chunks(g: ConvGeometry, itemsize: int) -> list[slice]:
    return batch_chunks(g.N, g.C * g.padded_size[0] * g.padded_size[1] * itemsize, CHUNK_BYTES)


def _flat_frame(xp, a: Array, g: ConvGeometry, at_pixels: bool) -> Array:
    """``a`` laid out on the frame, flat, followed by as many zeros as the largest tap offset.

    ``at_pixels``: ``a`` is the input (n, C, H, W), placed inside the padding; otherwise it is
    the output gradient (n, C, H_out, W_out), placed at the top-left corner of its windows.

    Shapes: a (n, C, h, w) -> (C*n*Hp*Wp + largest offset,)
    """
    n, (Hp, Wp) = a.shape[0], g.padded_size
    size = g.C * n * Hp * Wp
    flat = xp.zeros(size + _offsets(g)[-1][2], dtype=a.dtype)
    frame = flat[:size].reshape(g.C, n, Hp, Wp)
    if at_pixels:
        top, _, left, _ = g.pads
        frame[:, :, top:top + g.H, left:left + g.W] = a.transpose(1, 0, 2, 3)
    else:
        (sh, sw) = g.stride
        frame[:, :, : sh * (g.H_out - 1) + 1 : sh, : sw * (g.W_out - 1) + 1 : sw] = (
            a.transpose(1, 0, 2, 3))
    return flat


def _shifted(flat: Array, offset: int, g: ConvGeometry) -> Array:
    """The frame of a chunk shifted by ``offset``, a view.

    Shapes: flat (C*n*Hp*Wp + largest offset,) -> (C, n*Hp*Wp)
    """
    size = flat.shape[0] - _offsets(g)[-1][2]
    return flat[offset:offset + size].reshape(g.C, -1)


def forward(x: Array, w: Array, g: ConvGeometry) -> Array:
    """Shapes: x (N, C, H, W), w (C, 1, KH, KW) -> out (N, C, H_out, W_out)"""
    xp = get_array_module(x, w)
    (Hp, Wp), (sh, sw) = g.padded_size, g.stride
    taps = w.reshape(g.C, g.KH * g.KW, 1)
    out = xp.empty((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    for part in _chunks(g, x.dtype.itemsize):
        flat = _flat_frame(xp, x[part], g, at_pixels=True)
        acc = product = None
        for k, (_, _, offset) in enumerate(_offsets(g)):
            if acc is None:
                acc = _shifted(flat, offset, g) * taps[:, k]
                product = xp.empty_like(acc)
                continue
            xp.multiply(_shifted(flat, offset, g), taps[:, k], out=product)
            acc += product
        frame = acc.reshape(g.C, -1, Hp, Wp)
        out[part] = frame[:, :, : sh * (g.H_out - 1) + 1 : sh,
                          : sw * (g.W_out - 1) + 1 : sw].transpose(1, 0, 2, 3)
    return out


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """Each tap adds ``w[c, u, v] * dout`` back onto the positions it read.

    Shapes: dout (N, C, H_out, W_out), w (C, 1, KH, KW) -> dx (N, C, H, W)
    """
    xp = get_array_module(dout, w)
    (Hp, Wp), (top, _, left, _) = g.padded_size, g.pads
    taps = w.reshape(g.C, g.KH * g.KW, 1)
    dx = xp.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    for part in _chunks(g, dout.dtype.itemsize):
        flat = _flat_frame(xp, dout[part], g, at_pixels=False)
        grads = _shifted(flat, 0, g)
        dflat = xp.zeros_like(flat)
        product = xp.empty_like(grads)
        for k, (_, _, offset) in enumerate(_offsets(g)):
            xp.multiply(grads, taps[:, k], out=product)
            target = _shifted(dflat, offset, g)
            target += product
        dxpad = _shifted(dflat, 0, g).reshape(g.C, -1, Hp, Wp)
        dx[part] = dxpad[:, :, top:top + g.H, left:left + g.W].transpose(1, 0, 2, 3)
    return dx


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """Each tap's weight gets ``dout`` dotted with the input it read, per channel: a batch of
    ``C`` products of a (1, P) row by a (P, 1) column, which NumPy hands to BLAS (bench row
    "depthwise", two threads: 1.9 ms, against 3.2 ms for the same dots as
    ``einsum("cp,cp->c", ...)``).

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dw (C, 1, KH, KW)
    """
    xp = get_array_module(dout, x)
    dw = xp.zeros((g.C, g.KH * g.KW), dtype=x.dtype)
    for part in _chunks(g, x.dtype.itemsize):
        flat = _flat_frame(xp, x[part], g, at_pixels=True)
        grads = _shifted(_flat_frame(xp, dout[part], g, at_pixels=False), 0, g)[:, None, :]
        for k, (_, _, offset) in enumerate(_offsets(g)):
            dw[:, k] += xp.matmul(grads, _shifted(flat, offset, g)[:, :, None])[:, 0, 0]
    return dw.reshape(g.C, 1, g.KH, g.KW)
