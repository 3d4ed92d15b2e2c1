"""Chapter 01's explorers: the shifted feature maps against scipy.signal and numpy's roll, and the
parameter counts against formulas written here and the lecture's 4M."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from scipy import signal

ipywidgets = pytest.importorskip("ipywidgets", reason="the explorers need ipywidgets")
pytest.importorskip("skimage.data", reason="the explorer shifts a scikit-image picture")

from convnb.widgets import equivariance, parameter_count  # noqa: E402

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
SHIFTS = (0, 4, 8, 12)
BORDERS = ("wrap", "fill")


@pytest.fixture(scope="module")
def explorer():
    return equivariance()


def translate(x: np.ndarray, dy: int, dx: int, border: str) -> np.ndarray:
    """Content moved dy down and dx right: np.roll, or padding with zeros on the side it moves
    away from and cropping back to the image."""
    if border == "wrap":
        return np.roll(np.roll(x, dy, axis=0), dx, axis=1)
    H, W = x.shape
    padded = np.pad(x, ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))))
    return padded[max(-dy, 0):max(-dy, 0) + H, max(-dx, 0):max(-dx, 0) + W]


def select(e, border: int, dy: int, dx: int) -> None:
    e.axes[0].control.index = border
    e.axes[1].control.index = dy
    e.axes[2].control.index = dx


@pytest.mark.parametrize(("border", "dy", "dx"),
                         list(itertools.product(range(2), range(4), range(4))))
def test_every_shift_against_scipy(camera, explorer, border, dy, dx):
    select(explorer, border, dy, dx)
    frame = explorer.current()
    mode, down, right = BORDERS[border], SHIFTS[dy], SHIFTS[dx]
    x = translate(camera(64), down, right, mode)
    map_of_shifted = signal.correlate2d(x, SOBEL_X, mode="same", boundary=mode)
    shifted_map = translate(signal.correlate2d(camera(64), SOBEL_X, mode="same", boundary=mode),
                            down, right, mode)
    np.testing.assert_allclose(frame.data["x"], x, atol=1e-6)
    np.testing.assert_allclose(frame.data["map_of_shifted"], map_of_shifted, atol=1e-6)
    np.testing.assert_allclose(frame.data["shifted_map"], shifted_map, atol=1e-6)
    difference = np.abs(map_of_shifted - shifted_map)
    if mode == "wrap":  # a circular shift commutes with a circular correlation
        assert difference.max() < 1e-9 and frame.data["difference"].max() < 1e-12
        assert "the two maps are equal everywhere" in frame.text
    else:
        # Away from the border both maps read the same 3x3 pixels: rows dy+1 .. H-2 when the
        # content moved down (dy > 0), all rows when it did not; the same for the columns.
        rows = slice(down + 1, -1) if down else slice(None)
        cols = slice(right + 1, -1) if right else slice(None)
        assert frame.data["difference"][rows, cols].max() < 1e-12
        assert f"largest difference {difference.max():.3g}" in frame.text
    assert f"shift {down} px down, {right} px right" in frame.text
    assert explorer.shown().value == frame.html
    assert "$" not in frame.text and frame.text.splitlines()[2] in frame.html


def test_negative_shifts_move_up_and_left(camera):
    e = equivariance(shifts=[-5, 0, 3], size=32)
    select(e, 1, 0, 2)
    x = translate(camera(32), -5, 3, "fill")
    np.testing.assert_allclose(e.current().data["x"], x, atol=1e-6)
    np.testing.assert_array_equal(e.current().data["x"][-5:], 0)


def test_no_frame_is_shown_clipped(explorer):
    # The grey scales the text states (to 3 digits) must hold every frame's values (the
    # differences ran past the maps' scale: a 12 px shift with zeros reached 3.61, black = 3.47).
    frames = list(explorer.frames.values())
    for frame in frames:
        stated = re.search(r"maps shown: black (-[\d.]+), mid grey 0, white ([\d.]+); "
                           r"difference: white 0, black ([\d.]+)", frame.text)
        lo, hi, black = (float(v) for v in stated.groups())
        assert lo == -hi
        for name in ("map_of_shifted", "shifted_map"):
            assert np.abs(frame.data[name]).max() <= hi * (1 + 5e-3)
        assert frame.data["difference"].max() <= black * (1 + 5e-3)
    # ... and are the tightest such: some frame reaches each.
    assert max(np.abs(f.data["difference"]).max() for f in frames) >= black * (1 - 5e-3)
    assert max(np.abs(f.data[n]).max() for f in frames
               for n in ("map_of_shifted", "shifted_map")) >= hi * (1 - 5e-3)


def test_every_control_works_in_the_static_page(explorer):
    # (test_core checks that every precomputed frame is the live rendering)
    assert not explorer.live and len(explorer.frames) == len(BORDERS) * len(SHIFTS) ** 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"image": "lena"}, "equivariance: image must be one of"),
    ({"size": 4}, "equivariance: size must be an int from 16"),
    ({"shifts": (0, 0)}, "equivariance: shifts must be a list of 1 to 8 different ints"),
    ({"shifts": (0, 64)}, r"smaller than the image \(64 pixels\)"),
    ({"shifts": (0, 1.5)}, "equivariance: shifts must be"),
    ({"shifts": 3}, "equivariance: shifts must be"),
])
def test_bad_equivariance_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        equivariance(**kwargs)


# --- parameter counts --------------------------------------------------------------------------

def expected_counts(S: int, C: int, F: int, K: int, bias: bool = False) -> dict[str, int]:
    """Every hidden unit (S*S*F of them) sees all S*S*C inputs, or its own K*K*C patch, or one of
    F shared K*K*C filters."""
    units = S * S * F
    return {"fully connected": units * S * S * C + (units if bias else 0),
            "locally connected": units * K * K * C + (units if bias else 0),
            "convolutional": F * K * K * C + (F if bias else 0)}


def test_the_lectures_example_needs_4M_weights_locally_connected():
    e = parameter_count()
    frame = e.current()
    # Lecture: 200x200 image, 40K hidden units, 10x10 filters, 4M parameters (weights only).
    assert frame.data["counts"]["locally connected"] == 40_000 * 10 * 10 == 4_000_000
    assert frame.data["counts"]["fully connected"] == 200 * 200 * 40_000
    assert frame.data["counts"]["convolutional"] == 100
    assert frame.text.startswith("the lecture's example: image 200x200x1 = 40,000 inputs")
    assert "40,000 hidden units" in frame.text and "= 4,000,000" in frame.text
    assert "1,600,000,000" in frame.html and e.shown().value == frame.html


@pytest.mark.parametrize(("index", "sizes"), [(0, (200, 1, 1, 10)), (1, (28, 1, 32, 5)),
                                              (2, (32, 3, 64, 3))])
@pytest.mark.parametrize("bias", [False, True])
def test_every_preset_against_the_formulas(index, sizes, bias):
    e = parameter_count(bias=bias)
    e.axes[0].control.index = index
    frame = e.current()
    expected = expected_counts(*sizes, bias=bias)
    assert frame.data["counts"] == expected
    for name, n in expected.items():
        assert f"{name}: " in frame.text and f"= {n:,}" in frame.text
    assert ("biases counted" in frame.text) == bias
    assert e.shown().value == frame.html


def test_the_bars_are_on_a_log_scale():
    e = parameter_count()
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)"',
                                           e.current().html)]
    logs = [math.log10(n) for n in expected_counts(200, 1, 1, 10).values()]
    np.testing.assert_allclose(np.array(widths) / widths[0], np.array(logs) / logs[0], rtol=1e-3)


def test_own_sizes_are_counted_live():
    e = parameter_count()
    e.axes[0].control.index = 3
    assert e.current().data["counts"] == expected_counts(64, 3, 16, 5)
    assert e.current().text.startswith("your own sizes: image 64x64x3 = 12,288 inputs")
    e.axes[0].control.index = 0
    e.live["image_size"].value = 50
    assert e.axes[0].control.index == 3  # typing a size selects "your own sizes"
    e.live["channels"].value, e.live["maps"].value, e.live["filter_size"].value = 3, 16, 7
    assert e.current().data["counts"] == expected_counts(50, 3, 16, 7)
    e.live["bias"].value = True
    assert e.current().data["counts"] == expected_counts(50, 3, 16, 7, bias=True)
    e.axes[0].control.index = 0  # the presets ignore the own sizes, but count biases
    assert e.current().data["counts"] == expected_counts(200, 1, 1, 10, bias=True)
    e.live["filter_size"].value = 60
    assert "larger than the image" in e.current().text and e.shown().value == e.current().html


def test_the_static_parameter_page_says_what_needs_a_kernel():
    e = parameter_count()
    notes = " ".join(c.value for c in e.children if isinstance(c, ipywidgets.HTML))
    assert "only <i>preset</i> works" in notes


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"image_size": 0}, ValueError, "parameter_count: image_size must be an int from 1 to 4096"),
    ({"maps": 2.5}, ValueError, "parameter_count: maps must be an int"),
    ({"image_size": 200, "filter_size": 300}, ValueError,
     r"filter_size \(300\) must not exceed image_size \(200\)"),
    ({"bias": 1}, TypeError, "parameter_count: bias must be True or False, got 1"),
])
def test_bad_parameter_count_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        parameter_count(**kwargs)
