"""Checks for lab07_fast_conv: convolution layers (cross-correlation) computed fast, by im2col and
one matrix product, and by the FFT.

The answer key is convnb: ``conv2d`` for the layers, ``correlate2d`` for the 1-D warm-up, and
``windows.sliding_windows`` for the patch matrix, laid out as in lab02 (:func:`.common.im2col`).
The FFT's classic mistakes are generated rather than listed: every combination of kernel
orientation (flipped or not, conjugated or not), transform length, crop and inverse length that a
student's code could take is a diagnoser, and its hint names the first thing it gets wrong.

The layers may build on the lab's smaller pieces (``conv2d_im2col`` on ``im2col``, ``conv2d_fft``
row by row on ``correlate1d_fft``): their checks run them with the course's versions standing in
for the student's (:attr:`.core.Check.stand_ins`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

import convnb

from .common import (
    ROWS_CUV_COLS_NIJ,
    arange_grid,
    case_1d,
    correlate1d,
    draw_1d,
    im2col,
    output_hw,
    patch_matrix,
    receptive_fields,
    rounded_normal,
    seeded_normal,
)
from .compare import ArrayResult
from .core import Case, Check, Diagnoser
from .detect import COURSE_RULES
from .registry import register

__all__ = [
    "check_conv2d_fft", "check_conv2d_im2col", "check_correlate1d_fft", "check_im2col_strided",
]

# The lab's rules: NumPy, with np.fft and np.lib.stride_tricks.sliding_window_view allowed
# (as_strided, np.convolve and np.correlate are not); not convnb (apart from get_array_module),
# SciPy or a deep-learning library. Its setup cell imports gpu_available for the GPU part.
FORBIDDEN = COURSE_RULES.allowing("numpy.lib.stride_tricks.sliding_window_view",
                                  "convnb.get_array_module", "convnb.backend.gpu_available")


# --- im2col ---------------------------------------------------------------------------------------

def _cols(x: np.ndarray, KH: int, KW: int, axes: tuple[int, ...]) -> np.ndarray:
    """The windows of ``x`` with their axes in the order ``axes`` (rows: the first three)."""
    return patch_matrix(receptive_fields(x, KH, KW), axes)


def _im2col_case(x: np.ndarray, KH: int, KW: int) -> Case:
    return Case((x, KH, KW), f"x {x.shape}, KH {KH}, KW {KW}", x.size)


def _draw_geometry(rng: np.random.Generator) -> tuple[int, ...]:
    N, C, F = (int(n) for n in rng.integers(1, [3, 4, 4]))
    H, W = (int(n) for n in rng.integers(2, 8, size=2))
    KH, KW = int(rng.integers(1, min(H, 4) + 1)), int(rng.integers(1, min(W, 4) + 1))
    if KH * KW == 1:
        KW = 2  # a 1 x 1 kernel cannot tell a flip, nor an order of its entries
    return N, C, F, H, W, KH, KW


def _draw_im2col(rng: np.random.Generator) -> Case:
    N, C, _, H, W, KH, KW = _draw_geometry(rng)
    return _im2col_case(rounded_normal(rng, N, C, H, W), KH, KW)


check_im2col_strided = register(Check(
    name="check_im2col_strided", function="im2col(x, KH, KW)", reference=im2col,
    forbidden=FORBIDDEN,
    draw=_draw_im2col,
    fixed=(_im2col_case(arange_grid(1, 1, 3, 3), 2, 2),
           _im2col_case(arange_grid(2, 2, 3, 4), 2, 3)),
    result=ArrayResult(),
    diagnosers=[
        Diagnoser("im2col_transposed", lambda x, KH, KW: im2col(x, KH, KW).T),
        Diagnoser("im2col_patch_order", lambda x, KH, KW: _cols(x, KH, KW, (4, 5, 1, 0, 2, 3))),
        Diagnoser("im2col_column_order", lambda x, KH, KW: _cols(x, KH, KW, (1, 4, 5, 2, 3, 0))),
        Diagnoser("im2col_reshape_without_transpose", lambda x, KH, KW: np.ascontiguousarray(
            receptive_fields(x, KH, KW)).reshape(x.shape[1] * KH * KW, -1)),
    ],
))


# --- The layer by one matrix product --------------------------------------------------------------

def conv2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return convnb.conv2d(x, w)


def _conv_case(x: np.ndarray, w: np.ndarray) -> Case:
    return Case((x, w), f"x {x.shape}, w {w.shape}", x.size + w.size)


def _draw_conv(rng: np.random.Generator) -> Case:
    N, C, F, H, W, KH, KW = _draw_geometry(rng)
    return _conv_case(rounded_normal(rng, N, C, H, W), rounded_normal(rng, F, C, KH, KW))


def _matrix_product(x: np.ndarray, w: np.ndarray, axes=ROWS_CUV_COLS_NIJ, kernels=None):
    """``kernels.reshape(F, -1) @ cols`` with the patch matrix in the order ``axes``, put back
    as if it were (F, N, H_out, W_out)."""
    (N, F), (KH, KW) = (x.shape[0], w.shape[0]), w.shape[2:]
    out = (w if kernels is None else kernels).reshape(F, -1) @ _cols(x, KH, KW, axes)
    return out.reshape(F, N, *output_hw(x, KH, KW)).transpose(1, 0, 2, 3)


def _reshaped_straight(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    (N, F), (KH, KW) = (x.shape[0], w.shape[0]), w.shape[2:]
    return (w.reshape(F, -1) @ im2col(x, KH, KW)).reshape(N, F, *output_hw(x, KH, KW))


def _patch_order_mismatch(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Patches listed (u, v, c) but kernels by w.reshape(F, -1), (c, u, v)."""
    return _matrix_product(x, w, (4, 5, 1, 0, 2, 3))


