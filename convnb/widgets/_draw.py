"""Drawing for the explorers: SVG grids, grey PNGs, legends and the layout of a frame.

A static page holds every precomputed frame, so pictures are kept small: a grid's lines are one
``<path>``, each colour's cells one ``<path>`` (not one ``<rect>`` per cell), attributes use
single quotes (which JSON does not escape), and a grey picture is a one-channel PNG that the
browser scales up rather than a scaled RGB one. Coordinates are CSS pixels; ``(row, col)`` and
rectangles ``(row, col, height, width, colour)`` count cells.
"""

from __future__ import annotations

import base64
import html
import itertools
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from io import BytesIO
from typing import Any

import numpy as np

from ..data import SAMPLE_IMAGES, sample_image
from ..pool import avg_pool2d

Cell = tuple[int, int]
Rect = tuple[int, int, int, int, str]  # row, col, height, width, colour

INPUT = "#9ecae1"       # input cells (blue, as in Dumoulin & Visin's figures)
KERNEL = "#08306b"      # the kernel's taps, drawn over the input half-transparent
DONE = "#a1d99b"        # output cells already computed
CURRENT = "#238b45"     # the output cell being computed
ZERO = "#f0f0f0"        # zeros inserted between input cells (transposed convolution)


# --- SVG pieces ---------------------------------------------------------------------------------

def _n(v: float) -> str:
    """A coordinate without a useless ``.0``."""
    return f"{v:g}"


def _attrs(attrs: dict[str, Any]) -> str:
    """SVG attributes from keywords; underscores become dashes (``fill_opacity=".4"``)."""
    return "".join(f" {k.replace('_', '-')}='{v}'" for k, v in attrs.items())


def _box(x: float, y: float, w: float, h: float) -> str:
    return f"M{_n(x)} {_n(y)}h{_n(w)}v{_n(h)}h{_n(-w)}z"


def _path(d: str, **attrs: Any) -> str:
    return f"<path d='{d}'{_attrs(attrs)}/>" if d else ""


def squares(cells: Iterable[Cell], x0: float, y0: float, cell: float, **attrs: Any) -> str:
    """One ``<path>`` holding a square for every ``(row, col)`` in ``cells`` of a grid whose top
    left corner is ``(x0, y0)``; ``attrs`` are SVG attributes."""
    return _path("".join(_box(x0 + c * cell, y0 + r * cell, cell, cell) for r, c in cells),
                 **attrs)


def boxes(corners: Iterable[tuple[float, float]], side: float, **attrs: Any) -> str:
    """One ``<path>`` holding a ``side`` x ``side`` square at every top-left corner ``(x, y)``."""
    return _path("".join(_box(x, y, side, side) for x, y in corners), **attrs)


def grid_lines(x0: float, y0: float, rows: int, cols: int, cell: float, dashed: bool = False,
               colour: str = "#777") -> str:
    """The lines of a ``rows`` x ``cols`` grid of square cells, as one ``<path>``."""
    w, h = cols * cell, rows * cell
    d = "".join(f"M{_n(x0)} {_n(y0 + r * cell)}h{_n(w)}" for r in range(rows + 1))
    d += "".join(f"M{_n(x0 + c * cell)} {_n(y0)}v{_n(h)}" for c in range(cols + 1))
    dash = " stroke-dasharray='3 2'" if dashed else ""
    return f"<path d='{d}' fill='none' stroke='{colour}'{dash}/>"


def numbers(values: Any, x0: float, y0: float, cell: float, fmt: str = "{:g}",
            colour: str = "#000", skip: Callable[[int, int], bool] | None = None) -> str:
    """The entries of a 2-D array (or nested lists) written in the middle of their cells."""
    size = max(8, round(cell * 0.45))
    texts = "".join(
        f"<text x='{_n(x0 + (c + 0.5) * cell)}' y='{_n(y0 + (r + 0.5) * cell + 0.35 * size)}'>"
        f"{html.escape(fmt.format(values[r][c]))}</text>"
        for r in range(len(values)) for c in range(len(values[r]))
        if skip is None or not skip(r, c))
    return f"<g font-size='{size}' text-anchor='middle' fill='{colour}'>{texts}</g>"


def label(x: float, y: float, text: str, anchor: str = "start", bold: bool = False) -> str:
    """A line of text (12 px, the SVG's size) with its baseline at ``y``."""
    extra = "" if anchor == "start" else f" text-anchor='{anchor}'"
    extra += " font-weight='bold'" if bold else ""
    return f"<text x='{_n(x)}' y='{_n(y)}'{extra}>{html.escape(text)}</text>"


