"""``algo="auto"``'s rule against the clock: every algorithm of ``conv2d`` on each layer, and
whether the rule picked the fastest.

:func:`convnb.conv_algos.choose.rule` was fitted to timings; this script makes them again, on
the suite's rows (``bench.conv_rows``) and on layers of the kinds the rule treats specially
(depthwise, dilated, one input channel, strided with the stride dividing the kernel). For each
layer and each direction (the forward pass; the backward pass, ``dx`` and ``dw``) it times every
algorithm that computes the layer (:func:`convnb.conv_algos.measured.measure`, the same timing
as benchmark mode, repeated and the fastest kept), and prints the rule's choice beside the
fastest, with how many times slower the rule's is, and the layer's ``choose.fft_ratio``. Run
it with each BLAS thread count, and with ``OPENBLAS_CORETYPE`` set to another kernel set,
before changing the rule: a choice worth making wins on all of them. From the repository root::

    python -m bench.auto_rule [--threads N] [--rows NAME...] [--repeats R] [--out DIR]

``--out`` writes ``DATE-auto-rule-KERNELS-threadsN.md`` and ``.json`` (every time measured).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.conv_rows import CONV_ROWS, ConvRow, row_geometry  # noqa: E402
from bench.conv_suite import source  # noqa: E402
from bench.lenet_epoch import cpu_model  # noqa: E402
from convnb.conv_algos import choose, measured  # noqa: E402


def _depthwise(name: str, x: tuple, k: int, **options) -> ConvRow:
    return ConvRow(name, x, (x[1], 1, k, k), dict(groups=x[1], **options))


# Layers beside the suite's, of the kinds the rule has cases for.
EXTRA_ROWS = [
    ConvRow("lenet64-c1", (64, 1, 28, 28), (6, 1, 5, 5), dict(padding=2)),  # LeNet, batch 64
    ConvRow("lenet64-c2", (64, 6, 14, 14), (16, 6, 5, 5), {}),
    _depthwise("dw-56", (32, 64, 56, 56), 3, padding=1),
    _depthwise("dw-28", (16, 128, 28, 28), 3, padding=1),
    _depthwise("dw-14x5", (8, 256, 14, 14), 5, padding=2),
    _depthwise("dw-16", (64, 32, 16, 16), 3, padding=1),
    _depthwise("dw-7", (32, 512, 7, 7), 3, padding=1),
    _depthwise("dw-14x7", (16, 96, 14, 14), 7, padding=3),
    _depthwise("dw-112", (8, 32, 112, 112), 3, padding=1),
    _depthwise("dw-dilated", (16, 64, 28, 28), 3, padding=2, dilation=2),
    _depthwise("dw-8", (4, 16, 8, 8), 3, padding=1),
    _depthwise("dw-valid", (64, 32, 16, 16), 3),
    _depthwise("dw-rgb", (8, 3, 32, 32), 3, padding=1),
    ConvRow("dil-8", (16, 8, 32, 32), (8, 8, 3, 3), dict(dilation=2, padding=2)),
    ConvRow("dil-64", (8, 64, 32, 32), (64, 64, 3, 3), dict(dilation=2, padding=2)),
    ConvRow("dil-d4", (4, 32, 64, 64), (32, 32, 3, 3), dict(dilation=4, padding=4)),
    ConvRow("dil-c4", (16, 4, 32, 32), (8, 4, 3, 3), dict(dilation=2, padding=2)),
    ConvRow("dil-c3", (16, 3, 32, 32), (16, 3, 3, 3), dict(dilation=2, padding=2)),
    ConvRow("dil-wide", (8, 32, 16, 16), (32, 32, 3, 3), dict(dilation=4, padding=4)),
    ConvRow("dil-128f", (8, 64, 16, 16), (128, 64, 3, 3), dict(dilation=2, padding=2)),
    ConvRow("dil-valid", (8, 16, 32, 32), (16, 16, 3, 3), dict(dilation=2)),
    ConvRow("c1-3x3", (64, 1, 32, 32), (16, 1, 3, 3), dict(padding=1)),
    ConvRow("c1-32f", (128, 1, 28, 28), (32, 1, 3, 3), dict(padding=1)),
    ConvRow("c1-64px", (32, 1, 64, 64), (8, 1, 5, 5), dict(padding=2)),
    ConvRow("c1-b16", (16, 1, 28, 28), (6, 1, 5, 5), dict(padding=2)),
    # strided, the stride dividing the kernel: dx over the stride's phases (conv_algos.phases)
    ConvRow("s2-4x4", (16, 32, 32, 32), (64, 32, 4, 4), dict(stride=2, padding=1)),
    ConvRow("s2-4x4-rgb", (16, 3, 64, 64), (64, 3, 4, 4), dict(stride=2, padding=1)),
    ConvRow("s2-4x4-128f", (16, 64, 16, 16), (128, 64, 4, 4), dict(stride=2, padding=1)),
    ConvRow("s2-4x4-g4", (16, 64, 32, 32), (64, 16, 4, 4), dict(stride=2, padding=1, groups=4)),
    ConvRow("s2-4x4-8px", (8, 8, 8, 8), (16, 8, 4, 4), dict(stride=2, padding=1)),
    ConvRow("s4-8x8", (8, 16, 64, 64), (32, 16, 8, 8), dict(stride=4, padding=2)),
    ConvRow("s3-6x6", (8, 32, 30, 30), (32, 32, 6, 6), dict(stride=3)),
    ConvRow("s21-4x2", (8, 16, 32, 32), (16, 16, 4, 2), dict(stride=(2, 1), padding=(1, 0))),
    # large kernels: where the FFT may pay (chapter 8's crossover layer, then more channels,
    # a larger batch, one input channel, a strided stem, a large depthwise kernel)
    ConvRow("bigk-9", (1, 8, 64, 64), (8, 8, 9, 9), dict(padding=4)),
    ConvRow("bigk-13", (1, 8, 64, 64), (8, 8, 13, 13), dict(padding=6)),
    ConvRow("bigk-17", (1, 8, 64, 64), (8, 8, 17, 17), dict(padding=8)),
    ConvRow("bigk-25", (1, 8, 64, 64), (8, 8, 25, 25), dict(padding=12)),
    ConvRow("bigk-7-64c", (8, 64, 28, 28), (64, 64, 7, 7), dict(padding=3)),
    ConvRow("bigk-9-32c", (8, 32, 32, 32), (32, 32, 9, 9), dict(padding=4)),
    ConvRow("bigk-11-32c", (8, 32, 32, 32), (32, 32, 11, 11), dict(padding=5)),
    ConvRow("bigk-15-16c", (8, 16, 64, 64), (16, 16, 15, 15), dict(padding=7)),
    ConvRow("bigk-11-valid", (16, 16, 48, 48), (16, 16, 11, 11), {}),
    ConvRow("bigk-21-c1", (32, 1, 64, 64), (8, 1, 21, 21), dict(padding=10)),
    ConvRow("bigk-11-s4", (8, 3, 227, 227), (96, 3, 11, 11), dict(stride=4)),
    # near the threshold once the filters' spectra became matrix products (fft._kernel_spectrum)
    ConvRow("bigk-7-16c", (16, 16, 32, 32), (16, 16, 7, 7), dict(padding=3)),
    ConvRow("bigk-7-32c", (8, 32, 32, 32), (32, 32, 7, 7), dict(padding=3)),
    ConvRow("bigk-7-32c-56", (4, 32, 56, 56), (32, 32, 7, 7), dict(padding=3)),
    ConvRow("bigk-9-16c", (8, 16, 32, 32), (16, 16, 9, 9), dict(padding=4)),
    ConvRow("bigk-9-64c", (8, 64, 28, 28), (64, 64, 9, 9), dict(padding=4)),
    ConvRow("bigk-11-rgb", (8, 3, 64, 64), (16, 3, 11, 11), dict(padding=5)),
    # first layers (one to four channels) with kernels of 5 x 5 to 9 x 9 at stride 1: flat or im2col
    ConvRow("rgb-5", (16, 3, 64, 64), (32, 3, 5, 5), dict(padding=2)),
    ConvRow("rgb-7", (16, 3, 64, 64), (16, 3, 7, 7), dict(padding=3)),
    ConvRow("rgb-7-32px", (32, 3, 32, 32), (32, 3, 7, 7), dict(padding=3)),
    ConvRow("rgb-9", (8, 3, 64, 64), (32, 3, 9, 9), dict(padding=4)),
    ConvRow("c1-7", (32, 1, 28, 28), (16, 1, 7, 7), dict(padding=3)),
    ConvRow("c4-7-valid", (16, 4, 48, 48), (16, 4, 7, 7), {}),
    ConvRow("bigk-9-dw", (8, 64, 32, 32), (64, 1, 9, 9), dict(groups=64, padding=4)),
    ConvRow("bigk-9-dw-56", (16, 32, 56, 56), (32, 1, 9, 9), dict(groups=32, padding=4)),
    ConvRow("bigk-11-dw", (8, 64, 32, 32), (64, 1, 11, 11), dict(groups=64, padding=5)),
    ConvRow("bigk-13-dw", (8, 64, 32, 32), (64, 1, 13, 13), dict(groups=64, padding=6)),
    ConvRow("bigk-31-dw", (8, 64, 32, 32), (64, 1, 31, 31), dict(groups=64, padding=15)),
]
PASSES = {"forward": ("forward",), "backward": ("weight_grad", "input_grad")}


def times(row: ConvRow, passes: tuple[str, ...], repeats: int):
    """``({algorithm: ms}, geometry)``: milliseconds per call of each algorithm that computes
    ``row`` (float32), the fastest of ``repeats`` calls of
    :func:`~convnb.conv_algos.measured.measure`, and the layer's geometry."""
    _, g = row_geometry(row)
    best: dict[str, float] = {}
    for _ in range(repeats):
        for name, seconds in measured.measure(g, "float32", passes).items():
            best[name] = min(best.get(name, np.inf), 1e3 * seconds)
    return best, g


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m bench.auto_rule",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    parser.add_argument("--rows", nargs="+", default=None,
                        help="only the layers whose names contain one of these")
    parser.add_argument("--repeats", type=int, default=5, help="timings per algorithm (5)")
    parser.add_argument("--out", type=Path, default=None, help="write .md and .json here")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    threads = choose.blas_threads()
    rows = [r for r in CONV_ROWS + EXTRA_ROWS
            if not args.rows or any(name in r.name for name in args.rows)]
    commit = source()
    lines = [f"{datetime.date.today()}; {cpu_model()}, {os.cpu_count()} cores, {threads} BLAS "
             f"threads; NumPy {np.__version__}; float32, ms per call, the fastest of "
             f"{args.repeats} timings of each algorithm (benchmark mode's timing); convnb at "
             f"{commit['commit']}" + (" with uncommitted changes" if commit["convnb_changed"]
                                      else ""), "",
             "| layer | x | w | options | fft_ratio | pass | rule takes | fastest | "
             "rule / fastest | every algorithm |", "|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    found = []
    for row in rows:
        for direction, passes in PASSES.items():
            ms, g = times(row, passes, args.repeats)
            pick = choose.rule(g, direction == "backward", threads)
            fastest = min(ms, key=ms.get)
            ranked = sorted(ms.items(), key=lambda item: item[1])
            every = ", ".join(f"{name} {t:.3f}" for name, t in ranked)
            line = (f"| {row.name} | {row.x} | {row.w} | {row.options} | "
                    f"{choose.fft_ratio(g):.2f} | {direction} | "
                    f"{pick} {ms[pick]:.3f} | {fastest} {ms[fastest]:.3f} | "
                    f"{ms[pick] / ms[fastest]:.2f} | {every} |")
            print(line, flush=True)
            lines.append(line)
            found.append({"layer": row.name, "x": row.x, "w": row.w, "options": row.options,
                          "fft_ratio": choose.fft_ratio(g), "pass": direction, "rule": pick,
                          "fastest": fastest, "ms": ms})
    if args.out:
        from threadpoolctl import threadpool_info

        kernels = next((i.get("architecture") for i in threadpool_info()
                        if i["user_api"] == "blas"), None) or "unknown"
        stem = args.out / f"{datetime.date.today()}-auto-rule-{kernels.lower()}-threads{threads}"
        args.out.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
        stem.with_suffix(".json").write_text(json.dumps({"threads": threads, "kernels": kernels,
                                                         "rows": found}, indent=1) + "\n")
    return found


if __name__ == "__main__":
    main()
