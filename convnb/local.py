"""Locally connected and tiled convolution: how much weight sharing a layer should have.

A fully connected layer gives every output unit its own weights for every input pixel. A
**locally connected** layer keeps the convolution's small receptive fields but not its weight
sharing: the unit at output position (i, j) has its own kernel ``w[i, j]``::

    out[n, f, i, j] = b[f, i, j]
                      + sum_{c, u, v} w[i, j, f, c, u, v] * xpad[n, c, i*sh + u, j*sw + v]

That suits *registered* inputs, where the same thing is always in the same place: in aligned face
photographs the eyes are always near the top, so a detector for eyes there and one for a mouth lower
down can be different kernels. It costs one kernel per position (the lecture's 200 x 200 image with
10 x 10 filters at 40K positions needs 4M weights, see :func:`convnb.locally_connected_params`), and
what it learns at one position does not transfer to another. A convolution shares one kernel
everywhere, which is right when the statistics are the same everywhere (stationarity) and makes the
layer equivariant to shifts.

**Tiled** convolution (Le et al. 2010, "Tiled convolutional neural networks") sits in between: a
TH x TW tile of kernels repeats across the image, so output (i, j) uses ``w[i % TH, j % TW]``.
TH = TW = 1 is a convolution; a tile as large as the output is a locally connected layer.
Neighbouring units may learn different features of the same patch, and the pooling above them can
learn invariances richer than shifts, with only TH * TW times a convolution's weights.

The fast versions gather every patch once (``sliding_windows``) and do one batched matrix product:
per position for the locally connected layer, per tile offset for the tiled one. The backward passes
send the gradients back through the same products and add the patches up with ``fold_windows``.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._checks import check_array, check_dout, check_same_dtype, pair, resolve_padding
from .backend import get_array_module
from .conv import ConvGeometry, out_extent
from .types import Array, IntOrPair
from .windows import fold_windows, pad2d, pad2d_backward, sliding_windows

__all__ = [
    "locally_connected2d", "locally_connected2d_backward", "locally_connected2d_backward_naive",
    "locally_connected2d_naive", "tiled_conv2d", "tiled_conv2d_backward",
    "tiled_conv2d_backward_naive", "tiled_conv2d_naive",
]

_LOCAL_W = "(H_out, W_out, F, C, KH, KW)"
_TILED_W = "(TH, TW, F, C, KH, KW)"


def _geometry(fn: str, x: Array, w: Array, b: Array | None, stride: IntOrPair,
              padding: IntOrPair | str, tiled: bool) -> ConvGeometry:
    """Check the arguments of a locally connected (or tiled) layer and work out its sizes."""
    check_array(x, "x", fn, "(N, C, H, W)")
    check_array(w, "w", fn, _TILED_W if tiled else _LOCAL_W)
    if b is not None:
        check_array(b, "b", fn, "(F,)" if tiled else "(F, H_out, W_out)")
    check_same_dtype(fn, x=x, w=w, b=b)
    stride = pair(stride, "stride", fn)
    N, C, H, W = x.shape
    F, C_w, KH, KW = w.shape[2:]
    if C_w != C:
        raise ValueError(f"{fn}: x has {C} channels but w expects {C_w} (w.shape[3])")
    pads = resolve_padding(padding, (KH, KW), (1, 1), stride, fn)
    H_out = out_extent(fn, "height", H, pads[0] + pads[1], KH, stride[0], 1)
    W_out = out_extent(fn, "width", W, pads[2] + pads[3], KW, stride[1], 1)
    if not tiled and tuple(w.shape[:2]) != (H_out, W_out):
        raise ValueError(
            f"{fn}: w must hold one kernel per output position, w.shape[:2] = (H_out, W_out) = "
            f"{(H_out, W_out)} for x of size {(H, W)}, kernel {(KH, KW)}, stride {stride}, "
            f"padding {padding!r}; got w.shape[:2] = {tuple(w.shape[:2])}"
        )
    b_shape = (F,) if tiled else (F, H_out, W_out)
    if b is not None and tuple(b.shape) != b_shape:
        raise ValueError(f"{fn}: b must have shape {b_shape}, got {tuple(b.shape)}")
    return ConvGeometry(N, C, H, W, F, KH, KW, 1, stride, (1, 1), pads, "zeros", H_out, W_out)


def _patches(x: Array, g: ConvGeometry) -> Array:
    """Every receptive field, by output position.

    Shapes: x (N, C, H, W) -> (H_out, W_out, N, C*KH*KW)
    """
    windows = sliding_windows(pad2d(x, g.pads), (g.KH, g.KW), g.stride, (1, 1), (g.H_out, g.W_out))
    return windows.transpose(2, 3, 0, 1, 4, 5).reshape(g.H_out, g.W_out, g.N, -1)


def _patches_backward(dpatches: Array, g: ConvGeometry) -> Array:
    """Adjoint of :func:`_patches`: add every patch's gradient back onto the input.

    Shapes: (H_out, W_out, N, C*KH*KW) -> dx (N, C, H, W)
    """
    cols = dpatches.reshape(g.H_out, g.W_out, g.N, g.C, g.KH, g.KW).transpose(2, 3, 0, 1, 4, 5)
    dxpad = fold_windows(cols, g.padded_size, g.stride, (1, 1))
    return get_array_module(dxpad).ascontiguousarray(pad2d_backward(dxpad, (g.H, g.W), g.pads))


def _tile_offsets(g: ConvGeometry, TH: int, TW: int) -> Iterator[tuple[int, int, slice, slice]]:
    """The output positions each kernel of the tile serves: ``(a, c, rows, cols)``, so that
    ``out[rows, cols]`` (output-position axes first) is made by ``w[a, c]``."""
    for a in range(TH):
        for c in range(TW):
            yield a, c, slice(a, g.H_out, TH), slice(c, g.W_out, TW)


def locally_connected2d(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
                        padding: IntOrPair | str = 0) -> Array:
    """Locally connected layer: a convolution whose kernel differs at every output position.

    ``b`` is per position too: with no sharing each output unit is its own neuron with its own
    threshold (in a registered face the brightness expected at the eyes is not that at the
    cheeks), which is also how Keras' ``LocallyConnected2D`` does it.

    Parameters
    ----------
    x : input, float array.
    w : one kernel bank per output position; ``w[i, j]`` makes ``out[:, :, i, j]``.
    b : optional bias, one per filter and position.
    stride : int or (rows, columns) pair.
    padding : int, (rows, columns) pair, ``"valid"``, ``"same"`` or ``"full"`` (zeros).

    Shapes: x (N, C, H, W), w (H_out, W_out, F, C, KH, KW), b (F, H_out, W_out)
    -> out (N, F, H_out, W_out), with ``H_out = (H + 2*pad - KH) // stride + 1``
    """
    g = _geometry("locally_connected2d", x, w, b, stride, padding, tiled=False)
    xp = get_array_module(x, w, b)
    rows = _patches(x, g).reshape(g.H_out * g.W_out, g.N, -1)          # (P, N, C*KH*KW)
    kernels = w.reshape(g.H_out * g.W_out, g.F, -1).transpose(0, 2, 1)  # (P, C*KH*KW, F)
    out = xp.matmul(rows, kernels).reshape(g.H_out, g.W_out, g.N, g.F).transpose(2, 3, 0, 1)
    if b is not None:
        out = out + b[None]
    return xp.ascontiguousarray(out)


def locally_connected2d_backward(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                                 padding: IntOrPair | str = 0) -> tuple[Array, Array, Array]:
    """Gradients of :func:`locally_connected2d`: the convolution's, but never summed over
    positions (each position's kernel and bias only see their own output).

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (H_out, W_out, F, C, KH, KW)
    -> dx (N, C, H, W), dw (H_out, W_out, F, C, KH, KW), db (F, H_out, W_out)
    """
    fn = "locally_connected2d_backward"
    g = _geometry(fn, x, w, None, stride, padding, tiled=False)
    check_dout(fn, dout, (g.N, g.F, g.H_out, g.W_out), x)
    xp = get_array_module(dout, x, w)
    P = g.H_out * g.W_out
    rows = _patches(x, g).reshape(P, g.N, -1)                   # (P, N, C*KH*KW)
    d = dout.transpose(2, 3, 0, 1).reshape(P, g.N, g.F)         # (P, N, F)
    dw = xp.matmul(d.transpose(0, 2, 1), rows).reshape(w.shape)
    dpatches = xp.matmul(d, w.reshape(P, g.F, -1))              # (P, N, C*KH*KW)
    return _patches_backward(dpatches.reshape(g.H_out, g.W_out, g.N, -1), g), dw, dout.sum(axis=0)


def tiled_conv2d(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
                 padding: IntOrPair | str = 0) -> Array:
    """Tiled convolution: a TH x TW tile of kernels repeats over the output, so output position
    (i, j) uses kernel bank ``w[i % TH, j % TW]``. A tile larger than the output leaves its
    extra kernels unused (their gradient is zero).

    Parameters
    ----------
    x : input, float array.
    w : the tile of kernel banks.
    b : optional bias, one per filter (shared by the whole map, as in a convolution).
    stride, padding : as in :func:`locally_connected2d`.

    Shapes: x (N, C, H, W), w (TH, TW, F, C, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    g = _geometry("tiled_conv2d", x, w, b, stride, padding, tiled=True)
    xp = get_array_module(x, w, b)
    patches = _patches(x, g)                                    # (H_out, W_out, N, C*KH*KW)
    out = xp.zeros((g.H_out, g.W_out, g.N, g.F), dtype=x.dtype)
    for a, c, rows, cols in _tile_offsets(g, w.shape[0], w.shape[1]):
        out[rows, cols] = xp.matmul(patches[rows, cols], w[a, c].reshape(g.F, -1).T)
    out = out.transpose(2, 3, 0, 1)
    if b is not None:
        out = out + b.reshape(1, g.F, 1, 1)
    return xp.ascontiguousarray(out)


def tiled_conv2d_backward(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                          padding: IntOrPair | str = 0) -> tuple[Array, Array, Array]:
    """Gradients of :func:`tiled_conv2d`: each kernel of the tile collects the gradients of the
    positions it serves; ``db`` sums ``dout`` as for a convolution.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (TH, TW, F, C, KH, KW)
    -> dx (N, C, H, W), dw (TH, TW, F, C, KH, KW), db (F,)
    """
    fn = "tiled_conv2d_backward"
    g = _geometry(fn, x, w, None, stride, padding, tiled=True)
    check_dout(fn, dout, (g.N, g.F, g.H_out, g.W_out), x)
    xp = get_array_module(dout, x, w)
    patches = _patches(x, g)                                    # (H_out, W_out, N, C*KH*KW)
    d = dout.transpose(2, 3, 0, 1)                              # (H_out, W_out, N, F)
    dw = xp.zeros(w.shape, dtype=w.dtype)
    dpatches = xp.zeros(patches.shape, dtype=x.dtype)
    for a, c, rows, cols in _tile_offsets(g, w.shape[0], w.shape[1]):
        dw[a, c] = xp.tensordot(d[rows, cols], patches[rows, cols],
                                axes=([0, 1, 2], [0, 1, 2])).reshape(w.shape[2:])
        dpatches[rows, cols] = xp.matmul(d[rows, cols], w[a, c].reshape(g.F, -1))
    return _patches_backward(dpatches, g), dw, dout.sum(axis=(0, 2, 3))


# --- The definitions, as loops --------------------------------------------------------------------

def _kernel_at(w: Array, i: int, j: int, tiled: bool) -> Array:
    """The kernel bank output position (i, j) uses. Shapes: -> (F, C, KH, KW)"""
    return w[i % w.shape[0], j % w.shape[1]] if tiled else w[i, j]


def _forward_naive(fn: str, x, w, b, stride, padding, tiled: bool) -> Array:
    g = _geometry(fn, x, w, b, stride, padding, tiled)
    xp = get_array_module(x, w, b)
    xpad, (sh, sw) = pad2d(x, g.pads), g.stride
    out = xp.zeros((g.N, g.F, g.H_out, g.W_out), dtype=x.dtype)
    for n in range(g.N):
        for f in range(g.F):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    patch = xpad[n, :, i * sh: i * sh + g.KH, j * sw: j * sw + g.KW]
                    out[n, f, i, j] = (patch * _kernel_at(w, i, j, tiled)[f]).sum()
                    if b is not None:
                        out[n, f, i, j] += b[f] if tiled else b[f, i, j]
    return out


def _backward_naive(fn: str, dout, x, w, stride, padding,
                    tiled: bool) -> tuple[Array, Array, Array]:
    g = _geometry(fn, x, w, None, stride, padding, tiled)
    check_dout(fn, dout, (g.N, g.F, g.H_out, g.W_out), x)
    xp = get_array_module(dout, x, w)
    xpad, (sh, sw) = pad2d(x, g.pads), g.stride
    dxpad, dw = xp.zeros(xpad.shape, dtype=x.dtype), xp.zeros(w.shape, dtype=w.dtype)
    for n in range(g.N):
        for f in range(g.F):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    rows, cols = slice(i * sh, i * sh + g.KH), slice(j * sw, j * sw + g.KW)
                    # _kernel_at returns a view, so this adds into dw's entry for (i, j).
                    _kernel_at(dw, i, j, tiled)[f] += dout[n, f, i, j] * xpad[n, :, rows, cols]
                    dxpad[n, :, rows, cols] += dout[n, f, i, j] * _kernel_at(w, i, j, tiled)[f]
    db = dout.sum(axis=(0, 2, 3)) if tiled else dout.sum(axis=0)
    return pad2d_backward(dxpad, (g.H, g.W), g.pads), dw, db


def locally_connected2d_naive(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
                              padding: IntOrPair | str = 0) -> Array:
    """:func:`locally_connected2d` as loops over every output number.

    Shapes: x (N, C, H, W), w (H_out, W_out, F, C, KH, KW), b (F, H_out, W_out)
    -> out (N, F, H_out, W_out)
    """
    return _forward_naive("locally_connected2d_naive", x, w, b, stride, padding, tiled=False)


def locally_connected2d_backward_naive(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                                       padding: IntOrPair | str = 0) -> tuple[Array, Array, Array]:
    """:func:`locally_connected2d_backward` as loops.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (H_out, W_out, F, C, KH, KW)
    -> dx (N, C, H, W), dw (H_out, W_out, F, C, KH, KW), db (F, H_out, W_out)
    """
    return _backward_naive("locally_connected2d_backward_naive", dout, x, w, stride, padding,
                           tiled=False)


def tiled_conv2d_naive(x: Array, w: Array, b: Array | None = None, stride: IntOrPair = 1,
                       padding: IntOrPair | str = 0) -> Array:
    """:func:`tiled_conv2d` as loops over every output number.

    Shapes: x (N, C, H, W), w (TH, TW, F, C, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    return _forward_naive("tiled_conv2d_naive", x, w, b, stride, padding, tiled=True)


def tiled_conv2d_backward_naive(dout: Array, x: Array, w: Array, stride: IntOrPair = 1,
                                padding: IntOrPair | str = 0) -> tuple[Array, Array, Array]:
    """:func:`tiled_conv2d_backward` as loops.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (TH, TW, F, C, KH, KW)
    -> dx (N, C, H, W), dw (TH, TW, F, C, KH, KW), db (F,)
    """
    return _backward_naive("tiled_conv2d_backward_naive", dout, x, w, stride, padding,
                           tiled=True)
