"""An experiment, not part of convnb: would compiled loops (Numba) close the gap to PyTorch on
the rows NumPy cannot fix? Needs ``pip install numba`` (not a dependency of the course; ``make
bench`` does not run this). One library per process, as ``bench.conv_rows`` does::

    python -m bench.numba_probe torch|convnb|numba THREADS

Two kernels, each checked against :func:`convnb.conv2d_naive` before it is timed:

* depthwise: one loop nest per (example, channel), over the zero-padded input, the innermost
  loop a contiguous run of an output row (no bounds tests inside);
* first layers: the patches gathered by a parallel loop into (C*KH*KW, N*H_out*W_out), one
  ``matmul`` (OpenBLAS), and a parallel loop that adds the bias and reorders to NCHW.

Prints ``row milliseconds`` per line: the median-ish (first quartile) of 31 calls.
"""

from __future__ import annotations

import sys
import time
from functools import partial
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import convnb  # noqa: E402
from bench.conv_rows import CONV_ROWS, conv_arrays  # noqa: E402
from convnb.windows import pad2d  # noqa: E402

ROWS = [r for r in CONV_ROWS if r.name in ("cifar-stem", "mnist-c1", "lenet-c2", "stem-7x7",
                                            "depthwise")]


def quartile_ms(call, repeats: int = 31) -> float:
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return sorted(times)[repeats // 4] * 1e3


def numba_conv2d(threads: int):
    """conv2d(x, w, b, stride, padding, groups) built from Numba kernels (square pads/strides)."""
    import numba
    from numba import njit, prange

    numba.set_num_threads(threads)

    @njit(parallel=True, fastmath=True)
    def depthwise(xpad, w, b, h_out, w_out):  # (N, C, Hp, Wp), (C, 1, KH, KW) -> (N, C, Ho, Wo)
        n_ex, c_in, kh, kw = xpad.shape[0], xpad.shape[1], w.shape[2], w.shape[3]
        out = np.empty((n_ex, c_in, h_out, w_out), xpad.dtype)
        for nc in prange(n_ex * c_in):
            n, c = nc // c_in, nc % c_in
            src, dst, taps = xpad[n, c], out[n, c], w[c, 0]
            for i in range(h_out):
                for j in range(w_out):
                    dst[i, j] = b[c]
                for u in range(kh):
                    for v in range(kw):
                        tap = taps[u, v]
                        for j in range(w_out):
                            dst[i, j] += tap * src[i + u, j + v]
        return out

    @njit(parallel=True, fastmath=True)
    def gather(xpad, kh, kw, s, h_out, w_out):  # (N, C, Hp, Wp) -> (C*KH*KW, N, Ho, Wo)
        n_ex, c_in = xpad.shape[0], xpad.shape[1]
        cols = np.empty((c_in * kh * kw, n_ex, h_out, w_out), xpad.dtype)
        for rn in prange(c_in * kh * kw * n_ex):
            r, n = rn // n_ex, rn % n_ex
            c, u, v = r // (kh * kw), (r // kw) % kh, r % kw
            for i in range(h_out):
                src, dst = xpad[n, c, i * s + u], cols[r, n, i]
                for j in range(w_out):
                    dst[j] = src[j * s + v]
        return cols

    @njit(parallel=True, fastmath=True)
    def to_nchw(prod, b, n_ex, m):  # (F, N*M) + b -> (N, F, M)
        f_out = prod.shape[0]
        out = np.empty((n_ex, f_out, m), prod.dtype)
        for nf in prange(n_ex * f_out):
            n, f = nf // f_out, nf % f_out
            for k in range(m):
                out[n, f, k] = prod[f, n * m + k] + b[f]
        return out

    def conv2d(x, w, b, stride=1, padding=0, groups=1):
        xpad = pad2d(x, (padding,) * 4)
        n_ex, c_in, hp, wp = xpad.shape
        f_out, _, kh, kw = w.shape
        h_out, w_out = (hp - kh) // stride + 1, (wp - kw) // stride + 1
        if groups == c_in == f_out and stride == 1:
            return depthwise(xpad, w, b, h_out, w_out)
        cols = gather(xpad, kh, kw, stride, h_out, w_out).reshape(c_in * kh * kw, -1)
        out = to_nchw(w.reshape(f_out, -1) @ cols, b, n_ex, h_out * w_out)
        return out.reshape(n_ex, f_out, h_out, w_out)

    return conv2d


def main(library: str, threads: int) -> None:
    if library == "torch":
        import torch

        torch.set_num_threads(threads)
        for row in ROWS:
            x, w, b, _ = (torch.from_numpy(a) for a in conv_arrays(row, "float32"))
            ms = quartile_ms(partial(torch.nn.functional.conv2d, x, w, b, **row.options))
            print(row.name, f"{ms:.3f}", flush=True)
        return
    conv2d = convnb.conv2d if library == "convnb" else numba_conv2d(threads)
    with threadpool_limits(threads, user_api="blas"):
        for row in ROWS:
            x, w, b, _ = conv_arrays(row, "float32")
            expected = convnb.conv2d_naive(x[:4], w, b, **row.options)
            error = np.abs(conv2d(x[:4].copy(), w, b, **row.options) - expected).max()
            if error > 1e-5 * np.abs(expected).max():
                raise AssertionError(f"{library} {row.name}: error {error}")
            ms = quartile_ms(partial(conv2d, x, w, b, **row.options))
            print(row.name, f"{ms:.3f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
