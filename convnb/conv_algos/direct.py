"""Direct convolution: shift and accumulate over the kernel taps.

For each tap ``(u, v)`` every output pixel reads the input shifted by ``(u*dh, v*dw)``, so::

    out[:, f, i, j] += sum_c w[f, c, u, v] * x[:, c, i*sh + u*dh - top, j*sw + v*dw - left]

is one matrix product over the channels of each group, for the whole batch at once. There are
``KH*KW`` Python iterations and no patch matrix; zero padding is never materialised: each tap
touches only the output pixels whose input lies inside ``x`` (:func:`tap_slices`). A depthwise
layer (one input channel and one filter per group) has no channels to multiply over: it is an
elementwise multiply-add per tap, done by :mod:`.depthwise`.

On a GPU (CuPy arrays) each function is instead one kernel of :mod:`convnb.cuda` for any layer,
depthwise or not, with one thread per output, input pixel or weight: a small layer's pass in a
single launch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import cuda
from ..backend import get_array_module
from ..types import Array
from ..windows import inside
from . import depthwise

if TYPE_CHECKING:
    from ..geometry import ConvGeometry


def tap_slices(g: ConvGeometry, u: int, v: int):
    """``(out_rows, out_cols), (x_rows, x_cols)`` for tap ``(u, v)``; ``None`` if it reads only
    padding."""
    rows = inside(g.H, g.pads[0], u * g.dilation[0], g.stride[0], g.H_out)
    cols = inside(g.W, g.pads[2], v * g.dilation[1], g.stride[1], g.W_out)
    if rows is None or cols is None:
        return None
    return (rows[0], cols[0]), (rows[1], cols[1])


def _taps(g: ConvGeometry):
    for u in range(g.KH):
        for v in range(g.KW):
            slices = tap_slices(g, u, v)
            if slices is not None:
                yield u, v, *slices


def _is_depthwise(g: ConvGeometry) -> bool:
    return g.C == g.groups == g.F


def _group_rows(xp, a: Array, g: ConvGeometry, per_group: int) -> Array:
    """Shapes: a (N, G*per_group, h, w), any strides -> (N, G, per_group, h*w), contiguous"""
    n, _, h, w = a.shape
    return xp.ascontiguousarray(a).reshape(n, g.groups, per_group, h * w)


def _on_gpu(a: Array, g: ConvGeometry) -> bool:
    """True where :mod:`convnb.cuda`'s kernels take ``a`` and the layer's sizes."""
    return cuda.usable(a, g.N * g.C * g.H * g.W, g.N * g.F * g.H_out * g.W_out)


def forward(x: Array, w: Array, g: ConvGeometry, b: Array | None = None) -> Array:
    """Zero-padded convolution plus the bias ``b`` if given.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    if _on_gpu(x, g):
        return cuda.direct_forward(x, w, b, g)
    xp = get_array_module(x, w)
    out = depthwise.forward(x, w, g) if _is_depthwise(g) else _forward(xp, x, w, g)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def _forward(xp, x: Array, w: Array, g: ConvGeometry) -> Array:
    """Per tap ``(u, v)``, one product of each group's ``w[:, :, u, v]`` by the input pixels
    that tap reads, added onto the outputs they reach (taps in the padding are skipped).

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW) -> out (N, F, H_out, W_out)
    """
    G, Cg, Fg = g.groups, g.C // g.groups, g.F // g.groups
    out = xp.zeros((g.N, G, Fg, g.H_out, g.W_out), dtype=x.dtype)
    wg = w.reshape(G, Fg, Cg, g.KH, g.KW)
    for u, v, (out_rows, out_cols), (x_rows, x_cols) in _taps(g):
        target = out[:, :, :, out_rows, out_cols]
        shifted = _group_rows(xp, x[:, :, x_rows, x_cols], g, Cg)
        h, w_ = target.shape[-2:]
        target += xp.matmul(wg[:, :, :, u, v], shifted).reshape(g.N, G, Fg, h, w_)
    return out.reshape(g.N, g.F, g.H_out, g.W_out)


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """``dx`` of the zero-padded convolution: each tap sends ``w[:, :, u, v].T @ dout`` back onto
    the shifted input it read (a transposed convolution).

    Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W)
    """
    if _on_gpu(dout, g):
        return cuda.direct_input_grad(dout, w, g)
    if _is_depthwise(g):
        return depthwise.input_grad(dout, w, g)
    xp = get_array_module(dout, w)
    G, Cg, Fg = g.groups, g.C // g.groups, g.F // g.groups
    dx = xp.zeros((g.N, G, Cg, g.H, g.W), dtype=dout.dtype)
    wg = w.reshape(G, Fg, Cg, g.KH, g.KW)
    for u, v, (out_rows, out_cols), (x_rows, x_cols) in _taps(g):
        target = dx[:, :, :, x_rows, x_cols]
        grads = _group_rows(xp, dout[:, :, out_rows, out_cols], g, Fg)
        h, w_ = target.shape[-2:]
        w_tap = wg[:, :, :, u, v].transpose(0, 2, 1)  # (G, Cg, Fg)
        target += xp.matmul(w_tap, grads).reshape(g.N, G, Cg, h, w_)
    return dx.reshape(g.N, g.C, g.H, g.W)


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """``dw`` of the zero-padded convolution: for each tap, ``dout`` against the shifted input,
    summed over examples and pixels.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)
    """
    if _on_gpu(x, g):
        return cuda.direct_weight_grad(dout, x, g)
    if _is_depthwise(g):
        return depthwise.weight_grad(dout, x, g)
    xp = get_array_module(dout, x)
    G, Cg, Fg = g.groups, g.C // g.groups, g.F // g.groups
    dw = xp.zeros((G, Fg, Cg, g.KH, g.KW), dtype=x.dtype)
    for u, v, (out_rows, out_cols), (x_rows, x_cols) in _taps(g):
        grads = _group_rows(xp, dout[:, :, out_rows, out_cols], g, Fg)  # (N, G, Fg, P)
        shifted = _group_rows(xp, x[:, :, x_rows, x_cols], g, Cg)       # (N, G, Cg, P)
        dw[:, :, :, u, v] = xp.matmul(grads, shifted.transpose(0, 1, 3, 2)).sum(axis=0)
    return dw.reshape(g.F, Cg, g.KH, g.KW)
