"""Winograd's minimal filtering F(4 x 4, 3 x 3): a 3 x 3 layer at stride 1 with a quarter of the
multiplications (Lavin and Gray, 2016; chapter 8 derives the smaller F(2, 3)).

Cut the zero-padded input into 6 x 6 tiles that overlap by 2 and step by 4. Each tile ``d`` of
each channel gives a 4 x 4 tile of outputs, ``A^T [sum_c (G w G^T) * (B^T d B)] A``, where the
products ``*`` are elementwise: 36 multiplications per tile and channel pair, where the
definition makes 144. Across a layer the 36 positions of the transformed tile are 36 matrix
products over the channels, ``V (tiles, C) @ U (C, F)``, which BLAS does. The transforms are
matrix products too, with small matrices of small integers and fractions, arranged so that every
product runs over long rows:

1. the input, zero-padded to whole tiles, as (Hp, n, C, Wp): (n, C) is one run;
2. the column transform, ``B^T`` times a slab of 6 columns, one product per column of tiles,
   into (6, tw, Hp, n, C);
3. the row transform, one batched product, into V (6, 6, th, tw, n, C);
4. the 36 products over the channels;
5. the output transforms, two products (the first gives its result transposed, so that a tile's
   output column comes last);
6. one copy to (n, F, H_out, W_out), where the tiles' rows and columns interleave with the batch.

The batch is done ``n`` examples at a time, each chunk's transformed tiles about
:data:`CHUNK_BYTES`, so that its arrays stay in the cache and fresh memory is not touched on every
call. Float32 results differ from the definition by up to about 1e-5 of the largest output (the
transforms' fractions round), against about 1e-6 for im2col; float64 by about 1e-14.

On the 2-core machine, one thread, "mid" (64,32,16,16)x(64,32,3,3) takes 5.7 ms against flat's
8.8, and (64,64,56,56)x(64,64,3,3) 115-130 ms against 199-210; at two threads flat is as fast or
faster ("deep": 2.6 ms against 3.1), as the transforms and copies run on one core while the
matrix products use both (``python -m bench.winograd``). With few channels
the products are too short to pay for the transforms: three input channels take twice as long.

``dx`` of such a layer is the same computation on ``dout`` with the kernels flipped and their
channel axes swapped, padded by ``2 - pad``; ``dw`` and every other layer (other kernels,
strides, dilations, groups, padding beyond 2 for ``dx``) are :mod:`.flat`'s, and so are arrays
on a GPU, where cuDNN's Winograd kernels fuse what array code has to copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..backend import get_array_module
from ..types import Array
from . import flat

if TYPE_CHECKING:
    from ..geometry import ConvGeometry

M = 4  # outputs per tile side; tiles of A = M + 2 inputs
A = M + 2
# The transforms of F(4, 3) (Lavin and Gray, 2016, section 4.2), one axis at a time.
BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
     [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]
AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
CHUNK_BYTES = 2**20  # transformed tiles of a chunk of examples, about this many bytes


def fits(g: ConvGeometry) -> bool:
    """Whether Winograd computes this layer's forward pass: 3 x 3, stride 1, no dilation or
    groups."""
    return ((g.KH, g.KW) == (3, 3) and g.stride == (1, 1) and g.dilation == (1, 1)
            and g.groups == 1)


def tiles(g: ConvGeometry) -> int:
    """Tiles of M x M outputs in the layer's batch: ``N * ceil(H_out/M) * ceil(W_out/M)``."""
    return g.N * -(-g.H_out // M) * -(-g.W_out // M)


def _on_gpu(xp) -> bool:
    return xp.__name__ == "cupy"


def correlate(x: Array, w: Array, pads: tuple[int, int, int, int]) -> Array:
    """The 3 x 3 cross-correlation of ``x`` zero-padded by ``pads`` (top, bottom, left, right).

    Shapes: x (N, C, H, W), w (F, C, 3, 3) -> (N, F, H + top + bottom - 2, W + left + right - 2)
    """
    xp = get_array_module(x, w)
    (N, C, H, W), F, dtype = x.shape, w.shape[0], x.dtype
    bt, g_, at = (xp.asarray(t, dtype=dtype) for t in (BT, G, AT))
    top, bottom, left, right = pads
    H_out, W_out = H + top + bottom - 2, W + left + right - 2
    th, tw = -(-H_out // M), -(-W_out // M)  # tiles down and across
    Hp, Wp = th * M + 2, tw * M + 2
    U = xp.matmul(xp.matmul(g_, w), g_.T)  # (F, C, A, A): G w G^T
    U = xp.ascontiguousarray(U.transpose(2, 3, 1, 0)).reshape(A * A, C, F)
    n = max(1, min(N, CHUNK_BYTES // (A * A * th * tw * max(C, F) * x.dtype.itemsize)))
    out = xp.empty((N, F, H_out, W_out), dtype=dtype)
    for start in range(0, N, n):
        part = x[start:start + n]
        k = part.shape[0]
        padded = xp.zeros((Hp, k, C, Wp), dtype=dtype)
        padded[top:top + H, :, :, left:left + W] = part.transpose(2, 0, 1, 3)
        rows = padded.reshape(Hp * k * C, Wp)
        columns = xp.empty((A, tw, Hp * k * C), dtype=dtype)
        for j in range(tw):
            xp.matmul(bt, rows[:, j * M:j * M + A].T, out=columns[:, j])
        step = columns.strides[2]
        slabs = xp.lib.stride_tricks.as_strided(  # [column, j, i, row within the tile, (n, C)]
            columns, (A, tw, th, A, k * C),
            (columns.strides[0], columns.strides[1], M * k * C * step, k * C * step, step))
        V = xp.empty((A, A, th, tw, k * C), dtype=dtype)
        xp.matmul(bt, slabs, out=V.transpose(1, 3, 2, 0, 4))
        Y = xp.matmul(V.reshape(A * A, th * tw * k, C), U)  # (A*A, th*tw*n, F)
        Z = xp.matmul(Y.reshape(A, A, -1).transpose(0, 2, 1), at.T)  # (A, th*tw*n*F, M)
        found = xp.matmul(at, Z.reshape(A, -1)).reshape(M, th, tw, k, F, M)
        tiles = found.transpose(3, 4, 1, 0, 2, 5)  # (n, F, th, row, tw, column)
        if (th * M, tw * M) == (H_out, W_out):
            xp.copyto(out[start:start + k].reshape(k, F, th, M, tw, M), tiles)
        else:
            out[start:start + k] = tiles.reshape(k, F, th * M, tw * M)[:, :, :H_out, :W_out]
    return out


def forward(x: Array, w: Array, g: ConvGeometry, b: Array | None = None) -> Array:
    """Shapes: x (N, C, H, W), w (F, C, 3, 3), b (F,) -> out (N, F, H_out, W_out)"""
    xp = get_array_module(x, w)
    if not fits(g) or _on_gpu(xp):
        return flat.forward(x, w, g, b)
    out = correlate(x, w, g.pads)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def input_grad(dout: Array, w: Array, g: ConvGeometry) -> Array:
    """``dx``: ``dout`` correlated with the flipped kernels, channels swapped, padded by
    ``2 - pad``.

    Shapes: dout (N, F, H_out, W_out), w (F, C, 3, 3) -> dx (N, C, H, W)
    """
    xp = get_array_module(dout, w)
    if not fits(g) or _on_gpu(xp) or max(g.pads) > 2:
        return flat.input_grad(dout, w, g)
    flipped = xp.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return correlate(dout, flipped, tuple(2 - p for p in g.pads))


def weight_grad(dout: Array, x: Array, g: ConvGeometry) -> Array:
    """``dw``, as :mod:`.flat` computes it.

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C, KH, KW)
    """
    return flat.weight_grad(dout, x, g)
