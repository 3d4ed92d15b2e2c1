"""The receptive-field explorer against the lecture's 3 / 7 / 15 / 31, an explicit recurrence,
explicit forward loops that count paths, PyTorch autograd through a real stack, and
convnb.receptive_field."""

from __future__ import annotations

import html

import numpy as np
import pytest

import convnb
from convnb.widgets.receptive import OWN, PRESETS, parse, receptive_field, render_stack

DILATED = PRESETS["dilations 1, 2, 4, 8 (3x3)"]


def recurrence(layers) -> list[int]:
    """Field sizes after 0, 1, ... layers: each layer adds d*(k-1) steps of the current jump."""
    sizes, size, jump = [1], 1, 1
    for _, k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s
        sizes.append(size)
    return sizes


def forward_paths(layers, top: int, n: int) -> np.ndarray:
    """Paths from every input pixel to the middle unit of layer ``top``, along one axis, by
    explicit loops running forward: a unit's vector counts, per input pixel, its paths."""
    units = [np.eye(n)[i] for i in range(n)]
    for _, k, s, d in layers[:top]:
        count = (len(units) - d * (k - 1) - 1) // s + 1
        units = [sum(units[t * s + u * d] for u in range(k)) for t in range(count)]
    return units[(len(units) - 1) // 2]


def torch_taps(layers, top: int, n: int) -> np.ndarray:
    """The gradient of the middle unit of layer ``top`` with respect to an n x n input, through
    all-ones convolutions (and sum pooling), which counts the paths to every pixel."""
    torch = pytest.importorskip("torch", reason="PyTorch autograd is the oracle for the taps")
    x = torch.zeros(1, 1, n, n, dtype=torch.float64, requires_grad=True)
    h = x
    for kind, k, s, d in layers[:top]:
        if kind == "pool":  # a sum over the window: average pooling times its area
            h = torch.nn.functional.avg_pool2d(h, k, s) * (k * k)
        else:
            h = torch.nn.functional.conv2d(h, torch.ones(1, 1, k, k, dtype=torch.float64),
                                           stride=s, dilation=d)
    mid = (h.shape[2] - 1) // 2, (h.shape[3] - 1) // 2
    h[0, 0, mid[0], mid[1]].backward()
    return x.grad[0, 0].numpy()


def test_dilations_1_2_4_8_give_the_lectures_3_7_15_31():
    layers = parse(DILATED)
    sizes = [render_stack(DILATED, top).data["size"] for top in range(5)]
    assert sizes == [1, 3, 7, 15, 31] == recurrence(layers)
    for top in range(1, 5):
        expected = convnb.receptive_field([layer[1:] for layer in layers[:top]])
        assert expected == (sizes[top], 1)
        assert f"receptive field: {sizes[top]} x {sizes[top]} input pixels" in render_stack(
            DILATED, top).text


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_and_depth_matches_forward_loops_and_the_recurrence(name):
    layers = parse(PRESETS[name])
    n = recurrence(layers)[-1]
    for top in range(len(layers) + 1):
        frame = render_stack(PRESETS[name], top)
        paths = forward_paths(layers, top, n)
        np.testing.assert_array_equal(frame.data["taps"], np.outer(paths, paths))
        reached = np.flatnonzero(paths)
        assert frame.data["size"] == reached[-1] - reached[0] + 1 == recurrence(layers)[top]
        weighted = np.count_nonzero(np.outer(paths, paths))
        assert f"pixels that carry weight: {weighted} of {frame.data['size'] ** 2}" in frame.text


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_taps_are_the_gradient_through_a_real_stack(name):
    layers = parse(PRESETS[name])
    n = recurrence(layers)[-1]
    for top in range(1, len(layers) + 1):
        taps = torch_taps(layers, top, n)
        np.testing.assert_array_equal(render_stack(PRESETS[name], top).data["taps"], taps)


def test_what_the_presets_teach():
    gaps = render_stack(PRESETS["dilations 2, 2, 2 (gaps)"], 3)
    assert gaps.data["size"] == 13 and np.count_nonzero(gaps.data["taps"]) == 7 * 7
    base3 = render_stack(PRESETS["dilations 1, 3, 9 (3x3): one path each"], 3)
    assert base3.data["size"] == 27 and np.all(base3.data["taps"] == 1)
    lenet = render_stack(PRESETS["LeNet-ish"], 5)
    assert lenet.data["size"] == 32  # LeNet-5's C5 sees the whole 32 x 32 input


def test_driving_the_controls_shows_the_frame_for_that_stack_and_depth():
    e = receptive_field()
    stack, top = e.axes
    assert stack.control.value == "dilations 1, 2, 4, 8 (3x3)"  # the default stack is that preset
    assert top.control.max == max(len(parse(text)) for text in PRESETS.values())
    for index, name in enumerate(list(PRESETS) + [OWN]):
        stack.control.index = index
        layers = parse(PRESETS.get(name, e.live["layers"].value))
        for depth in range(top.control.max + 1):
            top.control.value = depth
            frame = e.current()
            assert e.shown().value == frame.html
            assert html.escape(frame.text) in frame.html and "$" not in frame.html
            counted = min(depth, len(layers))
            assert frame.data["top"] == counted
            assert frame.data["size"] == recurrence(layers)[counted]


def test_a_closing_semicolon_is_no_layer():
    assert parse("conv 3 1 1; pool 2 2;") == [("conv", 3, 1, 1), ("pool", 2, 2, 1)]
    with pytest.raises(ValueError, match=r"layer 2 \(''\) must read"):
        parse("conv 3 1 1;; pool 2 2")


def test_the_text_box_edits_the_stack_and_a_preset_fills_it():
    e = receptive_field()
    stack, top = e.axes
    e.live["layers"].value = "conv 3 2 1; conv 3 1 2"
    assert stack.control.value == OWN
    top.control.value = 2
    frame = e.current()
    # 1 + 2*1 = 3, then 1 + 2 + 2*2*2 = 11 (the second layer's taps are 2*2 input pixels apart)
    assert frame.data["size"] == 11 and "neighbouring units 2 apart" in frame.text
    stack.control.index = list(PRESETS).index("LeNet-ish")
    assert e.live["layers"].value == PRESETS["LeNet-ish"]
    e.live["layers"].value = "conv 3 1 1; conv 3 1 x"
    assert stack.control.value == OWN
    assert "cannot draw this stack: layer 2 ('conv 3 1 x')" in e.current().text
    assert e.shown().value == e.current().html


def test_every_precomputed_frame_is_what_render_gives():
    e = receptive_field([(3, 1, 1), (3, 2, 1)])
    assert e.axes[0].control.value == OWN
    state = e.state()
    lists = [list(axis.values(state)) for axis in e.axes]
    assert len(e.frames) == len(lists[0]) * len(lists[1])
    for index, frame in e.frames.items():
        values = {axis.name: v[i] for axis, v, i in zip(e.axes, lists, index, strict=True)}
        assert e.render(**values, **state).html == frame.html


@pytest.mark.parametrize("layers, error, match", [
    ("conv 3 1 1; conv 0 1 1", ValueError, "receptive_field: layer 2 .* at least 1"),
    ("conv 3; maxpool 2", ValueError, "receptive_field: layer 2 \\('maxpool 2'\\) must read"),
    ("; ".join(["conv 3 1 1"] * 9), ValueError, "receptive_field: at most 8 layers, got 9"),
    ("conv 9 1 12", ValueError, "receptive_field: the receptive field is 97 pixels wide"),
    ([(3, 1, "a")], TypeError, "receptive_field: layers must be a text"),
    ([(3.5, 1, 1)], TypeError, r"triples of ints, got \[\(3.5, 1, 1\)\]"),
    ([(3, 1, 1, 1)], ValueError, r"receptive_field: layer 1 \('conv 3 1 1 1'\) must read"),
    (3, TypeError, "receptive_field: layers must be a text"),
])
def test_bad_arguments_are_named(layers, error, match):
    with pytest.raises(error, match=match):
        receptive_field(layers)


def test_the_stack_picture_colours_units_as_its_legend_says():
    """Inside the field a unit no tap reaches is pink, as in the heat map (it was white, the
    legend's colour for outside the field); the picture is as wide as its title."""
    stack = render_stack("conv 3 1 2; conv 3 1 2; conv 3 1 2", 3).html.split("<svg")[1]
    assert "#fce0de" in stack.split("</svg>")[0]  # the legend's "no tap: inside the field"
    assert int(stack.split("width='")[1].split("'")[0]) >= 400
    past = render_stack("conv 3 1 2; conv 3 1 2", 5).text
    assert "layers counted: 2 of 2" in past and "the slider goes further" in past
    assert "the slider goes further" not in render_stack("conv 3 1 2", 1).text

