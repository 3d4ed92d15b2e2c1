"""Transposed convolution: the layer that upsamples, forward and backward.

A convolution with stride ``s`` gathers: each output number is a weighted sum of a patch of the
input. A transposed convolution scatters: each input number ``x[n, c, i, j]`` stamps a copy of its
kernel ``w[c]``, scaled by itself, onto the output at rows ``i*s - p + u*d`` and columns
``j*s - p + v*d``, and where stamps overlap they add up::

    out[n, o0 + o, i*sh - ph + u*dh, j*sw - pw + v*dw] += x[n, c, i, j] * w[c, o, u, v]

(``o0`` is the first output channel of the group of channel ``c``), then ``b`` is added. With
stride 2 the stamps land two pixels apart, so an H x W input gives a roughly 2H x 2W output: this is
how decoders and segmentation networks upsample with learned weights.

Why "transposed": write a convolution as a matrix ``A`` acting on the flattened input. The
transposed convolution with the same weights, stride, padding and dilation is ``A.T``, the adjoint
of that convolution: ``<conv2d(y, w), x> == <y, conv_transpose2d(x, w)>``. It maps the
convolution's output shape back to its input shape (``output_padding`` picks among the input sizes
that a strided convolution sends to the same output size). It is also called a "fractionally
strided" convolution: it equals an ordinary stride-1 convolution run over the input with ``s - 1``
zeros inserted between its pixels, a step of ``1/s``. It is not a deconvolution: ``A.T`` undoes
the shape of ``A``, not its values.

So this module needs no new machinery. The forward pass is exactly the input gradient of
:func:`~convnb.conv.conv2d`, and its backward pass is a forward ``conv2d`` for ``dx`` (gather a
patch of ``dout`` for every input pixel) plus ``conv2d``'s weight gradient for ``dw``: each
algorithm of :mod:`convnb.conv_algos` provides all three, and ``algo`` picks one as in ``conv2d``
(``"auto"`` chooses each pass as ``conv2d`` would for the pass of its own that this one runs: its
backward pass's choice for our forward pass and ``dw``, its forward pass's for our ``dx``).
"""

from __future__ import annotations

from . import cuda
from ._checks import check_array, check_dout, check_same_dtype, pair
from .arithmetic import conv_transpose_output_size
from .backend import get_array_module
from .conv import algorithm
from .geometry import ConvGeometry
from .types import Array, IntOrPair
from .windows import pad2d

__all__ = [
    "conv_transpose2d", "conv_transpose2d_backward",
    "conv_transpose2d_backward_naive", "conv_transpose2d_naive",
]


