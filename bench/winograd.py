"""Is Winograd's minimal filtering worth it in NumPy? An experiment, not one of conv2d's algorithms.

On this machine the products that im2col hands to BLAS already take longer than PyTorch's whole
convolution on most rows of the suite (README, "Speed": the "GEMM alone" column), so no
arrangement of the same multiply-adds can reach issue 14's forward target. Winograd's
F(m x m, 3 x 3) (Lavin and Gray, 2016; chapter 8 of the book derives F(2, 3)) does fewer: for each
tile of m x m outputs it multiplies ``(m + 2)**2`` transformed inputs by as many transformed
weights, summed over the channels, where the definition multiplies ``9 * m**2``. Across a layer
those become ``(m + 2)**2`` matrix products over the channels. This script times the best NumPy
arrangement found on 2026-11-28 against ``conv2d``'s ``algo="auto"`` on the suite's 3 x 3 rows at
stride 1 and on the two ResNet layers, each with the same BLAS threads, and checks every result
against float64. Run from the repository root::

    python -m bench.winograd [--threads N] [--quick]

The arrangement, per chunk of ``n`` examples (buffers of about 1 MiB; fresh multi-megabyte
buffers on every call cost thousands of page faults here):

1. the input, zero-padded to whole tiles, as (Hp, n, C, Wp), so that (n, C) is one run;
2. the column transform: one product per tile column, ``B^T`` times a slab of ``a = m + 2``
   columns, into (a, tw, Hp, n, C);
3. the row transform: one batched product into V (a, a, th, tw, n, C);
4. the ``a*a`` products V (P, C) @ U (C, F), for the P = th*tw*n tiles;
5. the output transforms, two products (the first with its result transposed, so that the
   output column within a tile comes last);
6. one copy to (n, F, H_out, W_out): the tiles' rows and columns interleave with the batch here,
   a gather of runs of ``m`` numbers, the step NumPy cannot make cheap.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import convnb  # noqa: E402
from bench.conv_rows import CONV_ROWS, RESNET_ROWS, ConvRow  # noqa: E402
from bench.lenet_epoch import blas_threads, cpu_model  # noqa: E402

# Lavin and Gray's transforms: out_tile = AT [(G g G^T) * (BT d B)] A, per tile and channel.
TRANSFORMS = {
    2: ([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]]),
    4: ([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
         [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]),
}
CHUNK_BYTES = 2**20


def winograd_conv2d(x: np.ndarray, w: np.ndarray, padding: int, m: int) -> np.ndarray:
    """Cross-correlation of a 3 x 3 layer at stride 1 (no bias, dilation or groups) by F(m, 3).

    Shapes: x (N, C, H, W), w (F, C, 3, 3) -> out (N, F, H + 2*padding - 2, W + 2*padding - 2)
    """
    if w.shape[2:] != (3, 3) or m not in TRANSFORMS:
        raise ValueError(f"winograd_conv2d: needs w (F, C, 3, 3) and m in {sorted(TRANSFORMS)}, "
                         f"got w {w.shape} and m={m}")
    (N, C, H, W), F, a = x.shape, w.shape[0], m + 2
    BT, G, AT = (np.array(t, dtype=x.dtype) for t in TRANSFORMS[m])
    H_out, W_out = H + 2 * padding - 2, W + 2 * padding - 2
    th, tw = -(-H_out // m), -(-W_out // m)  # tiles down and across
    Hp, Wp = th * m + 2, tw * m + 2
    # Filters: U[xi, nu] = (G w G^T)[xi, nu] as (C, F) matrices.
    U = np.tensordot(np.tensordot(w, G, axes=(3, 1)), G, axes=(2, 1))  # (F, C, a_nu, a_xi)
    U = np.ascontiguousarray(U.transpose(3, 2, 1, 0)).reshape(a * a, C, F)
    per_example = a * a * th * tw * max(C, F) * x.dtype.itemsize
    n = max(1, min(N, CHUNK_BYTES // per_example))
    out = np.empty((N, F, H_out, W_out), dtype=x.dtype)
    for start in range(0, N, n):
        part = x[start:start + n]
        k = part.shape[0]
        padded = np.zeros((Hp, k, C, Wp), dtype=x.dtype)
        padded[padding:padding + H, :, :, padding:padding + W] = part.transpose(2, 0, 1, 3)
        columns = np.empty((a, tw, Hp * k * C), dtype=x.dtype)
        rows = padded.reshape(Hp * k * C, Wp)
        for j in range(tw):
            np.matmul(BT, rows[:, j * m:j * m + a].T, out=columns[:, j])
        s = columns.strides
        slabs = np.lib.stride_tricks.as_strided(  # [nu, j, i, row in tile, (n, C)]
            columns, (a, tw, th, a, k * C), (s[0], s[1], m * k * C * s[2], k * C * s[2], s[2]))
        V = np.empty((a, a, th, tw, k * C), dtype=x.dtype)
        np.matmul(BT, slabs, out=V.transpose(1, 3, 2, 0, 4))
        Y = np.matmul(V.reshape(a * a, th * tw * k, C), U)  # (a*a, P, F)
        Z = np.matmul(Y.reshape(a, a, -1).transpose(0, 2, 1), AT.T)  # (a_xi, P*F, m_s)
        found = np.matmul(AT, Z.reshape(a, -1)).reshape(m, th, tw, k, F, m)  # (r,th,tw,n,F,s)
        tiles = found.transpose(3, 4, 1, 0, 2, 5)  # (n, F, th, r, tw, s)
        if (th * m, tw * m) == (H_out, W_out):
            np.copyto(out[start:start + k].reshape(k, F, th, m, tw, m), tiles)
        else:
            out[start:start + k] = tiles.reshape(k, F, th * m, tw * m)[:, :, :H_out, :W_out]
    return out


def median_ms(repeats: int, function, *args, **kwargs) -> float:
    """The median time of ``repeats`` calls of ``function(*args, **kwargs)`` after one more."""
    function(*args, **kwargs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def winograd_rows(quick: bool) -> list[ConvRow]:
    if quick:
        return [ConvRow("tiny", (2, 4, 7, 9), (5, 4, 3, 3), dict(padding=1))]
    return [r for r in CONV_ROWS + RESNET_ROWS
            if r.w[2:] == (3, 3) and set(r.options) <= {"padding"} and r.w[1] == r.x[1]]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m bench.winograd", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--quick", action="store_true", help="one tiny layer, a smoke test")
    parser.add_argument("--repeats", type=int, default=None, help="calls timed (default 15)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    repeats = args.repeats or (2 if args.quick else 15)
    rng = np.random.default_rng(0)
    print(f"{datetime.date.today()}; {cpu_model()}, {os.cpu_count()} cores, "
          f"{blas_threads()} BLAS threads; NumPy {np.__version__}; float32, the median of "
          f"{repeats} calls each\n")
    print("| row | auto ms | F(2,3) ms | F(4,3) ms | largest error, relative to max abs |")
    print("|---|---|---|---|---|")
    found = []
    for row in winograd_rows(args.quick):
        x = rng.standard_normal(row.x, dtype=np.float32)
        w = rng.standard_normal(row.w, dtype=np.float32)
        p = row.options.get("padding", 0)
        exact = convnb.conv2d(x.astype(np.float64), w.astype(np.float64), padding=p)
        scale = float(np.abs(exact).max())
        result = {"row": row.name,
                  "auto": median_ms(repeats, convnb.conv2d, x, w, padding=p)}
        errors = []
        for m in (2, 4):
            errors.append(float(np.abs(winograd_conv2d(x, w, p, m) - exact).max()) / scale)
            result[f"F({m},3)"] = median_ms(repeats, winograd_conv2d, x, w, p, m)
        if max(errors) > 1e-4:
            sys.exit(f"bench.winograd: row {row.name} is off by {max(errors):.1e}")
        result["error"] = max(errors)
        print(f"| {row.name} | {result['auto']:.2f} | {result['F(2,3)']:.2f} | "
              f"{result['F(4,3)']:.2f} | {result['error']:.0e} |", flush=True)
        found.append(result)
    return found


if __name__ == "__main__":
    main()
