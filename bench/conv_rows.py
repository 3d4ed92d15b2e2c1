"""The rows of the convolution suite, and the timing of one library alone in this process.

``bench.conv_suite`` runs this module as a child process once per library and round, so that each
library is timed alone, as a user runs it. Timed in one process, the two disturb each other: after
a call, OpenBLAS's worker threads and PyTorch's OpenMP threads keep spinning on the two cores for
a while, and whichever library runs next shares them (measured on the 2-core machine: PyTorch's
"mid" forward 2.8 ms alone, 6.4 ms alternating with convnb; convnb's "dilated" 1.0 ms alone,
3.9 ms alternating). Run from the repository root::

    python -m bench.conv_rows --library convnb|torch|gemm OUT.json [--threads N] [--algo A]
                              [--repeats R] [--quick] [--rows NAME...] [--gpu | --gpu-only]

``gemm`` times, for every convolution row, the matrix products that im2col hands to NumPy's BLAS
(the patches already built): a floor for any algorithm of :mod:`convnb.conv_algos` that works
through ``np.matmul``. ``OUT.json`` receives ``{"versions": ..., "cpu": [row, ...], "gpu": [...]
or null}``; each row has its ``runs``, the seconds of each sample, and its ``page_faults`` per
call (:func:`page_faults_per_call`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import convnb  # noqa: E402
import convnb.nn as nn  # noqa: E402
from bench.lenet_epoch import blas_threads  # noqa: E402
from convnb.conv import _zero_padded, algorithm, conv_geometry  # noqa: E402


class ConvRow(NamedTuple):
    name: str
    x: tuple[int, int, int, int]  # (N, C, H, W)
    w: tuple[int, int, int, int]  # (F, C/groups, KH, KW)
    options: dict


class PoolRow(NamedTuple):
    name: str
    kind: str  # "max" or "avg"
    x: tuple[int, int, int, int]
    options: dict  # kernel_size, stride, padding


CONV_ROWS = [
    ConvRow("cifar-stem", (64, 3, 32, 32), (32, 3, 3, 3), dict(padding=1)),
    ConvRow("mid", (64, 32, 16, 16), (64, 32, 3, 3), dict(padding=1)),
    ConvRow("deep", (32, 64, 8, 8), (128, 64, 3, 3), dict(padding=1)),
    ConvRow("mnist-c1", (128, 1, 28, 28), (8, 1, 5, 5), dict(padding=2)),
    ConvRow("lenet-c2", (128, 6, 14, 14), (16, 6, 5, 5), {}),
    ConvRow("stem-7x7", (16, 3, 64, 64), (16, 3, 7, 7), dict(stride=2, padding=3)),
    ConvRow("depthwise", (32, 32, 32, 32), (32, 1, 3, 3), dict(groups=32, padding=1)),
    ConvRow("dilated", (8, 16, 32, 32), (16, 16, 3, 3), dict(dilation=2, padding=2)),
]
RESNET_ROWS = [
    ConvRow("resnet-56", (64, 64, 56, 56), (64, 64, 3, 3), dict(padding=1)),
    ConvRow("resnet-14", (64, 256, 14, 14), (256, 256, 3, 3), dict(padding=1)),
]
POOL_ROWS = [
    PoolRow(f"{kind}-{label}", kind, x, options)
    for label, x, options in [
        ("k2s2", (64, 32, 32, 32), dict(kernel_size=2, stride=2)),
        ("k3s2p1", (64, 64, 16, 16), dict(kernel_size=3, stride=2, padding=1)),
        ("lenet", (128, 6, 28, 28), dict(kernel_size=2, stride=2)),
    ]
    for kind in ("max", "avg")
]
QUICK_CONV = [ConvRow("tiny", (2, 3, 8, 8), (4, 3, 3, 3), dict(padding=1))]
QUICK_POOL = [PoolRow(f"{kind}-tiny", kind, (2, 3, 8, 8), dict(kernel_size=2, stride=2))
              for kind in ("max", "avg")]
LIBRARIES = ("convnb", "torch", "gemm")


def pick_rows(quick: bool, names: list[str] | None) -> tuple[list[ConvRow], list[PoolRow]]:
    """The rows to time: the quick ones, or the suite's, narrowed to names containing ``names``."""
    conv_rows, pool_rows = (QUICK_CONV, QUICK_POOL) if quick else (CONV_ROWS, POOL_ROWS)
    if names:
        conv_rows, pool_rows = ([r for r in rows if any(k in r.name for k in names)]
                                for rows in (conv_rows, pool_rows))
    return conv_rows, pool_rows


