"""Image filtering: scipy.signal is the oracle; the lecture's blur and edge detector are worked by
hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from convnb import (
    blur_5x5,
    box_blur,
    convolve2d,
    convolve2d_naive,
    correlate2d,
    correlate2d_naive,
    gaussian_kernel,
    get_array_module,
    laplacian,
    sharpen,
    sobel,
)

MODES = ("full", "same", "valid")
BOUNDARIES = ("fill", "symm", "wrap")
PAIRS = {"correlate2d": (correlate2d, correlate2d_naive, signal.correlate2d),
         "convolve2d": (convolve2d, convolve2d_naive, signal.convolve2d)}


@st.composite
def images_and_kernels(draw, max_image: int = 6, max_kernel: int = 5):
    """An image and a kernel of any sizes (even kernels and kernels larger than the image too)."""
    H, W = draw(st.integers(1, max_image)), draw(st.integers(1, max_image))
    KH, KW = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    fillvalue = draw(st.sampled_from([0, 1.5, -2.0]))
    return rng.standard_normal((H, W)), rng.standard_normal((KH, KW)), fillvalue


def nested(a, b) -> bool:
    """True when one array fits inside the other, which 'valid' mode needs."""
    return (a.shape[0] >= b.shape[0] and a.shape[1] >= b.shape[1]) or (
        b.shape[0] >= a.shape[0] and b.shape[1] >= a.shape[1])


def scipy_or_error(reference, image, kernel, mode, boundary, fillvalue):
    try:
        return reference(image, kernel, mode, boundary, fillvalue)
    except ValueError:
        return None


# --- against scipy.signal -------------------------------------------------------------------------

@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=25, deadline=None)
@given(case=images_and_kernels())
def test_matches_scipy(case, mode, boundary):
    image, kernel, fillvalue = case
    for name, (fast, _, reference) in PAIRS.items():
        expected = scipy_or_error(reference, image, kernel, mode, boundary, fillvalue)
        if expected is None:  # 'valid' with neither array inside the other
            with pytest.raises(ValueError, match=f"{name}: in 'valid' mode"):
                fast(image, kernel, mode, boundary, fillvalue)
            continue
        out = fast(image, kernel, mode, boundary, fillvalue)
        assert out.shape == expected.shape, name
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(case=images_and_kernels(max_image=5, max_kernel=4), mode=st.sampled_from(MODES),
       boundary=st.sampled_from(BOUNDARIES))
def test_naive_equals_vectorised(case, mode, boundary):
    image, kernel, fillvalue = case
    for name, (fast, naive, reference) in PAIRS.items():
        if scipy_or_error(reference, image, kernel, mode, boundary, fillvalue) is None:
            with pytest.raises(ValueError):
                naive(image, kernel, mode, boundary, fillvalue)
            continue
        np.testing.assert_allclose(naive(image, kernel, mode, boundary, fillvalue),
                                   fast(image, kernel, mode, boundary, fillvalue),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


# --- properties of convolution --------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(case=images_and_kernels(), boundary=st.sampled_from(BOUNDARIES))
def test_convolution_is_correlation_with_the_kernel_flipped(case, boundary):
    image, kernel, fillvalue = case
    flipped = kernel[::-1, ::-1]
    full = convolve2d(image, kernel, "full", boundary, fillvalue)
    np.testing.assert_allclose(full, correlate2d(image, flipped, "full", boundary, fillvalue))
    # 'same' is the centre of 'full'; scipy crops convolution from (KH-1)//2 and correlation from
    # KH//2, so the two crops coincide only for odd kernels.
    (H, W), (KH, KW) = image.shape, kernel.shape
    top, left = (KH - 1) // 2, (KW - 1) // 2
    same = convolve2d(image, kernel, "same", boundary, fillvalue)
    np.testing.assert_allclose(same, full[top:top + H, left:left + W])
    if KH % 2 and KW % 2:
        np.testing.assert_allclose(same, correlate2d(image, flipped, "same", boundary, fillvalue))
    if nested(image, kernel):
        np.testing.assert_allclose(convolve2d(image, kernel, "valid"),
                                   correlate2d(image, flipped, "valid"))


@settings(max_examples=40, deadline=None)
@given(case=images_and_kernels())
def test_full_convolution_commutes(case):
    a, b, _ = case
    np.testing.assert_allclose(convolve2d(a, b), convolve2d(b, a), rtol=1e-10, atol=1e-12)
    if nested(a, b):
        np.testing.assert_allclose(convolve2d(a, b, "valid"), convolve2d(b, a, "valid"))


# --- the lecture's filters, worked by hand --------------------------------------------------------

def test_lecture_blur_sums_each_neighbourhood():
    image = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    # The unnormalised blur adds the 3 x 3 neighbourhood inside the image (zeros outside):
    # corner (0, 0): 1 + 2 + 4 + 5 = 12; edge (0, 1): 1 + 2 + 3 + 4 + 5 + 6 = 21; centre: 45.
    expected = np.array([[12.0, 21.0, 16.0], [27.0, 45.0, 33.0], [24.0, 39.0, 28.0]])
    for op in (correlate2d, convolve2d, correlate2d_naive, convolve2d_naive):
        np.testing.assert_allclose(op(image, blur_5x5(normalize=False), "same"), expected)
    np.testing.assert_allclose(correlate2d(image, blur_5x5(), "same"), expected / 9)
    # The zero ring of the 5 x 5 never counts: in 'same' mode it is the 3 x 3 box blur.
    np.testing.assert_allclose(correlate2d(image, blur_5x5(), "same", "symm"),
                               correlate2d(image, box_blur(3), "same", "symm"))


def test_blur_of_a_single_bright_pixel_is_the_kernel():
    impulse = np.zeros((1, 1)) + 1.0
    np.testing.assert_array_equal(convolve2d(impulse, blur_5x5(False)), blur_5x5(False))


def test_laplacian_finds_the_edge():
    # Four rows of 0 0 1 1 1: a vertical edge between columns 1 and 2. In the interior the rows
    # agree, so the Laplacian is x[j-1] + x[j+1] - 2 x[j]: j=1: 0+1-0 = 1, j=2: 0+1-2 = -1,
    # j=3: 1+1-2 = 0. Flat regions give 0, the edge a +1/-1 pair.
    image = np.tile([0.0, 0.0, 1.0, 1.0, 1.0], (4, 1))
    expected = np.tile([1.0, -1.0, 0.0], (2, 1))
    for op in (correlate2d, convolve2d, correlate2d_naive):
        np.testing.assert_array_equal(op(image, laplacian(), "valid"), expected)
    spot = np.zeros((3, 3))
    spot[1, 1] = 2.0  # one bright pixel: -4 * 2 at itself, 1 * 2 at each of its four neighbours
    np.testing.assert_array_equal(correlate2d(spot, laplacian(), "same"),
                                  [[0.0, 2.0, 0.0], [2.0, -8.0, 2.0], [0.0, 2.0, 0.0]])


def test_sobel_measures_the_slope():
    ramp = np.tile(np.arange(5.0)[:, None], (1, 4))  # brightness rises by 1 per row
    # Along the rows: (-1 * x[i] + 1 * x[i+2]) * (1 + 2 + 1) = 2 * 4 = 8; across columns: 0.
    np.testing.assert_array_equal(correlate2d(ramp, sobel(0), "valid"), np.full((3, 2), 8.0))
    np.testing.assert_array_equal(correlate2d(ramp, sobel(1), "valid"), np.zeros((3, 2)))
    np.testing.assert_array_equal(convolve2d(ramp, sobel(0), "valid"), np.full((3, 2), -8.0))


def test_named_kernels():
    np.testing.assert_allclose(box_blur(4), np.full((4, 4), 1 / 16))
    np.testing.assert_allclose(gaussian_kernel(5, 1.3).sum(), 1.0)
    window = signal.windows.gaussian(5, 1.3)
    np.testing.assert_allclose(gaussian_kernel(5, 1.3), np.outer(window, window) / window.sum()**2)
    np.testing.assert_array_equal(laplacian(), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(sharpen(), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(sobel(1), sobel(0).T)
    assert blur_5x5().sum() == pytest.approx(1.0) and blur_5x5(False).sum() == 9.0
    for kernel in (box_blur(3), gaussian_kernel(3, 1.0), laplacian(), sobel(0), sharpen(),
                   blur_5x5()):
        assert kernel.dtype == np.float64


# --- backends, bad input, no mutation -------------------------------------------------------------

@pytest.mark.parametrize("name", ["correlate2d", "convolve2d"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_result_stays_on_the_device(to_backend, host, name, mode, boundary):
    rng = np.random.default_rng(7)
    image, kernel = rng.standard_normal((5, 4)), rng.standard_normal((2, 3))
    device_image, device_kernel = to_backend(image), to_backend(kernel)
    fast, naive, _ = PAIRS[name]
    expected = fast(image, kernel, mode, boundary, 0.5)
    for op in (fast, naive):
        out = op(device_image, device_kernel, mode, boundary, 0.5)
        assert get_array_module(out) is get_array_module(device_image)
        np.testing.assert_allclose(host(out), expected, rtol=1e-12, atol=1e-12)
    # a kernel larger than the image in 'valid' mode, and a NumPy kernel with a device image
    big = to_backend(rng.standard_normal((6, 5)))
    out = fast(device_image, big, "valid")
    assert get_array_module(out) is get_array_module(device_image)
    np.testing.assert_allclose(host(out), fast(image, host(big), "valid"))
    out = fast(device_image, laplacian(), mode, boundary)
    assert get_array_module(out) is get_array_module(device_image)


@pytest.mark.parametrize("op", [correlate2d, convolve2d, correlate2d_naive, convolve2d_naive])
def test_bad_input(op):
    name, image, kernel = op.__name__, np.ones((4, 4)), np.ones((3, 3))
    with pytest.raises(TypeError, match=rf"{name}: image .*astype\(float\)"):
        op(np.ones((4, 4), dtype=int), kernel)
    with pytest.raises(TypeError, match=rf"{name}: kernel .*got dtype complex128"):
        op(image, np.ones((3, 3), dtype=complex))
    with pytest.raises(TypeError, match=f"{name}: image must be an array"):
        op([[1.0, 2.0]], kernel)
    with pytest.raises(ValueError, match=rf"{name}: image must have 2 dimensions \(H, W\), got "
                                         r"shape \(1, 4, 4\)"):
        op(image[None], kernel)
    with pytest.raises(ValueError, match=f"{name}: kernel must not be empty"):
        op(image, np.ones((0, 3)))
    with pytest.raises(ValueError, match=f"{name}: mode must be one of .* got 'half'"):
        op(image, kernel, mode="half")
    with pytest.raises(ValueError, match=f"{name}: boundary must be one of .* got 'zeros'"):
        op(image, kernel, boundary="zeros")
    with pytest.raises(TypeError, match=f"{name}: fillvalue must be a real number"):
        op(image, kernel, fillvalue="0")
    with pytest.raises(ValueError, match=rf"{name}: .*\(4, 4\) and the kernel \(5, 3\)"):
        op(image, np.ones((5, 3)), mode="valid")


def test_bad_kernel_arguments():
    with pytest.raises(ValueError, match="box_blur: k must be a positive int, got 0"):
        box_blur(0)
    with pytest.raises(ValueError, match="gaussian_kernel: k must be a positive int, got 2.5"):
        gaussian_kernel(2.5, 1.0)
    with pytest.raises(ValueError, match="gaussian_kernel: sigma must be a positive number"):
        gaussian_kernel(3, 0.0)
    with pytest.raises(ValueError, match="sobel: axis must be 0 .* got 2"):
        sobel(2)


@pytest.mark.parametrize("op", [correlate2d, convolve2d, correlate2d_naive, convolve2d_naive])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_inputs_are_not_modified(op, mode, boundary):
    rng = np.random.default_rng(3)
    image, kernel = rng.standard_normal((5, 6)), rng.standard_normal((4, 3))
    saved = image.copy(), kernel.copy()
    image.flags.writeable = kernel.flags.writeable = False  # any write would raise
    out = op(image, kernel, mode, boundary, 1.0)
    np.testing.assert_array_equal(image, saved[0])
    np.testing.assert_array_equal(kernel, saved[1])
    out += 1.0  # the result is a fresh, writeable array, not a view of an input
    np.testing.assert_array_equal(image, saved[0])
