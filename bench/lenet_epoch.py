"""One training epoch of LeNet-5 in convnb and in PyTorch, on the CPU or a GPU, in one process.

60,000 inputs of 28x28 (MNIST when it is cached, else random images of the same shape: the time
does not depend on the values), batches of 64, SGD with momentum, float32, the same batch order
for both, and the same number of threads: NumPy's BLAS threads (threadpoolctl sets and reads
them) and ``torch.set_num_threads``. With ``--device gpu``, convnb runs on CuPy and PyTorch on
CUDA (cuDNN, TF32 off), the whole training set on the device before the clock starts, and each
epoch's time ends when the device has finished. Run from the repository root::

    python -m bench.lenet_epoch [--threads N] [--batches B] [--repeats R] [--profile]
                                [--device cpu|gpu] [--out DIR]

``--batches B`` times the first B batches only and scales to the epoch; ``--profile`` adds
cProfile's view of 100 batches in convnb (its functions, by time spent in them and below);
``--out DIR`` writes the table to ``DATE-lenet-epoch-DEVICE-threadsN.md`` and the numbers to
``.json`` there (``make bench``: ``bench/results/``).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import io
import json
import os
import platform
import pstats
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import convnb.nn as nn  # noqa: E402
from convnb.data import MnistUnavailable, load_mnist  # noqa: E402
from convnb.nn.models import lenet5  # noqa: E402

N, BATCH, LR, MOMENTUM = 60_000, 64, 0.01, 0.9


def inputs() -> tuple[np.ndarray, np.ndarray, str]:
    """MNIST's training set from the cache (never downloaded here), else random data."""
    try:
        x, y = load_mnist(download=False)
        return x, y, "MNIST (cached)"
    except MnistUnavailable:
        rng = np.random.default_rng(0)
        x = rng.random((N, 1, 28, 28), dtype=np.float32)
        return x, rng.integers(0, 10, N), "synthetic (MNIST not cached), same shape"


def blas_threads() -> int | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return max(counts) if counts else None


def torch_on_threads(threads: int | None, benchmark: str):
    """PyTorch, with it and NumPy's BLAS on ``threads`` threads (``None``: BLAS's own count):
    ``(torch, threads)``. Exits naming ``benchmark`` and the install line without PyTorch."""
    try:
        import torch
    except ImportError:
        sys.exit(f"{benchmark} needs PyTorch: pip install -e '.[bench]'")
    if threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads, user_api="blas")
    threads = blas_threads() or os.cpu_count() or 1
    torch.set_num_threads(threads)
    return torch, threads


def convnb_epoch(x: np.ndarray, y: np.ndarray, order: np.ndarray, device: str = "cpu") -> float:
    nn.manual_seed(0)
    model = lenet5().to(device)
    sync = lambda: None  # noqa: E731
    if device == "gpu":
        import cupy

        x, y, order = cupy.asarray(x), cupy.asarray(y), cupy.asarray(order)
        sync = cupy.cuda.Device().synchronize
    criterion, opt = nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(idx: np.ndarray) -> None:
        criterion(model(x[idx]), y[idx])
        opt.zero_grad()
        model.backward_params(criterion.backward())  # as PyTorch: no gradient for the data
        opt.step()

    return timed(step, order, sync)


def torch_epoch(torch, x: np.ndarray, y: np.ndarray, order: np.ndarray,
                device: str = "cpu") -> float:
    torch.manual_seed(0)
    tnn = torch.nn
    model = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    criterion = tnn.CrossEntropyLoss()
    on = "cuda" if device == "gpu" else "cpu"
    model.to(on)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt, order = (torch.from_numpy(a).to(on) for a in (x, y, order))

    def step(index) -> None:
        loss = criterion(model(xt[index]), yt[index])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return timed(step, order, torch.cuda.synchronize if device == "gpu" else lambda: None)


