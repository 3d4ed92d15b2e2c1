"""Backpropagation through a convolution and a 2x2 max pool, one sum at a time (chapter 06).

The network is one channel, stride 1::

    y = conv2d(x, w, padding=p)       x (H, W), w (KH, KW)  ->  y (H_out, W_out)
    z = max_pool2d(y, 2)              y                     ->  z (H_out // 2, W_out // 2)

and ``dout``, the gradient of the loss with respect to z, is given (small integers). Backward:

* the pool sends each ``dout`` entry to its window's maximum, the *switch*, and 0 to the other
  cells: that is the delta map ``delta = dL/dy``;
* ``dx`` is the delta map, zero-padded by ``KH - 1 - p`` rows (``KW - 1 - p`` columns), correlated
  with the flipped kernel ``w[::-1, ::-1]``;
* ``dw`` is the input, zero-padded by ``p``, correlated with the delta map; ``db`` sums it.

Every number drawn comes from convnb (``conv2d``, ``max_pool2d``, ``max_pool2d_backward``,
``conv2d_backward``); the sums in the text are the same numbers multiplied out term by term.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np

from .. import conv2d, conv2d_backward, max_pool2d, max_pool2d_backward
from ._core import Explorer, Frame, check_bool, choice_axis, step_axis
from ._draw import Rect, figure, grid_svg, legend, swatch

__all__ = ["backprop"]

# Small integers, so every sum can be checked by hand, and no ties inside a pooling window for
# padding 0, 1 or 2 (a tie would make the switch a convention rather than the maximum).
DEFAULT_X = np.array([[1, 3, 0, 0, -2],
                      [0, 1, 2, 3, -1],
                      [1, 2, -1, 0, 3],
                      [1, 1, 2, 1, 3],
                      [2, -2, -2, 1, 2]], dtype=float)
DEFAULT_W = np.array([[1, 2, 0],
                      [0, 1, -1],
                      [-1, 0, 2]], dtype=float)
DOUT_PATTERN = np.array([2, -1, 3, 1, -2, 1, 2, -3, 1], dtype=float)
MAX_SIZE = 8  # larger grids no longer fit the page side by side

VIEWS = {"dx": "input gradient (dx)", "dw": "weight gradient (dw)",
         "switches": "max-pool switches"}
WINDOW, CURRENT, DONE, PAD, SWITCH = "#e8590c", "#ffd43b", "#d3f9d8", "#e9ecef", "#a5d8ff"
CELL = 26


@dataclass(frozen=True)
class Pass:
    """The forward and backward numbers of one configuration.

    Shapes: x (H, W), w (KH, KW), y and delta (H_out, W_out), z, dout and switches
    (H_out // 2, W_out // 2) with a pool (else ``None``; ``dout`` then has y's shape),
    dx (H, W), dw (KH, KW); db a float.
    """

    x: np.ndarray
    w: np.ndarray
    padding: int
    y: np.ndarray
    z: np.ndarray | None
    switches: np.ndarray | None
    dout: np.ndarray
    delta: np.ndarray
    dx: np.ndarray
    dw: np.ndarray
    db: float


def compute(x: np.ndarray, w: np.ndarray, padding: int, dout: np.ndarray | None,
            pool: bool) -> Pass:
    """Forward and backward with convnb; ``dout`` ``None`` takes the default pattern.

    Shapes: x (H, W), w (KH, KW), dout like z with ``pool``, else like y (see :class:`Pass`)
    """
    x4, w4 = x[None, None], w[None, None]
    y = conv2d(x4, w4, padding=padding)
    z = switches = None
    if pool:
        z, switches = max_pool2d(y, 2, return_indices=True)
    top = z if pool else y
    if dout is None:
        dout = np.resize(DOUT_PATTERN, top.shape[2:])
    delta = max_pool2d_backward(dout[None, None], y, 2) if pool else dout[None, None]
    dx, dw, db = conv2d_backward(delta, x4, w4, padding=padding)
    return Pass(x, w, padding, y[0, 0], None if z is None else z[0, 0],
                None if switches is None else switches[0, 0], dout, delta[0, 0], dx[0, 0],
                dw[0, 0], float(db[0]))


def steps(p: Pass, view: str) -> int:
    """How many steps ``view`` has: one per input position, kernel position or pool window."""
    if view == "dx":
        return p.x.size
    if view == "dw":
        return p.w.size
    return p.z.size


# Drawing ----------------------------------------------------------------------------------------

def num(v: float) -> str:
    """A number as the text shows it: integers without a decimal point, no '-0'."""
    return f"{float(v) + 0.0:g}"


def factor(v: float) -> str:
    """A number inside a product: negative ones in parentheses."""
    return f"({num(v)})" if v < 0 else num(v)


def grid(values: np.ndarray, title: str, *, fill: Sequence[Rect] = (),
         outline: tuple[int, int, int, int] | None = None,
         shown: np.ndarray | None = None) -> str:
    """The numbers of ``values`` in a grid: ``fill`` rectangles painted in order, ``outline``
    ``(row, col, height, width)`` a window framed, numbers hidden where ``shown`` is False.

    Shapes: values (H, W), shown (H, W) bool
    """
    labels = [[num(v) if shown is None or shown[r, c] else "" for c, v in enumerate(row)]
              for r, row in enumerate(values)]
    marks = [] if outline is None else [(*outline, WINDOW)]
    return grid_svg(labels, cell=CELL, fills=fill, marks=marks, title=title)


def border(shape: tuple[int, int], pads: tuple[int, int]) -> list[Rect]:
    """Grey for the zero-padding cells of a padded grid of ``shape``: all grey, then the
    inside white again."""
    (rows, cols), (ph, pw) = shape, pads
    return [(0, 0, rows, cols, PAD), (ph, pw, rows - 2 * ph, cols - 2 * pw, "#ffffff")]


def progress(shape: tuple[int, int], step: int) -> tuple[np.ndarray, list[Rect]]:
    """Which cells of a grid filled in row-major order are shown after ``step`` (all when
    ``step`` is past the end), and their colours: earlier cells green, this step's yellow."""
    count = int(np.prod(shape))
    shown = (np.arange(count) <= step).reshape(shape)
    if step >= count:
        return shown, [(0, 0, *shape, DONE)]
    i, j = divmod(step, shape[1])
    return shown, [(0, 0, i, shape[1], DONE), (i, 0, 1, j, DONE), (i, j, 1, 1, CURRENT)]


def chain(p: Pass) -> str:
    """The network in one line, with this configuration's sizes."""
    (H, W), (KH, KW), (Ho, Wo) = p.x.shape, p.w.shape, p.y.shape
    line = f"y = conv2d(x, w, padding={p.padding}): {H}x{W} input, {KH}x{KW} kernel -> {Ho}x{Wo}"
    if p.z is not None:
        line += f"; z = max_pool2d(y, 2) -> {p.z.shape[0]}x{p.z.shape[1]}"
    return line


def finished(p: Pass, name: str, count: int, step: int, panels: list[tuple[str, str]],
             extra: str = "") -> Frame:
    """The frame for a step past the end of a view: only its result, so that the view's many
    repeated frames stay small."""
    text = (f"{chain(p)}\n{name} is complete after {count} steps (0..{count - 1}); step {step} "
            f"shows the result (the other views have more steps){extra}")
    return Frame(figure(*panels, text=text), text, {"view": None, "complete": name})


# The three views --------------------------------------------------------------------------------

def render_dx(p: Pass, step: int) -> Frame:
    """The flipped kernel over the zero-padded delta map, filling ``dx[i, j]``."""
    dx_panel = ("dx", grid(p.dx, "input gradient dx", fill=progress(p.dx.shape, step)[1],
                           shown=progress(p.dx.shape, step)[0]))
    if step >= p.dx.size:
        return finished(p, "dx", p.dx.size, step,
                        [("delta = dL/dy", grid(p.delta, "delta map")), dx_panel])
    KH, KW = p.w.shape
    q = (KH - 1 - p.padding, KW - 1 - p.padding)
    padded = np.pad(p.delta, ((q[0], q[0]), (q[1], q[1])))
    flipped = p.w[::-1, ::-1]
    by = f"{q[0]}" if q[0] == q[1] else f"{q[0]} rows and {q[1]} columns"
    i, j = divmod(step, p.dx.shape[1])
    window = padded[i:i + KH, j:j + KW]
    terms = list(zip(window.ravel(), flipped.ravel(), strict=True))
    total = float(np.sum(window * flipped))
    panels = [
        (f"delta map padded by {by}",
         grid(padded, "delta map, zero-padded", outline=(i, j, KH, KW),
              fill=border(padded.shape, q))),
        ("w", grid(p.w, "kernel w")),
        ("w flipped", grid(flipped, "kernel w flipped in both axes")),
        dx_panel,
    ]
    text = "\n".join([
        chain(p),
        f"step {step} of 0..{p.dx.size - 1}: the {KH}x{KW} window of the delta map (padded by "
        f"{by}) times the flipped kernel, summed",
        f"dx[{i}, {j}] = " + " + ".join(f"{factor(a)}*{factor(b)}" for a, b in terms)
        + f" = {num(total)}"])
    return Frame(figure(*panels, text=text), text,
                 {"view": "dx", "cell": (i, j), "window": window, "flipped": flipped,
                  "terms": terms, "sum": total, "padded": padded, "dx": p.dx})


def render_dw(p: Pass, step: int) -> Frame:
    """The delta map over the zero-padded input, filling ``dw[u, v]``; ``db`` in the text."""
    shown, fill = progress(p.dw.shape, step)
    dw_panel = ("dw", grid(p.dw, "weight gradient dw", fill=fill, shown=shown))
    nonzero = p.delta[p.delta != 0]
    bias = ("db = sum of the delta map = " + (" + ".join(factor(d) for d in nonzero) or "0")
            + f" = {num(p.db)}")
    if step >= p.dw.size:
        return finished(p, "dw", p.dw.size, step,
                        [("delta = dL/dy", grid(p.delta, "delta map")), dw_panel], "\n" + bias)
    pad = p.padding
    xpad = np.pad(p.x, pad)
    Ho, Wo = p.delta.shape
    u, v = divmod(step, p.dw.shape[1])
    window = xpad[u:u + Ho, v:v + Wo]
    keep = p.delta != 0  # a zero delta adds nothing: those products are left out of the text
    terms = list(zip(window[keep], p.delta[keep], strict=True))
    total = float(np.sum(window * p.delta))
    line = (f"dw[{u}, {v}] = " + (" + ".join(f"{factor(a)}*{factor(b)}" for a, b in terms)
                                  or "0") + f" = {num(total)}")
    if len(terms) < p.delta.size:
        line += f"   ({p.delta.size - len(terms)} products with delta = 0 left out)"
    panels = [
        (f"x padded by {pad}", grid(xpad, "input x, zero-padded", outline=(u, v, Ho, Wo),
                                    fill=border(xpad.shape, (pad, pad)))),
        ("delta = dL/dy", grid(p.delta, "delta map")),
        dw_panel,
    ]
    text = "\n".join([
        chain(p),
        f"step {step} of 0..{p.dw.size - 1}: the {Ho}x{Wo} window of the input (padded by {pad}) "
        f"that met w[{u}, {v}], times the delta map, summed",
        line, bias])
    return Frame(figure(*panels, text=text), text,
                 {"view": "dw", "cell": (u, v), "window": window, "terms": terms, "sum": total,
                  "dw": p.dw, "db": p.db})


def render_switches(p: Pass, step: int) -> Frame:
    """One 2x2 pooling window: its maximum (the switch) and where its gradient goes."""
    (Hz, Wz), (Ho, Wo) = p.z.shape, p.y.shape
    cells = [divmod(int(s), Wo) for s in p.switches.ravel()]
    last = min(step, p.z.size - 1)
    unused = [(2 * Hz, 0, Ho - 2 * Hz, Wo, PAD), (0, 2 * Wz, 2 * Hz, Wo - 2 * Wz, PAD)]
    y_fill = unused + [(r, c, 1, 1, SWITCH) for r, c in cells[:last + 1]]
    z_shown, z_fill = progress(p.z.shape, step)
    delta_shown = np.zeros(p.y.shape, dtype=bool)
    for k in range(last + 1):
        a, b = divmod(k, Wz)
        delta_shown[2 * a:2 * a + 2, 2 * b:2 * b + 2] = True
    delta_shown[2 * Hz:] = delta_shown[:, 2 * Wz:] = step >= p.z.size
    delta_fill = unused + [(r, c, 1, 1, DONE) for r, c in cells[:last + 1]]
    note = ("\n(grey cells of y lie in no window: no gradient reaches them)"
            if 2 * Hz < Ho or 2 * Wz < Wo else "")
    y_panel = ("y = conv output", grid(p.y, "conv output y, the switches marked",
                                       fill=y_fill, outline=None if step >= p.z.size
                                       else (2 * (step // Wz), 2 * (step % Wz), 2, 2)))
    if step >= p.z.size:
        return finished(p, "The delta map", p.z.size, step,
                        [y_panel, ("delta = dL/dy", grid(p.delta, "delta map",
                                                         fill=delta_fill))], note)
    a, b = divmod(step, Wz)
    (r, c), flat = cells[step], int(p.switches[a, b])
    window = p.y[2 * a:2 * a + 2, 2 * b:2 * b + 2]
    delta_fill[-1] = (r, c, 1, 1, CURRENT)
    panels = [
        y_panel,
        ("z = max pool", grid(p.z, "pooled z", fill=z_fill, shown=z_shown)),
        ("dout = dL/dz", grid(p.dout, "upstream gradient dout", fill=z_fill)),
        ("delta = dL/dy", grid(p.delta, "delta map, filled so far", fill=delta_fill,
                               shown=delta_shown)),
    ]
    text = "\n".join([
        chain(p),
        f"step {step} of 0..{p.z.size - 1}: the 2x2 window at rows {2 * a}-{2 * a + 1}, columns "
        f"{2 * b}-{2 * b + 1} of y{note}",
        f"window ({a}, {b}) holds y = {', '.join(num(v) for v in window.ravel())}; its maximum "
        f"z[{a}, {b}] = {num(p.z[a, b])} is y[{r}, {c}] (the switch, flat index {r}*{Wo} + {c} "
        f"= {flat})",
        f"so delta[{r}, {c}] = dout[{a}, {b}] = {num(p.dout[a, b])}, and the window's 3 other "
        "cells get delta = 0"])
    return Frame(figure(*panels, text=text), text,
                 {"view": "switches", "cell": (a, b), "switch": (r, c), "flat": flat,
                  "window": window, "z": p.z, "delta": p.delta})


RENDER = {"dx": render_dx, "dw": render_dw, "switches": render_switches}


# The explorer -----------------------------------------------------------------------------------

def _matrix(value: Any, name: str, smallest: int, largest: int = MAX_SIZE) -> np.ndarray:
    """A user's 2-D array as float64 (a copy), checked."""
    try:
        a = np.array(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"backprop: {name} must be a 2-D array of numbers, got "
                        f"{type(value).__name__}") from err
    if a.ndim != 2 or not (smallest <= min(a.shape) and max(a.shape) <= largest):
        raise ValueError(f"backprop: {name} must be a 2-D array with {smallest} to {largest} "
                         f"rows and columns, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"backprop: {name} must hold finite numbers, got {a.tolist()}")
    return a


def backprop(x: Any = None, w: Any = None, dout: Any = None, padding: int = 1,
             pool: bool = True) -> Explorer:
    """Watch gradients flow back through a convolution and a 2x2 max pool, one sum at a time.

    The student picks a *view* and steps through it (or presses Play):

    * **input gradient (dx)**: the flipped kernel slides over the zero-padded delta map; each
      step fills one entry ``dx[i, j]`` and the text multiplies it out;
    * **weight gradient (dw)**: the delta map slides over the zero-padded input; each step fills
      one kernel entry ``dw[u, v]``; the text also sums ``db``;
    * **max-pool switches** (with ``pool``): each step takes one 2x2 window of the conv output,
      marks its maximum and sends that window's ``dout`` there, building the delta map.

    In a running kernel the *padding* slider (shown when ``dout`` is not given) recomputes
    everything; the web book shows the given ``padding``.

    Parameters
    ----------
    x : input (H, W), 2 to 8 rows and columns; default a 5x5 array of small integers.
    w : kernel (KH, KW), at most the input's size; default a 3x3 array of small integers.
    dout : gradient of the loss with respect to the last output (the pooled z with ``pool``,
        else y); default a fixed pattern of small integers.
    padding : zero padding of the convolution, 0 to ``min(KH, KW) - 1``.
    pool : whether a 2x2 max pool (stride 2) follows the convolution.

    Shapes: x (H, W), w (KH, KW), dout (H_out // 2, W_out // 2) with pool, else (H_out, W_out),
    ``H_out = H + 2*padding - KH + 1``.
    """
    x = DEFAULT_X if x is None else _matrix(x, "x", 2)
    w = DEFAULT_W if w is None else _matrix(w, "w", 1)
    if w.shape[0] > x.shape[0] or w.shape[1] > x.shape[1]:
        raise ValueError(f"backprop: w must not be larger than x, got w {w.shape} and x "
                         f"{x.shape}")
    pool = check_bool("backprop", "pool", pool)
    top = min(w.shape) - 1
    if isinstance(padding, bool) or not isinstance(padding, int | np.integer) \
            or not 0 <= padding <= top:
        raise ValueError(f"backprop: padding must be an int from 0 to {top} (min(KH, KW) - 1) "
                         f"for a {w.shape[0]}x{w.shape[1]} kernel, got {padding!r}")

    def y_shape(pad: int) -> tuple[int, int]:
        return x.shape[0] + 2 * pad - w.shape[0] + 1, x.shape[1] + 2 * pad - w.shape[1] + 1

    fits = [pad for pad in range(top + 1) if not pool or min(y_shape(pad)) >= 2]
    if padding not in fits:
        rows, cols = y_shape(padding)
        raise ValueError(f"backprop: the conv output is {rows}x{cols}, too small for "
                         f"a 2x2 max pool; use more padding, a larger x, or pool=False")
    if dout is not None:
        dout = _matrix(dout, "dout", 1, largest=2 * MAX_SIZE)  # y is at most H + KH - 1
        rows, cols = y_shape(padding)
        want = (rows // 2, cols // 2) if pool else (rows, cols)
        if dout.shape != want:
            raise ValueError(f"backprop: dout must have the shape of the "
                             f"{'pooled output z' if pool else 'conv output y'}, {want}, got "
                             f"{dout.shape}")
    passes: dict[int, Pass] = {}

    def get(pad: int) -> Pass:
        if pad not in passes:
            passes[pad] = compute(x, w, pad, dout, pool)
        return passes[pad]

    def render(view: str, step: int, padding: int = int(padding)) -> Frame:
        return RENDER[view](get(padding), step)

    names = [v for v in VIEWS if pool or v != "switches"]
    view_axis = choice_axis("view", "view", [(VIEWS[v], v) for v in names], buttons=True)
    view_axis.control.style.button_width = "14em"  # the labels in full
    step = step_axis("step", "step", lambda state: max(
        steps(get(state.get("padding", padding)), v) for v in names))
    live = {}
    if dout is None and len(fits) > 1:  # a given dout fixes the output's shape
        live["padding"] = widgets.IntSlider(value=int(padding), min=fits[0], max=top,
                                            description="padding")
    keys = [(swatch("#ffffff", stroke=WINDOW, width=3), "window being summed"),
            (swatch(CURRENT), "cell this step fills"), (swatch(DONE), "filled at earlier steps"),
            (swatch(PAD), "zero padding / no gradient")]
    keys += [(swatch(SWITCH), "max-pool switch")] if pool else []
    legend_html = widgets.HTML(f"<small>{legend(keys)}</small>")
    layout = [view_axis.widget, step.widget, *live.values(), legend_html]
    return Explorer("Backpropagation through a convolution and a max pool", render,
                    [view_axis, step], live=live, layout=layout)
