"""Helpers the labs' check modules share: inputs for cases, mistakes that happen only in some
cases, the geometry of a sliding window, and the 1-D filters of lab01 and lab07.

Random values are drawn by :func:`rounded_normal`: two decimals keep the feedback's numbers
readable. A helper here must draw from a generator exactly as the code it replaced did: the labs'
hidden seeds are fixed, and each must keep drawing the same cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import convnb
from convnb.windows import sliding_windows

from .cases import Case

# Sums over the wrong axes that a student's db of a convolution takes (the right one: (0, 2, 3)).
DB_WRONG_AXES = ((2, 3), (0,), (0, 2), (0, 3))


# --- Inputs ---------------------------------------------------------------------------------------

def rounded_normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Standard normal values rounded to two decimals, of shape ``shape``."""
    return np.round(rng.normal(size=shape), 2)


def seeded_normal(seed: int, *shape: int) -> np.ndarray:
    """:func:`rounded_normal` from a generator of its own: a fixed case that looks random."""
    return rounded_normal(np.random.default_rng(seed), *shape)


def arange_grid(*shape: int) -> np.ndarray:
    """``0.0, 1.0, 2.0, ...`` in row-major order, of shape ``shape``: every entry easy to find."""
    return np.arange(float(np.prod(shape))).reshape(shape)


def draw_part(rng: np.random.Generator, parts: Sequence[str]) -> str:
    """One of ``parts``, for a case that judges one part of a result (:attr:`.cases.Case.part`)."""
    return str(rng.choice(parts))


def draw_kernel_hw(rng: np.random.Generator, most: int = 3, widen_to: int = 2) -> tuple[int, int]:
    """A kernel's ``(KH, KW)``, each from 1 to ``most``; a 1 x 1 kernel, which cannot tell a flip
    from no flip, is widened to 1 x ``widen_to``."""
    KH, KW = (int(k) for k in rng.integers(1, most + 1, size=2))
    return (KH, widen_to) if KH * KW == 1 else (KH, KW)


# --- Mistakes that only some cases show -----------------------------------------------------------

def only_if(condition: bool, value: Any) -> Any:
    """``value`` where a mistake shows (``condition``), else ``None``: a diagnoser's "not here"."""
    return value if condition else None


def made_if(condition: bool, make: Callable[[], Any]) -> Any:
    """``make()`` where ``condition``, else ``None``: :func:`only_if` for a mistaken value that
    is slow, or fails, to compute in the cases where it cannot happen."""
    return make() if condition else None


def item_of(index: int, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(...)[index]`` (``None`` where ``fn`` returns ``None``): one part of a function that
    returns a tuple, for a reference or a diagnoser."""
    def item(*args: Any, **kwargs: Any) -> Any:
        value = fn(*args, **kwargs)
        return None if value is None else value[index]
    return item


# --- Sliding windows over (N, C, H, W) ------------------------------------------------------------

def output_hw(x: np.ndarray, KH: int, KW: int, stride: int = 1, pad: int = 0) -> tuple[int, int]:
    """``(H_out, W_out)`` of a ``KH x KW`` window sliding over ``x`` ``(N, C, H, W)``."""
    H, W = x.shape[2:]
    return (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1


def pad_hw(a: np.ndarray, pad: int) -> np.ndarray:
    """``a`` ``(N, C, H, W)`` with ``pad`` zeros on every side of H and W."""
    return np.pad(a, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def crop_hw(a: np.ndarray, pad: int) -> np.ndarray:
    """``a`` ``(N, C, H, W)`` without ``pad`` rows and columns on every side."""
    return np.ascontiguousarray(a[:, :, pad:a.shape[2] - pad, pad:a.shape[3] - pad])


def receptive_fields(x: np.ndarray, KH: int, KW: int, stride: int = 1, pad: int = 0,
                     step: int | None = None) -> np.ndarray:
    """Every window of ``x`` ``(N, C, H, W)`` zero-padded by ``pad``, a view ``(N, C, H_out,
    W_out, KH, KW)``; ``step`` replaces the stride between windows (not the output size) to model
    a mistake."""
    size = output_hw(x, KH, KW, stride, pad)
    step = stride if step is None else step
    return sliding_windows(pad_hw(x, pad), (KH, KW), (step, step), (1, 1), size)


# The im2col layout of lab02 and lab07: rows numbered (c, u, v), columns (n, i, j).
ROWS_CUV_COLS_NIJ = (1, 4, 5, 0, 2, 3)


def patch_matrix(windows: np.ndarray, order: tuple[int, ...] = ROWS_CUV_COLS_NIJ) -> np.ndarray:
    """The windows ``(N, C, H_out, W_out, KH, KW)`` as a matrix: the first three axes of
    ``order`` number its rows, the other three its columns."""
    t = windows.transpose(order)
    return np.ascontiguousarray(t.reshape(int(np.prod(t.shape[:3])), -1))


def im2col(x: np.ndarray, KH: int, KW: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The labs' patch matrix. Shapes: x (N, C, H, W) -> (C*KH*KW, N*H_out*W_out)."""
    return patch_matrix(receptive_fields(x, KH, KW, stride, pad))


def stamped_one_apart(x: np.ndarray, w: np.ndarray, size: tuple[int, int],
                      pad: int) -> np.ndarray:
    """A transposed convolution that ignores its stride: the kernels ``w`` ``(C, F, KH, KW)``
    stamped by every entry of ``x`` ``(N, C, H, W)`` one pixel apart, on a canvas of ``size``
    (the output's, before cropping), then cropped by ``pad``. Shapes: -> (N, F, *size) cropped."""
    stamps = convnb.conv_transpose2d(x, w)
    canvas = np.zeros((*stamps.shape[:2], *size))
    canvas[:, :, :stamps.shape[2], :stamps.shape[3]] = stamps
    return crop_hw(canvas, pad)


# --- 1-D: a signal is an image one row high -------------------------------------------------------

def filter1d(fn: Callable[..., np.ndarray], x: np.ndarray, w: np.ndarray,
             mode: str = "valid") -> np.ndarray:
    """``fn`` (``convnb.correlate2d`` or ``convolve2d``) on the signals ``x`` (L,), ``w`` (K,)."""
    return np.ascontiguousarray(fn(x[None, :], w[None, :], mode)[0])


def correlate1d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The 'valid' cross-correlation of ``x`` (L,) with ``w`` (K,). Shapes: -> (L - K + 1,)."""
    return filter1d(convnb.correlate2d, x, w)


def case_1d(x: np.ndarray, w: np.ndarray) -> Case:
    return Case((x, w), f"x {x.shape}, w {w.shape}", x.size + w.size)


def draw_1d(rng: np.random.Generator, longest: int, widest: int) -> Case:
    """A signal of 3 to ``longest`` values and a kernel of 2 to ``widest`` (no longer)."""
    length = int(rng.integers(3, longest + 1))
    k = int(rng.integers(2, min(length, widest) + 1))
    return case_1d(rounded_normal(rng, length), rounded_normal(rng, k))
