"""im2col: every receptive field as a column of a matrix, then one matrix product.

For example ``n`` the patch matrix ``cols[n]``, shaped (groups, C/groups*KH*KW, H_out*W_out), holds
in column ``(i, j)`` the patch that output pixel ``(i, j)`` reads, rows numbered ``(c, u, v)``.
Then ``out[n] = w (groups, F/groups, C/groups*KH*KW) @ cols[n]``: one ``matmul`` call does every
example and every group (no Python loop over groups), and its result is already in
(N, F, H_out, W_out) order, so nothing is transposed afterwards. Outputs narrower than
:data:`BATCH_LAST_BELOW` put the columns of all examples side by side instead, the batch
innermost, as the gradients below do: copying rows of ``W_out`` numbers is slow when they are short.

On a GPU (CuPy arrays) the same products run with the patch matrices of a chunk gathered by one
kernel, :func:`convnb.cuda.patches`, straight from the unpadded input, and added back by one,
:func:`convnb.cuda.fold`, where the array code launches a copy or an addition per kernel tap; the
columns of a chunk are its examples' side by side, so each product is a single large GEMM.

Memory. The patch matrices of a whole batch hold ``KH*KW / (sh*sw)`` times the input (9 times for
a 3 x 3 "same" layer). They are built for a chunk of examples at a time, at most
:data:`SCRATCH_BYTES` (64 MiB) of them, or one example's patches when those alone are larger: the
extra memory of a forward pass is that buffer (with a row of ones per patch matrix, which adds the
bias) plus the zero-padded input. Outputs narrower than :data:`BATCH_LAST_BELOW` add, per chunk,
the chunk's padded input with the batch moved last and the chunk's products (as large as its
share of the output). The backward passes chunk the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import cuda
from ..backend import get_array_module
from ..geometry import batch_chunks
from ..types import Array
from ..windows import fold_windows, pad2d, sliding_windows

if TYPE_CHECKING:
    from ..geometry import ConvGeometry

SCRATCH_BYTES = 64 * 2**20  # the largest patch buffer, in bytes (at least one example's patches)


def patch_rows(g: ConvGeometry) -> int:
    """Rows of one group's patch matrix: ``C/groups * KH * KW``."""
    return g.C // g.groups * g.KH * g.KW


def chunks(g: ConvGeometry, itemsize: int) -> list[slice]:
    """The batch cut into runs of examples whose patches (and the forward pass's row of ones
    under each patch matrix) fit in :data:`SCRATCH_BYTES`."""
    rows = g.groups * (patch_rows(g) + 1)
    return batch_chunks(g.N, rows * g.H_out * g.W_out * itemsize, SCRATCH_BYTES)


