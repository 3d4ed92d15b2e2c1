"""The convolution-arithmetic explorer against explicit formulas, PyTorch's unfold and
conv_transpose2d, and convnb's transposed convolution."""

from __future__ import annotations

import html
import itertools

import numpy as np
import pytest

import convnb
from convnb.widgets.arithmetic import CASES, OWN, Setting, conv_arithmetic, render_setting


def out_size(s: Setting) -> int:
    """The output size written out, not taken from convnb."""
    i, k, st, p, d = s.input_size, s.kernel_size, s.stride, s.padding, s.dilation
    if s.transposed:
        return (i - 1) * st - 2 * p + d * (k - 1) + 1
    return (i + 2 * p - d * (k - 1) - 1) // st + 1


def taps(s: Setting, position: tuple[int, int]) -> list[tuple[int, int]]:
    """The input cells (row, col) under the kernel's taps, -1 for padding, by explicit loops over
    the definition out[a, b] = sum_uv x[a*s - p + u*d, b*s - p + v*d] * w[u, v]."""
    a, b = position
    cells = []
    for u in range(s.kernel_size):
        for v in range(s.kernel_size):
            r = a * s.stride - s.padding + u * s.dilation
            c = b * s.stride - s.padding + v * s.dilation
            inside = 0 <= r < s.input_size and 0 <= c < s.input_size
            cells.append((r, c) if inside else (-1, -1))
    return cells


def frame_taps(frame) -> list[tuple[int, int]]:
    index = frame.data["index"]
    n = frame.data["setting"].input_size
    flat = [int(index[r, c]) for r in frame.data["rows"] for c in frame.data["cols"]]
    return [divmod(f, n) if f >= 0 else (-1, -1) for f in flat]


SETTINGS = [Setting(i, k, s, p, d) for i, k, s, p, d in itertools.product(
    (1, 5, 7), (1, 2, 3, 4), (1, 2, 3), (0, 2), (1, 2))
    if i + 2 * p >= d * (k - 1) + 1 and out_size(Setting(i, k, s, p, d)) <= 8]
TRANSPOSED = [Setting(i, k, s, p, d, True) for i, k, s, p, d in itertools.product(
    (1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2), (1, 2))
    if p <= d * (k - 1) and 1 <= out_size(Setting(i, k, s, p, d, True)) <= 8]


@pytest.mark.parametrize("s", SETTINGS, ids=str)
def test_formula_and_every_window_match_the_definition(s):
    o = out_size(s)
    first = render_setting(s, 0, "case")
    assert first.data["out_size"] == o == convnb.conv_output_size(*list(vars(s).values())[:5])
    formula = (f"({s.input_size} + 2*{s.padding} - {s.dilation}*({s.kernel_size}-1) - 1) "
               f"// {s.stride} + 1 = {o}")
    assert formula in first.text
    for step in range(o * o):
        frame = render_setting(s, step, "case")
        position = divmod(step, o)
        assert frame.data["position"] == position
        assert f"output position {position}" in frame.text
        assert frame_taps(frame) == taps(s, position)
        rows = [a - s.padding for a in frame.data["rows"]]
        assert f"input rows {rows}" in frame.text
    done = render_setting(s, o * o, "case")
    assert done.data["position"] is None and f"all {o * o} output positions" in done.text


@pytest.mark.parametrize("s", [s for s in SETTINGS if s.input_size > 1][::7], ids=str)
def test_windows_match_torch_unfold(s):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the windows")
    n = s.input_size
    x = torch.arange(1, n * n + 1, dtype=torch.float64).reshape(1, 1, n, n)  # 0 = padding
    cols = torch.nn.functional.unfold(x, s.kernel_size, dilation=s.dilation, padding=s.padding,
                                      stride=s.stride)[0].numpy().astype(int)
    o = out_size(s)
    assert cols.shape[1] == o * o
    for step in range(o * o):
        frame = render_setting(s, step, "case")
        index = frame.data["index"]
        under = [int(index[r, c]) + 1 for r in frame.data["rows"] for c in frame.data["cols"]]
        assert under == list(cols[:, step])


