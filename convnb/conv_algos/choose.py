"""``algo="auto"``: which algorithm a layer gets, decided once per shape and dtype.

cuDNN's benchmark mode times every algorithm on the first call with a new shape and remembers the
winner; timing inside a student's training step would make runs irreproducible, so ``"auto"``
applies a fixed rule instead, derived from timings of the three algorithms on a 2-core CPU
(float32; see :func:`rule`), and remembers its answer per shape, dtype and array module.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..geometry import ConvGeometry


def rule(g: ConvGeometry, backward: bool = False) -> str:
    """The algorithm for a layer of geometry ``g``, for its forward pass or (``backward``) for
    both of its gradients.

    * Depthwise layers (one input channel and one filter per group): ``"direct"``, one
      multiply-add per tap, where im2col would run ``N*groups`` matrix products of one row
      (bench row "depthwise", 1 thread: forward 3.1 ms against 8.4 ms, backward 6.6 against 30).
    * Forward passes otherwise: ``"im2col"``: one matrix product per example does nearly all the
      work; direct's per-tap products over ``C/groups`` channels are slower on every other row
      of the bench suite (by 1.1x on "dilated" to 20x on "mnist-c1", one input channel).
    * Backward passes of dilated layers at stride 1: ``"direct"``. With dilation im2col's
      gathering and adding back of the patches jump between rows; direct was faster on
      "dilated" (2.0 ms against 3.2).
    * Other backward passes: ``"im2col"``; direct was 1.2x ("mid", "deep") to 2.2x ("stem-7x7",
      "cifar-stem": three input channels) slower.

    The timings (float32, 2-core AMD EPYC, NumPy with OpenBLAS on 1 thread, 2026-11-27) are of
    this project's bench suite (``bench/conv_suite.py``); the FFT was slower on all of them
    (kernels of 3 x 3 to 7 x 7), so ``"auto"`` never picks it.
    """
    if g.C == g.groups and g.F == g.groups:
        return "direct"
    if backward and g.stride == (1, 1) and g.dilation != (1, 1):
        return "direct"
    return "im2col"


@lru_cache(maxsize=4096)
def _cached(g: ConvGeometry, dtype: str, module: str, backward: bool) -> str:
    return rule(g, backward)


def choose_algo(g: ConvGeometry, dtype: object, module: str, backward: bool = False) -> str:
    """:func:`rule`'s answer for ``g``, cached per geometry, dtype, array module name and
    direction."""
    return _cached(g, str(dtype), module, backward)
