"""Small drawing helpers shared by the image explorers (playground, pooling, equivariance).

``_core.png_img`` writes RGB PNGs; a grey picture stored as one channel is about half the size,
which matters when dozens of frames are saved in a page, so :func:`grey_png` writes mode "L"
and lets the browser scale the pixels instead of storing them scaled.
"""

from __future__ import annotations

import base64
import html
from io import BytesIO

import numpy as np

from ..data import SAMPLE_IMAGES, sample_image
from ..pool import avg_pool2d


def grey_png(image: np.ndarray, lo: float, hi: float, alt: str, width: int) -> str:
    """An ``<img>`` of ``image`` in grey levels, ``lo`` black and ``hi`` white (values beyond are
    clipped), drawn ``width`` CSS pixels wide with sharp pixel edges.

    Shapes: image (H, W)
    """
    from PIL import Image

    a = (np.asarray(image, dtype=np.float64) - lo) / (hi - lo if hi > lo else 1.0)
    grey = np.clip(np.round(a * 255), 0, 255).astype(np.uint8)
    buffer = BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="PNG", optimize=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" width="{width}" '
            f'style="image-rendering: pixelated">')


def signed_fill(value: float, scale: float) -> str:
    """A cell colour for a signed number: white at 0, towards red for positive and blue for
    negative values, full colour at ``|value| = scale``."""
    t = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    fade = round(255 - 150 * t)
    return f"#ff{fade:02x}{fade:02x}" if value > 0 else f"#{fade:02x}{fade:02x}ff"


def grey_fill(value: float, lo: float, hi: float) -> str:
    """A cell colour for a non-negative picture: ``lo`` white, ``hi`` black (ink on paper)."""
    t = min(max((value - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.0
    level = round(255 * (1 - t))
    return f"#{level:02x}{level:02x}{level:02x}"


def small_image(fn: str, name: str, size: int) -> np.ndarray:
    """A bundled scikit-image picture in grey: a centre square whose side is a multiple of
    ``size``, averaged down to ``size`` x ``size`` pixels in blocks (convnb's average pooling).

    Shapes: -> (size, size), values in [0, 1]
    """
    if not isinstance(name, str) or name not in SAMPLE_IMAGES:
        raise ValueError(f"{fn}: image must be one of {', '.join(SAMPLE_IMAGES)}, got {name!r}")
    picture = sample_image(name, as_gray=True, dtype=np.float64)
    side = min(picture.shape)
    if not isinstance(size, int) or isinstance(size, bool) or not 16 <= size <= side:
        raise ValueError(f"{fn}: size must be an int from 16 to {side} (the picture's side), "
                         f"got {size!r}")
    factor = side // size
    crop = factor * size
    top, left = (picture.shape[0] - crop) // 2, (picture.shape[1] - crop) // 2
    square = picture[top:top + crop, left:left + crop]
    return avg_pool2d(square[None, None], factor)[0, 0]
