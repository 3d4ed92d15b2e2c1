"""im2col on the flattened image: patch rows that are slices of one long row (stride 1).

Flatten each channel of the zero-padded input, example after example, into one row ``xf[c]`` of
``N*Hp*Wp`` numbers. At stride 1 the input that output pixel ``(i, j)`` of example ``n`` reads
through tap ``(u, v)`` is ``xf[c, n*Hp*Wp + (i + u*dh)*Wp + (j + v*dw)]``: the tap only adds
``u*dh*Wp + v*dw`` to the pixel's flat position. So if the outputs are computed on rows as wide
as the padded input, ``Wp`` instead of ``W_out`` (the last ``Wp - W_out`` of each row read past
its end, into the next row, and are thrown away), the patch-matrix row of channel ``c`` and tap
``(u, v)`` is one slice of ``xf[c]``, shifted by that amount. Building the patch matrix then
copies runs of ``H_out*Wp`` numbers, where :mod:`.im2col` copies runs of ``W_out``, and one matrix
product does the rest, as in im2col. The price is ``Wp / W_out`` times the arithmetic (1.125 for
a 3 x 3 "same" layer on 16 x 16 inputs), which is why ``"auto"`` takes this path only for layers
whose padding is narrow against their width, and for depthwise layers, whose product is small
beside the copying (:func:`.choose.rule`). The patch buffer is kept small
(4 MiB: on the 2-core machine 2-4 MiB chunks ran 15-25 % faster than 8 MiB ones, which leave
the caches before the product reads them).

The gradients use the same slices: ``dw`` multiplies ``dout`` (widened to rows of ``Wp`` with
zeros) by the patch rows; ``dx`` is itself a convolution of ``dout`` at stride 1, computed by the
forward pass here (:func:`as_forward`), or, for layers of few channels or wide padding, adds each
row of ``w.T @ dout`` back onto its slice, one ``+=`` per tap. Strided layers go to :mod:`.im2col`,
except for ``dx`` where the stride divides the kernel (4 x 4 at stride 2, as in the transposed
convolutions that upsample by 2): there ``dx`` is a stride-1 forward pass too, over the stride's
phases (:mod:`.phases`). Depthwise layers' ``dw`` is :mod:`.depthwise`'s.

Memory: the flattened input, plus patch matrices for a chunk of examples of at most
:data:`SCRATCH_BYTES` (one example's when those alone are larger) and the product of that chunk;
the gradients also hold ``dout`` widened to rows of ``Wp``, and ``dx`` its flattened padded sum
(or, computed as a forward pass, ``dout`` flattened with its padding).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..backend import get_array_module
from ..geometry import ConvGeometry, batch_chunks
from ..types import Array
from . import depthwise, im2col, phases

SCRATCH_BYTES = 4 * 2**20  # the largest patch buffer, in bytes (at least one example's patches)


def flat_length(g: ConvGeometry) -> int:
    """Numbers in one flattened channel: ``N*Hp*Wp``, then ``dw*(KW-1)`` zeros for the last
    example's thrown-away outputs to read."""
    Hp, Wp = g.padded_size
    return g.N * Hp * Wp + g.dilation[1] * (g.KW - 1)


def flattened(x: Array, g: ConvGeometry) -> Array:
    """The zero-padded input, each channel one row (:func:`flat_length` numbers).

    Shapes: x (N, C, H, W) -> xf (C, N*Hp*Wp + dw*(KW-1))
    """
    xp = get_array_module(x)
    Hp, Wp = g.padded_size
    top, _, left, _ = g.pads
    xf = xp.zeros((g.C, flat_length(g)), dtype=x.dtype)
    padded = xf[:, :g.N * Hp * Wp].reshape(g.C, g.N, Hp, Wp)
    padded[:, :, top:top + g.H, left:left + g.W] = x.transpose(1, 0, 2, 3)
    return xf