def _kernel_order_mismatch(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Patches listed (c, u, v) but kernels listed (u, v, c)."""
    return _matrix_product(x, w, kernels=np.ascontiguousarray(w.transpose(0, 2, 3, 1)))


FIXED_CONV = (
    _conv_case(arange_grid(1, 1, 4, 4), np.array([[[[1.0, 0.0], [0.0, -1.0]]]])),
    _conv_case(arange_grid(2, 2, 4, 5) % 7, np.arange(24.0).reshape(2, 2, 2, 3) % 5 - 2),
    _conv_case(seeded_normal(7001, 1, 3, 5, 5), seeded_normal(7002, 2, 3, 3, 3)),
)

check_conv2d_im2col = register(Check(
    name="check_conv2d_im2col", function="conv2d_im2col(x, w)", reference=conv2d,
    forbidden=FORBIDDEN,
    draw=_draw_conv, fixed=FIXED_CONV, result=ArrayResult(),
    diagnosers=[
        Diagnoser("im2col_patch_order", _patch_order_mismatch),
        Diagnoser("im2col_patch_order", _kernel_order_mismatch),
        Diagnoser("conv_output_reshape", _reshaped_straight),
        Diagnoser("im2col_column_order", lambda x, w: _matrix_product(x, w, (1, 4, 5, 2, 3, 0))),
    ],
    stand_ins={"im2col": im2col},
))


# --- The FFT --------------------------------------------------------------------------------------

# Transform lengths a student might pick along an axis of size L with a kernel of size K: enough
# (L, L + K - 1, a power of two), or too short (the output size, one short of the input).
SIZES: dict[str, Callable[[int, int], int]] = {
    "input": lambda L, K: L,
    "full": lambda L, K: L + K - 1,
    "power of two": lambda L, K: 1 << (L + K - 2).bit_length(),
    "output": lambda L, K: L - K + 1,
    "input - 1": lambda L, K: L - 1,
}
# Where the kept outputs might start: right for the conjugate (0) or the flipped kernel (K - 1),
# or off by one.
STARTS: dict[str, Callable[[int], int]] = {
    "0": lambda K: 0, "K - 1": lambda K: K - 1, "1": lambda K: 1, "K": lambda K: K,
}
# (kernel flipped, spectrum conjugated, transform length, start, inverse told the length)
FFT_CHOICES = list(itertools.product((False, True), (True, False), SIZES, STARTS, (True, False)))


def _fft_hint(flip: bool, conj: bool, size: str, start: str, inverse_n: bool) -> str:
    """The first thing a combination of choices gets wrong (the right ones never match)."""
    if size in ("output", "input - 1"):
        return "fft_size_too_small"
    if not inverse_n:
        return "fft_irfft_length"
    if flip == conj:
        return "fft_convolution"
    return "fft_wrong_crop"


def _fft1d(x, w, flip=False, conj=True, size="input", start="0", inverse_n=True):
    L, K = len(x), len(w)
    n = SIZES[size](L, K)
    spectrum = np.fft.rfft(w[::-1] if flip else w, n)
    spectrum = np.conj(spectrum) if conj else spectrum
    full = np.fft.irfft(np.fft.rfft(x, n) * spectrum, n if inverse_n else None)
    a = STARTS[start](K)
    return full[a:a + L - K + 1]


def _fft2d(x, w, flip=False, conj=True, size="input", start="0", inverse_n=True):
    (H, W), (KH, KW) = x.shape[2:], w.shape[2:]
    s = (SIZES[size](H, KH), SIZES[size](W, KW))
    spectrum = np.fft.rfft2(w[:, :, ::-1, ::-1] if flip else w, s)
    spectrum = np.conj(spectrum) if conj else spectrum
    product = np.einsum("nchw,fchw->nfhw", np.fft.rfft2(x, s), spectrum)
    full = np.fft.irfft2(product, s) if inverse_n else np.fft.irfft2(product)
    a, b = STARTS[start](KH), STARTS[start](KW)
    return full[:, :, a:a + H - KH + 1, b:b + W - KW + 1]


def _fft_diagnosers(fft: Callable[..., np.ndarray]) -> list[Diagnoser]:
    return [Diagnoser(_fft_hint(*choice),
                      lambda x, w, choice=choice: fft(x, w, *choice))
            for choice in FFT_CHOICES]


def _draw1d(rng: np.random.Generator) -> Case:
    return draw_1d(rng, longest=13, widest=6)


check_correlate1d_fft = register(Check(
    name="check_correlate1d_fft", function="correlate1d_fft(x, w)", reference=correlate1d,
    forbidden=FORBIDDEN,
    draw=_draw1d,
    fixed=(case_1d(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, 0.0, -1.0])),
           case_1d(np.array([0.0, 1.0, 0.0, 0.0, 2.0, 0.0]), np.array([1.0, 2.0])),
           case_1d(np.array([2.0, -1.0, 3.0, 0.5, 1.0, -2.0, 4.0]),
                   np.array([1.0, 2.0, 3.0, 4.0]))),
    result=ArrayResult(), diagnosers=_fft_diagnosers(_fft1d),
))

check_conv2d_fft = register(Check(
    name="check_conv2d_fft", function="conv2d_fft(x, w)", reference=conv2d, draw=_draw_conv,
    forbidden=FORBIDDEN,
    fixed=FIXED_CONV, result=ArrayResult(), diagnosers=_fft_diagnosers(_fft2d),
    stand_ins={"correlate1d_fft": correlate1d},
))
