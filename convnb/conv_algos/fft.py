"""FFT convolution: products of Fourier transforms instead of sums over the kernel.

By the convolution theorem a cross-correlation is ``ifft(fft(x) * conj(fft(w)))``, once the
kernel, dilated by inserting zeros, is zero-filled to the padded input's size (Hp, Wp). The
transforms are circular: positions past the last full kernel placement wrap around the edge, so
only the valid ones are kept, every ``stride``-th. The cost hardly depends on the kernel's size,
which is why this method pays for large kernels; for 3 x 3 kernels the transforms of the filters,
each blown up to a whole image, cost more than they save.

The backward passes are transforms too: ``dx`` convolves (no conjugate) the output gradient,
spread back to its stride, with the kernels; ``dw`` correlates the input with that gradient.

Memory. The spectra of a chunk of examples at a time, at most :data:`SCRATCH_BYTES` (64 MiB)
of them (or one example's, when those alone are larger): for each example its ``C`` and ``F``
channels of ``Hp x (Wp//2 + 1)`` complex numbers, and as many again for the products and their
real transforms. On top of that come the filters' spectra, ``F*C/groups`` of the same size.
``dw`` adds its chunks' products into one such array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..backend import get_array_module
from ..geometry import batch_chunks
from ..types import Array
from ..windows import pad2d

if TYPE_CHECKING:
    from ..geometry import ConvGeometry


SCRATCH_BYTES = 64 * 2**20  # the spectra of a chunk of examples, in bytes (at least one's)


def _chunks(g: ConvGeometry, itemsize: int) -> list[slice]:
    """The batch cut into runs of examples whose spectra fit in :data:`SCRATCH_BYTES`."""
    Hp, Wp = g.padded_size
    per_example = 2 * (g.C + g.F) * Hp * (Wp // 2 + 1) * 2 * itemsize  # complex, twice over
    return batch_chunks(g.N, per_example, SCRATCH_BYTES)


def _spread(xp, dout: Array, g: ConvGeometry) -> Array:
    """``dout`` placed at the top-left corner of the output pixels' windows on the padded input.

    Shapes: dout (n, F, H_out, W_out) -> (n, F, Hp, Wp)
    """
    (sh, sw), (Hp, Wp) = g.stride, g.padded_size
    spread = xp.zeros((dout.shape[0], g.F, Hp, Wp), dtype=dout.dtype)
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
    the product sums over. (The einsum itself, which does not use BLAS, was 4.4 to 7.2 times
    slower on four layers' sums, two threads: x (8, 64, 28, 28) by w (64, 64, 7, 7) 26 ms
    against 5.9.) Depthwise layers have 1 x 1 matrices, which are not worth a product: there
    the einsum stays.

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
    """Zero-padded convolution, plus the bias ``b`` if given, chunk by chunk.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    xp = get_array_module(x, w)
    (sh, sw), (Hp, Wp) = g.stride, g.padded_size
    K = _kernel_spectrum(xp, w, g)
    xp.conjugate(K, out=K)  # in place: the filters' spectra can be the largest array here
    out = xp.empty((g.N, g.F, g.H_out, g.W_out), dtype=x.dtype)
    for part in _chunks(g, x.dtype.itemsize):
        X = _spectrum(xp, pad2d(x[part], g.pads), g)
        spectrum = _channel_sums(xp, "ngchw,gfchw->ngfhw", X, K, g)
        spectrum = spectrum.reshape(-1, g.F, Hp, Wp // 2 + 1)
        full = xp.fft.irfft2(spectrum, s=(Hp, Wp))
        out[part] = full[:, :, : sh * (g.H_out - 1) + 1 : sh, : sw * (g.W_out - 1) + 1 : sw]
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """``dx`` of the zero-padded convolution, chunk by chunk.

    Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W)
    """
    xp = get_array_module(dout, w)
    (Hp, Wp), (top, _, left, _) = g.padded_size, g.pads
    K = _kernel_spectrum(xp, w, g)
    dx = xp.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    for part in _chunks(g, dout.dtype.itemsize):
        D = _spectrum(xp, _spread(xp, dout[part], g), g)
        spectrum = _channel_sums(xp, "ngfhw,gfchw->ngchw", D, K, g)
        spectrum = spectrum.reshape(-1, g.C, Hp, Wp // 2 + 1)
        dxpad = xp.fft.irfft2(spectrum, s=(Hp, Wp))
        dx[part] = dxpad[:, :, top:top + g.H, left:left + g.W]
    return dx


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """``dw`` of the zero-padded convolution: the chunks' spectra summed, then one inverse
    transform.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)
    """
    xp = get_array_module(dout, x)
    (dh, dw), (Hp, Wp) = g.dilation, g.padded_size
    spectrum = None
    for part in _chunks(g, x.dtype.itemsize):
        X = _spectrum(xp, pad2d(x[part], g.pads), g)
        D = xp.conj(_spectrum(xp, _spread(xp, dout[part], g), g))
        sums = _channel_sums(xp, "ngchw,ngfhw->gfchw", X, D, g)
        spectrum = sums if spectrum is None else spectrum + sums
    spectrum = spectrum.reshape(g.F, g.C // g.groups, Hp, -1)
    wide = xp.fft.irfft2(spectrum, s=(Hp, Wp))
    dw_ = wide[:, :, : dh * (g.KH - 1) + 1 : dh, : dw * (g.KW - 1) + 1 : dw]
    return xp.ascontiguousarray(dw_.astype(x.dtype, copy=False))