@pytest.mark.parametrize("s", TRANSPOSED, ids=str)
def test_transposed_picture_is_convnb_conv_transpose2d(s):
    frame = render_setting(s, 0, "case")
    o = out_size(s)
    assert frame.data["out_size"] == o == convnb.conv_transpose_output_size(
        s.input_size, s.kernel_size, s.stride, s.padding, s.dilation)
    assert f"+ 1 = {o}\n" in frame.text
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, s.input_size, s.input_size))
    w = rng.standard_normal((1, 1, s.kernel_size, s.kernel_size))
    index = frame.data["index"]
    spread = np.where(index >= 0, x.ravel()[np.maximum(index, 0)], 0.0)
    # The guide's picture: a stride-1 convolution of the flipped kernel over the spread input.
    direct = np.array([[sum(spread[a + u * s.dilation, b + v * s.dilation]
                            * w[0, 0, -1 - u, -1 - v]
                            for u in range(s.kernel_size) for v in range(s.kernel_size))
                        for b in range(o)] for a in range(o)])
    expected = convnb.conv_transpose2d(x, w, stride=s.stride, padding=s.padding,
                                       dilation=s.dilation)[0, 0]
    np.testing.assert_allclose(direct, expected, atol=1e-12)
    for step in range(o * o):  # the kernel slides with stride 1
        frame = render_setting(s, step, "case")
        a, b = divmod(step, o)
        assert frame.data["rows"] == [a + u * s.dilation for u in range(s.kernel_size)]
        assert frame.data["cols"] == [b + v * s.dilation for v in range(s.kernel_size)]


@pytest.mark.parametrize("s", TRANSPOSED[::5], ids=str)
def test_transposed_picture_is_torch_conv_transpose2d(s):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for conv_transpose2d")
    frame = render_setting(s, 0, "case")
    x = torch.randn(1, 1, s.input_size, s.input_size, dtype=torch.float64)
    w = torch.randn(1, 1, s.kernel_size, s.kernel_size, dtype=torch.float64)
    index = torch.as_tensor(frame.data["index"])
    spread = torch.where(index >= 0, x.flatten()[index.clamp(min=0)], 0.0)
    direct = torch.nn.functional.conv2d(spread[None, None], w.flip(2, 3), dilation=s.dilation)
    expected = torch.nn.functional.conv_transpose2d(x, w, stride=s.stride, padding=s.padding,
                                                    dilation=s.dilation)
    torch.testing.assert_close(direct, expected)


def test_the_guides_cases_are_what_their_names_say():
    for name, s in CASES.items():
        o, k = out_size(s), s.kernel_size
        if name.startswith("no padding"):
            assert s.padding == 0
        if "unit strides" in name:
            assert s.stride == 1 and o == s.input_size - k + 1
        if name.startswith("half"):
            assert o == s.input_size and s.stride == 1
        if name.startswith("full"):
            assert s.padding == k - 1 and o == s.input_size + k - 1
        if "strides" in name and "unit" not in name:
            assert s.stride > 1
        if name == "dilation":
            assert s.dilation > 1
        if "transposed" in name:
            assert s.transposed and s.stride > 1 and o == 2 * s.input_size


def test_driving_the_controls_shows_the_frame_the_formula_gives():
    e = conv_arithmetic()
    case, step = e.axes
    names = list(CASES) + [OWN]
    assert case.control.value == "padding and strides"  # the defaults are that case
    assert "(5 + 2*1 - 1*(3-1) - 1) // 2 + 1 = 3" in e.current().text
    for index, name in enumerate(names):
        case.control.index = index
        assert case.control.value == name
        # in a kernel, choosing a case set the sliders, which "your own settings" follows
        s = CASES.get(name, Setting(**e.state()))
        o = out_size(s)
        for t in range(step.control.max + 1):
            step.control.value = t
            frame = e.current()
            assert e.shown().value == frame.html
            assert html.escape(frame.text) in frame.html and "$" not in frame.html
            assert frame.data["setting"] == s and frame.data["out_size"] == o
            assert frame.data["position"] == (divmod(t, o) if t < o * o else None)


def test_every_precomputed_frame_is_what_render_gives():
    e = conv_arithmetic(input_size=6, stride=1, padding=0, dilation=2)
    state = e.state()
    lists = [list(axis.values(state)) for axis in e.axes]
    assert len(e.frames) == len(lists[0]) * len(lists[1])
    for index, frame in e.frames.items():
        values = {axis.name: v[i] for axis, v, i in zip(e.axes, lists, index, strict=True)}
        again = e.render(**values, **state)
        assert (frame.html, frame.text) == (again.html, again.text)
    # The step slider reaches the largest case's last position.
    assert e.axes[1].control.max == max(out_size(s) ** 2 for s in [*CASES.values(),
                                                                    Setting(6, 3, 1, 0, 2)]) - 1


