"""Image filtering: one grey image, one small kernel, ``scipy.signal``'s semantics exactly.

Correlation slides the kernel over the image as it is; convolution turns it half a turn first::

    correlate2d: out[i, j] = sum_{u, v} k[u, v] * x[i + u - top, j + v - left]
    convolve2d:  out[i, j] = sum_{u, v} k[u, v] * x[i - u + top', j - v + left']

so ``convolve2d(x, k) == correlate2d(x, k[::-1, ::-1])``. For a symmetric kernel (a blur, the
Laplacian) the two agree; for a Sobel kernel the sign of the response flips. Convolution is the
operation of signal processing (it is commutative and associative: two blurs make one blur);
deep-learning "convolution" layers compute correlations, because a learned kernel does not care
which way round it was stored.

``mode`` picks the output size: ``"full"`` (every overlap, H + KH - 1), ``"same"`` (H, centred as
scipy centres it) or ``"valid"`` (the kernel inside the image, H - KH + 1). ``boundary`` says what
lies outside the image: ``"fill"`` (``fillvalue``), ``"symm"`` (mirror, repeating the edge) or
``"wrap"`` (the image repeats). The kernels at the end are the ones the book uses.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from ._checks import check_array
from .backend import get_array_module
from .types import Array
from .windows import sliding_windows

__all__ = [
    "blur_5x5", "box_blur", "convolve2d", "convolve2d_naive", "correlate2d", "correlate2d_naive",
    "gaussian_kernel", "laplacian", "sharpen", "sobel",
]

MODES = ("full", "same", "valid")
# scipy's names, with the aliases it also accepts.
BOUNDARIES = {"fill": "fill", "pad": "fill", "symm": "symm", "symmetric": "symm",
              "wrap": "wrap", "circular": "wrap"}
_NUMPY_PAD = {"fill": "constant", "symm": "symmetric", "wrap": "wrap"}


def _check(fn: str, image: Array, kernel: Array, mode: str, boundary: str,
           fillvalue: float) -> str:
    """Check the arguments; return scipy's canonical boundary name."""
    check_array(image, "image", fn, "(H, W)")
    check_array(kernel, "kernel", fn, "(KH, KW)")
    if mode not in MODES:
        raise ValueError(f"{fn}: mode must be one of {MODES}, got {mode!r}")
    if boundary not in BOUNDARIES:
        raise ValueError(f"{fn}: boundary must be one of ('fill', 'symm', 'wrap'), "
                         f"got {boundary!r}")
    if not isinstance(fillvalue, Real) or isinstance(fillvalue, bool):
        raise TypeError(f"{fn}: fillvalue must be a real number, got {fillvalue!r}")
    if mode == "valid":
        (H, W), (KH, KW) = image.shape, kernel.shape
        if not (H >= KH and W >= KW) and not (KH >= H and KW >= W):
            raise ValueError(
                f"{fn}: in 'valid' mode the image {(H, W)} and the kernel {(KH, KW)} must fit "
                "one inside the other (one at least as large as the other along both axes)"
            )
    return BOUNDARIES[boundary]


def _swap_needed(mode: str, image: Array, kernel: Array) -> bool:
    """scipy's 'valid' rule: a kernel larger than the image swaps their roles."""
    (H, W), (KH, KW) = image.shape, kernel.shape
    return mode == "valid" and (KH > H or KW > W)