def conv_out_shape(row: ConvRow) -> tuple[int, int, int, int]:
    """(N, F, H_out, W_out), with ``H_out = (H + 2*pad - dilation*(KH-1) - 1) // stride + 1``."""
    (N, _, H, W), (F, _, KH, KW), o = row.x, row.w, row.options
    s, p, d = o.get("stride", 1), o.get("padding", 0), o.get("dilation", 1)
    return (N, F, (H + 2 * p - d * (KH - 1) - 1) // s + 1, (W + 2 * p - d * (KW - 1) - 1) // s + 1)


def conv_flops(row: ConvRow) -> int:
    """Multiply-adds of one forward pass, times two."""
    N, F, H_out, W_out = conv_out_shape(row)
    _, Cg, KH, KW = row.w
    return 2 * N * F * H_out * W_out * Cg * KH * KW


# --- timing ---------------------------------------------------------------------------------------

def samples(call: Callable[[], object], repeats: int, sample_s: float,
            sync: Callable[[], None] = lambda: None) -> list[float]:
    """Seconds per call: ``repeats`` samples, each running the call often enough to last about
    ``sample_s`` (counted once, on the second, warmed-up call)."""
    call()  # warm up: caches, allocator, per-shape choices
    sync()
    start = time.perf_counter()
    call()
    sync()
    number = max(1, int(sample_s / max(time.perf_counter() - start, 1e-7)))
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            call()
        sync()
        runs.append((time.perf_counter() - start) / number)
    return runs


def page_faults_per_call(call: Callable[[], object], sync: Callable[[], None] = lambda: None,
                         calls: int = 5) -> float | None:
    """Minor page faults per call over ``calls`` warmed-up calls: pages of fresh memory the call
    touches for the first time (None where the OS does not count them).

    A call whose temporaries reuse memory its predecessor freed makes none. On the 2-core VM each
    fault cost about 1.7 µs: a strided ``dx`` that made 3,208 per call ran in 16 ms instead of
    5 (README, "Speed"), because glibc gave its heap back to the OS after every call and took it
    again in the next. A row whose count is not 0 is timed in that state.
    """
    try:
        import resource
    except ImportError:  # not a Unix
        return None
    call()
    sync()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        call()
    sync()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def _pair(v) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v)


def conv_arrays(row: ConvRow, dtype: str) -> tuple[np.ndarray, ...]:
    """x, w, b and dout of a row, the same in every process (seed 0)."""
    rng = np.random.default_rng(0)
    x, w = (rng.standard_normal(s).astype(dtype) for s in (row.x, row.w))
    b = rng.standard_normal(row.w[0]).astype(dtype)
    dout = rng.standard_normal(conv_out_shape(row)).astype(dtype)
    return x, w, b, dout


def conv_calls(library: str, row: ConvRow, dtype: str, algo: str, xp=np, torch=None,
               device: str = "cpu") -> dict[str, Callable[[], object]]:
    """{pass: call} of one library for one convolution row."""
    o, arrays = row.options, conv_arrays(row, dtype)
    if library == "convnb":
        x, w, b, dout = (xp.asarray(a) for a in arrays)
        return {"forward": lambda: convnb.conv2d(x, w, b, **o, algo=algo),
                "backward": lambda: convnb.conv2d_backward(dout, x, w, **o, algo=algo)}
    if library == "gemm":
        return gemm_calls(row, dtype, xp)
    x, w, b, dout = (torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays)
    stride, pad, dil = (_pair(o.get(k, v)) for k, v in (("stride", 1), ("padding", 0),
                                                         ("dilation", 1)))
    return {"forward": lambda: torch.nn.functional.conv2d(x, w, b, **o),
            "backward": lambda: torch.ops.aten.convolution_backward(
                dout, x, w, [row.w[0]], stride, pad, dil, False, [0, 0], o.get("groups", 1),
                [True, True, True])}


