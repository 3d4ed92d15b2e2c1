"""Checks for lab01_correlation: correlation and convolution in 1-D and 2-D, padding, output sizes.

The answer key is convnb: ``correlate2d`` / ``convolve2d`` (scipy's semantics) for the filters,
``windows.pad2d`` for padding, ``conv_output_size`` for the arithmetic. Inputs are rounded to two
decimals so that the feedback's numbers stay readable.

A filter may build on the smaller ones (``convolve1d`` on ``correlate1d``, a 2-D filter on the 1-D
ones row by row, the sizes on ``output_size``): their checks run it with the course's versions
standing in for those (:attr:`.core.Check.stand_ins`).
"""

from __future__ import annotations

import numpy as np

import convnb
from convnb.windows import pad2d as _convnb_pad2d

from .common import arange_grid, case_1d, correlate1d, draw_1d, filter1d, only_if, rounded_normal
from .compare import ArrayResult, IntResult
from .core import Case, Check, Diagnoser
from .detect import COURSE_RULES, STRIDE_TRICKS
from .registry import register

__all__ = [
    "check_convolve1d", "check_convolve2d", "check_correlate1d", "check_correlate2d",
    "check_output_size", "check_pad2d",
]

# The lab's rules: "write the operations yourself with NumPy (not with convnb, scipy.signal,
# np.convolve or np.correlate)". NumPy's window views are NumPy, and the rules allow them.
FORBIDDEN = COURSE_RULES.allowing(*STRIDE_TRICKS)

NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}


# --- 1-D: a signal is an image one row high (correlate1d: common.correlate1d) --------------------

def convolve1d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return filter1d(convnb.convolve2d, x, w)


def output_size(i: int, k: int, s: int = 1, p: int = 0) -> int:
    return int(convnb.conv_output_size(i, k, s, p))


def _draw1d(rng: np.random.Generator) -> Case:
    return draw_1d(rng, longest=12, widest=5)


FIXED_1D = (
    case_1d(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, 0.0, -1.0])),
    case_1d(np.array([0.0, 1.0, 0.0, 0.0]), np.array([1.0, 2.0])),
    case_1d(np.array([2.0, -1.0, 3.0]), np.array([1.0, 2.0, 3.0])),
)


def _size_mistakes(fn) -> list[Diagnoser]:
    """Wrong output sizes of a 'valid' filter ``fn(x, w)`` (1-D or 2-D, same code)."""
    def too_small(*args):
        out = fn(*args)
        return out[(slice(None, -1),) * out.ndim]

    def too_large(*args):
        out = fn(*args)
        return np.pad(out, [(0, 1)] * out.ndim)

    return [Diagnoser("output_too_small", too_small), Diagnoser("output_too_large", too_large)]


def _mode_mistakes(convnb_fn, one_d: bool) -> list[Diagnoser]:
    def mode(name):
        if one_d:
            return lambda x, w: filter1d(convnb_fn, x, w, name)
        return lambda x, w, stride=1: convnb_fn(x, w, name)[::stride, ::stride]

    return [Diagnoser("full_mode", mode("full")), Diagnoser("same_mode", mode("same"))]


check_correlate1d = register(Check(
    name="check_correlate1d", function="correlate1d(x, w)", reference=correlate1d,
    forbidden=FORBIDDEN,
    draw=_draw1d, fixed=FIXED_1D, result=ArrayResult(),
    diagnosers=[Diagnoser("flipped", lambda x, w: correlate1d(x, w[::-1])),
                *_mode_mistakes(convnb.correlate2d, one_d=True), *_size_mistakes(correlate1d)],
))

check_convolve1d = register(Check(
    name="check_convolve1d", function="convolve1d(x, w)", reference=convolve1d,
    forbidden=FORBIDDEN,
    draw=_draw1d, fixed=FIXED_1D, result=ArrayResult(),
    diagnosers=[Diagnoser("not_flipped", correlate1d),
                *_mode_mistakes(convnb.convolve2d, one_d=True), *_size_mistakes(convolve1d)],
    stand_ins={"correlate1d": correlate1d},
))


# --- 2-D ------------------------------------------------------------------------------------------

def correlate2d(x: np.ndarray, w: np.ndarray, stride: int = 1) -> np.ndarray:
    return np.ascontiguousarray(convnb.correlate2d(x, w, "valid")[::stride, ::stride])


