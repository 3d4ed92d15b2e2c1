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
