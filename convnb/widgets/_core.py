"""What every explorer shares: frames, a stack of precomputed frames driven in the browser, and
live recomputation when a kernel runs.

An explorer shows one :class:`Frame` at a time. Its *axes* are controls with a finite set of
values (a step slider, a preset dropdown): the frames for every combination of their values are
computed with convnb when the explorer is made and held as children of ``widgets.Stack``; the
controls select a child through ``widgets.jslink`` / ``jsdlink``, links that run in the browser, so
they keep working in the static book where no kernel runs. Its *live* controls (sizes, a typed
kernel) are watched from Python: when a kernel runs, changing one recomputes every frame.

Every widget created is saved in a page, even if it is never shown, so an explorer creates only
what it displays.
"""

from __future__ import annotations

import base64
import html
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import numpy as np


@dataclass(frozen=True)
class Frame:
    """One picture of an explorer and the numbers behind it.

    ``html`` is what the page shows (an SVG or an ``<img>`` and the numbers as text), ``text`` the
    numbers as plain text (for screen readers and tests; it is also inside ``html``), and ``data``
    the arrays the picture was drawn from.
    """

    html: str
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Axis:
    """A control whose values are precomputed.

    ``trait`` is the control's trait that holds the *index* of the chosen value: ``"value"`` for a
    slider from 0, ``"index"`` for a dropdown or toggle buttons. ``values(state)`` lists the values
    for the current state of the live controls (the number of steps may depend on them).
    ``widget`` is what is displayed for it (the slider in a box with its Play button, say).
    """

    name: str
    control: widgets.Widget
    trait: str
    values: Callable[[dict[str, Any]], Sequence[Any]]
    widget: widgets.Widget | None = None

    def __post_init__(self) -> None:
        if self.widget is None:
            self.widget = self.control


def step_axis(name: str, description: str, count: Callable[[dict[str, Any]], int],
              interval: int = 700) -> Axis:
    """An axis for positions 0 .. count-1 with a slider and a Play button, linked in the browser.

    The Play button's icon comes from Font Awesome: the book's theme must not rewrite ``<i>``
    elements into SVG (``FontAwesomeConfig.observeMutations = false``), or Play stops working.
    """
    slider = widgets.IntSlider(value=0, min=0, max=1, description=description,
                               continuous_update=True)
    play = widgets.Play(value=0, min=0, max=1, interval=interval, description="Play",
                        tooltip=f"Play the {description.lower()}s")
    widgets.jslink((play, "value"), (slider, "value"))
    return Axis(name, slider, "value", lambda state: range(count(state)),
                widgets.HBox([play, slider]))


def choice_axis(name: str, description: str, options: Sequence[tuple[str, Any]],
                buttons: bool = False) -> Axis:
    """An axis for a fixed list of ``(label, value)`` options: a dropdown or toggle buttons."""
    labels = [label for label, _ in options]
    cls = widgets.ToggleButtons if buttons else widgets.Dropdown
    control = cls(options=labels, index=0, description=description)
    values = [value for _, value in options]
    return Axis(name, control, "index", lambda state: values)