def taps(xf: Array, g: ConvGeometry, part: slice) -> Array:
    """The patch rows of examples ``part``, as a view of ``xf``: ``[c, u, v, n]`` is the run of
    ``H_out*Wp`` inputs that tap ``(u, v)`` of channel ``c`` brings to example ``n``'s outputs.

    Shapes: xf (C, N*Hp*Wp + tail) -> (C, KH, KW, n, H_out*Wp)
    """
    xp = get_array_module(xf)
    Hp, Wp = g.padded_size
    (dh, dw), step = g.dilation, xf.strides[1]
    start = xf[:, part.start * Hp * Wp:]
    return xp.lib.stride_tricks.as_strided(
        start, shape=(g.C, g.KH, g.KW, part.stop - part.start, g.H_out * Wp),
        strides=(xf.strides[0], dh * Wp * step, dw * step, Hp * Wp * step, step))


def chunks(g: ConvGeometry, itemsize: int) -> list[slice]:
    """The batch cut into runs of examples whose patch rows fit in :data:`SCRATCH_BYTES`."""
    per_example = g.C * g.KH * g.KW * g.H_out * g.padded_size[1] * itemsize
    return batch_chunks(g.N, per_example, SCRATCH_BYTES)


def by_chunk(xp, g: ConvGeometry, dtype) -> Iterator[tuple[slice, Array]]:
    """Each chunk of examples, with a patch buffer for it (the same memory every time).

    Shapes: -> (part, (groups, C/groups*KH*KW, n*H_out*Wp)) for the n examples of ``part``
    """
    parts, L = chunks(g, dtype.itemsize), g.H_out * g.padded_size[1]
    most = parts[0].stop - parts[0].start
    buffer = xp.empty((g.groups, im2col.patch_rows(g), most * L), dtype=dtype)
    for part in parts:
        yield part, buffer[:, :, :(part.stop - part.start) * L]


def patches_by_chunk(xf: Array, g: ConvGeometry) -> Iterator[tuple[slice, Array]]:
    """:func:`by_chunk`'s buffers filled with the patch rows of their examples.

    Shapes: xf (C, N*Hp*Wp + tail) -> (part, (groups, C/groups*KH*KW, n*H_out*Wp))
    """
    xp = get_array_module(xf)
    for part, cols in by_chunk(xp, g, xf.dtype):
        n = part.stop - part.start
        xp.copyto(cols.reshape(g.C, g.KH, g.KW, n, -1), taps(xf, g, part))
        yield part, cols