def im2col(xpad: Array, g: ConvGeometry, out: Array | None = None) -> Array:
    """The patch matrices of the examples in ``xpad``, written into ``out`` if given (which may
    be a view of a taller buffer, such as the first ``C/groups*KH*KW`` rows of each matrix).

    Shapes: xpad (n, C, Hp, Wp) -> (n, groups, C/groups*KH*KW, H_out*W_out)
    """
    xp = get_array_module(xpad)
    n, split = xpad.shape[0], (g.groups, g.C // g.groups)
    windows = sliding_windows(xpad, (g.KH, g.KW), g.stride, g.dilation, (g.H_out, g.W_out))
    if out is None:
        out = xp.empty((n, g.groups, patch_rows(g), g.H_out * g.W_out), dtype=xpad.dtype)
    xp.copyto(out.reshape(n, *split, g.KH, g.KW, g.H_out, g.W_out),  # a view: splits two axes
              windows.reshape(n, *split, g.H_out, g.W_out, g.KH, g.KW)
              .transpose(0, 1, 2, 5, 6, 3, 4))
    return out


def forward(x: Array, w: Array, g: ConvGeometry, b: Array | None = None) -> Array:
    """Zero-padded convolution plus the bias ``b`` if given, chunk by chunk.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    if _on_gpu(x, g):
        out = _forward_gpu(x, w, g)
        if b is not None:
            out += b.reshape(1, -1, 1, 1)
        return out
    xp = get_array_module(x, w)
    xpad = pad2d(x, g.pads)
    w_rows = w.reshape(g.groups, g.F // g.groups, patch_rows(g))
    if _batch_last(g):  # narrow outputs: one product per group and chunk, as the gradients
        return _forward_batch_last(xp, xpad, w_rows, g, b)
    return _forward_per_example(xp, xpad, w_rows, g, b)


def _forward_per_example(xp, xpad: Array, w_rows: Array, g: ConvGeometry,
                         b: Array | None) -> Array:
    """One product per example and group, ``w_rows @ cols[n]``, its result in place in ``out``.

    The bias rides in the product: under each patch matrix a row of ones, beside each group's
    weights a column holding its filters' biases. That costs one more row of the patch matrix
    (1/27 more arithmetic for "cifar-stem") and saves a pass over the whole output (float32,
    two threads: "cifar-stem" 2.2 ms against 2.5, "stem-7x7" 1.9 against 2.3, LeNet's first
    layer 0.55 against 0.61; the fastest of six processes each, 2026-11-28).

    Shapes: xpad (N, C, Hp, Wp), w_rows (groups, F/groups, K), b (F,) or None
    -> out (N, F, H_out, W_out), with K = C/groups*KH*KW
    """
    K, M = patch_rows(g), g.H_out * g.W_out
    if b is not None:
        w_rows = xp.concatenate([w_rows, b.reshape(g.groups, -1, 1)], axis=2)
    parts = chunks(g, xpad.dtype.itemsize)
    buffer = xp.empty((parts[0].stop - parts[0].start, g.groups, w_rows.shape[2], M),
                      dtype=xpad.dtype)
    buffer[:, :, K:] = 1  # the row of ones, when there is a bias
    out = xp.empty((g.N, g.groups, g.F // g.groups, M), dtype=xpad.dtype)
    for part in parts:
        cols = buffer[: part.stop - part.start]
        im2col(xpad[part], g, cols[:, :, :K])
        xp.matmul(w_rows, cols, out=out[part])
    return out.reshape(g.N, g.F, g.H_out, g.W_out)


# --- the backward passes: one matrix product per group and chunk --------------------------------
#
# Both gradients are sums over examples and pixels, so here each group's patches form one
# (C/groups*KH*KW, n*H_out*W_out) matrix. Its columns come in one of two orders. Examples second,
# (n, H_out, W_out): gathering the patches and adding them back (col2im) copy runs of W_out
# numbers. Batch last, (H_out, W_out, n): runs of W_out*n numbers, after moving the batch axis of
# the input and of ``dout`` to the end, copies that pay only for narrow outputs.

BATCH_LAST_BELOW = 16  # output widths below which the gradients put the batch last


def _batch_last(g: ConvGeometry) -> bool:
    return g.W_out < BATCH_LAST_BELOW


def patches_for_grads(xpad: Array, g: ConvGeometry) -> Array:
    """Shapes: xpad (n, C, Hp, Wp) -> (groups, C/groups*KH*KW, n*H_out*W_out), contiguous"""
    xp = get_array_module(xpad)
    if _batch_last(g):
        xpad = xp.ascontiguousarray(xpad.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    windows = sliding_windows(xpad, (g.KH, g.KW), g.stride, g.dilation, (g.H_out, g.W_out))
    order = (1, 4, 5, 2, 3, 0) if _batch_last(g) else (1, 4, 5, 0, 2, 3)
    cols = xp.ascontiguousarray(windows.transpose(*order))  # (C, KH, KW, columns...)
    return cols.reshape(g.groups, patch_rows(g), -1)


def col2im_for_grads(cols: Array, g: ConvGeometry, n: int) -> Array:
    """Adjoint of :func:`patches_for_grads`.

    Shapes: cols (groups, C/groups*KH*KW, n*H_out*W_out) -> (n, C, Hp, Wp), a view
    """
    xp = get_array_module(cols)
    Hp, Wp = g.padded_size
    if _batch_last(g):
        windows = cols.reshape(g.C, g.KH, g.KW, g.H_out, g.W_out, n).transpose(0, 5, 3, 4, 1, 2)
        padded = xp.zeros((g.C, Hp, Wp, n), dtype=cols.dtype).transpose(0, 3, 1, 2)
    else:
        windows = cols.reshape(g.C, g.KH, g.KW, n, g.H_out, g.W_out).transpose(0, 3, 4, 5, 1, 2)
        padded = xp.zeros((g.C, n, Hp, Wp), dtype=cols.dtype)
    fold_windows(windows, (Hp, Wp), g.stride, g.dilation, out=padded)  # padded: (C, n, Hp, Wp)
    return padded.transpose(1, 0, 2, 3)


def _dout_rows(xp, dout: Array, g: ConvGeometry) -> Array:
    """``dout`` with its columns in the order of :func:`patches_for_grads`.

    Shapes: dout (n, F, H_out, W_out) -> (groups, F/groups, n*H_out*W_out), contiguous
    """
    rows = xp.ascontiguousarray(dout.transpose((1, 2, 3, 0) if _batch_last(g) else (1, 0, 2, 3)))
    return rows.reshape(g.groups, g.F // g.groups, -1)


def _forward_batch_last(xp, xpad: Array, w_rows: Array, g: ConvGeometry,
                        b: Array | None) -> Array:
    """:func:`forward` with the columns of :func:`patches_for_grads`, the batch last. (Adding
    the bias while putting the products back in order ran 5-10 % slower than the copy and an
    addition of its own, 2026-11-28.)

    Shapes: xpad (N, C, Hp, Wp), w_rows (groups, F/groups, C/groups*KH*KW), b (F,) or None
    -> out (N, F, H_out, W_out)
    """
    out = xp.empty((g.N, g.F, g.H_out, g.W_out), dtype=xpad.dtype)
    for part in chunks(g, xpad.dtype.itemsize):
        products = xp.matmul(w_rows, patches_for_grads(xpad[part], g))
        out[part] = products.reshape(g.F, g.H_out, g.W_out, -1).transpose(3, 0, 1, 2)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """``dx`` of the zero-padded convolution: each column of ``w.T @ dout`` added onto its patch
    (a transposed convolution).

    Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W)
    """
    if _on_gpu(dout, g):
        return _input_grad_gpu(dout, w, g)
    xp = get_array_module(dout, w)
    w_cols = w.reshape(g.groups, g.F // g.groups, patch_rows(g)).transpose(0, 2, 1)
    dx = xp.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    top, _, left, _ = g.pads
    for part in chunks(g, dout.dtype.itemsize):
        cols = xp.matmul(w_cols, _dout_rows(xp, dout[part], g))
        dxpad = col2im_for_grads(cols, g, part.stop - part.start)
        dx[part] = dxpad[:, :, top:top + g.H, left:left + g.W]
    return dx


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """``dw`` of the zero-padded convolution: ``dout`` times the patches, summed over examples.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)
    """
    if _on_gpu(x, g):
        return _weight_grad_gpu(dout, x, g)
    xp = get_array_module(dout, x)
    xpad = pad2d(x, g.pads)
    dw_t = xp.zeros((g.groups, patch_rows(g), g.F // g.groups), dtype=x.dtype)
    for part in chunks(g, x.dtype.itemsize):
        cols = patches_for_grads(xpad[part], g)
        dw_t += _summed_products(xp, cols, _dout_rows(xp, dout[part], g), g)
    return dw_t.transpose(0, 2, 1).reshape(g.F, g.C // g.groups, g.KH, g.KW)


SMALL_DW = 1024  # weights per group up to which weight_grad sums one product per block of columns


def _summed_products(xp, cols: Array, rows: Array, g: ConvGeometry) -> Array:
    """``cols @ rows.T``, the patches times ``dout`` summed over all columns.

    ``dw.T = cols @ dout.T`` rather than ``dw = dout @ cols.T``: the same products, but OpenBLAS
    ran the first 1.1x ("deep") to 2x ("dilated", LeNet's first layer) faster on every row of
    the bench suite, at one and two threads. A first layer's ``dw`` is tiny (LeNet's: 25 x 6)
    and its columns many (50,176 for a batch of 64). Given such a long, thin product OpenBLAS
    ran slower than given one product per example (or per output row, the batch last) and the
    small results summed: the products alone took 0.21 ms against 0.62 for LeNet's, 1.6 against
    2.1 for "cifar-stem" (27 x 32); the first layer's whole ``conv2d_backward`` (dx, dw and
    db) 1.8 ms against 2.3. Past about :data:`SMALL_DW` weights the one long product wins
    (float32, two threads, 2026-11-28).

    Shapes: cols (groups, K, columns), rows (groups, F/groups, columns) -> (groups, K, F/groups)
    """
    groups, K, F_g = cols.shape[0], cols.shape[1], rows.shape[1]
    if K * F_g > SMALL_DW:
        return xp.matmul(cols, rows.transpose(0, 2, 1))
    blocks = g.H_out if _batch_last(g) else cols.shape[2] // (g.H_out * g.W_out)
    cols = cols.reshape(groups, K, blocks, -1).transpose(2, 0, 1, 3)
    rows = rows.reshape(groups, F_g, blocks, -1).transpose(2, 0, 3, 1)
    return xp.matmul(cols, rows).sum(axis=0)


# --- on a GPU: the products above, the patch matrices gathered and folded by one kernel each ------

def _on_gpu(a: Array, g: ConvGeometry) -> bool:
    """True where :mod:`convnb.cuda`'s kernels take ``a`` and the layer's sizes."""
    n = max(part.stop - part.start for part in chunks(g, a.dtype.itemsize))
    return cuda.usable(a, g.N * g.C * g.H * g.W, g.N * g.F * g.H_out * g.W_out,
                       g.C * g.KH * g.KW * n * g.H_out * g.W_out)


def _matmul(a: Array, b: Array) -> Array:
    """``a @ b`` per group; a single group is one 2-D product, which cuBLAS takes transposed
    operands for without copying them.

    Shapes: a (G, p, q), b (G, q, r) -> (G, p, r)
    """
    return (a[0] @ b[0])[None] if a.shape[0] == 1 else a @ b


def _gpu_patches(x: Array, g: ConvGeometry) -> Array:
    """Shapes: x (n, C, H, W) -> (groups, C/groups*KH*KW, n*H_out*W_out)"""
    return cuda.patches(x, g).reshape(g.groups, patch_rows(g), -1)


def _gpu_dout_rows(xp, dout: Array, g: ConvGeometry) -> Array:
    """Shapes: dout (n, F, H_out, W_out) -> (groups, F/groups, n*H_out*W_out), contiguous"""
    n = dout.shape[0]
    rows = xp.ascontiguousarray(dout.reshape(n, g.F, -1).transpose(1, 0, 2))
    return rows.reshape(g.groups, g.F // g.groups, -1)


def _forward_gpu(x: Array, w: Array, g: ConvGeometry) -> Array:
    """Shapes: x (N, C, H, W), w (F, C/groups, KH, KW) -> out (N, F, H_out, W_out)"""
    xp = get_array_module(x, w)
    M = g.H_out * g.W_out
    w_rows = w.reshape(g.groups, g.F // g.groups, patch_rows(g))
    out = xp.empty((g.N, g.F, M), dtype=x.dtype)
    for part in chunks(g, x.dtype.itemsize):
        products = _matmul(w_rows, _gpu_patches(x[part], g))  # (groups, F/groups, n*M)
        out[part] = products.reshape(g.F, -1, M).transpose(1, 0, 2)
    return out.reshape(g.N, g.F, g.H_out, g.W_out)


def _input_grad_gpu(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W)"""
    xp = get_array_module(dout, w)
    w_cols = w.reshape(g.groups, g.F // g.groups, patch_rows(g)).transpose(0, 2, 1)
    dx = xp.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    for part in chunks(g, dout.dtype.itemsize):
        cols = _matmul(w_cols, _gpu_dout_rows(xp, dout[part], g))  # (groups, K, n*M)
        cuda.fold(cols.reshape(g.C * g.KH * g.KW, -1), g, dx[part])
    return dx


def _weight_grad_gpu(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)"""
    xp = get_array_module(dout, x)
    dw = None
    for part in chunks(g, x.dtype.itemsize):
        cols = _gpu_patches(x[part], g)
        products = _matmul(_gpu_dout_rows(xp, dout[part], g), cols.transpose(0, 2, 1))
        dw = products if dw is None else dw + products  # (groups, F/groups, K)
    return dw.reshape(g.F, g.C // g.groups, g.KH, g.KW)