class Explorer(widgets.VBox):
    """An explorer: its controls above the stack of precomputed frames and a note.

    ``render(**state)`` draws the frame for one value of every axis and live control; ``live`` maps
    a state name to its control (its ``value`` is the state). In a running kernel a change of a live
    control recomputes every frame; in the static book the live controls do nothing, which the
    note says.
    """

    def __init__(self, title: str, render: Callable[..., Frame], axes: Sequence[Axis],
                 live: dict[str, widgets.ValueWidget] | None = None,
                 layout: Sequence[widgets.Widget] | None = None) -> None:
        self.render = render
        self.axes = list(axes)
        self.live = dict(live or {})
        self.stack = widgets.Stack()
        self.frames: dict[tuple[int, ...], Frame] = {}
        self._rebuild()
        for axis in self.axes[:1]:
            widgets.jsdlink((axis.control, axis.trait), (self.stack, "selected_index"))
        children: list[widgets.Widget] = [widgets.HTML(f"<b>{html.escape(title)}</b>")]
        children += list(layout) if layout is not None else (
            [axis.widget for axis in self.axes] + list(self.live.values()))
        children.append(self.stack)
        if self.live:
            names = [f"<i>{html.escape(a.control.description or a.name)}</i>" for a in self.axes]
            names = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
            children.append(widgets.HTML(
                f"<small>In the web book, without a running kernel, only {names} "
                f"{'work' if len(self.axes) > 1 else 'works'}: the other controls need the page "
                "running in Jupyter (download it as a notebook with the button at the top of the "
                "page).</small>"))
        super().__init__(children)
        # Names for the browser tests and the book's stylesheet.
        self.add_class("convnb-explorer")
        self.stack.add_class("convnb-frames")
        for axis in self.axes:
            axis.control.add_class("convnb-axis")
        for control in self.live.values():
            control.add_class("convnb-live")
        for control in self.live.values():
            control.observe(lambda _change: self._rebuild(), names="value")

    def state(self) -> dict[str, Any]:
        """The live controls' values."""
        return {name: control.value for name, control in self.live.items()}

    def _rebuild(self) -> None:
        """Recomputes every frame for the live controls' values and fills the stack."""
        state = self.state()
        lists = [list(axis.values(state)) for axis in self.axes]
        self.frames = {}
        for index in itertools.product(*(range(len(v)) for v in lists)):
            values = {axis.name: v[i] for axis, v, i in zip(self.axes, lists, index, strict=True)}
            self.frames[index] = self.render(**values, **state)
        for axis, values in zip(self.axes, lists, strict=True):
            if axis.trait == "value":  # a step slider and its Play button
                last = max(len(values) - 1, 0)
                for control in getattr(axis.widget, "children", [axis.control]):
                    control.value = min(control.value, last)
                    control.max = last
        # Reuse every widget whose place still exists (creating one costs far more than drawing
        # a frame); close the rest, since a closed widget is no longer saved in the notebook.
        leaves, inner = getattr(self, "_leaves", {}), getattr(self, "_inner", {})
        self._leaves, self._inner = {}, {}
        self.stack.children = self._nest(lists, (), leaves, inner)
        for widget in list(leaves.values()) + [w for pair in inner.values() for w in pair]:
            widget.close()
        self.stack.selected_index = self.index()[0] if self.axes else 0

    def _nest(self, lists: list[list[Any]], prefix: tuple[int, ...],
              leaves: dict[tuple[int, ...], widgets.HTML],
              inner: dict[tuple[int, ...], tuple[widgets.Stack, widgets.Widget]],
              ) -> list[widgets.Widget]:
        """The stack's children for the axes after ``prefix``: HTML frames at the last axis,
        inner stacks (each driven by its own axis control) above it. ``leaves`` and ``inner``
        hold the widgets of the previous layout; what is reused is taken out of them."""
        depth = len(prefix)
        if depth >= len(self.axes) - 1:
            keys = [()] if not self.axes else [prefix + (i,) for i in range(len(lists[depth]))]
            children = []
            for key in keys:
                leaf = leaves.pop(key, None)
                if leaf is None:
                    leaf = widgets.HTML(self.frames[key].html)
                elif leaf.value != self.frames[key].html:
                    leaf.value = self.frames[key].html
                self._leaves[key] = leaf
                children.append(leaf)
            return children
        axis = self.axes[depth + 1]
        stacks = []
        for i in range(len(lists[depth])):
            key = prefix + (i,)
            children = self._nest(lists, key, leaves, inner)
            if key in inner:
                stack, link = inner.pop(key)
                stack.children = children
            else:
                stack = widgets.Stack(children, selected_index=getattr(axis.control, axis.trait))
                link = widgets.jsdlink((axis.control, axis.trait), (stack, "selected_index"))
            self._inner[key] = (stack, link)
            stacks.append(stack)
        return stacks

    def index(self) -> tuple[int, ...]:
        """The index of the frame the axes' controls select now."""
        return tuple(getattr(axis.control, axis.trait) for axis in self.axes)

    def current(self) -> Frame:
        """The frame the controls select now (what the browser shows)."""
        return self.frames[self.index()]

    def shown(self) -> widgets.HTML:
        """The HTML widget the stacks hold for the current index (tests compare it with
        :meth:`current`)."""
        return self._leaf(self.index())

    def _leaf(self, index: tuple[int, ...]) -> widgets.HTML:
        widget: widgets.Widget = self.stack
        for i in index or (0,):
            widget = widget.children[i]
        return widget