def convolve2d(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return convnb.convolve2d(x, w, "valid")


def _case2d(x: np.ndarray, w: np.ndarray, stride: int | None = None) -> Case:
    args, label = (x, w), f"x {x.shape}, w {w.shape}"
    if stride is not None:
        args, label = (x, w, stride), f"{label}, stride {stride}"
    return Case(args, label, x.size + w.size)


def _draw2d(rng: np.random.Generator, with_stride: bool) -> Case:
    h, w = (int(n) for n in rng.integers(2, 9, size=2))
    kh, kw = int(rng.integers(1, min(h, 4) + 1)), int(rng.integers(1, min(w, 4) + 1))
    if kh * kw == 1:
        kw = 2  # a 1 x 1 kernel cannot tell a flip from no flip
    stride = int(rng.choice([1, 2, 2, 3])) if with_stride else None
    return _case2d(rounded_normal(rng, h, w), rounded_normal(rng, kh, kw), stride)


def _stride_ignored(x, w, stride=1):
    return None if stride == 1 else convnb.correlate2d(x, w, "valid")


def _stride_ignored_cropped(x, w, stride=1):
    if stride == 1:
        return None
    rows, cols = correlate2d(x, w, stride).shape
    return convnb.correlate2d(x, w, "valid")[:rows, :cols]


check_correlate2d = register(Check(
    name="check_correlate2d", function="correlate2d(x, w, stride)", reference=correlate2d,
    forbidden=FORBIDDEN,
    draw=lambda rng: _draw2d(rng, with_stride=True),
    fixed=(
        _case2d(arange_grid(4, 4), np.array([[1.0, 0.0], [0.0, -1.0]]), 1),
        _case2d(arange_grid(5, 5), np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]]),
                2),
        _case2d(arange_grid(4, 6) % 5, np.array([[1.0, -1.0, 2.0], [0.0, 3.0, 1.0]]), 1),
    ),
    result=ArrayResult(),
    diagnosers=[Diagnoser("flipped", lambda x, w, stride=1: correlate2d(x, w[::-1, ::-1], stride)),
                Diagnoser("stride_ignored", _stride_ignored),
                Diagnoser("stride_ignored", _stride_ignored_cropped),
                *_mode_mistakes(convnb.correlate2d, one_d=False), *_size_mistakes(correlate2d)],
    stand_ins={"correlate1d": correlate1d, "output_size": output_size},
))

check_convolve2d = register(Check(
    name="check_convolve2d", function="convolve2d(x, w)", reference=convolve2d,
    forbidden=FORBIDDEN,
    draw=lambda rng: _draw2d(rng, with_stride=False),
    fixed=(
        # kernels unlike their transposes and turned copies, on images that tell them apart
        # (on arange_grid(5, 6) % 7, constant along diagonals, w.T gives the convolution)
        _case2d(arange_grid(4, 4), np.array([[1.0, 2.0], [3.0, -1.0]])),
        _case2d(np.fromfunction(lambda i, j: (i * i + 2 * j) % 7, (5, 6)), convnb.sobel(0)),
        _case2d(arange_grid(6, 6) % 4, convnb.blur_5x5(normalize=False)),
    ),
    result=ArrayResult(),
    diagnosers=[Diagnoser("not_flipped", lambda x, w: correlate2d(x, w)),
                Diagnoser("flipped_one_axis", lambda x, w: correlate2d(x, w[::-1])),
                Diagnoser("flipped_one_axis", lambda x, w: correlate2d(x, w[:, ::-1])),
                Diagnoser("transposed_kernel", lambda x, w: correlate2d(x, w.T)),
                *_mode_mistakes(convnb.convolve2d, one_d=False), *_size_mistakes(convolve2d)],
    stand_ins={"correlate1d": correlate1d, "convolve1d": convolve1d, "correlate2d": correlate2d,
               "output_size": output_size},
))


# --- Padding --------------------------------------------------------------------------------------

def _pair(p: int | tuple[int, int]) -> tuple[int, int]:
    return (p, p) if isinstance(p, int) else (int(p[0]), int(p[1]))


def pad2d(x: np.ndarray, p: int | tuple[int, int], mode: str = "zeros") -> np.ndarray:
    rows, cols = _pair(p)
    return np.ascontiguousarray(_convnb_pad2d(x, (rows, rows, cols, cols), mode))


def _numpy_pad(widths, numpy_mode: str, when=lambda mode, rows, cols: True):
    """A mistaken padding: ``np.pad`` with ``widths(rows, cols)`` and ``numpy_mode`` (a string,
    or ``"same"`` for the mode asked for), applied when ``when(mode, rows, cols)``."""
    def wrong(x, p, mode="zeros"):
        rows, cols = _pair(p)
        if not when(mode, rows, cols):
            return None
        return np.pad(x, widths(rows, cols),
                      mode=NUMPY_MODE[mode] if numpy_mode == "same" else numpy_mode)
    return wrong


def _case_pad(x: np.ndarray, p: int | tuple[int, int], mode: str) -> Case:
    return Case((x, p, mode), f"x {x.shape}, p {p}, mode {mode!r}", x.size)