def timed(step, order, sync=lambda: None) -> float:
    """Seconds for the batches of ``order`` (after 3 untimed warm-up batches), until ``sync``
    returns (the device has finished)."""
    batches = [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
    for idx in batches[:3]:
        step(idx)
    sync()
    start = time.perf_counter()
    for idx in batches:
        step(idx)
    sync()
    return time.perf_counter() - start


def cpu_model() -> str:
    """The processor's name, family and model (two "AMD EPYC" of different generations differ
    by family), whether it has AVX-512, and the kernels NumPy's BLAS chose for it (OpenBLAS
    may run AVX2 kernels on a processor it does not know, where PyTorch uses AVX-512)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields:
        avx512 = "AVX-512" if "avx512f" in fields.get("flags", "").split() else "no AVX-512"
        name += f" (family {fields['cpu family']}, model {fields.get('model', '?')}; {avx512})"
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        blas = []
    for info in blas[:1]:
        kernels = f" {info['architecture']} kernels" if info.get("architecture") else ""
        name += f", {info['internal_api']} {info['version']}{kernels}"
    return name


def gpu_name(torch) -> str:
    import cupy

    return (f"{torch.cuda.get_device_name(0)}, CuPy {cupy.__version__}, "
            f"cuDNN {torch.backends.cudnn.version()}, TF32 off")


def profile(x: np.ndarray, y: np.ndarray, order: np.ndarray, device: str = "cpu",
            top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(convnb_epoch, x, y, order, device)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats("convnb", top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both libraries (default: NumPy's BLAS default)")
    parser.add_argument("--batches", type=int, default=None,
                        help="time only the first B batches and scale to a full epoch")
    parser.add_argument("--repeats", type=int, default=3,
                        help="epochs per library, alternating; the median is reported (3)")
    parser.add_argument("--profile", action="store_true", help="cProfile the convnb epoch")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="gpu: convnb on CuPy against PyTorch on CUDA")
    parser.add_argument("--out", type=Path, default=None, help="write .md and .json here")
    args = parser.parse_args(argv)
    torch, threads = torch_on_threads(args.threads, "bench.lenet_epoch")
    if args.device == "gpu":
        if not torch.cuda.is_available():
            sys.exit("bench.lenet_epoch --device gpu: PyTorch finds no CUDA device")
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True

    x, y, source = inputs()
    order = np.random.default_rng(0).permutation(len(y))
    if args.batches is not None:
        order = order[:args.batches * BATCH]
    scale = len(y) / len(order)
    runs: dict[str, list[float]] = {"PyTorch": [], "convnb": []}
    for _ in range(args.repeats):  # alternate, so a slow spell of the machine hits both
        runs["PyTorch"].append(torch_epoch(torch, x, y, order, args.device) * scale)
        runs["convnb"].append(convnb_epoch(x, y, order, args.device) * scale)
    seconds = {name: float(np.median(times)) for name, times in runs.items()}
    ratio = seconds["convnb"] / seconds["PyTorch"]

    steps = -(-len(y) // BATCH)
    lines = [f"LeNet-5, one epoch: {len(y):,} inputs 1x28x28, {source}; batch {BATCH}, "
             f"SGD(lr={LR}, momentum={MOMENTUM}), float32"
             + (f"; timed on {len(order):,} inputs, scaled" if scale != 1 else "")
             + f"; median of {args.repeats} epochs each"
             + ("; on the GPU: " + gpu_name(torch) if args.device == "gpu" else ""),
             f"{cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__} "
             f"({blas_threads() or '?'} BLAS threads), torch {torch.__version__} "
             f"({torch.get_num_threads()} threads); python {platform.python_version()}; "
             f"{datetime.date.today()}", "",
             f"| {'library':8} | {'s / epoch':>9} | {'ms / batch':>10} | {'vs PyTorch':>10} |",
             f"|{'-' * 10}|{'-' * 11}|{'-' * 12}|{'-' * 12}|"]
    for name, s in seconds.items():
        lines.append(f"| {name:8} | {s:9.1f} | {1e3 * s / steps:10.2f} | "
                     f"{s / seconds['PyTorch']:9.2f}x |")
    print("\n".join(lines))
    if args.profile:
        print()
        print(profile(x, y, order[:100 * BATCH], args.device))
    report = {"device": args.device, "convnb_seconds": round(seconds["convnb"], 2),
              "torch_seconds": round(seconds["PyTorch"], 2), "ratio": round(ratio, 2),
              "threads": threads, "data": source.split(" ")[0],
              "runs": {name: [round(t, 2) for t in times] for name, times in runs.items()}}
    print(json.dumps(report))
    if args.out is not None:
        stem = f"{datetime.date.today()}-lenet-epoch-{args.device}-threads{threads}"
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n")
        (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