def rect(x: float, y: float, w: float, h: float, **attrs: Any) -> str:
    """A rectangle; ``attrs`` are SVG attributes."""
    return f"<rect x='{_n(x)}' y='{_n(y)}' width='{_n(w)}' height='{_n(h)}'{_attrs(attrs)}/>"


def outline(x: float, y: float, w: float, h: float, colour: str, width: int = 3) -> str:
    """A rectangle's border (a kernel's span, a window)."""
    return rect(x, y, w, h, fill="none", stroke=colour, stroke_width=width)


def svg(width: float, height: float, body: str, title: str) -> str:
    """An inline SVG of the given size whose accessible name is ``title``."""
    w, h = _n(round(width)), _n(round(height))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' "
            f"viewBox='0 0 {w} {h}' role='img' font-family='sans-serif' font-size='12'>"
            f"<title>{html.escape(title)}</title>{body}</svg>")


@lru_cache(maxsize=1024)
def _is_dark(colour: str) -> bool:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.3 * red + 0.6 * green + 0.1 * blue < 110


def grid_svg(labels: Sequence[Sequence[str]], *, cell: int = 26, fills: Sequence[Rect] = (),
             marks: Sequence[Rect] = (), title: str = "") -> str:
    """A grid of cells with ``labels[r][c]`` written in cell ``(r, c)`` ("" writes nothing).

    ``fills`` are rectangles painted in order (a later one covers an earlier one), ``marks``
    rectangles framed over the grid with a 3 px border (a window, a changed cell). A label on a
    dark fill ("#rrggbb") is written in white.

    Shapes: labels (H, W) nested sequences of str
    """
    rows, cols = len(labels), len(labels[0])
    m = 2  # room for the half of a 3 px frame that lies outside the grid
    painted = [["#ffffff"] * cols for _ in range(rows)]
    parts = []
    # Consecutive rectangles of one colour share a path, which keeps the painting order.
    for colour, group in itertools.groupby(fills, key=lambda f: f[4]):
        d = []
        for r, c, h, w, _ in group:
            if h > 0 and w > 0:
                d.append(_box(m + c * cell, m + r * cell, w * cell, h * cell))
                for rr, cc in itertools.product(range(r, r + h), range(c, c + w)):
                    painted[rr][cc] = colour
        parts.append(_path("".join(d), fill=colour))
    parts.append(grid_lines(m, m, rows, cols, cell, colour="#999"))
    parts.append(numbers(labels, m, m, cell, "{}",
                         skip=lambda r, c: not labels[r][c] or _is_dark(painted[r][c])))
    parts.append(numbers(labels, m, m, cell, "{}", colour="#fff",
                         skip=lambda r, c: not labels[r][c] or not _is_dark(painted[r][c])))
    frames: dict[str, list[str]] = {}
    for r, c, h, w, colour in marks:
        frames.setdefault(colour, []).append(_box(m + c * cell, m + r * cell, w * cell,
                                                  h * cell))
    parts += [_path("".join(d), stroke=colour, stroke_width=3, fill="none")
              for colour, d in frames.items()]
    return svg(cols * cell + 2 * m, rows * cell + 2 * m, "".join(parts), title)


# --- colours and pictures -----------------------------------------------------------------------

