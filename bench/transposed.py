"""``conv_transpose2d`` against PyTorch's: the decoder layers of an encoder-decoder network.

The suite of ``bench.conv_suite`` has no transposed convolutions; this script times three, each
forward (with bias) and backward (dx, dw and db from ``dout``; PyTorch's ``convolution_backward``,
without the forward pass autograd would repeat), float32: upsampling by 2
with 2 x 2 kernels (windows that tile the output, which ``auto`` gives to ``direct``), upsampling
by 2 with 4 x 4 kernels and padding 1 (overlapping windows), and a 3 x 3 layer at stride 1. As in
the suite, each library runs in processes of its own (their idle threads slow each other down in
one process), in alternating rounds of a few samples, and a library's time is the median of its
samples in its fastest round. Run from the repository root::

    python -m bench.transposed [--threads N] [--rounds R] [--repeats S]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.conv_rows import samples  # noqa: E402
from bench.conv_suite import source  # noqa: E402
from bench.lenet_epoch import blas_threads, cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# name, x (N, C_in, H, W), w (C_in, C_out, KH, KW), options
ROWS = [
    ("up2-2x2", (16, 64, 16, 16), (64, 32, 2, 2), {"stride": 2}),
    ("up2-4x4", (16, 64, 16, 16), (64, 32, 4, 4), {"stride": 2, "padding": 1}),
    ("same-3x3", (16, 32, 32, 32), (32, 32, 3, 3), {"padding": 1}),
]


def calls(library: str, x_shape, w_shape, options) -> dict:
    """{"forward": call, "backward": call} of one library for one row, on the same arrays in
    both libraries (seed 0)."""
    import convnb

    rng = np.random.default_rng(0)
    x, w = (rng.standard_normal(s, dtype=np.float32) for s in (x_shape, w_shape))
    b = rng.standard_normal(w_shape[1], dtype=np.float32)
    dout = rng.standard_normal(convnb.conv_transpose2d(x, w, b, **options).shape,
                               dtype=np.float32)
    if library == "convnb":
        return {"forward": lambda: convnb.conv_transpose2d(x, w, b, **options),
                "backward": lambda: convnb.conv_transpose2d_backward(dout, x, w, **options)}
    import torch

    xt, wt, bt, dout = (torch.from_numpy(a) for a in (x, w, b, dout))
    stride, padding = ([options.get(k, v)] * 2 for k, v in (("stride", 1), ("padding", 0)))
    return {"forward": lambda: torch.nn.functional.conv_transpose2d(xt, wt, bt, **options),
            # the backward alone, as convnb's: dx, dw and db from dout (no forward pass)
            "backward": lambda: torch.ops.aten.convolution_backward(
                dout, xt, wt, [w_shape[1]], stride, padding, [1, 1], True, [0, 0], 1,
                [True, True, True])}


def time_library(library: str, repeats: int) -> dict:
    """Seconds per call, ``repeats`` samples per (row, pass), in this process."""
    found = {}
    for name, x_shape, w_shape, options in ROWS:
        for passname, call in calls(library, x_shape, w_shape, options).items():
            found[f"{name} {passname}"] = samples(call, repeats, 0.05)
    return found


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.transposed",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="threads for both libraries")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--repeats", type=int, default=3, help="samples per round (3)")
    parser.add_argument("--library", choices=("convnb", "torch"), default=None,
                        help=argparse.SUPPRESS)  # a child process: time one library, print JSON
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    if args.library:
        if args.library == "torch":
            import torch

            torch.set_num_threads(args.threads or blas_threads() or os.cpu_count() or 1)
        print(json.dumps(time_library(args.library, args.repeats)))
        return {}
    runs: dict[str, dict[str, list[float]]] = {"convnb": {}, "torch": {}}  # medians per round
    options = ["--repeats", str(args.repeats)] + (
        ["--threads", str(args.threads)] if args.threads is not None else [])
    for k in range(args.rounds):
        for library in ("convnb", "torch") if k % 2 == 0 else ("torch", "convnb"):
            with tempfile.TemporaryFile("w+") as out:
                subprocess.run([sys.executable, "-m", "bench.transposed", "--library", library,
                                *options], cwd=REPO, stdout=out, check=True)
                out.seek(0)
                for key, seconds in json.loads(out.read()).items():
                    runs[library].setdefault(key, []).append(float(np.median(seconds)))
    threads, commit = args.threads or blas_threads(), source()
    changed = " with uncommitted changes" if commit["convnb_changed"] else ""
    print(f"{datetime.date.today()}; {cpu_model()}, {os.cpu_count()} cores, {threads} threads "
          f"for both libraries, each in processes of its own; float32; ms, the median of "
          f"{args.repeats} samples in the fastest of {args.rounds} rounds; backward: dx, dw and "
          f"db from dout (PyTorch's convolution_backward); convnb at {commit['commit']}"
          f"{changed}\n")
    print("| layer | x | w | options | pass | convnb ms | PyTorch ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    table = {}
    for name, x_shape, w_shape, options in ROWS:
        for passname in ("forward", "backward"):
            key = f"{name} {passname}"
            mine, theirs = min(runs["convnb"][key]), min(runs["torch"][key])
            table[key] = {"convnb_s": mine, "torch_s": theirs, "ratio": mine / theirs}
            print(f"| {name} | {x_shape} | {w_shape} | {options} | {passname} | "
                  f"{1e3 * mine:.2f} | {1e3 * theirs:.2f} | {mine / theirs:.2f} |")
    return table


if __name__ == "__main__":
    main()
