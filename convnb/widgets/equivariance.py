"""Two explorers for chapter 01 (why convolutions).

``equivariance()``: shift the input, and the feature map of a convolution shifts with it: the map
of the shifted image equals the shifted map of the image, exactly when both the shift and the
padding wrap round, and away from the border when zeros come in.

``parameter_count()``: how many weights a fully connected, a locally connected and a
convolutional layer need for the same image and the same number of hidden units.
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as widgets
import numpy as np

from ..arithmetic import conv_params, linear_params, locally_connected_params
from ..filters import correlate2d, sobel
from ._core import Axis, Explorer, Frame, check_bool, check_int, choice_axis
from ._draw import figure, png_img, small_image

# --- equivariance ---------------------------------------------------------------------------

BORDERS = (("circular (exact)", "wrap"), ("zeros", "fill"))
BORDER_TEXT = {
    "wrap": "circular: what leaves one side comes back at the other, and the maps pad by "
            "wrapping round too",
    "fill": "zeros: what leaves the image is lost, zeros come in, and the maps pad with zeros",
}
SHOWN = 160  # CSS pixels per picture


def shift_image(x: np.ndarray, dy: int, dx: int, border: str) -> np.ndarray:
    """``x`` moved ``dy`` pixels down and ``dx`` right (negative: up, left): round the edges
    (``"wrap"``) or with zeros coming in (``"fill"``).

    Shapes: x (H, W) -> (H, W)
    """
    if border == "wrap":
        return np.roll(x, (dy, dx), axis=(0, 1))
    H, W = x.shape
    out = np.zeros_like(x)
    out[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        x[max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out


def _shift_slider(description: str, shifts: tuple[int, ...]) -> Axis:
    slider = widgets.SelectionSlider(options=[(f"{s} px", s) for s in shifts], index=0,
                                     description=description)
    return Axis(description.split()[-1], slider, "index", lambda state: shifts)


def _check_shifts(fn: str, shifts: Any, size: int) -> tuple[int, ...]:
    ok = (isinstance(shifts, tuple | list) and 1 <= len(shifts) <= 8
          and all(isinstance(s, int | np.integer) and not isinstance(s, bool) and abs(s) < size
                  for s in shifts) and len(set(shifts)) == len(shifts))
    if not ok:
        raise ValueError(f"{fn}: shifts must be a list of 1 to 8 different ints smaller than the "
                         f"image ({size} pixels) in size, got {shifts!r}")
    return tuple(int(s) for s in shifts)


def equivariance(image: str = "camera", size: int = 64,
                 shifts: tuple[int, ...] = (0, 4, 8, 12)) -> Explorer:
    """Shift an image and watch its feature map shift with it.

    The student picks a shift down and a shift right (each from ``shifts``, in pixels) and how
    the border is treated, and sees four pictures of ``image`` (a scikit-image picture in grey,
    ``size`` x ``size``): the shifted input, the feature map of the shifted input (correlation
    with the Sobel x edge kernel, mode same), the feature map of the original, shifted, and the
    difference of the two, with the largest difference as text. With circular shifts and
    circular padding the two maps are equal everywhere; with zeros they differ only in a band
    along the edges. Every control works in the web book.

    Shapes: frame data ``x`` (size, size) the shifted input, ``map_of_shifted``,
    ``shifted_map``, ``difference`` (size, size)
    """
    fn = "equivariance"
    picture = small_image(fn, image, size)
    shifts = _check_shifts(fn, shifts, size)
    kernel = sobel(1)
    maps = {border: correlate2d(picture, kernel, mode="same", boundary=border)
            for _, border in BORDERS}

    def compute(border: str, down: int, right: int) -> tuple[np.ndarray, ...]:
        x = shift_image(picture, down, right, border)
        map_of_shifted = correlate2d(x, kernel, mode="same", boundary=border)
        shifted_map = shift_image(maps[border], down, right, border)
        return x, map_of_shifted, shifted_map, np.abs(map_of_shifted - shifted_map)

    # One grey scale for the maps and one for the differences, each the largest of any frame, so
    # that no frame is clipped and frames compare by eye.
    every = [compute(border, down, right) for _, border in BORDERS
             for down in shifts for right in shifts]
    scale = max(float(np.abs(m).max()) for frame in every for m in frame[1:3])
    worst = max(float(frame[3].max()) for frame in every) or 1.0

    def render(border: str, down: int, right: int) -> Frame:
        x, map_of_shifted, shifted_map, difference = compute(border, down, right)
        largest = float(difference.max())
        where = np.argwhere(difference > 1e-12)
        if len(where):
            H, W = difference.shape
            depth = int(np.minimum.reduce([where[:, 0], H - 1 - where[:, 0],
                                           where[:, 1], W - 1 - where[:, 1]]).max())
            found = (f"largest difference {largest:.3g}, at {100 * len(where) / x.size:.1f}% "
                     f"of the pixels, all within {depth + 1} px of an edge; 0 elsewhere")
        else:
            found = "largest difference 0: the two maps are equal everywhere"
        text = (f"shift {down} px down, {right} px right; kernel Sobel x (3x3), correlation\n"
                f"border {BORDER_TEXT[border]}\n{found}\n"
                f"maps shown: black {-scale:.3g}, mid grey 0, white {scale:.3g}; "
                f"difference: white 0, black {worst:.3g}")
        pictures = [
            ("input, shifted", png_img(x, 0.0, 1.0, "shifted input", SHOWN)),
            ("map of the shifted input",
             png_img(map_of_shifted, -scale, scale, "feature map of the shifted input", SHOWN)),
            ("map of the input, shifted",
             png_img(shifted_map, -scale, scale, "feature map of the input, shifted", SHOWN)),
            ("difference", png_img(-difference, -worst, 0.0, "difference of the two maps",
                                    SHOWN)),
        ]
        return Frame(figure(*pictures, text=text), text,
                     {"x": x, "map_of_shifted": map_of_shifted, "shifted_map": shifted_map,
                      "difference": difference})

    axes = [choice_axis("border", "border", BORDERS, buttons=True),
            _shift_slider("shift down", shifts), _shift_slider("shift right", shifts)]
    return Explorer("Shift the input, and the feature map shifts with it", render, axes)


# --- parameter counts -----------------------------------------------------------------------

PRESETS = (
    ("the lecture's: 200x200 image, 40K hidden units, 10x10 filters", "lecture"),
    ("a digit: 28x28, 32 maps, 5x5 filters", "digit"),
    ("a colour image: 32x32x3, 64 maps, 3x3 filters", "colour"),
    ("your own sizes (below)", "own"),
)
# (image side, channels, maps, filter side); the lecture's: 200x200, 40K hidden units, 10x10.
PRESET_SIZES = {"lecture": (200, 1, 1, 10), "digit": (28, 1, 32, 5), "colour": (32, 3, 64, 3)}
LAYERS = ("fully connected", "locally connected", "convolutional")
COLOURS = ("#d55e00", "#e69f00", "#0072b2")


def counts(size: int, channels: int, maps: int, filter_size: int,
           bias: bool = False) -> dict[str, int]:
    """Learned numbers of the three layers on a ``size`` x ``size`` x ``channels`` image with
    ``maps`` output maps as large as the image (stride 1, padded), i.e. size*size*maps hidden
    units, each seeing a ``filter_size`` x ``filter_size`` patch (all inputs when fully
    connected)."""
    units = size * size * maps
    return {"fully connected": linear_params(size * size * channels, units, bias=bias),
            "locally connected": locally_connected_params(size, size, channels, maps,
                                                          filter_size, filter_size, bias=bias),
            "convolutional": conv_params(channels, maps, filter_size, filter_size, bias=bias)}


def _short_number(n: float) -> str:
    for unit, name in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= unit:
            return f"{n / unit:.3g}{name}"
    return f"{n:g}"


def bars_svg(values: dict[str, int], colours: tuple[str, ...] = COLOURS) -> str:
    """Horizontal bars on a log scale, one per entry, with ticks at powers of ten."""
    top = max(1, math.ceil(math.log10(max(max(values.values()), 1)) + 1e-12))
    label_w, plot_w, bar_h = 130, 340, 26
    height = len(values) * (bar_h + 10) + 30
    x = [label_w + plot_w * math.log10(max(v, 1)) / top for v in values.values()]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 70}" '
             f'height="{height}" viewBox="0 0 {label_w + plot_w + 70} {height}" role="img" '
             'aria-label="weights on a log scale" font-size="12">'
             "<title>weights on a log scale</title>"]
    for k in range(top + 1):
        tx = label_w + plot_w * k / top
        parts.append(f'<line x1="{tx:g}" y1="0" x2="{tx:g}" y2="{height - 18}" stroke="#ddd"/>'
                     f'<text x="{tx:g}" y="{height - 4}" text-anchor="middle">'
                     f"{_short_number(10**k)}</text>")
    for i, ((name, value), end, colour) in enumerate(zip(values.items(), x, colours,
                                                         strict=False)):
        y = 4 + i * (bar_h + 10)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h / 2:g}" text-anchor="end" '
                     f'dominant-baseline="central">{html.escape(name)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{max(end - label_w, 1):g}" '
                     f'height="{bar_h}" fill="{colour}"/>'
                     f'<text x="{end + 4:g}" y="{y + bar_h / 2:g}" dominant-baseline="central">'
                     f"{_short_number(value)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _table(values: dict[str, int]) -> str:
    conv = values["convolutional"]
    rows = "".join(f'<tr><td>{name}</td><td style="text-align:right">{n:,}</td>'
                   f'<td style="text-align:right">{n / conv:,.0f}x</td></tr>'
                   for name, n in values.items())
    return ('<table style="border-collapse:collapse"><tr><th>layer</th><th>weights</th>'
            f"<th>times the convolution's</th></tr>{rows}</table>")


def parameter_count(image_size: int = 64, channels: int = 3, maps: int = 16,
                    filter_size: int = 5, bias: bool = False) -> Explorer:
    """Weights of a fully connected, a locally connected and a convolutional layer, compared.

    The student picks a preset (the lecture's 200x200 image with 40K hidden units and 10x10
    filters, a digit, a colour image) or their own sizes, and sees a table and bars on a log
    scale of the weights each layer needs for the same hidden units: maps as large as the
    image (stride 1, padded), ``image_size**2 * maps`` units. The presets work in the web book;
    the own sizes (image side, channels, maps, filter side, and whether biases are counted;
    the lecture counts weights only) need a running kernel.
    """
    fn = "parameter_count"
    image_size, channels, maps, filter_size = (
        check_int(fn, name, value, 1, 4096) for name, value in (
            ("image_size", image_size), ("channels", channels), ("maps", maps),
            ("filter_size", filter_size)))
    if filter_size > image_size:
        raise ValueError(f"{fn}: filter_size ({filter_size}) must not exceed image_size "
                         f"({image_size})")
    bias = check_bool(fn, "bias", bias)

    labels = {value: label.split(":")[0].split(" (")[0] for label, value in PRESETS}
    labels["lecture"] = "the lecture's example"

    def render(preset: str, image_size: int, channels: int, maps: int, filter_size: int,
               bias: bool) -> Frame:
        S, C, F, K = PRESET_SIZES.get(preset, (image_size, channels, maps, filter_size))
        if K > S:
            text = (f"{labels[preset]}: the filter ({K}x{K}) is larger than the image ({S}x{S}): "
                    "choose a smaller one")
            return Frame(figure(text=text), text, {})
        n = counts(S, C, F, K, bias)
        units, inputs, patch = S * S * F, S * S * C, K * K * C
        extra = {"fully connected": f" + {units:,} biases", "locally connected":
                 f" + {units:,} biases", "convolutional": f" + {F:,} biases"} if bias else {}
        text = "\n".join([
            f"{labels[preset]}: image {S}x{S}x{C} = {inputs:,} inputs",
            f"{F} map{'s' if F > 1 else ''} of {S}x{S} (stride 1, padded) = {units:,} hidden "
            f"units; filters {K}x{K}x{C} = {patch:,} weights each",
            f"fully connected: {units:,} units x {inputs:,} inputs"
            f"{extra.get('fully connected', '')} = {n['fully connected']:,}",
            f"locally connected: {units:,} units x {patch:,} weights, none shared"
            f"{extra.get('locally connected', '')} = {n['locally connected']:,}",
            f"convolutional: {F:,} filter{'s' if F > 1 else ''} x {patch:,} weights, shared by "
            f"all {S * S:,} positions{extra.get('convolutional', '')} = {n['convolutional']:,}",
            "biases counted" if bias else "weights only, no biases (as the lecture counts)"])
        return Frame(figure(("the counts", _table(n)), ("on a log scale", bars_svg(n)),
                            text=text), text, {"counts": n, "sizes": (S, C, F, K)})

    preset = choice_axis("preset", "preset", PRESETS)
    preset.control.layout.width = "36em"
    live = {"image_size": widgets.BoundedIntText(value=image_size, min=1, max=4096,
                                                 description="image side"),
            "channels": widgets.BoundedIntText(value=channels, min=1, max=4096,
                                               description="channels"),
            "maps": widgets.BoundedIntText(value=maps, min=1, max=4096, description="maps"),
            "filter_size": widgets.BoundedIntText(value=filter_size, min=1, max=4096,
                                                  description="filter side"),
            "bias": widgets.Checkbox(value=bias, description="count biases")}
    own = widgets.HTML("<small>Your own sizes (used by <i>your own sizes</i> in the preset menu; "
                       "typing needs a running Jupyter kernel):</small>")
    explorer = Explorer("Parameters: fully connected, locally connected, convolutional", render,
                        [preset], live=live, layout=[preset.widget, live["bias"], own,
                                *(live[name] for name in ("image_size", "channels", "maps",
                                                          "filter_size"))])

    def own_sizes(_change: Any) -> None:  # typing a size means: use my sizes
        preset.control.index = len(PRESETS) - 1

    for name in ("image_size", "channels", "maps", "filter_size"):
        live[name].observe(own_sizes, names="value")
    return explorer


__all__ = ["bars_svg", "counts", "equivariance", "parameter_count", "shift_image"]
