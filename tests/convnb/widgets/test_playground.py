"""The kernel playground: every output is checked against scipy.signal, with the kernels written
out here, and the picture against a block mean of scikit-image's camera computed here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import signal

ipywidgets = pytest.importorskip("ipywidgets", reason="the explorers need ipywidgets")
pytest.importorskip("skimage.data", reason="the playground filters a scikit-image picture")

from convnb.widgets import kernel_playground  # noqa: E402

# The presets, written out (Gaussian: exp(-(u^2 + v^2) / 2) at offsets -2..2, normalised).
_g = np.exp(-np.arange(-2, 3) ** 2 / 2.0)
KERNELS = {
    "box": np.full((5, 5), 1 / 25),
    "gaussian": np.outer(_g, _g) / np.outer(_g, _g).sum(),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float),
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=float),
}
PRESETS = list(KERNELS)  # in the dropdown's order; "typed" comes last
BOUNDARIES = ["fill", "symm", "wrap"]
OPERATIONS = {"correlation": signal.correlate2d, "convolution": signal.convolve2d}


@pytest.fixture(scope="module")
def explorer():
    return kernel_playground()


def select(e, kernel: int, boundary: int, operation: int) -> None:
    e.axes[0].control.index = kernel
    e.axes[1].control.index = boundary
    e.axes[2].control.index = operation


def test_the_picture_is_the_camera_averaged_in_blocks(camera, explorer):
    np.testing.assert_allclose(explorer.current().data["image"], camera(72), atol=1e-6)


@pytest.mark.parametrize(("kernel", "boundary", "operation"),
                         list(itertools.product(range(len(PRESETS)), range(3), range(2))))
def test_every_preset_boundary_and_operation_matches_scipy(camera, explorer, kernel, boundary,
                                                           operation):
    select(explorer, kernel, boundary, operation)
    frame = explorer.current()
    name, op = PRESETS[kernel], list(OPERATIONS)[operation]
    expected = OPERATIONS[op](camera(72), KERNELS[name], mode="same", boundary=BOUNDARIES[boundary])
    np.testing.assert_allclose(frame.data["kernel"], KERNELS[name], atol=1e-12)
    np.testing.assert_allclose(frame.data["out"], expected, atol=1e-6)
    assert f"values {expected.min():.3g} to {expected.max():.3g}" in frame.text
    assert f"boundary {BOUNDARIES[boundary]}" in frame.text and op in frame.text
    assert explorer.shown().value == frame.html
    assert "$" not in frame.text and frame.text.splitlines()[0] in frame.html


def test_the_text_says_when_correlation_and_convolution_agree(explorer):
    select(explorer, PRESETS.index("laplacian"), 0, 0)
    assert "correlation = convolution" in explorer.current().text
    select(explorer, PRESETS.index("sobel_x"), 0, 0)
    assert "differ" in explorer.current().text
    # Sobel x turned half a turn is minus itself: convolution flips the sign of the response.
    corr = explorer.current().data["out"]
    select(explorer, PRESETS.index("sobel_x"), 0, 1)
    np.testing.assert_allclose(explorer.current().data["out"], -corr, atol=1e-12)


def test_a_typed_kernel_is_filtered_live_and_presets_stay_as_they_were(camera):
    e = kernel_playground()
    select(e, PRESETS.index("sobel_x"), 0, 0)
    before = e.current().html
    typed = np.array([[0.5, 0, -1], [2, 1, 0], [0, 0, 3]])
    for r, c in itertools.product(range(3), range(3)):
        e.live[f"k{r + 1}{c + 1}"].value = float(typed[r, c])
    assert e.current().html == before
    for boundary, operation in itertools.product(range(3), range(2)):
        select(e, len(PRESETS), boundary, operation)
        expected = list(OPERATIONS.values())[operation](
            camera(72), typed, mode="same", boundary=BOUNDARIES[boundary])
        np.testing.assert_allclose(e.current().data["out"], expected, atol=1e-6)
        assert e.shown().value == e.current().html


def test_a_typed_5x5_kernel_uses_the_whole_grid_and_3x3_only_its_centre(camera):
    e = kernel_playground()
    select(e, len(PRESETS), 1, 1)
    np.testing.assert_array_equal(e.current().data["kernel"], [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    corner = e.live["k00"]
    assert corner.disabled and not e.live["k22"].disabled
    e.live["typed_size"].value = 5
    assert not corner.disabled
    corner.value = 1.0
    typed = np.zeros((5, 5))
    typed[0, 0] = typed[2, 2] = 1.0
    expected = signal.convolve2d(camera(72), typed, mode="same", boundary="symm")
    np.testing.assert_allclose(e.current().data["out"], expected, atol=1e-6)
    assert "5x5" in e.current().text


def test_the_static_page_says_typing_needs_a_kernel(explorer):
    # (test_core checks that every precomputed frame is the live rendering)
    assert len(explorer.frames) == len(PRESETS + ["typed"]) * 3 * 2
    notes = " ".join(child.value for child in explorer.children
                     if isinstance(child, ipywidgets.HTML))
    assert "needs a running Jupyter kernel" in notes and "in the web book" in notes


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"image": "nope"}, "kernel_playground: image must be one of"),
    ({"size": 8}, "kernel_playground: size must be an int from 16"),
    ({"size": 72.0}, "kernel_playground: size must be an int"),
    ({"typed_size": 4}, "kernel_playground: typed_size must be 3 or 5, got 4"),
    ({"typed_size": 3.0}, "kernel_playground: typed_size must be 3 or 5, got 3.0"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kernel_playground(**kwargs)