def _unit(values: Any, lo: float, hi: float) -> np.ndarray:
    """``values`` mapped to [0, 1]: ``lo`` (or less) to 0, ``hi`` (or more) to 1."""
    t = (np.asarray(values, dtype=np.float64) - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(t, 0.0, 1.0)


_GREYS = [f"#{level:02x}{level:02x}{level:02x}" for level in range(256)]


def grey_fills(values: np.ndarray, lo: float, hi: float) -> list[Rect]:
    """Cell colours for a picture of ink: ``lo`` (or less) white, ``hi`` (or more) black, as
    1 x 1 rectangles for :func:`grid_svg` (white cells left out).

    Shapes: values (H, W)
    """
    levels = np.round(255 * (1 - _unit(values, lo, hi))).astype(int)
    return [(r, c, 1, 1, _GREYS[level]) for (r, c), level in np.ndenumerate(levels)
            if level < 255]


def signed_fill(value: float, scale: float) -> str:
    """A cell colour for a signed number: white at 0, towards red for positive and blue for
    negative values, full colour at ``|value| = scale``."""
    t = min(abs(value) / scale, 1.0) if scale > 0 else 0.0
    fade = round(255 - 150 * t)
    return f"#ff{fade:02x}{fade:02x}" if value > 0 else f"#{fade:02x}{fade:02x}ff"


def hex_colour(rgb: Sequence[float]) -> str:
    """``"#rrggbb"`` for an RGB triple in [0, 1]."""
    return "#" + "".join(f"{v:02x}" for v in np.round(np.asarray(rgb) * 255).astype(int))


def png_data(pixels: np.ndarray) -> str:
    """A ``data:`` URL holding ``pixels`` as a PNG.

    Shapes: pixels (H, W) grey or (H, W, 3) RGB, uint8
    """
    from PIL import Image

    buffer = BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def png_img(image: np.ndarray, lo: float, hi: float, alt: str, width: int) -> str:
    """An ``<img>`` of ``image`` in grey levels, ``lo`` black and ``hi`` white (values beyond are
    clipped), drawn ``width`` CSS pixels wide with sharp pixel edges and a thin frame (so that a
    white picture on a white page still shows where it is).

    Shapes: image (H, W)
    """
    grey = np.round(255 * _unit(image, lo, hi)).astype(np.uint8)
    return (f"<img src='{png_data(grey)}' alt='{html.escape(alt)}' width='{width}' "
            "style='image-rendering:pixelated;border:1px solid #999'>")


def small_image(fn: str, name: str, size: int) -> np.ndarray:
    """A bundled scikit-image picture in grey: a centre square whose side is a multiple of
    ``size``, averaged down to ``size`` x ``size`` pixels in blocks (convnb's average pooling).
    ``fn`` is the explorer that asks (named in the error messages).

    Shapes: -> (size, size), values in [0, 1]
    """
    if not isinstance(name, str) or name not in SAMPLE_IMAGES:
        raise ValueError(f"{fn}: image must be one of {', '.join(SAMPLE_IMAGES)}, got {name!r}")
    picture = sample_image(name, as_gray=True, dtype=np.float64)
    side = min(picture.shape)
    if not isinstance(size, int | np.integer) or isinstance(size, bool) or not 16 <= size <= side:
        raise ValueError(f"{fn}: size must be an int from 16 to {side} (the picture's side), "
                         f"got {size!r}")
    factor = side // size
    crop = factor * size
    top, left = (picture.shape[0] - crop) // 2, (picture.shape[1] - crop) // 2
    square = picture[top:top + crop, left:left + crop]
    return avg_pool2d(square[None, None], factor)[0, 0]


# --- around the pictures ------------------------------------------------------------------------

def swatch(fill: str, dashed: bool = False, opacity: float = 1.0, stroke: str = "#777",
           width: int = 1) -> str:
    """A 12 x 12 legend swatch (an inline SVG) with a ``width`` px border of colour ``stroke``."""
    dash = " stroke-dasharray='3 2'" if dashed else ""
    alpha = f" fill-opacity='{opacity:g}'" if opacity < 1 else ""
    return (f"<svg width='14' height='14' style='vertical-align:middle'><rect x='1' y='1' "
            f"width='12' height='12' fill='{fill}'{alpha} stroke='{stroke}' "
            f"stroke-width='{width}'{dash}/></svg>")


def legend(items: Sequence[tuple[str, str]]) -> str:
    """A legend as HTML: ``(swatch, text)`` pairs in a row. It is drawn once, beside the
    frames, not in each of them."""
    return "".join(f"<span style='margin-right:1.2em;white-space:nowrap'>{sw} "
                   f"{html.escape(text)}</span>" for sw, text in items)


def figure(*panels: tuple[str, str], text: str = "") -> str:
    """A frame's HTML: panels ``(caption, picture)`` side by side (caption "" for none), then
    ``text`` (plain, escaped) below them."""
    cells = "".join(
        "<figure style='display:inline-block;vertical-align:top;margin:0 1em .5em 0'>"
        + content
        + (f"<figcaption style='text-align:center'>{html.escape(caption)}</figcaption>"
           if caption else "")
        + "</figure>" for caption, content in panels)
    style = "margin:.3em 0;white-space:pre-wrap"  # long lines wrap at the page's width
    lines = f"<pre style='{style}'>{html.escape(text)}</pre>" if text else ""
    return f"<div>{cells}</div>{lines}"