def _pads(mode: str, kernel_shape: tuple[int, int], flipped: bool) -> tuple[int, int, int, int]:
    """Rows and columns (top, bottom, left, right) to add around the image before correlating.

    'same' keeps the kernel entry ``(KH-1)//2`` over the output pixel when correlating; turning the
    kernel round moves that anchor to ``KH//2``, so an even kernel's extra row changes side.
    """
    (KH, KW) = kernel_shape
    if mode == "full":
        return KH - 1, KH - 1, KW - 1, KW - 1
    if mode == "valid":
        return 0, 0, 0, 0
    top, left = ((KH // 2, KW // 2) if flipped else ((KH - 1) // 2, (KW - 1) // 2))
    return top, KH - 1 - top, left, KW - 1 - left


def _correlate(image: Array, kernel: Array, mode: str, boundary: str, fillvalue: float,
               flipped: bool) -> Array:
    """Correlate ``image`` with ``kernel`` (already turned round by the caller when ``flipped``)."""
    xp = get_array_module(image, kernel)
    image, kernel = xp.asarray(image), xp.asarray(kernel)
    if _swap_needed(mode, image, kernel):
        # Swapping the arguments of a correlation reverses its output.
        return xp.ascontiguousarray(_correlate(kernel, image, mode, boundary, fillvalue,
                                               flipped)[::-1, ::-1])
    top, bottom, left, right = _pads(mode, kernel.shape, flipped)
    # np.pad rather than pad2d: scipy's 'symm' repeats the edge, and its 'wrap' may go round
    # the image more than once.
    extra = {"constant_values": fillvalue} if boundary == "fill" else {}
    xpad = xp.pad(image, ((top, bottom), (left, right)), mode=_NUMPY_PAD[boundary], **extra)
    KH, KW = kernel.shape
    out_size = (xpad.shape[0] - KH + 1, xpad.shape[1] - KW + 1)
    windows = sliding_windows(xpad, (KH, KW), (1, 1), (1, 1), out_size)  # (H_out, W_out, KH, KW)
    return xp.tensordot(windows, kernel, axes=2)


def correlate2d(image: Array, kernel: Array, mode: str = "full", boundary: str = "fill",
                fillvalue: float = 0) -> Array:
    """Cross-correlate a 2-D image with a 2-D kernel, as ``scipy.signal.correlate2d``.

    Parameters
    ----------
    image, kernel : real floating arrays (integer images: use ``image.astype(float)``). A NumPy
        kernel given with a GPU image is copied to the GPU (the named kernels here are NumPy).
    mode : ``"full"``, ``"same"`` or ``"valid"``. In ``"valid"`` mode a kernel larger than the
        image swaps the two roles, as scipy does (the image then slides inside the kernel); a
        kernel larger along one axis only raises ``ValueError``.
    boundary : ``"fill"``, ``"symm"`` or ``"wrap"`` (scipy's aliases are accepted too).
    fillvalue : the value outside the image when ``boundary="fill"``.

    Shapes: image (H, W), kernel (KH, KW) -> out (H + KH - 1, W + KW - 1) for "full",
    (H, W) for "same", (H - KH + 1, W - KW + 1) for "valid"
    """
    bnd = _check("correlate2d", image, kernel, mode, boundary, fillvalue)
    return _correlate(image, kernel, mode, bnd, fillvalue, flipped=False)


def convolve2d(image: Array, kernel: Array, mode: str = "full", boundary: str = "fill",
               fillvalue: float = 0) -> Array:
    """Convolve a 2-D image with a 2-D kernel, as ``scipy.signal.convolve2d``.

    Convolution is correlation with the kernel turned half a turn; arguments as in
    :func:`correlate2d`. In ``"valid"`` mode a kernel larger than the image gives
    ``convolve2d(kernel, image, "valid")`` (convolution commutes).

    Shapes: image (H, W), kernel (KH, KW) -> out as for :func:`correlate2d`
    """
    bnd = _check("convolve2d", image, kernel, mode, boundary, fillvalue)
    return _correlate(image, kernel[::-1, ::-1], mode, bnd, fillvalue, flipped=True)


def _extended(image: Array, r: int, c: int, boundary: str, fillvalue: float) -> Array:
    """``image[r, c]`` for any integers, reading outside the image as ``boundary`` says."""
    H, W = image.shape
    if 0 <= r < H and 0 <= c < W:
        return image[r, c]
    if boundary == "fill":
        return fillvalue
    if boundary == "wrap":
        return image[r % H, c % W]
    r, c = r % (2 * H), c % (2 * W)  # mirrored with the edge repeated: period 2H
    return image[min(r, 2 * H - 1 - r), min(c, 2 * W - 1 - c)]


def _filter_naive(fn: str, image: Array, kernel: Array, mode: str, boundary: str,
                  fillvalue: float, sign: int) -> Array:
    """Loops for correlation (``sign=+1``) or convolution (``sign=-1``)."""
    bnd = _check(fn, image, kernel, mode, boundary, fillvalue)
    xp = get_array_module(image, kernel)
    image, kernel = xp.asarray(image), xp.asarray(kernel)
    if _swap_needed(mode, image, kernel):
        out = _filter_naive(fn, kernel, image, mode, bnd, fillvalue, sign)
        return out if sign < 0 else xp.ascontiguousarray(out[::-1, ::-1])
    (H, W), (KH, KW) = image.shape, kernel.shape
    top, bottom, left, right = _pads(mode, (KH, KW), flipped=sign < 0)
    H_out, W_out = H + top + bottom - KH + 1, W + left + right - KW + 1
    # The image pixel under kernel entry (0, 0) when the output pixel is (0, 0).
    r0, c0 = (-top, -left) if sign > 0 else (KH - 1 - top, KW - 1 - left)
    out = xp.zeros((H_out, W_out), dtype=np.result_type(image.dtype, kernel.dtype))
    for i in range(H_out):
        for j in range(W_out):
            total = 0.0
            for u in range(KH):
                for v in range(KW):
                    pixel = _extended(image, r0 + i + sign * u, c0 + j + sign * v, bnd, fillvalue)
                    total = total + kernel[u, v] * pixel
            out[i, j] = total
    return out


def correlate2d_naive(image: Array, kernel: Array, mode: str = "full", boundary: str = "fill",
                      fillvalue: float = 0) -> Array:
    """:func:`correlate2d` as four loops: ``out[i, j] = sum k[u, v] x[i + u - top, j + v - left]``.

    Shapes: image (H, W), kernel (KH, KW) -> out as for :func:`correlate2d`
    """
    return _filter_naive("correlate2d_naive", image, kernel, mode, boundary, fillvalue, +1)


def convolve2d_naive(image: Array, kernel: Array, mode: str = "full", boundary: str = "fill",
                     fillvalue: float = 0) -> Array:
    """:func:`convolve2d` as four loops: ``out[i, j] = sum k[u, v] x[i - u + top, j - v + left]``.

    Shapes: image (H, W), kernel (KH, KW) -> out as for :func:`convolve2d`
    """
    return _filter_naive("convolve2d_naive", image, kernel, mode, boundary, fillvalue, -1)


# --- Named kernels (NumPy float64 arrays) ---------------------------------------------------------

def _check_size(fn: str, k: int) -> int:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{fn}: k must be a positive int, got {k!r}")
    return int(k)


def box_blur(k: int = 3) -> np.ndarray:
    """The mean of a k x k neighbourhood: every entry ``1 / k**2``.

    Shapes: -> (k, k)
    """
    k = _check_size("box_blur", k)
    return np.full((k, k), 1.0 / (k * k))


def blur_5x5(normalize: bool = True) -> np.ndarray:
    """The lecture's blur (GIMP's convolution-matrix example): a 3 x 3 block of ones centred in a
    5 x 5 of zeros. ``normalize=True`` divides by 9 (GIMP's "divisor") so a flat image keeps its
    brightness; ``normalize=False`` gives the matrix as printed, which sums each 3 x 3
    neighbourhood.

    Shapes: -> (5, 5)
    """
    kernel = np.zeros((5, 5))
    kernel[1:4, 1:4] = 1.0 / 9.0 if normalize else 1.0
    return kernel


def gaussian_kernel(k: int, sigma: float) -> np.ndarray:
    """A k x k Gaussian blur: ``exp(-(u**2 + v**2) / (2 sigma**2))`` at offsets from the centre,
    scaled to sum to 1.

    Shapes: -> (k, k)
    """
    k = _check_size("gaussian_kernel", k)
    if not isinstance(sigma, Real) or isinstance(sigma, bool) or not sigma > 0:
        raise ValueError(f"gaussian_kernel: sigma must be a positive number, got {sigma!r}")
    offsets = np.arange(k) - (k - 1) / 2
    g = np.exp(-offsets**2 / (2.0 * float(sigma) ** 2))
    kernel = np.outer(g, g)
    return kernel / kernel.sum()


def laplacian() -> np.ndarray:
    """The lecture's edge detector: the four neighbours minus four times the pixel. Zero on flat
    and linear regions, large where the intensity bends (at edges).

    Shapes: -> (3, 3)
    """
    return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def sobel(axis: int) -> np.ndarray:
    """Sobel derivative along ``axis`` (0: down the rows, finds horizontal edges; 1: across the
    columns, finds vertical edges), smoothed across the other axis. Written for
    :func:`correlate2d`, where a brightness increase along ``axis`` gives a positive response;
    :func:`convolve2d` flips the sign.

    Shapes: -> (3, 3)
    """
    if axis not in (0, 1) or isinstance(axis, bool):
        raise ValueError(f"sobel: axis must be 0 (rows) or 1 (columns), got {axis!r}")
    derivative = np.outer([-1.0, 0.0, 1.0], [1.0, 2.0, 1.0])
    return derivative if axis == 0 else derivative.T.copy()


def sharpen() -> np.ndarray:
    """The pixel plus its difference from its neighbours: identity minus the Laplacian.

    Shapes: -> (3, 3)
    """
    identity = np.zeros((3, 3))
    identity[1, 1] = 1.0
    return identity - laplacian()