def transpose_geometry(fn: str, x: Array, w: Array, b: Array | None, stride: IntOrPair,
                       padding: IntOrPair, output_padding: IntOrPair, groups: int,
                       dilation: IntOrPair) -> ConvGeometry:
    """Check a transposed convolution's arguments and return the geometry of the convolution it
    is the transpose of: that convolution's input is our output and its output is our input, so
    ``g.C, g.H, g.W`` are our C_out, H_out, W_out and ``g.F, g.H_out, g.W_out`` our C_in, H, W.
    """
    check_array(x, "x", fn, "(N, C_in, H, W)")
    check_array(w, "w", fn, "(C_in, C_out/groups, KH, KW)")
    if b is not None:
        check_array(b, "b", fn, "(C_out,)")
    check_same_dtype(fn, x=x, w=w, b=b)
    stride, dilation = pair(stride, "stride", fn), pair(dilation, "dilation", fn)
    padding = pair(padding, "padding", fn, minimum=0)
    output_padding = pair(output_padding, "output_padding", fn, minimum=0)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    N, C_in, H, W = x.shape
    _, C_out_per_group, KH, KW = w.shape
    if w.shape[0] != C_in:
        raise ValueError(f"{fn}: x has {C_in} channels but w expects {w.shape[0]} (w.shape[0])")
    if C_in % groups:
        raise ValueError(f"{fn}: groups ({groups}) must divide the channels of x ({C_in})")
    C_out = C_out_per_group * groups
    if b is not None and tuple(b.shape) != (C_out,):
        raise ValueError(f"{fn}: b must have shape (C_out,) = ({C_out},) "
                         f"(w.shape[1] * groups), got {tuple(b.shape)}")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation, strict=True)):
        raise ValueError(f"{fn}: output_padding must be smaller than the stride or the dilation "
                         f"on each axis, got output_padding {output_padding} with stride {stride} "
                         f"and dilation {dilation}")
    sizes = []
    for axis, i, k, s, p, d, op in zip(("height", "width"), (H, W), (KH, KW), stride, padding,
                                       dilation, output_padding, strict=True):
        try:
            sizes.append(conv_transpose_output_size(i, k, s, p, d, op))
        except ValueError:  # the only failure left: an empty output
            raise ValueError(f"{fn}: the output {axis} would be empty: (size-1)*stride - 2*padding"
                             f" + dilation*(k-1) + output_padding + 1 = ({i}-1)*{s} - 2*{p} + "
                             f"{d}*({k}-1) + {op} + 1 < 1; use less padding") from None
    (ph, pw), (H_out, W_out) = padding, sizes
    return ConvGeometry(N, C_out, H_out, W_out, C_in, KH, KW, groups, stride, dilation,
                        (ph, ph, pw, pw), "zeros", H, W)


def conv_transpose2d(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
                     padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1,
                     dilation: IntOrPair = 1, algo: str = "auto") -> Array:
    """2-D transposed convolution, as ``torch.nn.functional.conv_transpose2d``.

    Computed as the input gradient of ``conv2d`` with the same weights and options, taking ``x``
    as that convolution's ``dout``.

    Parameters
    ----------
    x : input, float array.
    w : kernels; ``w[c]`` is the stamp that input channel ``c`` leaves on its group's outputs.
    b : optional bias, one per output channel.
    stride, dilation : int or (rows, columns) pair; stride is the distance between stamps.
    padding : int or (rows, columns) pair: rows and columns cropped from each border of the output.
    output_padding : int or pair, extra rows/columns at the bottom/right; smaller than the stride
        or the dilation.
    groups : split channels into this many independent groups.
    algo : as in :func:`~convnb.conv.conv2d`.

    Shapes: x (N, C_in, H, W), w (C_in, C_out/groups, KH, KW), b (C_out,)
    -> out (N, C_out, H_out, W_out), with
    ``H_out = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1`` (likewise W_out).
    """
    fn = "conv_transpose2d"
    g = transpose_geometry(fn, x, w, b, stride, padding, output_padding, groups, dilation)
    xp = get_array_module(x, w, b)
    method = algorithm(algo, g, x, fn, True, ("input_grad",))
    out = xp.ascontiguousarray(method.input_grad(x, w, g))
    if b is not None:
        out += b.reshape(1, g.C, 1, 1)
    return out