def gemm_calls(row: ConvRow, dtype: str, xp=np) -> dict[str, Callable[[], object]]:
    """The matrix products of im2col for one row, on operands already built: forward
    ``w (groups, F/groups, K) @ patches (groups, K, M)``; backward ``w.T @ dout`` (for dx) and
    ``patches @ dout.T`` (for dw, transposed, the order im2col uses), with
    ``K = C/groups*KH*KW`` and ``M = N*H_out*W_out``."""
    N, F, H_out, W_out = conv_out_shape(row)
    _, Cg, KH, KW = row.w
    groups, K, M = row.options.get("groups", 1), Cg * KH * KW, N * H_out * W_out
    rng = np.random.default_rng(0)
    shapes = ((groups, F // groups, K), (groups, K, M), (groups, F // groups, M))
    w, patches, dout = (xp.asarray(rng.standard_normal(s).astype(dtype)) for s in shapes)
    w_t, dout_t = (xp.ascontiguousarray(a.transpose(0, 2, 1)) for a in (w, dout))
    return {"forward": lambda: xp.matmul(w, patches),
            "backward": lambda: (xp.matmul(w_t, dout), xp.matmul(patches, dout_t))}


def pool_calls(library: str, row: PoolRow, xp=np, torch=None,
               device: str = "cpu") -> dict[str, Callable[[], object]]:
    """{"forward+backward": call} for one pooling row (float32): a layer's forward and backward
    in convnb, the functional forward and autograd's backward in PyTorch."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(row.x).astype("float32")
    layer = (nn.MaxPool2d if row.kind == "max" else nn.AvgPool2d)(**row.options)
    dout = rng.standard_normal(layer(x).shape).astype("float32")
    if library == "convnb":
        xc, dc = xp.asarray(x), xp.asarray(dout)

        def convnb_step():
            layer(xc)
            return layer.backward(dc)
        return {"forward+backward": convnb_step}
    xt = torch.from_numpy(x).to(device).requires_grad_(True)
    dt = torch.from_numpy(dout).to(device)
    fn = getattr(torch.nn.functional, f"{row.kind}_pool2d")
    return {"forward+backward": lambda: torch.autograd.grad(fn(xt, **row.options), xt, dt)}


def time_rows(library: str, conv_rows, pool_rows, algo: str, repeats: int, sample_s: float,
              xp=np, torch=None, device: str = "cpu", sync=lambda: None) -> list[dict]:
    """One sample list per (row, pass, dtype): float32 and float64 convolutions, then float32
    pooling (not for ``gemm``, which has no pooling)."""
    results = []
    for dtype in ("float32", "float64"):
        for row in conv_rows:
            for passname, call in conv_calls(library, row, dtype, algo, xp, torch,
                                             device).items():
                results.append(_result(row, passname, dtype, call, repeats, sample_s, sync))
                if library == "convnb" and algo == "auto":
                    results[-1]["algorithm"] = auto_choice(row, passname, dtype, xp)
    if library != "gemm":
        for row in pool_rows:
            for passname, call in pool_calls(library, row, xp, torch, device).items():
                results.append(_result(row, passname, "float32", call, repeats, sample_s, sync))
    return results


def _result(row, passname: str, dtype: str, call, repeats: int, sample_s: float, sync) -> dict:
    return {"name": row.name, "kind": "conv" if isinstance(row, ConvRow) else f"{row.kind}_pool",
            "pass": passname, "dtype": dtype, "x": list(row.x),
            "w": list(row.w) if isinstance(row, ConvRow) else None, "options": row.options,
            "runs": samples(call, repeats, sample_s, sync),
            "page_faults": page_faults_per_call(call, sync), "algorithm": None}


def row_geometry(row: ConvRow, dtype: str = "float32", xp=np):
    """``(x, g)``: an empty input of the row's shape and the geometry ``conv2d`` computes with
    (other padding modes than zeros padded first, as ``conv2d`` pads them)."""
    o = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1,
         "padding_mode": "zeros"} | row.options
    x, w = xp.empty(row.x, dtype=dtype), xp.empty(row.w, dtype=dtype)
    g = conv_geometry("conv2d", x, w, None, o["stride"], o["padding"], o["dilation"],
                      o["groups"], o["padding_mode"])
    return _zero_padded(x, g, "conv2d")


def auto_choice(row: ConvRow, passname: str, dtype: str, xp=np) -> str:
    """The algorithm of :mod:`convnb.conv_algos` that ``algo="auto"`` chose for ``row`` in
    ``convnb.conv2d`` (``passname`` "forward") or ``conv2d_backward``: asked again after the
    timed calls, which made the choice and remember it."""
    x, g = row_geometry(row, dtype, xp)
    backward = passname == "backward"
    passes = ("weight_grad", "input_grad") if backward else ("forward",)
    return algorithm("auto", g, x, "conv2d", backward, passes).__name__.rsplit(".", 1)[-1]


def gpu(library: str, torch):
    """(xp, device, sync) for this library on a CUDA device, or None when it has none."""
    if library == "torch":
        if not torch.cuda.is_available():
            return None
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithm per shape
        return None, "cuda", torch.cuda.synchronize
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:  # no CuPy, no driver, no device: the CPU suite stands alone
        return None
    return cupy, "cuda", lambda: cupy.cuda.Device().synchronize()


def versions(library: str, torch) -> dict:
    if library == "torch":
        found = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
        if torch.cuda.is_available():
            found["cudnn"] = torch.backends.cudnn.version()
        return found
    found = {"numpy": np.__version__, "blas_threads": blas_threads()}
    try:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(0)
        found.update(cupy=cupy.__version__, card=props["name"].decode(),
                     cuda_runtime=cupy.cuda.runtime.runtimeGetVersion())
    except Exception:  # no CuPy or no device
        pass
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=LIBRARIES, required=True)
    parser.add_argument("out", type=Path, help="the JSON file to write")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--algo", default="auto", choices=(*convnb.conv_algos.ALGOS, "benchmark"),
                        help="benchmark: auto after convnb.conv_algos.set_benchmark(True)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample-s", type=float, default=0.05)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", nargs="+", default=None)
    parser.add_argument("--gpu", action="store_true", help="also the rows on a CUDA device")
    parser.add_argument("--gpu-only", action="store_true", help="the rows on a CUDA device only")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    torch = None
    if args.library == "torch":
        import torch

        torch.set_num_threads(args.threads or blas_threads() or os.cpu_count() or 1)
    conv_rows, pool_rows = pick_rows(args.quick, args.rows)
    algo = args.algo
    if algo == "benchmark":  # "auto", timing the algorithms once per shape, as cuDNN's benchmark
        convnb.conv_algos.set_benchmark(True)
        algo = "auto"
    timing = dict(algo=algo, repeats=args.repeats, sample_s=args.sample_s)
    report = {"versions": versions(args.library, torch),
              "cpu": [] if args.gpu_only else time_rows(args.library, conv_rows, pool_rows,
                                                        torch=torch, **timing),
              "gpu": None}
    on_gpu = gpu(args.library, torch) if args.gpu or args.gpu_only else None
    if on_gpu:
        xp, device, sync = on_gpu
        report["gpu"] = time_rows(args.library, [*conv_rows, *RESNET_ROWS], pool_rows,
                                  xp=xp or np, torch=torch, device=device, sync=sync, **timing)
    args.out.write_text(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
