"""conv2d's algorithms on the suite's 3 x 3 layers at stride 1, with Winograd's among them.

``algo="winograd"`` (:mod:`convnb.conv_algos.winograd`, F(4 x 4, 3 x 3)) multiplies a quarter as
much as the others but moves more memory on one core, so ``auto`` takes it only at one BLAS thread
(:func:`convnb.conv_algos.choose.rule`). This script shows why: it times the forward pass and the
backward pass (dx and dw) of each algorithm on the 3 x 3 rows of ``bench.conv_rows`` without
dilation or groups, and on the two ResNet layers, in float32 with the BLAS threads given, and
names ``auto``'s choice. Run from the repository root::

    python -m bench.winograd [--threads N] [--quick] [--repeats R]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import convnb  # noqa: E402
from bench.conv_rows import CONV_ROWS, RESNET_ROWS, ConvRow, samples  # noqa: E402
from bench.lenet_epoch import cpu_model  # noqa: E402
from convnb.conv import conv_geometry  # noqa: E402
from convnb.conv_algos import choose  # noqa: E402

ALGOS = ("flat", "im2col", "winograd")


def median_ms(repeats: int, function, *args, **kwargs) -> float:
    """The median of ``repeats`` samples of ``function(*args, **kwargs)``, in milliseconds
    (:func:`bench.conv_rows.samples`, each sample about 20 ms of calls)."""
    return 1e3 * float(np.median(samples(lambda: function(*args, **kwargs), repeats, 0.02)))


def rows_3x3(quick: bool) -> list[ConvRow]:
    if quick:
        return [ConvRow("tiny", (2, 16, 7, 9), (16, 16, 3, 3), dict(padding=1))]
    return [r for r in CONV_ROWS + RESNET_ROWS
            if r.w[2:] == (3, 3) and set(r.options) <= {"padding"} and r.w[1] == r.x[1]]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m bench.winograd",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--quick", action="store_true", help="one tiny layer, a smoke test")
    parser.add_argument("--repeats", type=int, default=None, help="samples timed (default 9)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    repeats = args.repeats or (2 if args.quick else 9)
    print(f"{datetime.date.today()}; {cpu_model()}, {os.cpu_count()} cores, "
          f"{choose.blas_threads()} BLAS threads; NumPy {np.__version__}; float32, ms, the median "
          f"of {repeats} samples each (forward / backward)\n")
    print("| row | " + " | ".join(ALGOS) + " | auto takes |")
    print("|---|" + "---|" * (len(ALGOS) + 1))
    rng = np.random.default_rng(0)
    found = []
    for row in rows_3x3(args.quick):
        x = rng.standard_normal(row.x, dtype=np.float32)
        w = rng.standard_normal(row.w, dtype=np.float32)
        p = row.options.get("padding", 0)
        dout = rng.standard_normal(convnb.conv2d(x, w, padding=p).shape, dtype=np.float32)
        g = conv_geometry("bench", x, w, None, 1, p, 1, 1, "zeros")
        result = {"row": row.name, "auto": choose.rule(g, threads=choose.blas_threads())}
        for algo in ALGOS:
            result[algo] = (median_ms(repeats, convnb.conv2d, x, w, padding=p, algo=algo),
                            median_ms(repeats, convnb.conv2d_backward, dout, x, w, padding=p,
                                      algo=algo))
        cells = " | ".join(f"{result[a][0]:.2f} / {result[a][1]:.2f}" for a in ALGOS)
        print(f"| {row.name} | {cells} | {result['auto']} |", flush=True)
        found.append(result)
    return found


if __name__ == "__main__":
    main()