def products_by_chunk(x: Array, w: Array, g: ConvGeometry) -> Iterator[tuple[slice, Array]]:
    """Each chunk of examples with its outputs on rows of ``Wp`` (stride 1), in a buffer that
    the next chunk reuses.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW) -> (part, (F, n, H_out, Wp)) for the n
    examples of ``part``
    """
    xp = get_array_module(x, w)
    w_rows = w.reshape(g.groups, g.F // g.groups, im2col.patch_rows(g))
    products = None
    for part, cols in patches_by_chunk(flattened(x, g), g):
        if products is None:  # the first chunk is the largest
            products = xp.empty((g.groups, g.F // g.groups, cols.shape[2]), dtype=x.dtype)
        found = xp.matmul(w_rows, cols, out=products[:, :, :cols.shape[2]])
        yield part, found.reshape(g.F, part.stop - part.start, g.H_out, g.padded_size[1])


def forward(x: Array, w: Array, g: ConvGeometry, b: Array | None = None) -> Array:
    """Zero-padded convolution plus the bias ``b`` if given, chunk by chunk (strided layers:
    :mod:`.im2col`).

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    if g.stride != (1, 1):
        return im2col.forward(x, w, g, b)
    out = get_array_module(x, w).empty((g.N, g.F, g.H_out, g.W_out), dtype=x.dtype)
    for part, rows in products_by_chunk(x, w, g):
        out[part] = rows[..., :g.W_out].transpose(1, 0, 2, 3)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


# input_grad runs as a forward pass (see as_forward) from this many input and output channels per
# group, while dout, padded for it, is at most this many times as wide as x.
AS_FORWARD_CHANNELS = 8
AS_FORWARD_WIDTH = 1.25


def is_depthwise(g: ConvGeometry) -> bool:
    """One input channel and one filter per group."""
    return g.C == g.groups == g.F


def as_forward(g: ConvGeometry) -> ConvGeometry | None:
    """The geometry of ``dx`` computed as a forward pass, or None where :func:`input_grad` adds
    the taps back instead.

    At stride 1, input pixel ``(r, q)`` receives ``w[f, c, u, v] * dout[f, r - u*dh + top,
    q - v*dw + left]`` from every tap: a convolution of ``dout``, padded by ``dh*(KH-1) - top``
    above (and likewise on each side), with the filters turned by 180 degrees and the roles of
    channel and filter exchanged (:func:`turned_filters`). Its output is exactly ``H x W``.
    Computed by :func:`forward`, it copies ``KH*KW`` long slices of ``dout`` and makes one matrix
    product, where adding the taps back makes ``KH*KW`` passes over ``dx``. The whole backward
    pass (``dx``, ``dw`` and ``db``) of four layers (the bench suite's "mid" and "dilated",
    x (8, 64, 56, 56) by w (64, 64, 3, 3), x (16, 32, 32, 32) by w (32, 32, 3, 3)), timed
    alternately with and without it, at one and two threads, with OpenBLAS's Haswell and
    SkylakeX kernels: 1.03 to 1.27 times faster in every timing (2026-11-29; two processes
    during one of the machine's slow spells measured "mid" at 0.8, and five after it 1.05 to
    1.08). It is not used on layers of few channels
    (a product with fewer than :data:`AS_FORWARD_CHANNELS` rows per group is slow: "cifar-stem",
    3 channels, 5.6 ms against 2.0) or whose padded ``dout`` would be wide (LeNet's second layer,
    rows of 18 for 14: 4.3 ms against 1.4), nor where the layer's padding exceeds the kernel's
    reach (a pad would be negative). Depthwise layers take it at any width: their forward pass
    is flat's already, and their whole backward pass with ``dx`` this way ran 1.0 to 1.96 times
    as fast as :mod:`.depthwise`'s, which adds ``dx`` tap by tap, on the thirteen depthwise
    layers of ``bench.auto_rule`` (see :func:`.choose.rule`).
    """
    (dh, dw), (top, _, left, _) = g.dilation, g.pads
    reach_h, reach_w = dh * (g.KH - 1), dw * (g.KW - 1)
    # below and to the right, what makes the output H x W: reach - bottom, plus the rows that
    # no window reads (a transposed convolution's output_padding at stride 1, dilated)
    pads = (reach_h - top, g.H - g.H_out + top, reach_w - left, g.W - g.W_out + left)
    if g.stride != (1, 1) or min(pads) < 0:
        return None
    if not is_depthwise(g) and (min(g.C, g.F) // g.groups < AS_FORWARD_CHANNELS
                                or g.W + reach_w > AS_FORWARD_WIDTH * g.W):
        return None
    return ConvGeometry(g.N, g.F, g.H_out, g.W_out, g.C, g.KH, g.KW, g.groups, (1, 1),
                        g.dilation, pads, "zeros", g.H, g.W)


def as_phases(g: ConvGeometry) -> ConvGeometry | None:
    """For a strided layer, the geometry of ``dx`` computed as one forward pass over the
    stride's phases (:func:`.phases.geometry`), or None where :mod:`.im2col` computes it: where
    that does not apply, or where the layer has fewer than :data:`AS_FORWARD_CHANNELS` channels
    or filters per group (x (16, 3, 64, 64) by w (64, 3, 4, 4) at stride 2, float32, two
    threads: 3.0 ms against im2col's 2.0 for the whole backward pass)."""
    if min(g.C, g.F) // g.groups < AS_FORWARD_CHANNELS:
        return None
    return phases.geometry(g)


def turned_filters(w: Array, g: ConvGeometry) -> Array:
    """The filters of :func:`as_forward`'s convolution: each group's ``w`` with channel and filter
    exchanged, turned by 180 degrees.

    Shapes: w (F, C/groups, KH, KW) -> (C, F/groups, KH, KW), contiguous
    """
    xp = get_array_module(w)
    split = w.reshape(g.groups, g.F // g.groups, g.C // g.groups, g.KH, g.KW)
    turned = split.transpose(0, 2, 1, 3, 4)[..., ::-1, ::-1]
    return xp.ascontiguousarray(turned).reshape(g.C, g.F // g.groups, g.KH, g.KW)


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """``dx``: a forward pass of ``dout`` where :func:`as_forward` says so; otherwise the columns
    of ``w.T @ dout`` (``dout`` widened to rows of ``Wp`` with zeros) added back onto the
    flattened input, one slice per channel and tap. Strided layers: a forward pass over the
    stride's phases where the stride divides the kernel (:mod:`.phases`), else :mod:`.im2col`.

    Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W)
    """
    if g.stride != (1, 1):
        phased = as_phases(g)
        if phased is None:
            return im2col.input_grad(dout, w, g)
        dx = get_array_module(dout, w).empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
        for part, rows in products_by_chunk(dout, phases.filters(w, g), phased):
            found = rows[..., :phased.W_out].transpose(1, 0, 2, 3)
            phases.interleave(found, g, dx[part])  # straight from the chunk's products
        return dx
    turned = as_forward(g)
    if turned is not None:
        return forward(dout, turned_filters(w, g), turned)
    xp = get_array_module(dout, w)
    Hp, Wp = g.padded_size
    L, (top, _, left, _) = g.H_out * Wp, g.pads
    wide = widened(dout, g)
    w_cols = w.reshape(g.groups, g.F // g.groups, im2col.patch_rows(g)).transpose(0, 2, 1)
    dxf = xp.zeros((g.C, flat_length(g)), dtype=dout.dtype)
    for part, cols in by_chunk(xp, g, dout.dtype):
        xp.matmul(w_cols, wide[:, :, part.start * L:part.stop * L], out=cols)
        found = cols.reshape(g.C, g.KH, g.KW, part.stop - part.start, L)
        back = taps(dxf, g, part)
        for u in range(g.KH):
            for v in range(g.KW):
                back[:, u, v] += found[:, u, v]
    padded = dxf[:, :g.N * Hp * Wp].reshape(g.C, g.N, Hp, Wp)
    return xp.ascontiguousarray(padded[:, :, top:top + g.H, left:left + g.W].transpose(1, 0, 2, 3))


def widened(dout: Array, g: ConvGeometry) -> Array:
    """``dout`` on rows of ``Wp``, zeros where the outputs were thrown away.

    Shapes: dout (N, F, H_out, W_out) -> (groups, F/groups, N*H_out*Wp)
    """
    xp = get_array_module(dout)
    wide = xp.zeros((g.F, g.N, g.H_out, g.padded_size[1]), dtype=dout.dtype)
    wide[..., :g.W_out] = dout.transpose(1, 0, 2, 3)
    return wide.reshape(g.groups, g.F // g.groups, -1)


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """``dw``: ``dout``, widened to rows of ``Wp`` with zeros, times the patch rows, summed over
    examples (strided layers: :mod:`.im2col`; depthwise layers: :mod:`.depthwise`, whose one dot
    product per channel and tap on the flat frame ran 1.4 to 2.8 times as fast as the patch
    rows' products on six depthwise layers, 3 x 3 to 7 x 7 kernels, float32, two threads,
    2026-11-29).

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)
    """
    if g.stride != (1, 1):
        return im2col.weight_grad(dout, x, g)
    if is_depthwise(g):
        return depthwise.weight_grad(dout, x, g)
    xp = get_array_module(dout, x)
    wide, L = widened(dout, g), g.H_out * g.padded_size[1]
    dw_t = xp.zeros((g.groups, im2col.patch_rows(g), g.F // g.groups), dtype=x.dtype)
    for part, cols in patches_by_chunk(flattened(x, g), g):
        # dw.T = cols @ dout.T, the faster order (see im2col.weight_grad)
        dw_t += xp.matmul(cols, wide[:, :, part.start * L:part.stop * L].transpose(0, 2, 1))
    return dw_t.transpose(0, 2, 1).reshape(g.F, g.C // g.groups, g.KH, g.KW)
