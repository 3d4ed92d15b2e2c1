"""The lecture's multichannel convolution, one output number at a time.

A 5 x 5 input with 3 channels, two 3 x 3 x 3 filters, stride 2, padding 1: a 3 x 3 x 2 output.
Each output number is the sum, over the three channels, of a window of the padded input times
the filter's slice for that channel, plus the filter's bias. The numbers are the lecture's
(lecture 001, after the CS231n notes' demo), written here in NCHW order.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..arithmetic import conv_output_size
from ..conv import conv2d
from . import _grids as g
from ._core import Explorer, Frame, step_axis

STRIDE, PAD = 2, 1
LECTURE_X = np.array([
    [[2, 1, 0, 2, 2], [0, 0, 2, 2, 0], [1, 0, 1, 2, 2], [0, 2, 2, 2, 0], [2, 2, 0, 0, 2]],
    [[2, 2, 0, 2, 1], [1, 2, 2, 2, 1], [1, 2, 2, 2, 1], [2, 1, 0, 1, 1], [0, 0, 1, 1, 0]],
    [[2, 2, 1, 0, 2], [1, 2, 2, 2, 2], [0, 0, 0, 1, 0], [1, 0, 2, 1, 2], [2, 2, 1, 0, 1]],
], dtype=float)
LECTURE_W = np.array([
    [[[1, 1, -1], [1, 1, 0], [1, 1, -1]], [[1, -1, 0], [1, 1, 0], [1, -1, 1]],
     [[0, 0, 1], [-1, 0, -1], [-1, 1, -1]]],
    [[[1, 0, 0], [0, 1, 0], [0, 0, 0]], [[1, -1, -1], [1, -1, -1], [0, -1, 1]],
     [[-1, 0, 1], [-1, -1, 1], [1, -1, 0]]],
], dtype=float)
LECTURE_B = np.array([1.0, 0.0])


def numbers(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, w, b)``: the lecture's for seed 0, else drawn like them (inputs 0..2, weights -1..1,
    biases 0..1). Shapes: x (3, 5, 5), w (2, 3, 3, 3), b (2,)."""
    if seed == 0:
        return LECTURE_X, LECTURE_W, LECTURE_B
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 3, (3, 5, 5)).astype(float),
            rng.integers(-1, 2, (2, 3, 3, 3)).astype(float), rng.integers(0, 2, 2).astype(float))


def render_step(x: np.ndarray, w: np.ndarray, b: np.ndarray, step: int) -> Frame:
    """The frame for output number ``step`` (filter-major: filter ``step // 9``, then rows).

    Shapes: x (C, H, W), w (F, C, KH, KW), b (F,).
    """
    out = conv2d(x[None], w, b, stride=STRIDE, padding=PAD)[0]
    f, (i, j) = step // out[0].size, divmod(step % out[0].size, out.shape[2])
    kh, kw = w.shape[2:]
    xpad = np.pad(x, ((0, 0), (PAD, PAD), (PAD, PAD)))
    rows, cols = slice(i * STRIDE, i * STRIDE + kh), slice(j * STRIDE, j * STRIDE + kw)
    products = xpad[:, rows, cols] * w[f] + 0.0  # + 0.0 turns -0 into 0
    sums = products.sum(axis=(1, 2))
    channels = ", ".join(f"channel {c}: {s:g}" for c, s in enumerate(sums))
    h_out = conv_output_size(x.shape[1], kh, STRIDE, PAD)
    text = "\n".join([
        f"H_out = (H + 2*pad - dilation*(KH-1) - 1) // stride + 1 = ({x.shape[1]} + 2*{PAD} - "
        f"1*({kh}-1) - 1) // {STRIDE} + 1 = {h_out}",
        f"step {step} of 0..{out.size - 1}: out[f, i, j] for filter f = {f}, row i = {i}, "
        f"col j = {j}",
        f"window: rows {rows.start}..{rows.stop - 1}, cols {cols.start}..{cols.stop - 1} of "
        f"the padded input (input rows {rows.start - PAD}..{rows.stop - 1 - PAD}, "
        f"cols {cols.start - PAD}..{cols.stop - 1 - PAD})",
        f"{channels}, bias {b[f]:g} -> out[{f}, {i}, {j}] = {out[f, i, j]:g}"])
    filled = np.arange(out.size).reshape(out.shape) <= step
    data = {"f": f, "i": i, "j": j, "window": (rows, cols), "products": products,
            "channel_sums": sums, "bias": b[f], "out": out[f, i, j], "volume": out,
            "filled": filled}
    return Frame(g.page([picture(xpad, w[f], products, out, filled, (f, i, j))], text),
                 text, data)


