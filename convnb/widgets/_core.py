"""What every explorer shares: frames, a stack of precomputed frames driven in the browser, and
live recomputation when a kernel runs.

An explorer shows one :class:`Frame` at a time. Its *axes* are controls with a finite set of
values (a step slider, a preset dropdown): the frames for every combination of their values are
computed with convnb when the explorer is made and held as children of ``widgets.Stack``; the
controls select a child through ``widgets.jslink`` / ``jsdlink``, links that run in the browser, so
they keep working in the static book where no kernel runs. Its *live* controls (sizes, a typed
kernel) are watched from Python: when a kernel runs, changing one recomputes every frame.

Every widget created is saved in a page, even if it is never shown, so an explorer creates only
what it displays. :class:`PresetExplorer` adds a first axis of presets, one of which follows the
live controls. The argument checks every explorer shares end the module; the drawing is in
``_draw``.
"""

from __future__ import annotations

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
        self._leaves, self._inner, self._placed = {}, {}, set()
        self.stack.children = self._nest(lists, (), leaves, inner)
        unused = {id(w): w for w in leaves.values() if id(w) not in self._placed}
        for widget in list(unused.values()) + [w for pair in inner.values() for w in pair]:
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
            children, same = [], {}
            for key in keys:
                html = self.frames[key].html
                # Identical frames in one stack (a short case's last frame, repeated to the
                # shared slider's end) share one widget: fewer to create and to save.
                leaf = same.get(html)
                if leaf is None:
                    leaf = leaves.pop(key, None)
                    if leaf is None or id(leaf) in self._placed:
                        leaf = widgets.HTML(html)
                    elif leaf.value != html:
                        leaf.value = html
                    same[html] = leaf
                    self._placed.add(id(leaf))
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


# Argument checks --------------------------------------------------------------------------------


def check_int(fn: str, name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int if it is one (NumPy integers count, bools do not) from ``low`` to
    ``high``; else ``ValueError`` naming the explorer ``fn`` and the argument."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) \
            or not low <= value <= high:
        raise ValueError(f"{fn}: {name} must be an int from {low} to {high}, got {value!r}")
    return int(value)


def check_bool(fn: str, name: str, value: Any) -> bool:
    """``value`` if it is True or False; else ``TypeError`` naming ``fn`` and the argument."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{fn}: {name} must be True or False, got {value!r}")
    return bool(value)
