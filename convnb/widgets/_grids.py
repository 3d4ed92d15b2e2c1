"""Drawing and preset handling shared by the arithmetic, receptive-field and multichannel explorers.

The pictures are small hand-built SVGs: an explorer's static page holds one per frame, so each
grid is drawn with a few ``<path>`` elements (one per colour, one for the grid lines) rather than
one ``<rect>`` per cell, and attributes use single quotes, which JSON does not escape.

:class:`PresetExplorer` is an :class:`~convnb.widgets._core.Explorer` whose first axis chooses a
preset or "your own" (the live controls): in a running kernel, choosing a preset sets the live
controls to it, and changing a live control selects the preset it now matches, or "your own".
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as widgets

from ._core import Axis, Explorer, Frame

Cell = tuple[int, int]

INPUT = "#9ecae1"       # input cells (blue, as in Dumoulin & Visin's figures)
KERNEL = "#08306b"      # the kernel's taps, drawn over the input half-transparent
DONE = "#a1d99b"        # output cells already computed
CURRENT = "#238b45"     # the output cell being computed
ZERO = "#f0f0f0"        # zeros inserted between input cells (transposed convolution)


def _n(v: float) -> str:
    """A coordinate without a useless ``.0``."""
    return f"{v:g}"


def squares(cells: Iterable[Cell], x0: float, y0: float, cell: float, **attrs: Any) -> str:
    """One ``<path>`` holding a square for every ``(row, col)`` in ``cells``; ``attrs`` are SVG
    attributes (underscores become dashes: ``fill_opacity=".4"``)."""
    d = "".join(f"M{_n(x0 + c * cell)} {_n(y0 + r * cell)}h{_n(cell)}v{_n(cell)}h{_n(-cell)}z"
                for r, c in cells)
    if not d:
        return ""
    extra = "".join(f" {k.replace('_', '-')}='{v}'" for k, v in attrs.items())
    return f"<path d='{d}'{extra}/>"


def boxes(corners: Iterable[tuple[float, float]], side: float, **attrs: Any) -> str:
    """One ``<path>`` holding a ``side`` x ``side`` square at every top-left corner ``(x, y)``;
    ``attrs`` as in :func:`squares`."""
    return squares([(y / side, x / side) for x, y in corners], 0, 0, side, **attrs)


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
    """The entries of a 2-D array written in the middle of their cells."""
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
    """A rectangle; ``attrs`` as in :func:`squares`."""
    extra = "".join(f" {k.replace('_', '-')}='{v}'" for k, v in attrs.items())
    return f"<rect x='{_n(x)}' y='{_n(y)}' width='{_n(w)}' height='{_n(h)}'{extra}/>"


def outline(x: float, y: float, w: float, h: float, colour: str, width: int = 3) -> str:
    """A rectangle's border (a kernel's span, a window)."""
    return rect(x, y, w, h, fill="none", stroke=colour, stroke_width=width)


def legend(items: Sequence[tuple[str, str]]) -> str:
    """A legend as HTML: ``(swatch, text)`` pairs in a row. It is drawn once, beside the
    frames, not in each of them."""
    return "".join(f"<span style='margin-right:1.2em;white-space:nowrap'>{sw} "
                   f"{html.escape(text)}</span>" for sw, text in items)


def swatch(fill: str, dashed: bool = False, opacity: float = 1.0) -> str:
    """A 12 x 12 legend swatch (an inline SVG)."""
    dash = " stroke-dasharray='3 2'" if dashed else ""
    alpha = f" fill-opacity='{opacity:g}'" if opacity < 1 else ""
    return (f"<svg width='14' height='14' style='vertical-align:middle'><rect x='1' y='1' "
            f"width='12' height='12' fill='{fill}'{alpha} stroke='#777'{dash}/></svg>")


def svg(width: float, height: float, body: str, title: str) -> str:
    """An inline SVG of the given size whose accessible name is ``title``."""
    w, h = _n(round(width)), _n(round(height))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' "
            f"viewBox='0 0 {w} {h}' role='img' font-family='sans-serif' font-size='12'>"
            f"<title>{html.escape(title)}</title>{body}</svg>")


def page(pictures: Sequence[str], text: str) -> str:
    """A frame's HTML: the pictures side by side, then ``text`` (plain, escaped) below them.
    (Leaner than ``_core.figure``: a static page holds hundreds of frames.)"""
    shown = "".join(f"<div style='display:inline-block;vertical-align:top;margin:0 1em 0 0'>"
                    f"{p}</div>" for p in pictures)
    return f"<div>{shown}</div><pre style='margin:.3em 0'>{html.escape(text)}</pre>"


class PresetExplorer(Explorer):
    """An explorer whose first axis picks a preset or "your own" settings (the live controls).

    ``presets[i]`` holds the live controls' values for the first axis's option ``i``, or ``None``
    for the option that follows the live controls. Under the menu, a panel switched in the
    browser shows the chosen preset's ``summaries[i]`` (its settings, as text), or the live
    controls ``own`` when "your own" is chosen, so what is shown always matches the picture, with
    or without a kernel. In a running kernel, picking a preset also writes its values into the
    live controls (one recomputation, not one per control): "your own" starts from the last
    preset. Changing a live control while a preset is shown (from code) selects "your own".
    """

    def __init__(self, title: str, render: Callable[..., Frame], axes: Sequence[Axis],
                 live: dict[str, widgets.ValueWidget], presets: Sequence[dict[str, Any] | None],
                 summaries: Sequence[str], own: widgets.Widget,
                 extra: Sequence[widgets.Widget] = ()) -> None:
        self._presets = list(presets)
        self._own = self._presets.index(None)
        self._syncing = False
        choice = axes[0].control
        state = {name: control.value for name, control in live.items()}
        choice.index = next((i for i, preset in enumerate(self._presets) if preset == state),
                            self._own)
        self.panel = widgets.Stack(
            [own if preset is None else widgets.HTML(f"<small>{text}</small>")
             for preset, text in zip(self._presets, summaries, strict=True)],
            selected_index=choice.index)
        widgets.jsdlink((choice, "index"), (self.panel, "selected_index"))
        layout = [axes[0].widget, self.panel, *(axis.widget for axis in axes[1:]), *extra]
        super().__init__(title, render, axes, live, layout)
        choice.observe(self._preset_chosen, names="index")
        for control in live.values():
            control.observe(self._edited, names="value")

    def _rebuild(self) -> None:
        if not self._syncing:
            super()._rebuild()

    def _preset_chosen(self, change: dict[str, Any]) -> None:
        self.panel.selected_index = change["new"]  # the browser's link does this without a kernel
        preset = self._presets[change["new"]]
        if self._syncing or preset is None:
            return
        self._syncing = True
        try:
            for name, value in preset.items():
                self.live[name].value = value
        finally:
            self._syncing = False
        self._rebuild()

    def _edited(self, _change: dict[str, Any]) -> None:
        if self._syncing or self.axes[0].control.index == self._own:
            return
        self._syncing = True
        try:
            self.axes[0].control.index = self._own
        finally:
            self._syncing = False
        self.stack.selected_index = self._own
