"""FFT convolution: products of Fourier transforms instead of sums over the kernel.

By the convolution theorem a cross-correlation is ``ifft(fft(x) * conj(fft(w)))``, once the
kernel, dilated by inserting zeros, and the padded input (Hp x Wp) are zero-filled to one size,
the transform size ``Ht x Wt`` (:func:`transform_size`: at least the padded input's, with no
prime factor above 7). The transforms are circular: positions past the last full kernel
placement wrap around the edge, so only the valid ones are kept, every ``stride``-th. The cost
hardly depends on the kernel's size, which is why this method pays for large kernels; for 3 x 3
kernels the transforms and the complex products over channels, at every frequency of a whole
image, cost more than they save.
The filters' spectra need no FFT: a DFT of their few taps is two small matrix products
(:func:`_kernel_spectrum`).

The backward passes are transforms too: ``dx`` convolves (no conjugate) the output gradient,
spread back to its stride, with the kernels; ``dw`` correlates the input with that gradient.

Memory. The spectra of a chunk of examples at a time, at most :data:`SCRATCH_BYTES` (64 MiB)
of them (or one example's, when those alone are larger): for each example its ``C`` and ``F``
channels of ``Ht x (Wt//2 + 1)`` complex numbers, and as many again for the products and their
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


def fast_length(n: int) -> int:
    """The smallest even number from ``n`` on with no prime factor above 7: a length NumPy's
    FFT transforms quickly. A large prime factor makes it slow: 128 real transforms of 74 x 74
    (74 = 2 * 37) took 9.5 ms, of 80 x 80 6.3 ms, of 62 x 62 7.8 ms and of 64 x 64 4.0 ms
    (float32, 2026-11-29); odd lengths of the last axis, whose real transform is the slower
    kind, 63 x 63 and 77 x 77, took 9.3 and 11.0 ms. Growing 42 (2 * 3 * 7) to 48 made two
    11 x 11 layers 1.2 to 1.4 times slower."""
    m = max(2, n + n % 2)
    while True:
        rest = m
        for p in (2, 3, 5, 7):
            while rest % p == 0:
                rest //= p
        if rest == 1:
            return m
        m += 2


def transform_size(g: ConvGeometry) -> tuple[int, int]:
    """``(Ht, Wt)``: the padded input's size, each side grown to a :func:`fast_length`. The
    extra zeros change nothing: every sum the layer needs still fits before the wrap-around."""
    Hp, Wp = g.padded_size
    return fast_length(Hp), fast_length(Wp)


def _chunks(g: ConvGeometry, itemsize: int) -> list[slice]:
    """The batch cut into runs of examples whose spectra fit in :data:`SCRATCH_BYTES`."""
    Ht, Wt = transform_size(g)
    per_example = 2 * (g.C + g.F) * Ht * (Wt // 2 + 1) * 2 * itemsize  # complex, twice over
    return batch_chunks(g.N, per_example, SCRATCH_BYTES)


def _spread(xp, dout: Array, g: ConvGeometry) -> Array:
    """``dout`` placed at the top-left corner of the output pixels' windows on the padded input.

    Shapes: dout (n, F, H_out, W_out) -> (n, F, Hp, Wp)
    """
    (sh, sw), (Hp, Wp) = g.stride, g.padded_size
    spread = xp.zeros((dout.shape[0], g.F, Hp, Wp), dtype=dout.dtype)
    spread[:, :, : sh * (g.H_out - 1) + 1 : sh, : sw * (g.W_out - 1) + 1 : sw] = dout
    return spread


def _tap_waves(xp, g: ConvGeometry, conjugate: bool = False) -> tuple[Array, Array]:
    """The DFT's waves at the dilated kernel's taps: ``rows[k, u] = e^(-2 pi i k*dh*u/Ht)`` and
    ``cols[v, l] = e^(-2 pi i l*dw*v/Wt)`` for the ``Wt//2 + 1`` frequencies ``l`` that ``rfft2``
    keeps (``+2 pi i`` if ``conjugate``), complex128.

    Shapes: -> rows (Ht, KH), cols (KW, Wt//2 + 1)
    """
    (dh, dw), (Ht, Wt) = g.dilation, transform_size(g)
    turn = (2j if conjugate else -2j) * xp.pi  # e^(turn * fraction of a cycle)
    # whole cycles dropped before the division, so that the angles stay below 2 pi
    rows = xp.exp(turn * (xp.outer(xp.arange(Ht), dh * xp.arange(g.KH)) % Ht) / Ht)
    cols = xp.exp(turn * (xp.outer(dw * xp.arange(g.KW), xp.arange(Wt // 2 + 1)) % Wt) / Wt)
    return rows, cols


def _kernel_spectrum(xp, w: Array, g: ConvGeometry, conjugate: bool = False) -> Array:
    """The filters' spectra: what ``rfft2`` makes of each filter, dilated and zero-filled to
    ``Ht x Wt`` (its complex conjugate if ``conjugate``), computed as a DFT of the taps alone.

    The zero-filled filter has ``KH*KW`` nonzero numbers, so its transform at frequency
    ``(k, l)`` is a sum over the taps, ``sum_uv w[u, v] e^(-2 pi i (k*dh*u/Ht + l*dw*v/Wt))``,
    which splits into two small matrix products: the rows ``w @ cols`` (``KW`` taps against
    ``Wt//2 + 1`` frequencies), then ``rows @`` that (``Ht`` frequencies against ``KH`` taps).
    An FFT of the zero-filled image would transform ``Ht*Wt`` numbers, nearly all zero: on the
    large-kernel layers of ``bench.auto_rule`` the products took 1/2 to 1/43 of ``rfft2``'s
    time (x (8, 64, 28, 28) by w (64, 64, 7, 7), spectra of 34 x 34: 1.8 ms against 45;
    AlexNet's stem, 96 filters of 3 x 11 x 11 on 227 x 227 inputs: 13 ms against 550; float32,
    two threads, 2026-11-29).
    They agree with ``rfft2`` to rounding (2e-7 of the largest value in float32).

    Shapes: w (F, C/groups, KH, KW) -> (groups, F/groups, C/groups, Ht, Wt//2 + 1)
    """
    Ht, Wt = transform_size(g)
    L, filters = Wt // 2 + 1, g.F * (g.C // g.groups)
    complex_type = xp.result_type(w.dtype, xp.complex64)
    rows, cols = _tap_waves(xp, g, conjugate)
    by_row = w.reshape(filters * g.KH, g.KW) @ cols.astype(complex_type)  # (F*C/g*KH, L)
    by_row = by_row.reshape(filters, g.KH, L).transpose(1, 0, 2).reshape(g.KH, filters * L)
    spectra = rows.astype(complex_type) @ by_row  # (Ht, F*C/g*L)
    spectra = spectra.reshape(Ht, filters, L).transpose(1, 0, 2)
    return spectra.reshape(g.groups, g.F // g.groups, g.C // g.groups, Ht, L)


def _taps(xp, spectra: Array, g: ConvGeometry) -> Array:
    """The kernel taps of ``irfft2(spectra)``: the inverse of :func:`_kernel_spectrum`, computed
    only where the dilated kernel has taps, as two small matrix products.

    ``irfft2`` would return ``Ht x Wt`` numbers per filter of which ``dw`` keeps ``KH*KW``. Its
    value at ``(d_h*u, d_w*v)`` is ``sum_k sum_l c_l Re(S[k, l] e^(2 pi i (k*d_h*u/Ht +
    l*d_w*v/Wt))) / (Ht*Wt)`` over the ``Wt//2 + 1`` frequencies ``l`` kept, where ``c_l`` is 2
    for the frequencies that stand for their mirror images too and 1 for ``l = 0`` and
    ``l = Wt/2``: the rows ``rows @ S`` (``KH`` taps against ``Ht`` frequencies), then the
    real part of that times ``cols`` (``Wt//2 + 1`` frequencies against ``KW`` taps). For
    w (64, 64, 7, 7) on 28 x 28 inputs (transforms of 36 x 36) they took 3.2 ms where
    ``irfft2``'s 4,096 inverse transforms took 12.7 (float32, two threads, 2026-11-29); they
    agree with it to rounding (3e-7 of the largest tap in float32).

    Shapes: spectra (F, C/groups, Ht, Wt//2 + 1) -> (F, C/groups, KH, KW), real
    """
    Ht, Wt = transform_size(g)
    L, filters = Wt // 2 + 1, g.F * (g.C // g.groups)
    weights = xp.full(L, 2.0)
    weights[0] = weights[-1] = 1.0  # l = 0 and l = Wt/2 (Wt is even) have no mirror image
    rows, cols = _tap_waves(xp, g, conjugate=True)  # the inverse turns the other way
    rows, cols = rows.T, cols.T * (weights / (Ht * Wt))[:, None]
    by_row = rows.astype(spectra.dtype) @ spectra.reshape(filters, Ht, L)  # (F*C/g, KH, L)
    taps = by_row.reshape(filters * g.KH, L) @ cols.astype(spectra.dtype)
    return taps.real.reshape(g.F, g.C // g.groups, g.KH, g.KW)


def _spectrum(xp, a: Array, g: ConvGeometry) -> Array:
    """The transforms of ``a``'s images, zero-filled to the transform size.

    Shapes: a (N, groups*k, Hp, Wp) -> (N, groups, k, Ht, Wt//2 + 1)
    """
    N, channels = a.shape[:2]
    Ht, Wt = transform_size(g)
    spectra = xp.fft.rfft2(a, s=(Ht, Wt))
    return spectra.reshape(N, g.groups, channels // g.groups, Ht, Wt // 2 + 1)


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
    (sh, sw), (Ht, Wt) = g.stride, transform_size(g)
    K = _kernel_spectrum(xp, w, g, conjugate=True)
    out = xp.empty((g.N, g.F, g.H_out, g.W_out), dtype=x.dtype)
    for part in _chunks(g, x.dtype.itemsize):
        X = _spectrum(xp, pad2d(x[part], g.pads), g)
        spectrum = _channel_sums(xp, "ngchw,gfchw->ngfhw", X, K, g)
        spectrum = spectrum.reshape(-1, g.F, Ht, Wt // 2 + 1)
        full = xp.fft.irfft2(spectrum, s=(Ht, Wt))
        out[part] = full[:, :, : sh * (g.H_out - 1) + 1 : sh, : sw * (g.W_out - 1) + 1 : sw]
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """``dx`` of the zero-padded convolution, chunk by chunk.

    Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W)
    """
    xp = get_array_module(dout, w)
    (Ht, Wt), (top, _, left, _) = transform_size(g), g.pads
    K = _kernel_spectrum(xp, w, g)
    dx = xp.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    for part in _chunks(g, dout.dtype.itemsize):
        D = _spectrum(xp, _spread(xp, dout[part], g), g)
        spectrum = _channel_sums(xp, "ngfhw,gfchw->ngchw", D, K, g)
        spectrum = spectrum.reshape(-1, g.C, Ht, Wt // 2 + 1)
        dxpad = xp.fft.irfft2(spectrum, s=(Ht, Wt))
        dx[part] = dxpad[:, :, top:top + g.H, left:left + g.W]
    return dx


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """``dw`` of the zero-padded convolution: the chunks' spectra summed, then transformed back
    at the kernel's taps alone (:func:`_taps`).

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)
    """
    xp = get_array_module(dout, x)
    Ht = transform_size(g)[0]
    spectrum = None
    for part in _chunks(g, x.dtype.itemsize):
        X = _spectrum(xp, pad2d(x[part], g.pads), g)
        D = xp.conj(_spectrum(xp, _spread(xp, dout[part], g), g))
        sums = _channel_sums(xp, "ngchw,ngfhw->gfchw", X, D, g)
        spectrum = sums if spectrum is None else spectrum + sums
    taps = _taps(xp, spectrum.reshape(g.F, g.C // g.groups, Ht, -1), g)
    return xp.ascontiguousarray(taps.astype(x.dtype, copy=False))