def test_choosing_a_case_sets_the_sliders_and_moving_one_picks_your_own():
    e = conv_arithmetic()
    case = e.axes[0].control
    panel = e.panel  # under the menu: the case's settings, or the sliders for "your own"
    case.index = list(CASES).index("dilation")
    assert {k: c.value for k, c in e.live.items()} == vars(CASES["dilation"])
    assert panel.selected_index == case.index
    assert "input 7 x 7, kernel 3 x 3, stride 1, padding 0, dilation 2" in panel.children[
        case.index].value
    case.index = len(CASES)  # "your own settings" starts from the dilation case
    assert case.value == OWN and e.current().data["setting"] == CASES["dilation"]
    assert e.live["input_size"] in panel.children[case.index].children[0].children
    e.live["stride"].value = 2
    assert e.current().data["setting"] == Setting(7, 3, 2, 0, 2)
    assert "(7 + 2*0 - 2*(3-1) - 1) // 2 + 1 = 2" in e.current().text
    case.index = list(CASES).index("transposed (doubles the size)")
    assert e.live["transposed"].value is True and e.live["kernel_size"].value == 4
    assert "(2 - 1)*2 - 2*1 + 1*(4-1) + 1 = 4" in e.current().text
    e.live["padding"].value = 2  # a change from code while a case is shown: "your own"
    assert case.value == OWN and e.current().data["setting"] == Setting(2, 4, 2, 2, 1, True)
    assert e.shown().value == e.current().html


def test_a_setting_without_output_says_why():
    e = conv_arithmetic()
    e.live["padding"].value = 0
    e.live["kernel_size"].value = 5
    e.live["input_size"].value = 2
    frame = e.current()
    assert e.axes[0].control.value == OWN and frame.data["out_size"] == 0
    assert "not drawn: conv_output_size: the kernel spans 5" in frame.text
    assert e.shown().value == frame.html
    for name, value in [("input_size", 4), ("kernel_size", 2), ("padding", 2),
                        ("transposed", True)]:
        e.live[name].value = value
    # (4 - 1)*2 - 2*2 + 1 + 1 = 4 outputs, but a border of 1*(2-1) - 2 < 0 zeros cannot be drawn
    assert ("not drawn: the picture needs padding <= dilation*(kernel_size-1) = 1, got "
            "padding 2") in e.current().text
    for name, value in [("input_size", 8), ("stride", 3), ("kernel_size", 5), ("dilation", 3),
                        ("padding", 0)]:
        e.live[name].value = value
    # (8 - 1)*3 + 3*(5-1) + 1 = 34: too many positions to step through, and none are made
    assert "the output would be 34 x 34; this explorer steps through at most 8 x 8" in (
        e.current().text)
    assert e.axes[1].control.max + 1 == max(out_size(s) ** 2 for s in CASES.values())


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_size": 0}, ValueError, "conv_arithmetic: input_size must be an int from 1 to 8, "
                                    "got 0"),
    ({"stride": 2.0}, ValueError, "conv_arithmetic: stride must be an int from 1 to 3, got 2.0"),
    ({"dilation": True}, ValueError, "conv_arithmetic: dilation must be an int from 1 to 3, "
                                     "got True"),
    ({"kernel_size": 5, "padding": 0, "input_size": 3}, ValueError,
     "conv_arithmetic: conv_output_size: the kernel spans 5"),
    ({"transposed": 1}, TypeError, "conv_arithmetic: transposed must be True or False, got 1"),
    ({"transposed": True, "kernel_size": 2, "padding": 2}, ValueError,
     r"conv_arithmetic: the picture needs padding <= dilation\*\(kernel_size-1\) = 1, got "
     "padding 2"),
    ({"input_size": 8, "kernel_size": 1, "stride": 1, "padding": 1}, ValueError,
     "conv_arithmetic: the output would be 10 x 10; this explorer steps through at most 8 x 8"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_arithmetic(**kwargs)
