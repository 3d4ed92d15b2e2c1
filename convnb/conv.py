"""Convolution layers (cross-correlation, as in every deep-learning library): forward and backward.

For each output channel ``f`` in group ``g`` (``F // groups`` output and ``C // groups`` input
channels per group), with padded input ``xpad``::

    out[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] * xpad[n, c0 + c, i*sh + u*dh, j*sw + v*dw]

where ``c0 = g * C/groups`` is the first input channel of the group.

``conv2d_naive`` is that sum written as loops, the definition. ``conv2d`` computes the same numbers
fast with one of the algorithms of :mod:`convnb.conv_algos`: ``"direct"`` (shift and accumulate
over the kernel taps), ``"im2col"`` (every patch as a column of a matrix, then one matrix
product), ``"flat"`` (im2col on the flattened image), ``"fft"`` (products of Fourier transforms) or
``"winograd"`` (Winograd's F(4 x 4, 3 x 3), for 3 x 3 layers at stride 1); ``"auto"`` picks one by
the layer's shape and the BLAS threads.
"""

from __future__ import annotations

from types import ModuleType

from . import cuda
from ._checks import (
    check_array,
    check_dout,
    check_padding_mode,
    check_same_dtype,
    pair,
    resolve_padding,
)
from .backend import get_array_module
from .conv_algos import ALGORITHMS, ALGOS
from .conv_algos.choose import choose_algo
from .geometry import ConvGeometry
from .types import Array, IntOrPair
from .windows import pad2d, pad2d_backward

__all__ = [
    "conv1d", "conv1d_backward", "conv1d_backward_naive", "conv1d_naive",
    "conv2d", "conv2d_backward", "conv2d_backward_naive", "conv2d_naive",
]


def out_extent(fn: str, axis: str, size: int, pad_total: int, k: int, s: int, d: int) -> int:
    """Output size along one axis; raises when the dilated kernel does not fit."""
    span = d * (k - 1) + 1
    if span > size + pad_total:
        raise ValueError(
            f"{fn}: the kernel {axis} {k} (spanning {span} with dilation {d}) is larger than the "
            f"padded input {axis} {size + pad_total} ({size} + {pad_total} padding)"
        )
    return (size + pad_total - span) // s + 1


def conv_geometry(fn: str, x: Array, w: Array, b: Array | None, stride: IntOrPair,
                  padding: IntOrPair | str, dilation: IntOrPair, groups: int,
                  padding_mode: str) -> ConvGeometry:
    """Check a convolution's arguments (see :func:`conv2d`) and work out its sizes."""
    check_array(x, "x", fn, "(N, C, H, W)")
    check_array(w, "w", fn, "(F, C/groups, KH, KW)")
    if b is not None:
        check_array(b, "b", fn, "(F,)")
    check_same_dtype(fn, x=x, w=w, b=b)
    stride, dilation = pair(stride, "stride", fn), pair(dilation, "dilation", fn)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    check_padding_mode(padding_mode, fn)
    N, C, H, W = x.shape
    F, C_per_group, KH, KW = w.shape
    if C % groups:
        raise ValueError(f"{fn}: groups ({groups}) must divide the channels of x ({C})")
    if F % groups:
        raise ValueError(f"{fn}: groups ({groups}) must divide the filters of w ({F}, w.shape[0])")
    if C_per_group * groups != C:
        raise ValueError(
            f"{fn}: x has {C} channels but w expects {C_per_group * groups} "
            f"(w.shape[1] * groups = {C_per_group} * {groups})"
        )
    if b is not None and tuple(b.shape) != (F,):
        raise ValueError(f"{fn}: b must have shape (F,) = ({F},), got {tuple(b.shape)}")
    pads = resolve_padding(padding, (KH, KW), dilation, stride, fn)
    H_out = out_extent(fn, "height", H, pads[0] + pads[1], KH, stride[0], dilation[0])
    W_out = out_extent(fn, "width", W, pads[2] + pads[3], KW, stride[1], dilation[1])
    return ConvGeometry(N, C, H, W, F, KH, KW, groups, stride, dilation, pads, padding_mode,
                        H_out, W_out)


def _zero_padded(x: Array, g: ConvGeometry, fn: str) -> tuple[Array, ConvGeometry]:
    """``x`` and ``g`` restated with zero padding only: other padding modes are padded here, so
    that the algorithms see an unpadded layer; zero padding is left to them (direct never builds
    it)."""
    if g.padding_mode == "zeros" or not any(g.pads):
        return x, g._replace(padding_mode="zeros")
    Hp, Wp = g.padded_size
    xpad = pad2d(x, g.pads, g.padding_mode, fn=fn)
    return xpad, g._replace(H=Hp, W=Wp, pads=(0, 0, 0, 0), padding_mode="zeros")


