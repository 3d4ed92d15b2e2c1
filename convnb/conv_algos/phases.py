"""``dx`` of a strided layer as one stride-1 convolution of ``dout``, whose outputs are ``dx``'s
phases: the sub-pixel view of a transposed convolution.

At stride ``s`` without dilation, tap ``u`` of output row ``i`` reads padded input row ``s*i + u``.
Sort the padded rows by their remainder modulo ``s``, their *phase*: row ``s*p + a`` is read by
the taps ``u = a + s*t`` of the output rows ``i = p - t``, and by no others. So each phase of the
padded ``dx`` is a stride-1 convolution of ``dout`` with the taps of that phase, every ``s``-th
tap of the kernel from ``a`` on, turned by 180 degrees as for any ``dx`` (columns likewise). Where
``s`` divides the kernel size every phase has ``K/s`` taps, and all ``s*s`` phases are *one*
convolution of ``dout``, padded by ``K/s - 1``, with ``s*s*C`` filters (:func:`geometry`,
:func:`filters`); putting its outputs back in place (:func:`interleave`) gives ``dx``. That is
one matrix product and one pass over ``dx``, where col2im (:mod:`.im2col`) adds ``KH*KW``
products back through strided views. Shi et al. (2016) used the same equivalence the other way
round: a stride-1 convolution to ``s*s`` times the channels, followed by a pixel shuffle, upsamples
as a transposed convolution does. :func:`.flat.input_grad` takes this path, and ``algo="auto"``
sends such layers' backward passes (and so the transposed convolutions that upsample with
4 x 4 kernels at stride 2) to flat (:func:`.choose.rule`).

Where the stride does not divide the kernel the phases have different numbers of taps (3 x 3 at
stride 2: 4, 2, 2 and 1). Padding the kernel with zeros to 4 x 4 makes them equal, at 16/9 of the
arithmetic; on nine such layers at stride 2 (3 x 3, 5 x 5 and 7 x 7 kernels; float32, two
threads, 2026-11-29) that was 1.1 to 2 times slower than col2im on seven, even on one and 8 %
faster on one, so :func:`geometry` leaves them out.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..geometry import ConvGeometry
from ..types import Array


def geometry(g: ConvGeometry) -> ConvGeometry | None:
    """The stride-1 convolution of ``dout`` whose outputs are the phases of the padded ``dx``,
    or None where it does not apply: stride 1 (:func:`.flat.as_forward`), dilation, a kernel size
    the stride does not divide, or windows that tile the input (stride equal to the kernel, where
    each phase is one tap: :mod:`.direct`).

    Its input is ``dout`` (``F`` channels), padded by ``K/s - 1`` above and to the left and enough
    below and to the right for ``ceil(Hp/sh) x ceil(Wp/sw)`` outputs, one per position of a phase.
    """
    (sh, sw) = g.stride
    if (g.stride == (1, 1) or g.dilation != (1, 1) or g.KH % sh or g.KW % sw
            or g.stride == (g.KH, g.KW)):
        return None
    taps_h, taps_w = g.KH // sh, g.KW // sw
    (Hp, Wp) = g.padded_size
    P, Q = -(-Hp // sh), -(-Wp // sw)
    pads = (taps_h - 1, P - g.H_out, taps_w - 1, Q - g.W_out)
    return ConvGeometry(g.N, g.F, g.H_out, g.W_out, sh * sw * g.C, taps_h, taps_w, g.groups,
                        (1, 1), (1, 1), pads, "zeros", P, Q)


def filters(w: Array, g: ConvGeometry) -> Array:
    """The filters of :func:`geometry`'s convolution. Filter ``(group, a, b, c)`` holds the taps
    ``(a + sh*t, b + sw*r)`` of channel ``c`` of each of the group's filters, turned by 180
    degrees; channel and filter exchange roles, as in :func:`.flat.turned_filters`.

    Shapes: w (F, C/groups, KH, KW) -> (sh*sw*C, F/groups, KH/sh, KW/sw), contiguous
    """
    xp = get_array_module(w)
    (sh, sw), G = g.stride, g.groups
    taps_h, taps_w = g.KH // sh, g.KW // sw
    split = w.reshape(G, g.F // G, g.C // G, taps_h, sh, taps_w, sw)[:, :, :, ::-1, :, ::-1]
    by_phase = xp.ascontiguousarray(split.transpose(0, 4, 6, 2, 1, 3, 5))
    return by_phase.reshape(sh * sw * g.C, g.F // G, taps_h, taps_w)


def interleave(phases: Array, g: ConvGeometry, dx: Array) -> None:
    """Write into ``dx`` the outputs of :func:`geometry`'s convolution for ``n`` examples:
    phase ``(a, b)`` fills the padded positions ``(sh*p + a, sw*q + b)``; those inside the
    padding are dropped.

    Shapes: phases (n, sh*sw*C, ceil(Hp/sh), ceil(Wp/sw)), dx (n, C, H, W), contiguous
    """
    (sh, sw), G, top, left = g.stride, g.groups, g.pads[0], g.pads[2]
    n = phases.shape[0]
    found = phases.reshape(n, G, sh, sw, g.C // G, *phases.shape[2:])
    by_group = dx.reshape(n, G, g.C // G, g.H, g.W)
    for a in range(sh):
        rows = _positions(a, top, sh, g.H)
        for b in range(sw):
            cols = _positions(b, left, sw, g.W)
            if rows and cols:
                by_group[..., rows[1], cols[1]] = found[:, :, a, b, :, rows[0], cols[0]]


def _positions(a: int, pad: int, s: int, size: int) -> tuple[slice, slice] | None:
    """Along one axis, the positions ``p`` of phase ``a`` that lie inside ``x`` and the
    positions ``s*p + a - pad`` of ``x`` they are, as ``(phase, x)`` slices (None if none)."""
    first = (a - pad) % s
    if first >= size:
        return None
    p0 = (first + pad) // s
    return slice(p0, p0 + len(range(first, size, s))), slice(first, size, s)
