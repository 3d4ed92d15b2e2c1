"""Keep freed memory in the process, so that a call's temporaries reuse its predecessor's pages.

A convolution makes temporaries of megabytes (patch matrices, padded inputs, products) and frees
them before it returns. glibc's ``malloc`` serves blocks above a threshold with fresh pages from
the OS (``mmap``) and hands free memory at the top of its heap back to the OS once there is
more of it than another threshold; both thresholds start at 128 KiB and grow with the blocks
the program frees (up to 32 MiB and 64 MiB). Depending on what came before, a loop over one
layer can therefore give its temporaries back after every call and fetch them again in the
next: each page touched for the first time is a page fault, about 1.7 µs on the 2-core machine
the benchmarks ran on. ``conv_transpose2d_backward`` of x (16, 64, 16, 16) by w (64, 32, 4, 4) at
stride 2 made about 2,000 faults per call that way (2026-11-29).

:func:`keep_freed_memory` sets both thresholds once, so that blocks up to :data:`MMAP_THRESHOLD`
come from the heap and up to :data:`TRIM_THRESHOLD` of free memory stays there. That is what
PyTorch's CPU tuning guides get by replacing the allocator (jemalloc, tcmalloc); here it is two
calls of glibc's ``mallopt``. ``import convnb`` makes them, on Linux with glibc, unless the
environment sets ``CONVNB_KEEP_FREED_MEMORY=0``. The price: the process keeps up to
:data:`TRIM_THRESHOLD` bytes that it freed (the OS sees them as used) for its next allocations.
The settings are the process's, not convnb's: they hold for every library in it.
"""

from __future__ import annotations

import ctypes
import os
import platform

MMAP_THRESHOLD = 32 * 2**20  # blocks up to this size come from the heap (glibc's largest value)
TRIM_THRESHOLD = 256 * 2**20  # free memory the heap keeps at its top before it shrinks
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
ENV = "CONVNB_KEEP_FREED_MEMORY"


def keep_freed_memory() -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` to :data:`MMAP_THRESHOLD` and ``M_TRIM_THRESHOLD`` to
    :data:`TRIM_THRESHOLD` for this process. True if both were set; False where the C library is
    not glibc (macOS, Windows, musl), which has allocators of its own, or where it refused."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def keep_freed_memory_on_import() -> bool:
    """:func:`keep_freed_memory`, unless ``CONVNB_KEEP_FREED_MEMORY`` is ``0``."""
    return os.environ.get(ENV, "1") != "0" and keep_freed_memory()


KEPT = keep_freed_memory_on_import()  # whether this process keeps its freed memory
