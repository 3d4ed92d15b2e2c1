"""convnb.cuda's raw kernels run on the CPU: their source compiled as C++ by g++, one thread at a
time, and a stand-in ``cupy`` module that hands them NumPy arrays.

A GPU is lent to this project's test runs only now and then; the kernels' index arithmetic is
checked here on every run. The CUDA built-ins become plain globals (``blockIdx``, ``threadIdx``,
``blockDim``, ``gridDim``) and each launch runs its blocks in turn, and in each block its threads
from the last to the first, each to its end. ``__syncthreads`` then has nothing to wait for, and
the kernels' tree reductions in shared memory still add correctly: at every step a thread reads
the entry of a higher-numbered thread, which has finished. What a real GPU adds (threads racing)
is left to the tests run there through CuPy.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import types
from pathlib import Path

import numpy as np

PRELUDE = r"""
#include <cmath>
#define __global__
#define __device__
#define __shared__ static
#define __syncthreads()
struct Dim { int x; };
extern "C" { Dim blockIdx, blockDim, threadIdx, gridDim; }
"""

_FOLDER = Path(tempfile.gettempdir()) / "convnb-cuda-on-cpu"


def compiler() -> str | None:
    """The C++ compiler, or None where there is none."""
    return shutil.which("g++")


class RawKernel:
    """``cupy.RawKernel(source, name)`` compiled for the CPU."""

    def __init__(self, source: str, name: str):
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        library = _FOLDER / f"{digest}.so"
        if not library.exists():
            _FOLDER.mkdir(exist_ok=True)
            cpp = _FOLDER / f"{digest}.{os.getpid()}.cpp"  # another process may write its own
            cpp.write_text(PRELUDE + source)
            partial = library.with_name(f"{digest}.{os.getpid()}.so")  # then renamed: atomic
            subprocess.run([compiler(), "-O1", "-shared", "-fPIC", "-o", str(partial), str(cpp)],
                           check=True, capture_output=True)
            partial.replace(library)
            cpp.unlink()
        self._lib = ctypes.CDLL(str(library))
        self._function = getattr(self._lib, name)

    def _dim(self, name: str, value: int) -> None:
        ctypes.c_int.in_dll(self._lib, name).value = value  # Dim's only field, x

    def __call__(self, grid: tuple[int], block: tuple[int], args: tuple) -> None:
        converted = []
        for a in args:
            if isinstance(a, np.ndarray):
                assert a.flags.c_contiguous, "a kernel got a non-contiguous array"
                converted.append(ctypes.c_void_p(a.ctypes.data))
            else:
                assert isinstance(a, np.int32), f"a kernel got {type(a).__name__}, not np.int32"
                converted.append(ctypes.c_int(int(a)))
        self._dim("gridDim", grid[0])
        self._dim("blockDim", block[0])
        for b in range(grid[0]):
            self._dim("blockIdx", b)
            for t in reversed(range(block[0])):
                self._dim("threadIdx", t)
                self._function(*converted)


def fake_cupy() -> types.ModuleType:
    """A module with what :mod:`convnb.cuda`'s raw kernels use of CuPy, on NumPy arrays."""
    module = types.ModuleType("cupy")
    module.RawKernel = RawKernel
    module.empty = np.empty
    module.empty_like = np.empty_like
    module.ascontiguousarray = np.ascontiguousarray
    return module
