"""Small drawing helpers shared by the image explorers (playground, pooling, equivariance).

``_core.png_img`` writes RGB PNGs; a grey picture stored as one channel is about half the size,
which matters when dozens of frames are saved in a page, so :func:`grey_png` writes mode "L"
and lets the browser scale the pixels instead of storing them scaled.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from functools import lru_cache
from io import BytesIO

import numpy as np

from ..data import SAMPLE_IMAGES, sample_image
from ..pool import avg_pool2d


def grey_png(image: np.ndarray, lo: float, hi: float, alt: str, width: int) -> str:
    """An ``<img>`` of ``image`` in grey levels, ``lo`` black and ``hi`` white (values beyond are
    clipped), drawn ``width`` CSS pixels wide with sharp pixel edges and a thin frame (so that a
    white picture on a white page still shows where it is).

    Shapes: image (H, W)
    """
    from PIL import Image

    a = (np.asarray(image, dtype=np.float64) - lo) / (hi - lo if hi > lo else 1.0)
    grey = np.clip(np.round(a * 255), 0, 255).astype(np.uint8)
    buffer = BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="PNG", optimize=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" width="{width}" '
            f'style="image-rendering: pixelated; border: 1px solid #999">')


def signed_fill(value: float, scale: float) -> str:
    """A cell colour for a signed number: white at 0, towards red for positive and blue for
    negative values, full colour at ``|value| = scale``."""
    t = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    fade = round(255 - 150 * t)
    return f"#ff{fade:02x}{fade:02x}" if value > 0 else f"#{fade:02x}{fade:02x}ff"


_WHITE_TEXT = ' fill="#fff"'
_GREYS = [f"#{level:02x}{level:02x}{level:02x}" for level in range(256)]


def grey_fills(values: np.ndarray, lo: float, hi: float) -> list[list[str]]:
    """Cell colours for a picture of ink: ``lo`` (or less) white, ``hi`` (or more) black.

    Shapes: values (H, W) -> (H, W) nested lists of "#rrggbb"
    """
    t = np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    levels = np.round(255 * (1 - t)).astype(int).tolist()
    return [[_GREYS[level] for level in row] for row in levels]


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


@lru_cache(maxsize=1024)
def _is_dark(colour: str) -> bool:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.3 * red + 0.6 * green + 0.1 * blue < 110


def cells_svg(fills: Sequence[Sequence[str]], labels: Sequence[Sequence[str]] | None = None, *,
              cell: int = 24, marks: Sequence[tuple[int, int, int, int, str]] = (),
              title: str = "") -> str:
    """A compact SVG grid: cell ``(r, c)`` filled with the colour ``fills[r][c]`` ("#rrggbb") and,
    if given, the string ``labels[r][c]`` written in it (white on dark cells); ``marks`` are
    rectangles ``(row, col, height, width, colour)`` framed over the grid.

    ``_core.grid_svg`` draws every cell with all its styles; this one leaves white cells out,
    draws the grid lines as one path and each colour's frames as one path, which keeps a grid of
    a hundred numbered cells to a few kilobytes (and quick to write).

    Shapes: fills, labels (H, W) nested lists or arrays of strings
    """
    rows, cols = len(fills), len(fills[0])
    width, height = cols * cell + 4, rows * cell + 4
    half = cell / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="-2 -2 {width} {height}" role="img" aria-label="{html.escape(title)}">'
             f'<title>{html.escape(title)}</title>']
    parts += [f'<rect x="{c * cell}" y="{r * cell}" width="{cell}" height="{cell}" fill="{fill}"/>'
              for r, row in enumerate(fills) for c, fill in enumerate(row) if fill != "#ffffff"]
    lines = "".join([f"M{c * cell} 0V{rows * cell}" for c in range(cols + 1)]
                    + [f"M0 {r * cell}H{cols * cell}" for r in range(rows + 1)])
    parts.append(f'<path d="{lines}" stroke="#999" fill="none"/>')
    if labels is not None:
        parts.append(f'<g font-size="{round(cell * 0.45)}" text-anchor="middle" '
                     'dominant-baseline="central">')
        parts += [f'<text x="{c * cell + half:g}" y="{r * cell + half:g}"'
                  f'{_WHITE_TEXT if _is_dark(fills[r][c]) else ""}>{html.escape(label)}</text>'
                  for r, row in enumerate(labels) for c, label in enumerate(row) if label]
        parts.append("</g>")
    frames: dict[str, list[str]] = {}
    for r, c, h, w, colour in marks:
        frames.setdefault(colour, []).append(
            f"M{c * cell} {r * cell}h{w * cell}v{h * cell}h{-w * cell}z")
    parts += [f'<path d="{"".join(d)}" stroke="{colour}" stroke-width="3" fill="none"/>'
              for colour, d in frames.items()]
    parts.append("</svg>")
    return "".join(parts)
