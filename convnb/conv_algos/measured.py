"""``"auto"`` by measurement, as cuDNN's benchmark mode (``torch.backends.cudnn.benchmark``).

:func:`~.choose.rule` was fitted to timings on one machine, and another can rank the algorithms
differently. On the 2-core development machine of 2026-11-29, a newer processor than the rule's,
on which NumPy's OpenBLAS also runs other kernels (AVX2 where the rule's machine ran AVX-512
ones), at two threads "mnist-c1" forward took 0.68 ms with ``"flat"`` and 1.0 with the rule's
``"im2col"``; with the other machine's kernels im2col was the faster, 0.72 ms against 0.75.
After ``set_benchmark(True)``, the first NumPy convolution of each new geometry, dtype, set of
passes and BLAS thread count times every algorithm that computes it (:func:`candidates`) on
arrays of its shapes, up to four calls each (:func:`measure`), keeps the fastest, and uses it
from then on.

It is off by default, as in PyTorch, for two reasons. Algorithms round differently, so the
choice, and with it the results, may change from run to run (by up to about 1e-5 of the largest
output in float32, where Winograd is chosen); and each new shape costs every algorithm's time,
several times over (``"direct"`` on a large layer takes seconds). CuPy arrays keep
:func:`~.choose.gpu_rule`: the timings here run on the CPU.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import flat, winograd

if TYPE_CHECKING:
    from ..geometry import ConvGeometry

REPEATS = 3  # timed calls per algorithm, after one untimed call; the fastest counts
GIVE_UP = 4  # ... fewer once it has taken this many times the fastest algorithm's time

_enabled = False


def set_benchmark(enabled: bool) -> None:
    """Make ``algo="auto"`` time the algorithms on NumPy arrays (``True``) or apply
    :func:`~.choose.rule` (``False``, the default). Choices already measured are kept for when
    it is switched on again."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_benchmark: enabled must be True or False, got {enabled!r}")
    global _enabled
    _enabled = enabled


def benchmark_enabled() -> bool:
    """Whether ``"auto"`` measures (see :func:`set_benchmark`)."""
    return _enabled


def candidates(g: ConvGeometry, dtype: object = "float32",
               passes: tuple[str, ...] = ("forward",)) -> tuple[str, ...]:
    """The algorithms with code of their own for ``g`` and ``passes``: ``"flat"`` only at
    stride 1 or for the ``input_grad`` of the strided layers :func:`.flat.as_phases` takes, and
    ``"winograd"`` only for the layers :func:`.winograd.fits` (elsewhere each hands the layer to
    another algorithm, which is timed anyway), and not below float32, where its transforms'
    rounding grows (float16: 1e-2 of the largest output, under 1e-3 for the others)."""
    names = ["direct", "im2col", "fft"]
    if g.stride == (1, 1) or ("input_grad" in passes and flat.as_phases(g) is not None):
        names.append("flat")
    if winograd.fits(g) and np.dtype(dtype).itemsize >= 4:
        names.append("winograd")
    return tuple(names)


def measure(g: ConvGeometry, dtype: object, passes: tuple[str, ...] = ("forward",),
            names: tuple[str, ...] | None = None) -> dict[str, float]:
    """Seconds per call of each algorithm in ``names`` (default :func:`candidates`) on random
    NumPy arrays of ``g``'s shapes and ``dtype``, a call running each of ``passes`` (of
    ``"forward"``, ``"input_grad"``, ``"weight_grad"``: the ones the caller will run). Each
    algorithm is called once untimed, then up to :data:`REPEATS` times, fewer once it is
    :data:`GIVE_UP` times as slow as the fastest so far; its fastest call counts. An algorithm
    that runs out of memory is left out.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), dout (N, F, H_out, W_out), as ``g`` says
    """
    from . import ALGORITHMS  # the package imports this module first

    rng, dtype = np.random.default_rng(0), np.dtype(dtype)

    def normal(shape):  # drawn in dtype where NumPy can, without a float64 copy
        if dtype in (np.float32, np.float64):
            return rng.standard_normal(shape, dtype=dtype)
        return rng.standard_normal(shape).astype(dtype)

    x, w, dout = (normal(shape) for shape in (
        (g.N, g.C, g.H, g.W), (g.F, g.C // g.groups, g.KH, g.KW), (g.N, g.F, g.H_out, g.W_out)))
    calls = {"forward": lambda m: m.forward(x, w, g),
             "input_grad": lambda m: m.input_grad(dout, w, g),
             "weight_grad": lambda m: m.weight_grad(dout, x, g)}
    seconds: dict[str, float] = {}
    for name in candidates(g, dtype, passes) if names is None else names:
        module, best = ALGORITHMS[name], float("inf")
        fastest_yet = min(seconds.values(), default=float("inf"))
        try:
            for attempt in range(REPEATS + 1):
                start = time.perf_counter()
                for pass_ in passes:
                    calls[pass_](module)
                if attempt:
                    best = min(best, time.perf_counter() - start)
                    if best > GIVE_UP * fastest_yet:
                        break
        except MemoryError:
            continue
        seconds[name] = best
    return seconds


@lru_cache(maxsize=1024)
def fastest(g: ConvGeometry, dtype: str, passes: tuple[str, ...], threads: int) -> str:
    """The algorithm :func:`measure` finds fastest for ``g`` and ``passes``, measured once per
    geometry, dtype, passes and BLAS thread count (``threads``, part of the key only: the timing
    runs on the threads of the moment, which :func:`.choose.choose_algo` reads)."""
    seconds = measure(g, dtype, passes)
    return min(seconds, key=seconds.get)