def algorithm(algo: str, g: ConvGeometry, x: Array, fn: str, backward: bool = False,
              passes: tuple[str, ...] | None = None) -> ModuleType:
    """The module of :mod:`convnb.conv_algos` that computes ``g`` for ``algo`` (``"auto"``: the
    choice for the forward pass, or for both gradients if ``backward``; ``passes``: the
    module's functions the caller will run, which benchmark mode times)."""
    if algo not in ALGOS:
        raise ValueError(f"{fn}: algo must be one of {ALGOS}, got {algo!r}")
    if algo == "auto":
        algo = choose_algo(g, x.dtype, get_array_module(x).__name__, backward, passes)
    return ALGORITHMS[algo]


def _conv2d(x, w, b, stride, padding, dilation, groups, padding_mode, algo, fn):
    g = conv_geometry(fn, x, w, b, stride, padding, dilation, groups, padding_mode)
    x, g = _zero_padded(x, g, fn)
    return algorithm(algo, g, x, fn).forward(x, w, g, b)


def conv2d(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
           padding_mode: str = "zeros", algo: str = "auto") -> Array:
    """2-D convolution layer (cross-correlation), as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : input, float array.
    w : filters; ``w[f]`` is compared with every patch of the ``C/groups`` channels of its group.
    b : optional bias, one per filter.
    stride, dilation : int or (rows, columns) pair.
    padding : int, (rows, columns) pair, ``"valid"``, ``"same"`` or ``"full"``.
    groups : split channels and filters into this many independent groups
        (``groups == C`` with ``w.shape[1] == 1`` is a depthwise convolution).
    padding_mode : ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
    algo : ``"direct"``, ``"im2col"``, ``"flat"``, ``"fft"``, ``"winograd"``
        (:mod:`convnb.conv_algos`) or ``"auto"``, which picks one by the layer's shape and the
        BLAS threads (:func:`convnb.conv_algos.choose.rule`), or, after
        ``convnb.conv_algos.set_benchmark(True)``, by timing them once per shape.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> out (N, F, H_out, W_out), with
    ``H_out = (H + pad_top + pad_bottom - dilation*(KH-1) - 1) // stride + 1`` (likewise W_out).
    """
    return _conv2d(x, w, b, stride, padding, dilation, groups, padding_mode, algo, "conv2d")


def _conv2d_backward(dout, x, w, stride, padding, dilation, groups, padding_mode, fn,
                     input_grad=True, algo="auto"):
    """(dx, dw, db); dx is None when ``input_grad`` is False."""
    g = conv_geometry(fn, x, w, None, stride, padding, dilation, groups, padding_mode)
    check_dout(fn, dout, (g.N, g.F, g.H_out, g.W_out), x)
    xp = get_array_module(dout, x, w)
    xpad, g_zero = _zero_padded(x, g, fn)
    passes = ("weight_grad", "input_grad") if input_grad else ("weight_grad",)
    method = algorithm(algo, g_zero, x, fn, True, passes)  # one choice for dw and dx
    dw = method.weight_grad(dout, xpad, g_zero)
    db = cuda.channel_sums(dout) if cuda.usable(dout, dout.size) else dout.sum(axis=(0, 2, 3))
    if not input_grad:
        return None, dw, db
    dx = method.input_grad(dout, w, g_zero)
    dx = pad2d_backward(dx, (g.H, g.W), g.pads if xpad is not x else (0, 0, 0, 0), padding_mode)
    return xp.ascontiguousarray(dx), dw, db


def conv2d_backward(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                    padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
                    padding_mode: str = "zeros", algo: str = "auto") -> tuple[Array, Array, Array]:
    """Gradients of :func:`conv2d` given ``dout``, the gradient of the loss w.r.t. its output.

    ``dw`` correlates the input patches with ``dout``; ``dx`` sends each ``dout`` entry back through
    the same weights onto the patch it came from (a transposed convolution); ``db`` sums ``dout``.
    ``algo`` as in :func:`conv2d`; ``"auto"`` makes one choice for both gradients, which may differ
    from the forward pass's (:func:`convnb.conv_algos.choose.rule`).

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (F, C/groups, KH, KW)
    -> dx (N, C, H, W), dw (F, C/groups, KH, KW), db (F,)
    """
    return _conv2d_backward(dout, x, w, stride, padding, dilation, groups, padding_mode,
                            "conv2d_backward", algo=algo)


