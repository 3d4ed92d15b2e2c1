"""convnb's convolution and pooling operators against ``torch.nn.functional``, timed in one process.

The rows are the course's performance suite (``CONV_ROWS`` and ``POOL_ROWS`` below): each
convolution forward and backward (dx, dw and db, PyTorch's ``convolution_backward``), in float32
and float64; then max and average pooling, forward and backward together (convnb's layers, whose
forward keeps what backward needs, against autograd), in float32. Both libraries run with the same
number of threads (threadpoolctl for NumPy's BLAS, ``torch.set_num_threads``), alternately, and the
median of the repeats is reported. A ratio is convnb's time divided by PyTorch's; GFLOP/s counts
``2 * N * F * H_out * W_out * C/groups * KH * KW`` per forward and twice that per backward, beside
the machine's measured matmul rate. With CuPy and a CUDA device, the rows and two ResNet layers are
also timed against PyTorch on CUDA (cuDNN, TF32 off). Run from the repository root::

    python -m bench.conv_suite [--algo auto|im2col|...] [--threads N] [--quick] [--rows NAME...]
                               [--out DIR]

It prints a table and writes ``DATE-conv-suite-threadsN`` ``.json`` (every time), ``.md`` (the
README's tables) and ``.png`` (the ratios) into ``--out`` (``bench/results/``). ``--quick`` times
one tiny row of each kind, for a smoke test; ``--rows`` picks rows by name.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import platform
import subprocess
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
from bench.lenet_epoch import blas_threads, cpu_model, torch_on_threads  # noqa: E402
from convnb.conv_algos import ALGOS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
# Targets of issue 14 (CPU, float32): forward median and worst row, backward median, pooling rows.
TARGETS = {"forward median": 1.3, "forward worst": 2.5, "backward median": 1.5, "pooling": 2.0}


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


# --- timing ---------------------------------------------------------------------------------------

def interleaved(calls: dict[str, Callable[[], object]], repeats: int, sample_s: float,
                sync: Callable[[], None] = lambda: None) -> dict[str, list[float]]:
    """Seconds per call of each function: ``repeats`` samples each, taken alternately so that a
    slow spell of the machine hits every library; a sample runs the call often enough to last
    about ``sample_s`` (counted once, on the first, warmed-up call)."""
    numbers = {}
    for name, call in calls.items():
        call()  # warm up: caches, allocator, per-shape choices
        sync()
        start = time.perf_counter()
        call()
        sync()
        once = time.perf_counter() - start
        numbers[name] = max(1, int(sample_s / max(once, 1e-7)))
    runs: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(numbers[name]):
                call()
            sync()
            runs[name].append((time.perf_counter() - start) / numbers[name])
    return runs


def gemm_gflops(dtype: str, n: int, repeats: int, sample_s: float) -> float:
    """The machine's matmul rate: ``np.matmul`` of two n x n matrices, 2 n^3 flops, median."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    times = interleaved({"matmul": lambda: a @ b}, repeats, sample_s)["matmul"]
    return 2 * n ** 3 / float(np.median(times)) / 1e9


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


