"""What one call of each building block of convnb's GPU path costs, in microseconds.

A small layer on a GPU is launch-bound: its time is the host's work per call, not the device's.
This times, per call, each kind of call that convnb's GPU path makes (CuPy's array operations,
its raw and elementwise kernels, cuBLAS through ``cupy.matmul`` and directly, convnb's own checks)
beside PyTorch's, on the "mnist-c1" row's sizes, and profiles convnb's forward and backward there.
Needs CuPy, PyTorch with CUDA and a GPU. Run from the repository root::

    python -m bench.gpu_calls
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: use the checkout's convnb
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import convnb  # noqa: E402
from convnb import cuda  # noqa: E402
from convnb.conv import conv_geometry  # noqa: E402


def per_call(call, sync, calls: int = 400) -> float:
    """Microseconds per call, the device synchronised after the batch of calls."""
    call()
    sync()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    sync()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    import cupy
    import torch

    sync = cupy.cuda.Device().synchronize
    rng = np.random.default_rng(0)
    x = cupy.asarray(rng.standard_normal((128, 1, 28, 28), dtype=np.float32))
    w = cupy.asarray(rng.standard_normal((8, 1, 5, 5), dtype=np.float32))
    b = cupy.asarray(rng.standard_normal(8, dtype=np.float32))
    small = cupy.ones(10_000, dtype=np.float32)
    other = cupy.ones(10_000, dtype=np.float32)
    g = conv_geometry("conv2d", x, w, None, 1, 2, 1, 1, "zeros")
    cols = cuda.patches(x, g)  # (25, 128*784)
    a = cupy.asarray(rng.standard_normal((8, 25), dtype=np.float32))
    prod = a @ cols
    handle = cupy.cuda.device.get_cublas_handle()
    one, zero = np.ones((), np.float32), np.zeros((), np.float32)
    out = cupy.empty_like(prod)

    kernel = cuda._kernel("patches", "float32")
    prepared = (x, cols, *(np.int32(v) for v in cuda.conv_sizes(g, 128)))
    blocks = (cols.size + 255) // 256

    def direct_gemm():  # out (8, M) = a (8, 25) @ cols (25, M), column-major: out.T = cols.T a.T
        M = cols.shape[1]
        cupy.cuda.cublas.sgemm(handle, 0, 0, M, 8, 25, one.ctypes.data, cols.data.ptr, M,
                               a.data.ptr, 25, zero.ctypes.data, out.data.ptr, M)

    xt, wt, bt = (torch.as_tensor(v, device="cuda") for v in (x, w, b))
    st, ot = torch.as_tensor(small, device="cuda"), torch.as_tensor(other, device="cuda")
    dout = convnb.conv2d(x, w, b, padding=2)
    calls = {
        "cupy.empty (128, 8, 28, 28)": lambda: cupy.empty((128, 8, 28, 28), np.float32),
        "cupy a + b (10,000)": lambda: small + other,
        "cupy a += b (10,000)": lambda: small.__iadd__(other),
        "cupy sum over axes (0, 2, 3)": lambda: dout.sum(axis=(0, 2, 3)),
        "cupy ascontiguousarray, transposed copy": lambda: cupy.ascontiguousarray(
            prod.reshape(8, 128, 784).transpose(1, 0, 2)),
        "cupy view: x[0:64].reshape(...).transpose(...)": lambda: x[0:64].reshape(64, 784).T,
        "convnb.cuda.patches (raw kernel)": lambda: cuda.patches(x, g),
        "the same raw kernel, arguments prepared": lambda: kernel((blocks,), (256,), prepared),
        "cupy.matmul (8, 25) @ (25, 100352)": lambda: a @ cols,
        "cublas sgemm directly, same product": direct_gemm,
        "fused SGD step (elementwise kernel)": lambda: cuda.sgd_step(small, other, 0.1, 0.0),
        "convnb conv_geometry (checks only)": lambda: conv_geometry(
            "conv2d", x, w, b, 1, 2, 1, 1, "zeros"),
        "convnb.conv2d forward, no bias": lambda: convnb.conv2d(x, w, padding=2),
        "convnb.conv2d forward, bias": lambda: convnb.conv2d(x, w, b, padding=2),
        "convnb.conv2d_backward": lambda: convnb.conv2d_backward(dout, x, w, padding=2),
        "torch a + b (10,000)": lambda: st + ot,
        "torch conv2d forward, bias": lambda: torch.nn.functional.conv2d(xt, wt, bt, padding=2),
    }
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    for name, call in calls.items():
        s = torch.cuda.synchronize if name.startswith("torch") else sync
        print(f"{name:50} {per_call(call, s):8.1f} us", flush=True)
    import convnb.nn as nn
    from convnb.nn.models import lenet5

    nn.manual_seed(0)
    model = lenet5().to("gpu")
    criterion, opt = nn.CrossEntropyLoss(), nn.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images = cupy.asarray(rng.random((64, 1, 28, 28), dtype=np.float32))
    labels = cupy.asarray(rng.integers(0, 10, 64))

    def step():
        criterion(model(images), labels)
        opt.zero_grad()
        model.backward_params(criterion.backward())
        opt.step()

    print(f"{'LeNet-5 training step, batch 64':50} {per_call(step, sync, 100):8.1f} us")
    for label, call, n in (("forward", lambda: convnb.conv2d(x, w, b, padding=2), 300),
                           ("backward", lambda: convnb.conv2d_backward(dout, x, w, padding=2),
                            300),
                           ("LeNet-5 step", step, 100)):
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [call() for _ in range(n)])  # noqa: B023
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(30)
        print(f"\n{label}, {n} calls, by own time:\n{text.getvalue()}")


if __name__ == "__main__":
    main()