def conv2d_weight_backward(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
                           padding_mode: str = "zeros", algo: str = "auto") -> tuple[Array, Array]:
    """The parameters' part of :func:`conv2d_backward`, for a layer whose input needs no gradient
    (the first layer of a network, whose input is the data): skipping ``dx`` saves a third of the
    work. ``torch.nn.grad.conv2d_weight`` computes the same ``dw``.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (F, C/groups, KH, KW)
    -> dw (F, C/groups, KH, KW), db (F,)
    """
    _, dw, db = _conv2d_backward(dout, x, w, stride, padding, dilation, groups, padding_mode,
                                 "conv2d_weight_backward", input_grad=False, algo=algo)
    return dw, db


def conv2d_naive(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
                 padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
                 padding_mode: str = "zeros") -> Array:
    """:func:`conv2d` as explicit loops over every output number: the definition, slowly.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    g = conv_geometry("conv2d_naive", x, w, b, stride, padding, dilation, groups, padding_mode)
    xp = get_array_module(x, w, b)
    xpad = pad2d(x, g.pads, padding_mode, fn="conv2d_naive")
    (sh, sw), (dh, dw) = g.stride, g.dilation
    Cg, Fg = g.C // g.groups, g.F // g.groups
    out = xp.zeros((g.N, g.F, g.H_out, g.W_out), dtype=x.dtype)
    for n in range(g.N):
        for f in range(g.F):
            c0 = (f // Fg) * Cg  # first input channel of this filter's group
            for i in range(g.H_out):
                for j in range(g.W_out):
                    patch = xpad[n, c0:c0 + Cg, i * sh: i * sh + dh * (g.KH - 1) + 1: dh,
                                 j * sw: j * sw + dw * (g.KW - 1) + 1: dw]
                    out[n, f, i, j] = (patch * w[f]).sum() + (0 if b is None else b[f])
    return out


def conv2d_backward_naive(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                          padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1,
                          padding_mode: str = "zeros") -> tuple[Array, Array, Array]:
    """:func:`conv2d_backward` as loops: each output number hands its gradient to the inputs and
    weights it was computed from.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (F, C/groups, KH, KW)
    -> dx (N, C, H, W), dw (F, C/groups, KH, KW), db (F,)
    """
    return _conv2d_backward_naive(dout, x, w, stride, padding, dilation, groups, padding_mode,
                                  "conv2d_backward_naive")


def _conv2d_backward_naive(dout, x, w, stride, padding, dilation, groups, padding_mode, fn):
    """:func:`conv2d_backward_naive`, its errors naming ``fn`` (the function the caller called)."""
    g = conv_geometry(fn, x, w, None, stride, padding, dilation, groups, padding_mode)
    check_dout(fn, dout, (g.N, g.F, g.H_out, g.W_out), x)
    xp = get_array_module(dout, x, w)
    xpad = pad2d(x, g.pads, padding_mode, fn=fn)
    dxpad, dw = xp.zeros(xpad.shape, dtype=x.dtype), xp.zeros(w.shape, dtype=w.dtype)
    (sh, sw), (dh, dwid) = g.stride, g.dilation
    Cg, Fg = g.C // g.groups, g.F // g.groups
    for n in range(g.N):
        for f in range(g.F):
            c0 = (f // Fg) * Cg
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows = slice(i * sh, i * sh + dh * (g.KH - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dwid * (g.KW - 1) + 1, dwid)
                    dw[f] += dout[n, f, i, j] * xpad[n, c0:c0 + Cg, rows, cols]
                    dxpad[n, c0:c0 + Cg, rows, cols] += dout[n, f, i, j] * w[f]
    dx = pad2d_backward(dxpad, (g.H, g.W), g.pads, padding_mode)
    return dx, dw, dout.sum(axis=(0, 2, 3))


# --- 1-D: a 2-D convolution over an image one row high --------------------------------------------

def _as_rows(fn: str, x: Array, w: Array, stride: int, padding: int | str, dilation: int):
    """Check 1-D arguments and restate them for a (N, C, 1, L) image."""
    check_array(x, "x", fn, "(N, C, L)")
    check_array(w, "w", fn, "(F, C/groups, K)")
    for name, value, low in (("stride", stride, 1), ("dilation", dilation, 1)):
        pair(value, name, fn, low)
        if isinstance(value, tuple | list):
            raise ValueError(f"{fn}: {name} must be an int for a 1-D convolution, got {value!r}")
    if not isinstance(padding, str):
        pair(padding, "padding", fn, 0)
        if isinstance(padding, tuple | list):
            raise ValueError(f"{fn}: padding must be an int or a string for a 1-D convolution, "
                             f"got {padding!r}")
        padding = (0, padding)
    return x[:, :, None, :], w[:, :, None, :], (1, stride), padding, (1, dilation)


def conv1d(x: Array, w: Array, b: Array | None = None, stride: int = 1, padding: int | str = 0,
           dilation: int = 1, groups: int = 1, padding_mode: str = "zeros") -> Array:
    """1-D convolution layer (cross-correlation), as ``torch.nn.functional.conv1d``.

    ``out[n, f, i] = b[f] + sum_{c, k} w[f, c, k] * xpad[n, group's c, i*stride + k*dilation]``;
    arguments as in :func:`conv2d`, with ints where :func:`conv2d` takes pairs.

    Shapes: x (N, C, L), w (F, C/groups, K), b (F,) -> out (N, F, L_out)
    """
    x2, w2, s, p, d = _as_rows("conv1d", x, w, stride, padding, dilation)
    return _conv2d(x2, w2, b, s, p, d, groups, padding_mode, "auto", "conv1d")[:, :, 0, :]


def conv1d_backward(dout: Array, x: Array, w: Array, stride: int = 1, padding: int | str = 0,
                    dilation: int = 1, groups: int = 1,
                    padding_mode: str = "zeros") -> tuple[Array, Array, Array]:
    """Gradients of :func:`conv1d`.

    Shapes: dout (N, F, L_out), x (N, C, L), w (F, C/groups, K)
    -> dx (N, C, L), dw (F, C/groups, K), db (F,)
    """
    fn = "conv1d_backward"
    x2, w2, s, p, d = _as_rows(fn, x, w, stride, padding, dilation)
    check_array(dout, "dout", fn, "(N, F, L_out)")
    dx, dw, db = _conv2d_backward(dout[:, :, None, :], x2, w2, s, p, d, groups, padding_mode, fn)
    return dx[:, :, 0, :], dw[:, :, 0, :], db


def conv1d_naive(x: Array, w: Array, b: Array | None = None, stride: int = 1,
                 padding: int | str = 0, dilation: int = 1, groups: int = 1,
                 padding_mode: str = "zeros") -> Array:
    """:func:`conv1d` as explicit loops.

    Shapes: x (N, C, L), w (F, C/groups, K), b (F,) -> out (N, F, L_out)
    """
    fn = "conv1d_naive"
    x2, w2, s, p, d = _as_rows(fn, x, w, stride, padding, dilation)
    g = conv_geometry(fn, x2, w2, b, s, p, d, groups, padding_mode)
    xp = get_array_module(x, w, b)
    xpad = pad2d(x2, g.pads, padding_mode, fn=fn)[:, :, 0, :]
    Cg, Fg, K = g.C // groups, g.F // groups, g.KW
    out = xp.zeros((g.N, g.F, g.W_out), dtype=x.dtype)
    for n in range(g.N):
        for f in range(g.F):
            c0 = (f // Fg) * Cg
            for i in range(g.W_out):
                total = 0 if b is None else b[f]
                for c in range(Cg):
                    for k in range(K):
                        total = total + w[f, c, k] * xpad[n, c0 + c, i * stride + k * dilation]
                out[n, f, i] = total
    return out


def conv1d_backward_naive(dout: Array, x: Array, w: Array, stride: int = 1,
                          padding: int | str = 0, dilation: int = 1, groups: int = 1,
                          padding_mode: str = "zeros") -> tuple[Array, Array, Array]:
    """:func:`conv1d_backward` as loops.

    Shapes: dout (N, F, L_out), x (N, C, L), w (F, C/groups, K)
    -> dx (N, C, L), dw (F, C/groups, K), db (F,)
    """
    fn = "conv1d_backward_naive"
    x2, w2, s, p, d = _as_rows(fn, x, w, stride, padding, dilation)
    check_array(dout, "dout", fn, "(N, F, L_out)")
    dx, dw, db = _conv2d_backward_naive(dout[:, :, None, :], x2, w2, s, p, d, groups,
                                        padding_mode, fn)
    return dx[:, :, 0, :], dw[:, :, 0, :], db