def conv_transpose2d_backward(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                              padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                              groups: int = 1, dilation: IntOrPair = 1,
                              algo: str = "auto") -> tuple[Array, Array, Array]:
    """Gradients of :func:`conv_transpose2d` given ``dout``, the gradient w.r.t. its output.

    Each input pixel stamped ``w`` onto a patch of the output, so its gradient gathers that patch
    of ``dout`` back through ``w``: ``dx`` is ``conv2d(dout, w)`` (same options). ``dw`` correlates
    those patches with ``x``, as ``conv2d``'s own ``dw`` does; ``db`` sums ``dout``. ``algo`` as
    in :func:`~convnb.conv.conv2d`.

    Shapes: dout (N, C_out, H_out, W_out), x (N, C_in, H, W), w (C_in, C_out/groups, KH, KW)
    -> dx (N, C_in, H, W), dw (C_in, C_out/groups, KH, KW), db (C_out,)
    """
    fn = "conv_transpose2d_backward"
    g = transpose_geometry(fn, x, w, None, stride, padding, output_padding, groups, dilation)
    check_dout(fn, dout, (g.N, g.C, g.H, g.W), x, "(N, C_out, H_out, W_out)")
    # each pass by its own choice: dx is a forward pass of the convolution, whose best
    # algorithm can differ from its backward's ("auto" gave the 2 x 2 upsampling layer's dx to
    # direct, as for the convolution's dx, where im2col's forward pass is faster)
    gather = algorithm(algo, g, x, fn, False, ("forward",))
    dx = gather.forward(dout, w, g)         # the convolution's forward pass, on dout
    dw = algorithm(algo, g, x, fn, True, ("weight_grad",)).weight_grad(x, dout, g)
    db = cuda.channel_sums(dout) if cuda.usable(dout, dout.size) else dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def conv_transpose2d_naive(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
                           padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1,
                           dilation: IntOrPair = 1) -> Array:
    """:func:`conv_transpose2d` as loops over every input number: each one stamps its kernel.

    The stamps go onto a canvas ``padding`` larger on every side, which is cropped at the end.

    Shapes: x (N, C_in, H, W), w (C_in, C_out/groups, KH, KW), b (C_out,)
    -> out (N, C_out, H_out, W_out)
    """
    g = transpose_geometry("conv_transpose2d_naive", x, w, b, stride, padding, output_padding,
                           groups, dilation)
    xp = get_array_module(x, w, b)
    (sh, sw), (dh, dw) = g.stride, g.dilation
    Cg, Og = g.F // g.groups, g.C // g.groups  # input and output channels per group
    canvas = xp.zeros((g.N, g.C, *g.padded_size), dtype=x.dtype)
    for n in range(g.N):
        for c in range(g.F):
            o0 = (c // Cg) * Og  # first output channel of this channel's group
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows = slice(i * sh, i * sh + dh * (g.KH - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (g.KW - 1) + 1, dw)
                    canvas[n, o0:o0 + Og, rows, cols] += x[n, c, i, j] * w[c]
    top, _, left, _ = g.pads
    out = canvas[:, :, top:top + g.H, left:left + g.W]
    return out if b is None else out + b.reshape(1, g.C, 1, 1)


def conv_transpose2d_backward_naive(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                                    padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                                    groups: int = 1,
                                    dilation: IntOrPair = 1) -> tuple[Array, Array, Array]:
    """:func:`conv_transpose2d_backward` as loops: each input number takes back the gradient of
    the patch it stamped onto.

    Shapes: dout (N, C_out, H_out, W_out), x (N, C_in, H, W), w (C_in, C_out/groups, KH, KW)
    -> dx (N, C_in, H, W), dw (C_in, C_out/groups, KH, KW), db (C_out,)
    """
    fn = "conv_transpose2d_backward_naive"
    g = transpose_geometry(fn, x, w, None, stride, padding, output_padding, groups, dilation)
    check_dout(fn, dout, (g.N, g.C, g.H, g.W), x, "(N, C_out, H_out, W_out)")
    xp = get_array_module(dout, x, w)
    dcanvas = pad2d(dout, g.pads)
    dx, dw = xp.zeros(x.shape, dtype=x.dtype), xp.zeros(w.shape, dtype=w.dtype)
    (sh, sw), (dh, dwid) = g.stride, g.dilation
    Cg, Og = g.F // g.groups, g.C // g.groups
    for n in range(g.N):
        for c in range(g.F):
            o0 = (c // Cg) * Og
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows = slice(i * sh, i * sh + dh * (g.KH - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dwid * (g.KW - 1) + 1, dwid)
                    patch = dcanvas[n, o0:o0 + Og, rows, cols]
                    dx[n, c, i, j] = (patch * w[c]).sum()
                    dw[c] += x[n, c, i, j] * patch
    return dx, dw, dout.sum(axis=(0, 2, 3))