def source() -> dict:
    """The commit measured, and whether convnb/ differed from it (None outside a git checkout)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "--short", "HEAD"),
                "convnb_changed": bool(git("status", "--porcelain", "--", "convnb"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "convnb_changed": None}


def accepts_algo(fn: Callable) -> bool:
    return "algo" in inspect.signature(fn).parameters


# --- the calls timed ------------------------------------------------------------------------------

def conv_calls(torch, row: ConvRow, dtype: str, algo: str, xp=np, device: str = "cpu"):
    """{pass: {library: call}} for one convolution row."""
    rng = np.random.default_rng(0)
    x, w = (rng.standard_normal(s).astype(dtype) for s in (row.x, row.w))
    b = rng.standard_normal(row.w[0]).astype(dtype)
    dout = rng.standard_normal(conv_out_shape(row)).astype(dtype)
    xc, wc, bc, dc = (xp.asarray(a) for a in (x, w, b, dout))
    xt, wt, bt, dt = (torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in (x, w, b, dout))
    o = row.options
    tstride, tpad, tdil = (_pair(o.get(k, v)) for k, v in (("stride", 1), ("padding", 0),
                                                            ("dilation", 1)))
    groups = o.get("groups", 1)
    fwd = {"algo": algo} if accepts_algo(convnb.conv2d) else {}
    bwd = {"algo": algo} if accepts_algo(convnb.conv2d_backward) else {}
    return {
        "forward": {
            "convnb": lambda: convnb.conv2d(xc, wc, bc, **o, **fwd),
            "torch": lambda: torch.nn.functional.conv2d(xt, wt, bt, **o),
        },
        "backward": {
            "convnb": lambda: convnb.conv2d_backward(dc, xc, wc, **o, **bwd),
            "torch": lambda: torch.ops.aten.convolution_backward(
                dt, xt, wt, [row.w[0]], tstride, tpad, tdil, False, [0, 0], groups,
                [True, True, True]),
        },
    }


def _pair(v) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v)


def pool_calls(torch, row: PoolRow, dtype: str, xp=np, device: str = "cpu"):
    """{"forward+backward": {library: call}} for one pooling row: a layer's forward and backward
    in convnb, the functional forward and autograd's backward in PyTorch."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(row.x).astype(dtype)
    layer = (nn.MaxPool2d if row.kind == "max" else nn.AvgPool2d)(**row.options)
    dout = rng.standard_normal(layer(x).shape).astype(dtype)
    xc, dc = xp.asarray(x), xp.asarray(dout)
    xt = torch.from_numpy(x).to(device).requires_grad_(True)
    dt = torch.from_numpy(dout).to(device)
    fn = getattr(torch.nn.functional, f"{row.kind}_pool2d")

    def convnb_step():
        layer(xc)
        return layer.backward(dc)

    def torch_step():
        return torch.autograd.grad(fn(xt, **row.options), xt, dt)

    return {"forward+backward": {"convnb": convnb_step, "torch": torch_step}}


def measure(calls: dict, row, dtype: str, passname: str, repeats: int, sample_s: float,
            flops: int | None, sync=lambda: None) -> dict:
    runs = interleaved(calls, repeats, sample_s, sync)
    convnb_s, torch_s = (float(np.median(runs[name])) for name in ("convnb", "torch"))
    return {
        "name": row.name, "kind": "conv" if isinstance(row, ConvRow) else f"{row.kind}_pool",
        "pass": passname, "dtype": dtype, "x": list(row.x),
        "w": list(row.w) if isinstance(row, ConvRow) else None, "options": row.options,
        "convnb_s": convnb_s, "torch_s": torch_s, "ratio": convnb_s / torch_s,
        "convnb_gflops": None if flops is None else flops / convnb_s / 1e9,
        "runs": runs,
    }


def cpu_rows(torch, conv_rows, pool_rows, algo: str, repeats: int, sample_s: float) -> list[dict]:
    results = []
    for dtype in ("float32", "float64"):
        for row in conv_rows:
            for passname, calls in conv_calls(torch, row, dtype, algo).items():
                flops = conv_flops(row) * (1 if passname == "forward" else 2)
                results.append(measure(calls, row, dtype, passname, repeats, sample_s, flops))
                print_row(results[-1])
    for row in pool_rows:
        for passname, calls in pool_calls(torch, row, "float32").items():
            results.append(measure(calls, row, "float32", passname, repeats, sample_s, None))
            print_row(results[-1])
    return results


