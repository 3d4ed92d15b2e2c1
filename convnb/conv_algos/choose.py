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
    from ..conv import ConvGeometry


def rule(g: ConvGeometry) -> str:
    """The algorithm for a layer of geometry ``g``.

    * ``"direct"`` when each group has one input channel and one filter (depthwise layers): one
      multiply-add per tap, where im2col would run ``N*groups`` matrix products of one row.
    * ``"im2col"`` otherwise: one matrix product per example does nearly all the work.
    """
    if g.C == g.groups and g.F == g.groups:
        return "direct"
    return "im2col"


@lru_cache(maxsize=4096)
def _cached(g: ConvGeometry, dtype: str, module: str) -> str:
    return rule(g)


def choose_algo(g: ConvGeometry, dtype: object, module: str) -> str:
    """:func:`rule`'s answer for ``g``, cached per geometry, dtype and array module name."""
    return _cached(g, str(dtype), module)
