"""The explorers' shared machinery (convnb/widgets/_core.py), and what every explorer owes the
static book: each precomputed frame is exactly what the live explorer draws for that control value,
and the browser-side links that switch the frames exist."""

from __future__ import annotations

import itertools

import ipywidgets as widgets
import numpy as np
import pytest
from ipywidgets.widgets.widget import _instances
from ipywidgets.widgets.widget_link import DirectionalLink, Link

import convnb.widgets
from convnb.widgets._core import Explorer, Frame, check_bool, check_int, choice_axis, step_axis
from convnb.widgets._draw import grid_svg


def _links(cls: type) -> list[tuple[tuple, tuple]]:
    return [(link.source, link.target) for link in list(_instances.values())
            if type(link) is cls]


def _toy() -> tuple[Explorer, widgets.IntSlider]:
    size = widgets.IntSlider(value=3, min=2, max=5, description="Size")

    def render(mode: str, step: int, size: int) -> Frame:
        values = np.arange(size * size).reshape(size, size)
        row, col = divmod(step, size)
        text = f"{mode}: cell ({row}, {col}) holds {values[row, col]}"
        labels = [[str(v) for v in line] for line in values]
        return Frame(grid_svg(labels, marks=[(row, col, 1, 1, "#ff0000")], title=text) + text,
                     text, {"value": values[row, col]})

    mode = choice_axis("mode", "Mode", [("first", "first"), ("second", "second")])
    step = step_axis("step", "Step", lambda state: state["size"] ** 2)
    return Explorer("toy", render, [mode, step], live={"size": size}), size


def test_frames_cover_every_combination_and_follow_the_controls():
    explorer, _ = _toy()
    assert sorted(explorer.frames) == list(itertools.product(range(2), range(9)))
    explorer.axes[0].control.index = 1
    explorer.axes[1].control.value = 5
    assert explorer.current().text == "second: cell (1, 2) holds 5"
    assert explorer.shown().value == explorer.current().html


def test_the_browser_links_switch_the_stacks():
    explorer, _ = _toy()
    mode, step = explorer.axes
    directional = _links(DirectionalLink)
    assert ((mode.control, "index"), (explorer.stack, "selected_index")) in directional
    inner = explorer.stack.children
    assert len(inner) == 2 and all(isinstance(s, widgets.Stack) for s in inner)
    for stack in inner:
        assert ((step.control, "value"), (stack, "selected_index")) in directional
    play = next(w for w in step.widget.children if isinstance(w, widgets.Play))
    assert ((play, "value"), (step.control, "value")) in _links(Link)


def test_a_live_change_recomputes_and_resizes():
    explorer, size = _toy()
    explorer.axes[1].control.value = 8
    size.value = 4
    assert explorer.axes[1].control.max == 15
    play = next(w for w in explorer.axes[1].widget.children if isinstance(w, widgets.Play))
    assert play.max == 15
    assert explorer.current().text == "first: cell (2, 0) holds 8"
    size.value = 2  # fewer steps than the slider's position: it moves to the last one
    assert explorer.axes[1].control.value == 3
    assert explorer.shown().value == explorer.current().html


def test_every_named_explorer_exists():
    for name in convnb.widgets.__all__:
        assert callable(getattr(convnb.widgets, name)), name
    assert isinstance(convnb.widgets.backprop, type(_toy))  # a function, not its module


@pytest.mark.parametrize("name", convnb.widgets.__all__)
def test_every_precomputed_frame_is_the_live_rendering(name: str):
    explorer = getattr(convnb.widgets, name)()
    assert isinstance(explorer, Explorer)
    state = explorer.state()
    lists = [list(axis.values(state)) for axis in explorer.axes]
    for index, frame in explorer.frames.items():
        values = {axis.name: lst[i] for axis, lst, i in zip(explorer.axes, lists, index,
                                                             strict=True)}
        again = explorer.render(**values, **state)
        assert frame.html == again.html and frame.text == again.text, (name, index)
        assert frame.text and _plain(frame.text) in _plain(frame.html), (
            f"{name}{index}: the numbers must be in the page as text too")
    for index in explorer.frames:  # what the browser's stacks hold, index by index
        for axis, i in zip(explorer.axes, index, strict=True):
            setattr(axis.control, axis.trait, i)
        assert explorer.shown().value == explorer.frames[index].html, (name, index)


def _plain(text: str) -> str:
    import html
    import re

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def _extremes(control: widgets.Widget) -> list:
    """The values a student can reach that are most likely to break a frame."""
    if isinstance(control, widgets.Checkbox):
        return [not control.value, control.value]
    if isinstance(control, widgets.Dropdown):
        return [value for _, value in control.options][::-1]
    if hasattr(control, "min") and hasattr(control, "max"):
        return [control.max, control.min, control.value]
    if isinstance(control, widgets.FloatText):
        return [-1e6, 0.0, control.value]
    if isinstance(control, widgets.Text):  # a stack typed wrongly, then too deep
        return ["conv 3 1;", "conv three", "; ".join(["conv 5 1 4"] * 8), control.value]
    raise AssertionError(f"no extremes for {type(control).__name__}")


@pytest.mark.parametrize("name", convnb.widgets.__all__)
def test_every_live_control_at_its_extremes_still_draws_a_frame(name: str):
    explorer = getattr(convnb.widgets, name)()
    for key, control in explorer.live.items():
        for value in _extremes(control):
            control.value = value
            for axis in explorer.axes:  # the last position of every axis
                setattr(axis.control, axis.trait, len(axis.values(explorer.state())) - 1)
            frame = explorer.current()
            assert explorer.shown().value == frame.html, (name, key, value)
            assert frame.text and _plain(frame.text) in _plain(frame.html), (name, key, value)


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_check_int_takes_numpy_integers(value):
    checked = check_int("f", "n", value, 1, 3)
    assert checked == 3 and type(checked) is int


@pytest.mark.parametrize("value", [0, 4, 2.0, True, "2", None])
def test_check_int_names_function_argument_range_and_value(value):
    with pytest.raises(ValueError, match=f"^f: n must be an int from 1 to 3, got {value!r}$"):
        check_int("f", "n", value, 1, 3)


def test_check_bool():
    assert check_bool("f", "flag", np.bool_(True)) is True
    with pytest.raises(TypeError, match="^f: flag must be True or False, got 1$"):
        check_bool("f", "flag", 1)


def test_identical_frames_share_a_widget_until_they_differ():
    # Steps past `last` repeat the final picture, as a short case does under a shared slider.
    last = widgets.IntSlider(value=1, min=0, max=3, description="Last")

    def render(step: int, last: int) -> Frame:
        text = f"step {min(step, last)}"
        return Frame(text, text, {})

    explorer = Explorer("toy", render, [step_axis("step", "Step", lambda state: 4)],
                        live={"last": last})
    children = explorer.stack.children
    assert len(children) == 4 and len({id(c) for c in children}) == 2
    assert [c.value for c in children] == ["step 0", "step 1", "step 1", "step 1"]
    last.value = 3  # every step differs now: each gets its own widget, with its own picture
    children = explorer.stack.children
    assert len({id(c) for c in children}) == 4
    assert [c.value for c in children] == ["step 0", "step 1", "step 2", "step 3"]
    for step in range(4):
        explorer.axes[0].control.value = step
        assert explorer.shown().value == explorer.current().html == f"step {step}"
