"""Convolution arithmetic: a kernel sliding over a padded input, one output position at a time.

The pictures follow Dumoulin & Visin's guide to convolution arithmetic: the input in blue, its
zero padding dashed, the kernel's taps shaded over it, the output beside it. A transposed
convolution is drawn the way the guide explains it: the input spread out with ``stride - 1``
zeros between its cells, bordered by ``dilation*(KH-1) - pad`` zeros, and an ordinary stride-1
convolution over that.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from ..arithmetic import conv_output_size, conv_transpose_output_size
from . import _draw as draw
from ._core import Frame, PresetExplorer, check_bool, check_int, choice_axis, step_axis

#: The live controls' ranges: (smallest, largest) value of each setting.
RANGES = {"input_size": (1, 8), "kernel_size": (1, 5), "stride": (1, 3), "padding": (0, 4),
          "dilation": (1, 3)}
MAX_OUT = 8


@dataclass(frozen=True)
class Setting:
    """One configuration along one axis (the pictures are square): input size, kernel size,
    stride, padding, dilation, and whether the convolution is transposed."""

    input_size: int
    kernel_size: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    transposed: bool = False


#: The guide's classic cases (its figures 2.1-2.7 and 4.x, some with smaller inputs).
CASES = {
    "no padding, unit strides": Setting(4, 3),
    "arbitrary padding": Setting(5, 4, padding=1),
    "half (same) padding": Setting(4, 3, padding=1),
    "full padding": Setting(2, 3, padding=2),
    "no padding, strides": Setting(5, 3, stride=2),
    "padding and strides": Setting(5, 3, stride=2, padding=1),
    "dilation": Setting(7, 3, dilation=2),
    "transposed (doubles the size)": Setting(2, 4, stride=2, padding=1, transposed=True),
}
OWN = "your own settings"


@dataclass(frozen=True)
class Layout:
    """What the picture needs: the grid the kernel slides over and the output size.

    ``index`` (P, P) holds, for every cell of that grid, the flat index into the input
    (``row * input_size + col``) of the input number it holds, or -1 for a zero (padding, or the
    zeros a transposed convolution inserts). The kernel slides over it with ``step`` (the stride,
    or 1 for a transposed convolution) and ``dilation``.
    """

    index: np.ndarray
    out_size: int
    step: int
    dilation: int
    kernel_size: int
    border: int


def layout(s: Setting) -> Layout:
    """The grid and output size of a setting; ``ValueError`` (convnb's message) when it has no
    output, or one too large to step through."""
    i, k, st, p, d = s.input_size, s.kernel_size, s.stride, s.padding, s.dilation
    if not s.transposed:
        out = conv_output_size(i, k, st, p, d)
        size, border, where = i + 2 * p, p, np.arange(i) + p
    else:
        out = conv_transpose_output_size(i, k, st, p, d)
        border = d * (k - 1) - p
        if border < 0:
            raise ValueError(f"the picture needs padding <= dilation*(kernel_size-1) = "
                             f"{d * (k - 1)}, got padding {p}: a larger padding crops the "
                             "stride-1 convolution's input instead")
        size, where = (i - 1) * st + 1 + 2 * border, border + np.arange(i) * st
    if out > MAX_OUT:  # every output position is a frame, for every case
        raise ValueError(f"the output would be {out} x {out}; this explorer steps through at "
                         f"most {MAX_OUT} x {MAX_OUT}: make the input, kernel or stride smaller")
    index = np.full((size, size), -1)
    index[np.ix_(where, where)] = np.arange(i * i).reshape(i, i)
    return Layout(index, out, 1 if s.transposed else st, d, k, border)


def window(lay: Layout, position: int) -> tuple[list[int], list[int]]:
    """The grid rows and columns under the kernel's taps for output ``position`` (row-major)."""
    a, b = divmod(position, lay.out_size)
    taps = [u * lay.dilation for u in range(lay.kernel_size)]
    return [a * lay.step + t for t in taps], [b * lay.step + t for t in taps]


def formulas(s: Setting, out: int) -> list[str]:
    """The output-size formula with the numbers filled in (and, for a transposed convolution,
    the equivalent stride-1 convolution's)."""
    i, k, st, p, d = s.input_size, s.kernel_size, s.stride, s.padding, s.dilation
    if not s.transposed:
        return [f"H_out = (H + 2*pad - dilation*(KH-1) - 1) // stride + 1 = "
                f"({i} + 2*{p} - {d}*({k}-1) - 1) // {st} + 1 = {out}"]
    spread, border = (i - 1) * st + 1, d * (k - 1) - p
    size = spread + 2 * border
    return [f"H_out = (H - 1)*stride - 2*pad + dilation*(KH-1) + 1 = "
            f"({i} - 1)*{st} - 2*{p} + {d}*({k}-1) + 1 = {out}",
            f"as a stride-1 convolution: the input spread out to (H - 1)*stride + 1 = {spread},",
            f"bordered by dilation*(KH-1) - pad = {border} zeros on each side: {size}; "
            f"({size} - {d}*({k}-1) - 1) // 1 + 1 = {conv_output_size(size, k, 1, 0, d)}"]


def describe(s: Setting) -> str:
    """A setting in words, as the case's summary and the frame's first line say it."""
    kind = "transposed, " if s.transposed else ""
    return (f"{kind}input {s.input_size} x {s.input_size}, kernel {s.kernel_size} x "
            f"{s.kernel_size}, stride {s.stride}, padding {s.padding}, dilation {s.dilation}")


def picture(s: Setting, lay: Layout, position: int | None) -> str:
    """The grid with the kernel at ``position`` beside the output; ``position=None``: no kernel,
    the output complete."""
    size, out = lay.index.shape[0], lay.out_size
    cell = max(8, min(28, 280 // max(size, out)))
    top, ox = 20, size * cell + 40
    parts = [draw.label(0, 14, f"{'spread, padded' if s.transposed else 'padded'} input "
                        f"{size} x {size}"),
             draw.label(ox, 14, f"output {out} x {out}"), *input_grid(s, lay, cell, top)]
    done = out * out if position is None else position
    parts.append(draw.squares([divmod(t, out) for t in range(done)], ox, top, cell, fill=draw.DONE))
    if position is not None:
        rows, cols = window(lay, position)
        x, y, span = cols[0] * cell, top + rows[0] * cell, (rows[-1] - rows[0] + 1) * cell
        taps = dict(fill=draw.KERNEL, fill_opacity=".45")
        parts.append(draw.rect(x, y, span, span, **taps) if lay.dilation == 1 else
                     draw.squares([(r, c) for r in rows for c in cols], 0, top, cell, **taps))
        parts.append(draw.outline(x, y, span, span, draw.CURRENT))
        parts.append(draw.squares([divmod(position, out)], ox, top, cell, fill=draw.CURRENT))
    parts.append(draw.grid_lines(ox, top, out, out, cell))
    title = ("the input and the complete output" if position is None else
             f"the input with the kernel at output {divmod(position, out)}, and the output")
    width = ox + max(out * cell + 2, 80)  # room for the output's label
    return draw.svg(width, top + max(size, out) * cell + 2, "".join(parts), title)


def input_grid(s: Setting, lay: Layout, cell: int, top: int) -> list[str]:
    """The grid the kernel slides over: input cells blue and outlined, zeros dashed."""
    size = lay.index.shape[0]
    parts = [draw.grid_lines(0, top, size, size, cell, dashed=True)]
    if not s.transposed:  # the input is one block
        at, n = lay.border * cell, s.input_size
        parts.append(draw.rect(at, top + at, n * cell, n * cell, fill=draw.INPUT))
        parts.append(draw.grid_lines(at, top + at, n, n, cell, colour="#555"))
        return parts
    real = [tuple(rc) for rc in np.argwhere(lay.index >= 0)]
    inner = range(lay.border, size - lay.border)
    inserted = [(r, c) for r in inner for c in inner if lay.index[r, c] < 0]
    return [draw.squares(inserted, 0, top, cell, fill=draw.ZERO), parts[0],
            draw.squares(real, 0, top, cell, fill=draw.INPUT, stroke="#555")]


LEGEND = draw.legend([(draw.swatch(draw.INPUT), "input"),
                      (draw.swatch("#fff", dashed=True), "zero padding"),
                      (draw.swatch(draw.ZERO, dashed=True),
                       "zeros between input cells (transposed)"),
                      (draw.swatch(draw.KERNEL, opacity=0.45), "kernel taps"),
                      (draw.swatch(draw.DONE), "output computed"),
                      (draw.swatch(draw.CURRENT), "this output")])


def window_text(s: Setting, lay: Layout, position: int) -> str:
    """The grid rows and columns under the kernel at ``position``, and what they hold."""
    rows, cols = window(lay, position)
    if not s.transposed:
        last = s.input_size - 1
        shift = [r - s.padding for r in rows], [c - s.padding for c in cols]
        return (f"window: rows {rows}, cols {cols} of the padded input\n"
                f"  = input rows {shift[0]}, cols {shift[1]} (outside 0..{last}: padding)")
    under = [divmod(int(lay.index[r, c]), s.input_size) for r in rows for c in cols
             if lay.index[r, c] >= 0]
    cells = ", ".join(f"x[{a}, {b}]" for a, b in under) or "none (only zeros)"
    return (f"window: rows {rows}, cols {cols} of the spread, padded input\n"
            f"  input cells under the taps: {cells}")


@lru_cache(maxsize=4096)  # the cases' frames do not change when the sliders do
def render_setting(s: Setting, step: int, name: str) -> Frame:
    """The frame for setting ``s`` (called ``name``) at ``step``."""
    lines = [f"{name}: {describe(s)}"]
    try:
        lay = layout(s)
    except ValueError as error:
        lines.append(f"not drawn: {error}")  # no output, or one this picture cannot show
        text = "\n".join(lines)
        return Frame(draw.figure(text=text), text, {"setting": s, "out_size": 0})
    lines += formulas(s, lay.out_size)
    count = lay.out_size ** 2
    data = {"setting": s, "out_size": lay.out_size, "index": lay.index, "position": None,
            "rows": [], "cols": []}
    if step < count:
        a, b = divmod(step, lay.out_size)
        lines.append(f"step {step} of 0..{count - 1}: output position ({a}, {b})")
        lines.append(window_text(s, lay, step))
        data["position"] = (a, b)
        data["rows"], data["cols"] = window(lay, step)
    else:
        lines.append(f"done: all {count} output positions computed (this case has {count} "
                     "steps;\n  the slider goes further for the cases that have more)")
    text = "\n".join(lines)
    shown = picture(s, lay, step if step < count else None)
    return Frame(draw.figure(("", shown), text=text), text, data)


def steps(s: Setting) -> int:
    """How many positions the kernel takes (1 for a setting without a picture: its message)."""
    try:
        return layout(s).out_size ** 2
    except ValueError:
        return 1


def conv_arithmetic(input_size: int = 5, kernel_size: int = 3, stride: int = 2, padding: int = 1,
                    dilation: int = 1, transposed: bool = False) -> PresetExplorer:
    """A kernel sliding over a padded input, one output position per step.

    The student sees the input (blue) with its zero padding (dashed), the kernel's taps over it,
    and the output grid filling up; below, the output-size formula with the numbers filled in,
    the rows and columns under the kernel, and the output position. The *case* menu holds the
    classic cases of Dumoulin & Visin's guide and the step slider and Play move the kernel (both
    work in the web book). Under "your own settings", sliders set input size, kernel size,
    stride, padding and dilation and a box makes the convolution transposed (with a running
    kernel; they start from the last case chosen). The arguments are the sliders' first values
    (all sizes along one axis); when they are one of the cases, that case is shown first.
    """
    own = {"input_size": input_size, "kernel_size": kernel_size, "stride": stride,
           "padding": padding, "dilation": dilation}
    own = {name: check_int("conv_arithmetic", name, value, *RANGES[name])
           for name, value in own.items()}
    transposed = check_bool("conv_arithmetic", "transposed", transposed)
    try:
        layout(Setting(*own.values(), transposed))
    except ValueError as error:
        raise ValueError(f"conv_arithmetic: {error}") from None
    live: dict[str, widgets.ValueWidget] = {
        name: widgets.IntSlider(value=value, min=RANGES[name][0], max=RANGES[name][1],
                                description=name.replace("_", " "), continuous_update=False)
        for name, value in own.items()}
    live["transposed"] = widgets.Checkbox(value=transposed, description="transposed")
    names = list(CASES) + [OWN]

    def setting(case: str, state: dict) -> Setting:
        return CASES[case] if case in CASES else Setting(**state)

    def render(case: str, step: int, **state: object) -> Frame:
        return render_setting(setting(case, state), step, case)

    case_axis = choice_axis("case", "case", [(name, name) for name in names])
    case_axis.control.layout.width = "380px"  # room for the longest name
    step = step_axis("step", "step",
                     lambda state: max(steps(setting(name, state)) for name in names))
    presets = [dict(zip(live, astuple(CASES[n]), strict=True)) if n in CASES else None
               for n in names]
    summaries = [f"This case: {describe(CASES[n])}. To change these, choose &quot;{OWN}&quot; "
                 "(needs a running kernel)." if n in CASES else "" for n in names]
    sliders = widgets.VBox([widgets.HBox(list(live.values())[:3]),
                            widgets.HBox(list(live.values())[3:])])
    return PresetExplorer("Convolution arithmetic", render, [case_axis, step], live, presets,
                          summaries, sliders, extra=[widgets.HTML(LEGEND)])
