"""The pooling explorer (chapter 05): four ways to summarise a window, and what a small shift of
the input does to each.

The student picks an input (the lecture's 4x4 example or a handwritten digit), a pooling kind
(max, average, L2, stochastic) and a shift of the input to the right by 0 to 3 pixels; the
explorer shows the shifted input with its windows and the pooled output for shift 0 beside the
pooled output for the chosen shift, with the cells that changed framed and counted.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..data import load_digits
from ..lp_pool import lp_pool2d
from ..pool import avg_pool2d, max_pool2d
from ..pool_random import stochastic_pool2d
from ._core import Explorer, Frame, check_int, choice_axis, step_axis
from ._draw import Rect, figure, grey_fills, grid_svg

# The lecture's max-pooling example: one 4x4 depth slice, 2x2 windows, stride 2 -> [[6, 8], [3, 4]].
LECTURE = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=np.float64)
SOURCES = (("the lecture's 4x4", "lecture"), ("a digit", "digit"))
KINDS = (("max", "max"), ("average", "average"), ("L2", "l2"), ("stochastic", "stochastic"))
NAMES = {"max": "max pooling", "average": "average pooling", "l2": "L2 pooling",
         "stochastic": "stochastic pooling"}
SHIFTS = 4  # shifts 0, 1, 2, 3 pixels
CELL = {"lecture": 36, "digit": 22}
WINNER, WINDOW, CHANGED = "#e69f00", "#0072b2", "#d55e00"


def digit_canvas(digit_index: int) -> np.ndarray:
    """A scikit-learn digit in its ink counts 0..16, on a canvas wide enough that shifting it
    right by up to 3 pixels loses nothing.

    Shapes: -> (8, 12)
    """
    x, _ = load_digits(dtype=np.float64)
    canvas = np.zeros((8, 12))
    canvas[:, 1:9] = x[digit_index, 0] * 16  # back to the integers scikit-learn stores
    return canvas


def shift_right(x: np.ndarray, shift: int) -> np.ndarray:
    """``x`` moved ``shift`` pixels to the right: zeros come in at the left, the last columns fall
    off at the right.

    Shapes: x (H, W) -> (H, W)
    """
    out = np.zeros_like(x)
    out[:, shift:] = x[:, :x.shape[1] - shift]
    return out


def pool(kind: str, x: np.ndarray, window: int, stride: int,
         seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """One plane pooled with convnb; the flat indices of the chosen inputs for max and stochastic
    pooling (stochastic draws from ``numpy.random.default_rng(seed)``), else None.

    Shapes: x (H, W) -> out, indices (H_out, W_out)
    """
    batch = x[None, None]
    if kind == "max":
        out, indices = max_pool2d(batch, window, stride, return_indices=True)
    elif kind == "stochastic":
        out, indices = stochastic_pool2d(batch, window, stride, rng=np.random.default_rng(seed))
    else:
        out = (avg_pool2d(batch, window, stride) if kind == "average"
               else lp_pool2d(batch, 2, window, stride))
        return out[0, 0], None
    return out[0, 0], indices[0, 0]


def _label(value: float, digits: int, blank_zero: bool) -> str:
    if value == 0 and blank_zero:
        return ""
    return f"{value:.0f}" if value == round(value) else f"{value:.{digits}g}"


def _grid(values: np.ndarray, hi: float, cell: int, marks: list[Rect], title: str,
          digits: int = 3, blank_zero: bool = False) -> str:
    """``values`` (H, W) as ink on paper (0 white, ``hi`` black) with their numbers."""
    labels = [[_label(v, digits, blank_zero) for v in row] for row in values.tolist()]
    return grid_svg(labels, cell=cell, fills=grey_fills(values, 0.0, hi), marks=marks,
                    title=title)


def _percent(count: int, total: int) -> str:
    return f"{count} of {total} ({100 * count / total:.0f}%)"


def pooling(window: int = 2, stride: int = 2, digit_index: int = 0, seed: int = 0) -> Explorer:
    """Max, average, L2 and stochastic pooling, and how much each output changes when the input
    is shifted.

    The student sees the input (the lecture's 4x4 example, or digit ``digit_index`` of
    scikit-learn's set in ink counts 0..16) shifted right by 0..3 pixels, its windows (blue) and,
    for max and stochastic pooling, the input each window outputs (orange); then the pooled output
    without the shift beside the pooled output with it, the changed cells framed red, and as text
    the output size and the fraction of input and output cells the shift changed. The input,
    the kind and the shift (with a Play button) work in the web book; the window and the stride
    (``window`` x ``window``, ``stride``) and the seed of the stochastic draws need a running
    kernel. Both outputs of stochastic pooling use the same draws, ``default_rng(seed)``.

    Shapes: frame data ``x`` (H, W) the shifted input, ``out0`` and ``out`` (H_out, W_out),
    ``indices`` (H_out, W_out) flat ``row * W + col`` or None, ``changed`` (H_out, W_out) bool
    """
    fn = "pooling"
    window = check_int(fn, "window", window, 2, 4)
    stride = check_int(fn, "stride", stride, 1, 4)
    digit_index = check_int(fn, "digit_index", digit_index, 0, 1796)
    seed = check_int(fn, "seed", seed, 0, 2**32 - 1)
    inputs = {"lecture": LECTURE, "digit": digit_canvas(digit_index)}

    def render(source: str, kind: str, shift: int, window: int, stride: int,
               seed: int) -> Frame:
        x0 = inputs[source]
        x = shift_right(x0, shift)
        out0, _ = pool(kind, x0, window, stride, seed)
        out, indices = pool(kind, x, window, stride, seed)
        changed = ~np.isclose(out, out0, rtol=1e-12, atol=1e-12)
        H, W = x.shape
        H_out, W_out = out.shape
        cell = CELL[source]
        if stride >= window:  # windows do not overlap: frame them all
            marks = [(i * stride, j * stride, window, window, WINDOW)
                     for i in range(H_out) for j in range(W_out)]
            framed = "the windows"
        else:  # overlapping frames would hide each other
            marks = [(0, 0, window, window, WINDOW)]
            framed = "the first window"
        if indices is not None:  # an all-zero window has no winner worth showing
            marks += [(int(k) // W, int(k) % W, 1, 1, WINNER)
                      for k, v in zip(indices.ravel(), out.ravel(), strict=True) if v > 0]
        top = max(float(x0.max()), 1.0)
        hi = max(float(out0.max()), float(out.max()), 1e-12)
        red = [(i, j, 1, 1, CHANGED) for i, j in zip(*np.nonzero(changed), strict=True)]
        digit = source == "digit"  # ink on a blank canvas: blank cells hold 0
        svg_in = _grid(x, top, cell, marks, f"input shifted {shift} pixels right",
                       blank_zero=digit)
        out_cell, digits = (26, 2) if digit else (cell, 3)
        svg0 = _grid(out0, hi, out_cell, [], "pooled output, no shift", digits, digit)
        svg = _grid(out, hi, out_cell, red, f"pooled output, shift {shift}", digits, digit)
        winner = ", orange the inputs chosen" if indices is not None else ""
        lines = [f"{NAMES[kind]}, window {window}x{window}, stride {stride}: output "
                 f"{H_out} x {W_out}, H_out = ({H} - {window}) // {stride} + 1 = {H_out}, "
                 f"W_out = ({W} - {window}) // {stride} + 1 = {W_out}",
                 f"input shifted {shift} pixel{'s' if shift != 1 else ''} right "
                 "(zeros come in at the left)",
                 f"input cells changed by the shift: {_percent(int((x != x0).sum()), x.size)}",
                 f"output cells changed by the shift: {_percent(int(changed.sum()), out.size)}"]
        if shift and shift % stride == 0 and kind != "stochastic":
            m = shift // stride
            moved = np.allclose(out[:, m:], out0[:, :W_out - m], rtol=1e-12, atol=1e-12)
            columns = f"{m} column{'s' if m > 1 else ''}"
            lines.append(f"the shift is {m} stride{'s' if m > 1 else ''}: "
                         + (f"after its first {columns}, the shifted output is the unshifted "
                            f"one moved {columns} right" if moved else
                            f"the shifted output is not the unshifted one moved {columns} right"))
        if digit:
            lines.append(f"digit {digit_index} in ink counts 0..16; blank cells hold 0")
        if kind == "stochastic":
            lines.append(f"each window outputs one of its inputs a with probability a / sum "
                         f"of the window; both outputs use the same draws (seed {seed})")
        lines.append(f"colours: blue frames {framed}{winner}; red marks the output cells the "
                     "shift changed")
        text = "\n".join(lines)
        # short captions, so that the three pictures sit side by side in the book's column
        html_text = figure(("input", svg_in), ("pooled, no shift", svg0),
                           (f"pooled, shift {shift}", svg), text=text)
        return Frame(html_text, text, {"x": x, "out0": out0, "out": out, "indices": indices,
                                       "changed": changed})

    axes = [choice_axis("source", "input", SOURCES, buttons=True),
            choice_axis("kind", "pooling", KINDS, buttons=True),
            step_axis("shift", "shift", lambda state: SHIFTS)]
    live = {"window": widgets.IntSlider(value=window, min=2, max=4, description="window"),
            "stride": widgets.IntSlider(value=stride, min=1, max=4, description="stride"),
            "seed": widgets.BoundedIntText(value=seed, min=0, max=2**32 - 1,
                                           description="seed")}
    return Explorer("Pooling: max, average, L2, stochastic, and a shifted input", render, axes,
                    live=live)


__all__ = ["LECTURE", "digit_canvas", "pool", "pooling", "shift_right"]
