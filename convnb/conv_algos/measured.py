"""``"auto"`` by measurement, as cuDNN's benchmark mode (``torch.backends.cudnn.benchmark``).

:func:`~.choose.rule` was fitted to timings on one machine, and another machine can rank the
algorithms differently: on the 2-core development machine of 2026-11-29 (a newer processor than
the rule's), two threads, "dilated" backward took 1.1 ms with ``"flat"`` and 1.7 with the rule's
``"direct"``, "mnist-c1" forward 0.85 with ``"flat"`` and 1.1 with the rule's ``"im2col"``. After
``set_benchmark(True)``, the first NumPy convolution of each new geometry, dtype, direction and
BLAS thread count runs every algorithm that computes it (:func:`candidates`) on arrays of its
shapes, keeps the fastest, and uses it from then on.

It is off by default, as in PyTorch, for two reasons. Algorithms round differently, so the
choice, and with it the last bits of every result, may change from run to run; and each new shape
costs the time of every algorithm once (``"direct"`` on a large layer takes seconds). CuPy arrays
keep :func:`~.choose.gpu_rule`: the timings here run on the CPU.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import winograd

if TYPE_CHECKING:
    from ..geometry import ConvGeometry

REPEATS = 3  # timed calls per algorithm, after one untimed call; the fastest counts

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


def candidates(g: ConvGeometry) -> tuple[str, ...]:
    """The algorithms with code of their own for ``g``: ``"flat"`` only at stride 1 and
    ``"winograd"`` only for the layers :func:`.winograd.fits` (elsewhere each hands the layer to
    another algorithm, which is timed anyway)."""
    names = ["direct", "im2col", "fft"]
    if g.stride == (1, 1):
        names.append("flat")
    if winograd.fits(g):
        names.append("winograd")
    return tuple(names)


def measure(g: ConvGeometry, dtype: object, backward: bool = False,
            names: tuple[str, ...] | None = None) -> dict[str, float]:
    """Seconds per call of each algorithm in ``names`` (default :func:`candidates`) on random
    NumPy arrays of ``g``'s shapes and ``dtype``: the forward pass, or (``backward``) both
    gradients. Each is called once untimed, then :data:`REPEATS` times; the fastest call counts.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), dout (N, F, H_out, W_out), as ``g`` says
    """
    from . import ALGORITHMS  # the package imports this module first

    rng = np.random.default_rng(0)
    x = rng.standard_normal((g.N, g.C, g.H, g.W)).astype(dtype)
    w = rng.standard_normal((g.F, g.C // g.groups, g.KH, g.KW)).astype(dtype)
    dout = rng.standard_normal((g.N, g.F, g.H_out, g.W_out)).astype(dtype)
    seconds = {}
    for name in candidates(g) if names is None else names:
        module = ALGORITHMS[name]
        best = float("inf")
        for attempt in range(REPEATS + 1):
            start = time.perf_counter()
            if backward:
                module.weight_grad(dout, x, g)
                module.input_grad(dout, w, g)
            else:
                module.forward(x, w, g)
            if attempt:
                best = min(best, time.perf_counter() - start)
        seconds[name] = best
    return seconds


@lru_cache(maxsize=1024)
def fastest(g: ConvGeometry, dtype: str, backward: bool, threads: int) -> str:
    """The algorithm :func:`measure` finds fastest for ``g``, measured once per geometry, dtype,
    direction and BLAS thread count (``threads``, part of the key only: the timing runs on the
    threads of the moment, which :func:`.choose.choose_algo` reads)."""
    seconds = measure(g, dtype, backward)
    return min(seconds, key=seconds.get)
