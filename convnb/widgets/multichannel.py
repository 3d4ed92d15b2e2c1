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
from ..data import lecture_conv_example
from . import _draw as draw
from ._core import Explorer, Frame, check_int, step_axis

STRIDE, PAD = 2, 1
_X, LECTURE_W, LECTURE_B = lecture_conv_example()
LECTURE_X = _X[0]  # (C, H, W): the explorer shows one image


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
    shown = picture(xpad, w[f], b[f], products, out, filled, (f, i, j))
    return Frame(draw.figure(("", shown), text=text), text, data)


def picture(xpad: np.ndarray, wf: np.ndarray, bias: float, products: np.ndarray,
            out: np.ndarray, filled: np.ndarray, at: tuple[int, int, int]) -> str:
    """Per channel row: the padded input with the window, the filter's slice, the products and
    their sum; on the right the output volume, filled so far, and the sum with the bias.

    Shapes: xpad (C, H + 2*pad, W + 2*pad), wf and products (C, KH, KW), out and filled
    (F, H_out, W_out); ``at`` is (f, i, j).
    """
    f, i, j = at
    (c_in, size, _), (_, kh, kw) = xpad.shape, wf.shape
    cx, ck, cp = 22, 20, 24  # cell sizes: input, filter, products (and output)
    kx = size * cx + 28  # left edges of the columns: input at 0, filter, products, output
    px = kx + kw * ck + 30
    ox = px + kw * cp + 90
    row = size * cx + 26
    inside = range(PAD, size - PAD)
    parts = [draw.label(0, 12, "padded input x"), draw.label(kx, 12, f"filter w[{f}]"),
             draw.label(px, 12, "window × filter"), draw.label(ox, 12, "output volume")]
    for c in range(c_in):
        y = 18 + c * row
        window = [(i * STRIDE + u, j * STRIDE + v) for u in range(kh) for v in range(kw)]
        parts += [draw.squares(window, 0, y, cx, fill=draw.KERNEL, fill_opacity=".2"),
                  draw.grid_lines(0, y, size, size, cx, dashed=True),
                  draw.grid_lines(PAD * cx, y + PAD * cx, size - 2 * PAD, size - 2 * PAD, cx,
                                  colour="#555"),
                  draw.numbers(xpad[c], 0, y, cx,
                               skip=lambda r, q: r not in inside or q not in inside),
                  draw.outline(j * STRIDE * cx, y + i * STRIDE * cx, kw * cx, kh * cx,
                               draw.CURRENT),
                  draw.label(0, y + size * cx + 14, f"x[{c}]: channel {c}"),
                  draw.label(kx - 14, y + kh * ck / 2 + 5, "×", anchor="middle"),
                  draw.grid_lines(kx, y, kh, kw, ck), draw.numbers(wf[c], kx, y, ck),
                  draw.label(kx, y + kh * ck + 14, f"w[{f}, {c}]"),
                  draw.label(px - 14, y + kh * cp / 2 + 5, "=", anchor="middle"),
                  draw.grid_lines(px, y, kh, kw, cp), draw.numbers(products[c], px, y, cp),
                  draw.label(px + kw * cp + 8, y + kh * cp / 2 + 5,
                             f"sum {products[c].sum():g}", bold=True)]
    rows, cols = out.shape[1:]
    for k in range(out.shape[0]):
        y = 18 + k * (rows * cp + 30)
        done = [(r, q) for r in range(rows) for q in range(cols) if filled[k, r, q]]
        parts += [draw.label(ox, y + rows * cp + 14, f"out[{k}]"),
                  draw.squares([rq for rq in done if (k, *rq) != at], ox, y, cp,
                               fill=draw.DONE),
                  draw.squares([(i, j)] if k == f else [], ox, y, cp, fill=draw.CURRENT),
                  draw.grid_lines(ox, y, rows, cols, cp),
                  draw.numbers(out[k], ox, y, cp,
                               skip=lambda r, q, k=k: not filled[k, r, q] or (k, r, q) == at),
                  draw.numbers(out[k], ox, y, cp, colour="#fff",
                               skip=lambda r, q, k=k: (k, r, q) != at)]
    terms = [*products.sum(axis=(1, 2)), bias]
    sums = " + ".join(f"{v:g}" if v >= 0 else f"({v:g})" for v in terms)
    y = 18 + out.shape[0] * (rows * cp + 30) + 10
    parts += [draw.label(ox, y, f"{sums} (bias)"),
              draw.label(ox, y + 16, f"= out[{f}, {i}, {j}] = {out[at]:g}", bold=True)]
    return draw.svg(ox + 150, 18 + c_in * row, "".join(parts),
                    f"the padded input's channels with the window, filter {f}, the products, and "
                    "the output volume")


LEGEND = draw.legend([(draw.swatch("#fff", dashed=True), "zero padding"),
                      (draw.swatch(draw.KERNEL, opacity=0.2), "the window"),
                      (draw.swatch(draw.DONE), "output computed"),
                      (draw.swatch(draw.CURRENT), "this output")])


def multichannel(seed: int = 0) -> Explorer:
    """The lecture's 5x5x3 input and two 3x3x3 filters (stride 2, padding 1), one output number
    per step.

    The student sees the padded input's three channels with the window, the filter's three
    slices, each channel's elementwise products and their sum, the total plus the bias, and the
    3x3x2 output volume filling up; the numbers are also written out as text. The step slider
    and Play go through the 18 output numbers, filter 0 first (they work in the web book). With
    a running kernel the *seed* box draws new numbers of the same kind (0: the lecture's).
    """
    seed = check_int("multichannel", "seed", seed, 0, 9999)
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