# Drawing ----------------------------------------------------------------------------------------


def png_img(image: np.ndarray, alt: str, scale: int = 1, cmap: str = "gray",
            vmin: float | None = None, vmax: float | None = None) -> str:
    """An ``<img>`` tag holding ``image`` (H, W) (a colour map applied) or (H, W, 3) as an
    inline PNG, each pixel drawn as a ``scale`` x ``scale`` block."""
    from io import BytesIO

    from matplotlib import colormaps
    from PIL import Image

    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        lo = np.nanmin(a) if vmin is None else vmin
        hi = np.nanmax(a) if vmax is None else vmax
        a = colormaps[cmap]((a - lo) / (hi - lo if hi > lo else 1.0))[..., :3]
    rgb = np.clip(np.round(a * 255), 0, 255).astype(np.uint8)
    if scale > 1:
        rgb = rgb.repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            f'style="image-rendering: pixelated">')


def grid_svg(values: np.ndarray | None, shape: tuple[int, int] | None = None, *, cell: int = 28,
             fill: dict[tuple[int, int], str] | None = None, default_fill: str = "#ffffff",
             outline: Sequence[tuple[int, int, int, int, str]] = (), fmt: str = "{:g}",
             title: str = "", dashed: set[tuple[int, int]] | None = None) -> str:
    """An SVG grid of ``shape`` cells (or ``values.shape``) with optional numbers in the cells.

    ``fill`` colours single cells ``{(row, col): colour}``; ``outline`` draws rectangles
    ``(row, col, height, width, colour)`` over the grid (a kernel's position); ``dashed`` cells
    get a dashed border (padding). ``title`` is the SVG's accessible name.
    """
    rows, cols = values.shape if values is not None else shape
    fill = fill or {}
    dashed = dashed or set()
    width, height = cols * cell + 2, rows * cell + 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="-1 -1 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f"<title>{html.escape(title)}</title>"]
    font = max(8, cell // 2 - 2)
    for r in range(rows):
        for c in range(cols):
            style = ' stroke-dasharray="3,2"' if (r, c) in dashed else ""
            parts.append(f'<rect x="{c * cell}" y="{r * cell}" width="{cell}" height="{cell}" '
                         f'fill="{fill.get((r, c), default_fill)}" stroke="#888"{style}/>')
            if values is not None:
                parts.append(f'<text x="{c * cell + cell / 2}" y="{r * cell + cell / 2}" '
                             f'font-size="{font}" text-anchor="middle" '
                             f'dominant-baseline="central">{html.escape(fmt.format(values[r, c]))}'
                             "</text>")
    for r, c, h, w, colour in outline:
        parts.append(f'<rect x="{c * cell}" y="{r * cell}" width="{w * cell}" height="{h * cell}" '
                     f'fill="none" stroke="{colour}" stroke-width="3"/>')
    parts.append("</svg>")
    return "".join(parts)


def figure(*panels: tuple[str, str], text: str = "") -> str:
    """Panels ``(caption, svg or img)`` side by side, then ``text`` (plain, escaped) below them."""
    cells = "".join(
        f'<figure style="display:inline-block;vertical-align:top;margin:0 1em 0.5em 0">'
        f'{content}<figcaption style="text-align:center">{html.escape(caption)}</figcaption>'
        "</figure>" for caption, content in panels)
    lines = f'<pre style="margin:0.3em 0">{html.escape(text)}</pre>' if text else ""
    return f"<div>{cells}</div>{lines}"