def picture(xpad: np.ndarray, wf: np.ndarray, products: np.ndarray, out: np.ndarray,
            filled: np.ndarray, at: tuple[int, int, int]) -> str:
    """Per channel row: the padded input with the window, the filter's slice, the products and
    their sum; on the right the output volume, filled so far."""
    f, i, j = at
    c_in, size = xpad.shape[0], xpad.shape[1]
    cx, ck, cp = 22, 20, 24  # cell sizes: input, filter, products
    wx, kx, px, ox = 0, size * cx + 28, size * cx + 28 + 3 * ck + 30, 0
    ox = px + 3 * cp + 90
    row = size * cx + 26
    pad = {(r, c) for r in range(size) for c in range(size)
           if r in (0, size - 1) or c in (0, size - 1)}
    parts = [g.label(wx, 12, "padded input x"), g.label(kx, 12, f"filter w[{f}]"),
             g.label(px, 12, "window × filter"), g.label(ox, 12, "output volume")]
    for c in range(c_in):
        y = 18 + c * row
        window = [(i * STRIDE + u, j * STRIDE + v) for u in range(3) for v in range(3)]
        parts += [g.squares(window, wx, y, cx, fill=g.KERNEL, fill_opacity=".2"),
                  g.grid_lines(wx, y, size, size, cx, dashed=True),
                  g.grid_lines(wx + cx, y + cx, size - 2, size - 2, cx, colour="#555"),
                  g.numbers(xpad[c], wx, y, cx, skip=lambda r, q: (r, q) in pad),
                  g.outline(wx + j * STRIDE * cx, y + i * STRIDE * cx, 3 * cx, 3 * cx, g.CURRENT),
                  g.label(wx, y + size * cx + 14, f"x[{c}]: channel {c}"),
                  g.label(kx - 14, y + 1.5 * ck + 5, "×", anchor="middle"),
                  g.grid_lines(kx, y, 3, 3, ck), g.numbers(wf[c], kx, y, ck),
                  g.label(kx, y + 3 * ck + 14, f"w[{f}, {c}]"),
                  g.label(px - 14, y + 1.5 * cp + 5, "=", anchor="middle"),
                  g.grid_lines(px, y, 3, 3, cp), g.numbers(products[c], px, y, cp),
                  g.label(px + 3 * cp + 8, y + 1.5 * cp + 5,
                          f"sum {products[c].sum():g}", bold=True)]
    for k in range(out.shape[0]):
        y = 18 + k * (3 * cp + 30)
        done = [divmod(t, 3) for t in range(out[k].size) if filled[k].flat[t]]
        parts += [g.label(ox, y + 3 * cp + 14, f"out[{k}]"),
                  g.squares([rc for rc in done if (k, *rc) != at], ox, y, cp, fill=g.DONE),
                  g.squares([(i, j)] if k == f else [], ox, y, cp, fill=g.CURRENT),
                  g.grid_lines(ox, y, 3, 3, cp),
                  g.numbers(out[k], ox, y, cp,
                            skip=lambda r, q, k=k: not filled[k, r, q] or (k, r, q) == at),
                  g.numbers(out[k], ox, y, cp, colour="#fff",
                            skip=lambda r, q, k=k: (k, r, q) != at)]
    terms = [*products.sum(axis=(1, 2)), out[at] - products.sum()]
    sums = " + ".join(f"{v:g}" if v >= 0 else f"({v:g})" for v in terms)
    y = 18 + 2 * (3 * cp + 30) + 10
    parts += [g.label(ox, y, f"{sums} (bias)"),
              g.label(ox, y + 16, f"= out[{f}, {i}, {j}] = {out[at]:g}", bold=True)]
    return g.svg(ox + 150, 18 + c_in * row, "".join(parts),
                 f"the padded input's channels with the window, filter {f}, the products, and "
                 "the output volume")


LEGEND = g.legend([(g.swatch("#fff", dashed=True), "zero padding"),
                   (g.swatch(g.KERNEL, opacity=0.2), "the window"),
                   (g.swatch(g.DONE), "output computed"), (g.swatch(g.CURRENT), "this output")])


def multichannel(seed: int = 0) -> Explorer:
    """The lecture's 5x5x3 input and two 3x3x3 filters (stride 2, padding 1), one output number
    per step.

    The student sees the padded input's three channels with the window, the filter's three
    slices, each channel's elementwise products and their sum, the total plus the bias, and the
    3x3x2 output volume filling up; the numbers are also written out as text. The step slider
    and Play go through the 18 output numbers, filter 0 first (they work in the web book). With
    a running kernel the *seed* box draws new numbers of the same kind (0: the lecture's).
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"multichannel: seed must be an int from 0 to 9999, got {seed!r}")
    if not 0 <= seed <= 9999:
        raise ValueError(f"multichannel: seed must be an int from 0 to 9999, got {seed!r}")
    box = widgets.BoundedIntText(value=seed, min=0, max=9999, description="seed",
                                 layout=widgets.Layout(width="180px"))
    hint = widgets.HTML("<small>0: the lecture's numbers; another seed draws new numbers of "
                        "the same kind (needs a running kernel)</small>")

    def render(step: int, seed: int) -> Frame:
        return render_step(*numbers(seed), step)

    axis = step_axis("step", "output", lambda state: 2 * 3 * 3, interval=1200)
    return Explorer("Convolution over channels: the 5x5x3 example", render, [axis],
                      live={"seed": box},
                      layout=[axis.widget, widgets.HBox([box, hint]), widgets.HTML(LEGEND)])
