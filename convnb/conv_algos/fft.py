"""FFT convolution: products of Fourier transforms instead of sums over the kernel.

By the convolution theorem a cross-correlation is ``ifft(fft(x) * conj(fft(w)))``, once the
kernel, dilated by inserting zeros, is zero-filled to the padded input's size (Hp, Wp). The
transforms are circular: positions past the last full kernel placement wrap around the edge, so
only the valid ones are kept, every ``stride``-th. The cost hardly depends on the kernel's size,
which is why this method pays for large kernels; for 3 x 3 kernels the transforms of the filters,
each blown up to a whole image, cost more than they save.

The backward passes are transforms too: ``dx`` convolves (no conjugate) the output gradient,
spread back to its stride, with the kernels; ``dw`` correlates the input with that gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..backend import get_array_module
from ..types import Array
from ..windows import pad2d

if TYPE_CHECKING:
    from ..geometry import ConvGeometry


def _spread(xp, dout: Array, g: ConvGeometry) -> Array:
    """``dout`` placed at the top-left corner of the output pixels' windows on the padded input.

    Shapes: dout (N, F, H_out, W_out) -> (N, F, Hp, Wp)
    """
    (sh, sw), (Hp, Wp) = g.stride, g.padded_size
    spread = xp.zeros((g.N, g.F, Hp, Wp), dtype=dout.dtype)
    spread[:, :, : sh * (g.H_out - 1) + 1 : sh, : sw * (g.W_out - 1) + 1 : sw] = dout
    return spread


def _kernel_spectrum(xp, w: Array, g: ConvGeometry) -> Array:
    """Shapes: w (F, C/groups, KH, KW) -> (groups, F/groups, C/groups, Hp, Wp//2 + 1)"""
    (dh, dw), (Hp, Wp) = g.dilation, g.padded_size
    wide = xp.zeros((g.F, g.C // g.groups, Hp, Wp), dtype=w.dtype)
    wide[:, :, : dh * (g.KH - 1) + 1 : dh, : dw * (g.KW - 1) + 1 : dw] = w
    return xp.fft.rfft2(wide).reshape(g.groups, g.F // g.groups, g.C // g.groups, Hp, Wp // 2 + 1)


def _spectrum(xp, a: Array, g: ConvGeometry) -> Array:
    """Shapes: a (N, groups*k, Hp, Wp) -> (N, groups, k, Hp, Wp//2 + 1)"""
    N, channels, Hp, Wp = a.shape
    return xp.fft.rfft2(a).reshape(N, g.groups, channels // g.groups, Hp, Wp // 2 + 1)


def _channel_sums(xp, spec: str, a: Array, b: Array, g: ConvGeometry) -> Array:
    """``xp.einsum(spec, a, b)`` for the three passes' sums over channels, filters or examples:
    at every frequency (and group) one small complex matrix product, which ``matmul`` hands to
    BLAS. ``spec`` names one axis each that only ``a`` keeps, that only ``b`` keeps, and that
    the product sums over. (The einsum itself, which does not use BLAS, was 4 to 7 times
    slower: x (8, 64, 28, 28) by w (64, 64, 7, 7), two threads, 26 ms against 5.9.) Depthwise
    layers have 1 x 1 matrices, which are not worth a product: there the einsum stays.

    Shapes: as ``spec`` says, each operand and the result with axes ``h`` and ``w`` last
    """
    if g.C == g.groups and g.F == g.groups:
        return xp.einsum(spec, a, b)
    ins, out = spec.split("->")
    a_axes, b_axes = ins.split(",")
    shared = [axis for axis in out if axis in a_axes and axis in b_axes]  # group, h, w
    a_only, b_only = (next(axis for axis in out if axis in own and axis not in other)
                      for own, other in ((a_axes, b_axes), (b_axes, a_axes)))
    summed = next(axis for axis in a_axes if axis in b_axes and axis not in out)
    a_t = a.transpose([a_axes.index(axis) for axis in (*shared, a_only, summed)])
    b_t = b.transpose([b_axes.index(axis) for axis in (*shared, summed, b_only)])
    product = xp.matmul(a_t, b_t)  # axes: shared, a_only, b_only
    order = (*shared, a_only, b_only)
    return product.transpose([order.index(axis) for axis in out])


def forward(x: Array, w: Array, g: ConvGeometry, b: Array | None = None) -> Array:
    """Zero-padded convolution, plus the bias ``b`` if given.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    xp = get_array_module(x, w)
    (sh, sw), (Hp, Wp) = g.stride, g.padded_size
    X = _spectrum(xp, pad2d(x, g.pads), g)
    K = xp.conj(_kernel_spectrum(xp, w, g))
    spectrum = _channel_sums(xp, "ngchw,gfchw->ngfhw", X, K, g)
    spectrum = spectrum.reshape(g.N, g.F, Hp, Wp // 2 + 1)
    full = xp.fft.irfft2(spectrum, s=(Hp, Wp))
    out = full[:, :, : sh * (g.H_out - 1) + 1 : sh, : sw * (g.W_out - 1) + 1 : sw]
    out = xp.ascontiguousarray(out.astype(x.dtype, copy=False))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """``dx`` of the zero-padded convolution.

    Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W), a view
    """
    xp = get_array_module(dout, w)
    Hp, Wp = g.padded_size
    D = _spectrum(xp, _spread(xp, dout, g), g)
    K = _kernel_spectrum(xp, w, g)
    spectrum = _channel_sums(xp, "ngfhw,gfchw->ngchw", D, K, g)
    spectrum = spectrum.reshape(g.N, g.C, Hp, Wp // 2 + 1)
    dxpad = xp.fft.irfft2(spectrum, s=(Hp, Wp)).astype(dout.dtype, copy=False)
    top, _, left, _ = g.pads
    return dxpad[:, :, top:top + g.H, left:left + g.W]


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """``dw`` of the zero-padded convolution.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)
    """
    xp = get_array_module(dout, x)
    (dh, dw), (Hp, Wp) = g.dilation, g.padded_size
    X = _spectrum(xp, pad2d(x, g.pads), g)
    D = xp.conj(_spectrum(xp, _spread(xp, dout, g), g))
    spectrum = _channel_sums(xp, "ngchw,ngfhw->gfchw", X, D, g)
    spectrum = spectrum.reshape(g.F, g.C // g.groups, Hp, -1)
    wide = xp.fft.irfft2(spectrum, s=(Hp, Wp))
    dw_ = wide[:, :, : dh * (g.KH - 1) + 1 : dh, : dw * (g.KW - 1) + 1 : dw]
    return xp.ascontiguousarray(dw_.astype(x.dtype, copy=False))
