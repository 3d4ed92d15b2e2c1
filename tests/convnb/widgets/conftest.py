"""Oracles more than one explorer's tests share."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import pytest


@pytest.fixture(scope="session")
def camera() -> Callable[[int], np.ndarray]:
    """``camera(size)``: the centre of scikit-image's 512 x 512 camera in [0, 1], averaged in
    blocks down to size x size pixels, by a reshape (not by convnb)."""
    skdata = pytest.importorskip("skimage.data", reason="the camera is scikit-image's")

    @lru_cache(maxsize=8)
    def reduced(size: int) -> np.ndarray:
        factor = 512 // size
        crop = factor * size
        top = (512 - crop) // 2
        square = skdata.camera()[top:top + crop, top:top + crop] / 255.0
        return square.reshape(size, factor, size, factor).mean(axis=(1, 3))

    return reduced