def gpu_rows(torch, conv_rows, pool_rows, algo: str, repeats: int, sample_s: float) -> dict | None:
    """The convolution rows, two ResNet layers and the pooling rows on CuPy against PyTorch on
    CUDA, or None without CuPy and a device that both see."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1 or not torch.cuda.is_available():
            return None
    except Exception:  # no CuPy, no driver, no device: the CPU suite stands alone
        return None
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithm per shape

    def sync():
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()

    results = []
    print("\nGPU: convnb on CuPy against PyTorch CUDA (cuDNN, TF32 off)")
    for dtype in ("float32", "float64"):
        for row in [*conv_rows, *RESNET_ROWS]:
            calls = conv_calls(torch, row, dtype, algo, xp=cupy, device="cuda")
            for passname, pair in calls.items():
                flops = conv_flops(row) * (1 if passname == "forward" else 2)
                results.append(measure(pair, row, dtype, passname, repeats, sample_s, flops, sync))
                print_row(results[-1])
    for row in pool_rows:
        for passname, pair in pool_calls(torch, row, "float32", xp=cupy, device="cuda").items():
            results.append(measure(pair, row, "float32", passname, repeats, sample_s, None, sync))
            print_row(results[-1])
    props = cupy.cuda.runtime.getDeviceProperties(0)
    return {"card": props["name"].decode(), "cupy": cupy.__version__,
            "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
            "cudnn": torch.backends.cudnn.version(), "tf32": False, "rows": results,
            "summary": summary(results)}


# --- report ---------------------------------------------------------------------------------------

HEADER = (f"| {'row':13} | {'pass':16} | {'dtype':7} | {'convnb ms':>9} | {'torch ms':>9} | "
          f"{'ratio':>6} | {'GFLOP/s':>7} |")


def print_row(r: dict) -> None:
    gflops = "" if r["convnb_gflops"] is None else f"{r['convnb_gflops']:7.1f}"
    print(f"| {r['name']:13} | {r['pass']:16} | {r['dtype']:7} | {1e3 * r['convnb_s']:9.3f} | "
          f"{1e3 * r['torch_s']:9.3f} | {r['ratio']:6.2f} | {gflops:>7} |", flush=True)


def summary(rows: list[dict]) -> dict:
    """Median and worst ratio per (pass, dtype), as the targets are stated."""
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(f"{r['pass']} {r['dtype']}", []).append(r["ratio"])
    return {key: {"median": float(np.median(v)), "worst": max(v)} for key, v in groups.items()}


def tables(rows: list[dict], medians: dict) -> list[str]:
    """Markdown: convnb/PyTorch per convolution row (convnb's GFLOP/s in brackets) with the
    medians, then the pooling rows with their times."""
    passes = [(p, d) for d in ("float32", "float64") for p in ("forward", "backward")]
    lines = ["| row | " + " | ".join(f"{p} {d}" for p, d in passes) + " |",
             "|---|" + "---|" * len(passes)]
    conv = {(r["name"], r["pass"], r["dtype"]): r for r in rows if r["kind"] == "conv"}
    for name in dict.fromkeys(r["name"] for r in rows if r["kind"] == "conv"):
        cells = [conv[name, p, d] for p, d in passes]
        lines.append(f"| {name} | " + " | ".join(
            f"{r['ratio']:.2f} ({r['convnb_gflops']:.3g})" for r in cells) + " |")
    if conv:
        lines.append("| median (worst) | " + " | ".join(
            f"{s['median']:.2f} ({s['worst']:.2f})"
            for s in (medians[f"{p} {d}"] for p, d in passes)) + " |")
    lines += ["", "| pooling, forward+backward, float32 | x | convnb ms | PyTorch ms | ratio |",
              "|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] != "conv":
            options = ", ".join(f"{k}={v}" for k, v in r["options"].items())
            lines.append(f"| {r['name']} ({options}) | {tuple(r['x'])} | "
                         f"{1e3 * r['convnb_s']:.2f} | {1e3 * r['torch_s']:.2f} | "
                         f"{r['ratio']:.2f} |")
    return lines


def markdown(report: dict) -> str:
    """The README's tables: the CPU's, and the GPU's when there was one."""
    m, gemm, source = report["machine"], report["gemm_gflops"], report["source"]
    lines = [f"{report['date']}; {m['cpu']}, {m['cores']} cores, threads: {m['threads']} for both "
             f"libraries; NumPy {m['numpy']}, PyTorch {m['torch']}, Python {m['python']}; "
             f"`algo=\"{report['algo']}\"`; medians of {report['repeats']}; the machine's matmul: "
             f"{gemm['float32']:.0f} GFLOP/s float32, {gemm['float64']:.0f} float64; convnb at "
             f"{source['commit']}" + (" with uncommitted changes" if source["convnb_changed"]
                                      else "") + ".", "",
             *tables(report["rows"], report["summary"])]
    gpu = report["gpu"]
    if gpu:
        lines += ["", f"GPU: {gpu['card']}; CuPy {gpu['cupy']} (CUDA runtime "
                      f"{gpu['cuda_runtime']}) against PyTorch {m['torch']} on CUDA, cuDNN "
                      f"{gpu['cudnn']}, TF32 off; the rows above and two ResNet layers.", "",
                  *tables(gpu["rows"], gpu["summary"])]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['name']} {r['pass']} {r['dtype']}" for r in rows]
    colours = {"forward": "tab:blue", "backward": "tab:orange", "forward+backward": "tab:green"}
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(rows) + 1.5))
    ax.barh(range(len(rows)), [r["ratio"] for r in rows],
            color=[colours[r["pass"]] for r in rows])
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    for (name, value), colour in zip(TARGETS.items(), ("tab:purple", "tab:red", "tab:brown",
                                                         "tab:olive"), strict=True):
        ax.axvline(value, color=colour, linestyle="--", linewidth=1,
                   label=f"target: {name} {value} (float32)")
    ax.set_xlabel("time convnb / PyTorch (log scale; below 1: convnb faster)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="auto", choices=ALGOS,
                        help="convnb.conv2d's algo for every row (default: auto)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both libraries (default: NumPy's BLAS default)")
    parser.add_argument("--repeats", type=int, default=None, help="samples per library (7)")
    parser.add_argument("--quick", action="store_true", help="one tiny row of each kind")
    parser.add_argument("--rows", nargs="+", default=None, metavar="NAME",
                        help="only the rows whose name contains one of these (e.g. pool, mid)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON and PNG")
    args = parser.parse_args(argv)
    torch, threads = torch_on_threads(args.threads, "bench.conv_suite")
    repeats = args.repeats or (3 if args.quick else 7)
    sample_s = 0.005 if args.quick else 0.05
    conv_rows, pool_rows = (QUICK_CONV, QUICK_POOL) if args.quick else (CONV_ROWS, POOL_ROWS)
    if args.rows:
        conv_rows, pool_rows = ([r for r in rows if any(k in r.name for k in args.rows)]
                                for rows in (conv_rows, pool_rows))
        if not conv_rows and not pool_rows:
            parser.error(f"--rows {' '.join(args.rows)}: no row's name contains any of these")

    today = datetime.date.today().isoformat()
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads,
               "python": platform.python_version(), "numpy": np.__version__,
               "torch": torch.__version__, "blas_threads": blas_threads()}
    print(f"convnb/PyTorch, algo={args.algo}, median of {repeats}; {machine['cpu']}, "
          f"{machine['cores']} cores, {threads} threads; numpy {np.__version__}, torch "
          f"{torch.__version__}, python {machine['python']}; {today}")
    n = 256 if args.quick else 2048
    gemm = {dtype: gemm_gflops(dtype, n, repeats, 4 * sample_s) for dtype in ("float32", "float64")}
    print(f"machine's matmul ({n}x{n}): {gemm['float32']:.1f} GFLOP/s float32, "
          f"{gemm['float64']:.1f} GFLOP/s float64\n")
    print(HEADER)
    print("|" + "|".join("-" * len(column) for column in HEADER.split("|")[1:-1]) + "|")
    rows = cpu_rows(torch, conv_rows, pool_rows, args.algo, repeats, sample_s)
    gpu = None if args.quick else gpu_rows(torch, conv_rows, pool_rows, args.algo, repeats,
                                           sample_s)
    report = {"date": today, "machine": machine, "source": source(), "algo": args.algo,
              "quick": args.quick,
              "repeats": repeats, "targets": TARGETS,
              "gemm_gflops": gemm, "gemm_size": n, "rows": rows, "summary": summary(rows),
              "gpu": gpu}
    print()
    for key, s in report["summary"].items():
        print(f"{key:26} median ratio {s['median']:5.2f}, worst {s['worst']:5.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = (f"{today}-conv-suite" + ("-quick" if args.quick else "")
            + ("" if args.algo == "auto" else f"-{args.algo}") + f"-threads{threads}")
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(report))
    plot(rows, args.out / f"{stem}.png",
         f"convnb / PyTorch on the CPU ({machine['cpu']}, {threads} threads, {today})")
    print("\n" + markdown(report))
    print(f"wrote {args.out / stem}.json, .md and .png")
    return report


if __name__ == "__main__":
    main()