def _draw_pad(rng: np.random.Generator) -> Case:
    h, w = (int(n) for n in rng.integers(2, 7, size=2))
    mode = str(rng.choice(list(NUMPY_MODE)))
    if rng.random() < 0.25:
        p = int(rng.integers(1, min(h, w)))
    else:
        rows = int(rng.integers(0, h))
        cols = int(rng.choice([c for c in range(w) if c != rows] or [0]))
        p = (rows, cols)
    return _case_pad(rounded_normal(rng, h, w), p, mode)


def _different(mode: str, rows: int, cols: int) -> bool:
    return rows != cols


def _copying(mode: str, rows: int, cols: int) -> bool:
    return mode != "zeros"

check_pad2d = register(Check(
    name="check_pad2d", function="pad2d(x, p, mode)", reference=pad2d, draw=_draw_pad,
    forbidden=FORBIDDEN,
    fixed=tuple(_case_pad(arange_grid(3, 4), p, mode) for p, mode in (
        (1, "zeros"), ((1, 2), "zeros"), ((1, 2), "reflect"), ((2, 1), "replicate"))),
    result=ArrayResult(),
    diagnosers=[
        Diagnoser("pad_axes_swapped",
                  _numpy_pad(lambda r, c: ((c, c), (r, r)), "same", _different)),
        Diagnoser("pad_numpy_pair", _numpy_pad(lambda r, c: (r, c), "same", _different)),
        Diagnoser("pad_one_side", _numpy_pad(lambda r, c: ((r, 0), (c, 0)), "same")),
        Diagnoser("pad_one_side", _numpy_pad(lambda r, c: ((0, r), (0, c)), "same")),
        Diagnoser("pad_zeros_instead",
                  _numpy_pad(lambda r, c: ((r, r), (c, c)), "constant", _copying)),
        Diagnoser("pad_symmetric", _numpy_pad(lambda r, c: ((r, r), (c, c)), "symmetric",
                                              lambda mode, r, c: mode == "reflect")),
        Diagnoser("pad_reflect_replicate_swapped", _numpy_pad(
            lambda r, c: ((r, r), (c, c)), "edge", lambda mode, r, c: mode == "reflect")),
        Diagnoser("pad_reflect_replicate_swapped", _numpy_pad(
            lambda r, c: ((r, r), (c, c)), "reflect", lambda mode, r, c: mode == "replicate")),
        Diagnoser("pad_not_zero", _numpy_pad(lambda r, c: ((r, r), (c, c)), "edge",
                                             lambda mode, r, c: mode == "zeros")),
        Diagnoser("pad_not_zero", _numpy_pad(lambda r, c: ((r, r), (c, c)), "reflect",
                                             lambda mode, r, c: mode == "zeros")),
    ],
))


# --- Output size ----------------------------------------------------------------------------------

def _case_size(i: int, k: int, s: int, p: int) -> Case:
    return Case((i, k, s, p), f"i={i}, k={k}, s={s}, p={p}", i)


def _draw_size(rng: np.random.Generator) -> Case:
    while True:
        i, k, s, p = (int(rng.integers(1, 41)), int(rng.integers(1, 8)),
                      int(rng.integers(1, 5)), int(rng.integers(0, 4)))
        if k <= i + 2 * p:
            return _case_size(i, k, s, p)


check_output_size = register(Check(
    name="check_output_size", function="output_size(i, k, s, p)",
    forbidden=FORBIDDEN,
    reference=output_size, draw=_draw_size,
    fixed=(_case_size(5, 3, 2, 1), _case_size(83, 9, 1, 0), _case_size(32, 5, 1, 2),
           _case_size(7, 3, 3, 0), _case_size(10, 4, 3, 1)),
    result=IntResult(), n_random=16,
    diagnosers=[
        Diagnoser("size_true_division", lambda i, k, s, p: (i + 2 * p - k) / s + 1),
        Diagnoser("size_stride_ignored", lambda i, k, s, p: only_if(s > 1, i + 2 * p - k + 1)),
        Diagnoser("size_pad_once", lambda i, k, s, p: only_if(p > 0, (i + p - k) // s + 1)),
        Diagnoser("size_pad_ignored", lambda i, k, s, p: only_if(p > 0, (i - k) // s + 1)),
        Diagnoser("size_ceil", lambda i, k, s, p: -(-(i + 2 * p - k) // s) + 1),
        Diagnoser("size_off_by_one", lambda i, k, s, p: (i + 2 * p - k) // s),
        Diagnoser("size_off_by_one", lambda i, k, s, p: (i + 2 * p - k) // s + 2),
    ],
))
