"""The sizes of a convolution layer, worked out once by :func:`convnb.conv.conv_geometry` and
passed to every loop and algorithm that computes it."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ConvGeometry"]


class ConvGeometry(NamedTuple):
    """Everything a convolution's loops need to know, checked once."""

    N: int
    C: int
    H: int
    W: int
    F: int
    KH: int
    KW: int
    groups: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    padding_mode: str
    H_out: int
    W_out: int

    @property
    def padded_size(self) -> tuple[int, int]:
        top, bottom, left, right = self.pads
        return self.H + top + bottom, self.W + left + right


def batch_chunks(n: int, per_example: int, budget: int) -> list[slice]:
    """The batch ``0..n`` cut into runs of examples whose scratch memory, ``per_example`` bytes
    each, stays within ``budget`` bytes (one example a run if even one is over it)."""
    step = max(1, min(n, budget // max(per_example, 1)))
    return [slice(n0, min(n0 + step, n)) for n0 in range(0, n, step)]

