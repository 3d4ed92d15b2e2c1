"""Checks for lab02_conv_forward: the convolution layer's forward pass, with loops and with im2col.

The answer key is convnb: ``conv2d`` (cross-correlation with bias, stride and zero padding, as
``torch.nn.functional.conv2d``), ``windows.pad2d`` for the padded input and
``windows.sliding_windows`` for the im2col matrix (:func:`.common.im2col`, shared with lab07).
The lab's im2col layout::

    cols[c*KH*KW + u*KW + v, n*H_out*W_out + i*W_out + j] == xpad[n, c, i*stride + u, j*stride + v]

Inputs are rounded to two decimals so that the feedback's numbers stay readable.

The layers build on ``zero_pad`` and ``conv_forward_im2col`` on ``im2col``: their checks run them
with the course's versions standing in for those (:attr:`.core.Check.stand_ins`), never with
``conv_forward_loops`` for ``conv_forward_im2col``, which computes the same answer.
"""

from __future__ import annotations

import numpy as np

import convnb
from convnb.data import lecture_conv_example
from convnb.windows import pad2d as _convnb_pad2d

from .common import (
    ROWS_CUV_COLS_NIJ,
    arange_grid,
    draw_kernel_hw,
    im2col,
    made_if,
    output_hw,
    patch_matrix,
    receptive_fields,
    rounded_normal,
)
from .compare import ArrayResult
from .core import Case, Check, Diagnoser
from .detect import COURSE_RULES
from .registry import register

__all__ = ["check_conv_forward_im2col", "check_conv_forward_loops", "check_im2col",
           "check_zero_pad"]

# The lab's rules: "write the operations yourself with NumPy (not with convnb, scipy or
# np.lib.stride_tricks)": the course's default.
FORBIDDEN = COURSE_RULES


# --- The answers ----------------------------------------------------------------------------------

def zero_pad(x: np.ndarray, pad: int) -> np.ndarray:
    return np.array(_convnb_pad2d(x, (pad, pad, pad, pad)))


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1,
                 pad: int = 0) -> np.ndarray:
    return convnb.conv2d(x, w, b, stride=stride, padding=pad)


# --- zero_pad -------------------------------------------------------------------------------------

def _case_pad(x: np.ndarray, pad: int) -> Case:
    return Case((x, pad), f"x {x.shape}, pad {pad}", x.size)


def _draw_pad(rng: np.random.Generator) -> Case:
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    h, w = (int(k) for k in rng.integers(1, 6, size=2))
    return _case_pad(rounded_normal(rng, n, c, h, w), int(rng.choice([0, 1, 1, 2, 2, 3])))


def _np_pad(widths):
    """A mistaken padding: ``np.pad`` with ``widths(pad)`` (zeros), when ``pad > 0``."""
    return lambda x, pad: made_if(pad > 0, lambda: np.pad(x, widths(pad)))


check_zero_pad = register(Check(
    name="check_zero_pad", function="zero_pad(x, pad)", reference=zero_pad, draw=_draw_pad,
    forbidden=FORBIDDEN,
    fixed=(_case_pad(arange_grid(1, 1, 2, 3), 1), _case_pad(arange_grid(2, 3, 2, 2), 2),
           _case_pad(arange_grid(1, 2, 3, 3), 0)),
    result=ArrayResult(),
    diagnosers=[
        Diagnoser("pad_wrong_axes", _np_pad(lambda p: p)),
        Diagnoser("pad_wrong_axes", _np_pad(lambda p: ((0, 0), (p, p), (p, p), (0, 0)))),
        Diagnoser("pad_wrong_axes", _np_pad(lambda p: ((p, p), (p, p), (0, 0), (0, 0)))),
        Diagnoser("pad_wrong_axes", _np_pad(lambda p: ((0, 0), (0, 0), (p, p), (0, 0)))),
        Diagnoser("pad_wrong_axes", _np_pad(lambda p: ((0, 0), (0, 0), (0, 0), (p, p)))),
        Diagnoser("pad_one_side", _np_pad(lambda p: ((0, 0), (0, 0), (p, 0), (p, 0)))),
        Diagnoser("pad_one_side", _np_pad(lambda p: ((0, 0), (0, 0), (0, p), (0, p)))),
    ],
))


# --- The convolution layer, two ways --------------------------------------------------------------

def _case_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> Case:
    return Case((x, w, b, stride, pad),
                f"x {x.shape}, w {w.shape}, b {b.shape}, stride {stride}, pad {pad}",
                x.size + w.size)


def _draw_conv(rng: np.random.Generator) -> Case:
    n, c, f = int(rng.choice([1, 2, 2])), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = (int(k) for k in rng.integers(3, 8, size=2))
    kh, kw = draw_kernel_hw(rng)
    stride, pad = int(rng.choice([1, 1, 2, 3])), int(rng.choice([0, 1, 1, 2]))
    return _case_conv(rounded_normal(rng, n, c, h, w), rounded_normal(rng, f, c, kh, kw),
                      rounded_normal(rng, f), stride, pad)


# The lecture's 5x5x3 input with two 3x3x3 filters, stride 2, pad 1 (lecture 001), NCHW.
LECTURE_X, LECTURE_W, LECTURE_B = lecture_conv_example()

W_SMALL = np.array([  # three 2x2 filters on two channels
    [[[1, 0], [0, -1]], [[0, 2], [1, 0]]],
    [[[0, 1], [1, 1]], [[-1, 0], [0, 0]]],
    [[[2, 0], [0, 0]], [[0, 0], [0, 3]]],
], dtype=float)
W_WIDE = np.array([[[[1, 2, 0], [0, -1, 1]], [[0, 1, 3], [2, 0, -2]]]], dtype=float)

FIXED_CONV = (
    _case_conv(LECTURE_X, LECTURE_W, LECTURE_B, 2, 1),
    _case_conv(arange_grid(2, 2, 4, 4) % 5, W_SMALL, np.array([0.5, -1.0, 2.0]), 1, 0),
    _case_conv(arange_grid(1, 2, 5, 6) % 7, W_WIDE, np.array([1.5]), 3, 2),
)


def _conv_mistakes() -> list[Diagnoser]:
    """Classic mistakes of ``conv(x, w, b, stride, pad)``, whatever the algorithm."""
    def one_channel(keep):
        return lambda x, w, b, s=1, p=0: made_if(x.shape[1] > 1, lambda: conv_forward(
            x[:, keep], w[:, keep], b, s, p))

    def stride_cropped(x, w, b, s=1, p=0):
        rows, cols = output_hw(x, *w.shape[2:], s, p)
        return made_if(s > 1, lambda: conv_forward(x, w, b, 1, p)[..., :rows, :cols])

    def pad_one_side(before: bool):
        def wrong(x, w, b, s=1, p=0):
            widths = ((0, 0), (0, 0)) + (((p, 0), (p, 0)) if before else ((0, p), (0, p)))
            return made_if(p > 0, lambda: conv_forward(np.pad(x, widths), w, b, s, 0))
        return wrong

    def size_without_pad(x, w, b, s=1, p=0):
        rows, cols = output_hw(x, *w.shape[2:], s, 0)
        return made_if(p > 0, lambda: conv_forward(x, w, b, s, p)[..., :rows, :cols])

    return [
        Diagnoser("conv_flipped", lambda x, w, b, s=1, p=0: conv_forward(
            x, w[..., ::-1, ::-1], b, s, p)),
        Diagnoser("conv_channels_not_summed", one_channel(slice(-1, None))),
        Diagnoser("conv_channels_not_summed", one_channel(slice(0, 1))),
        Diagnoser("conv_bias_missing", lambda x, w, b, s=1, p=0: conv_forward(x, w, 0 * b, s, p)),
        Diagnoser("conv_bias_per_channel", lambda x, w, b, s=1, p=0: made_if(
            x.shape[1] > 1, lambda: conv_forward(x, w, x.shape[1] * b, s, p))),
        Diagnoser("conv_stride_ignored", lambda x, w, b, s=1, p=0: made_if(
            s > 1, lambda: conv_forward(x, w, b, 1, p))),
        Diagnoser("conv_stride_ignored", stride_cropped),
        Diagnoser("conv_pad_ignored", lambda x, w, b, s=1, p=0: made_if(
            p > 0, lambda: conv_forward(x, w, b, s, 0))),
        Diagnoser("pad_one_side", pad_one_side(before=True)),
        Diagnoser("pad_one_side", pad_one_side(before=False)),
        Diagnoser("conv_output_size", lambda x, w, b, s=1, p=0: conv_forward(
            x, w, b, s, p)[..., :-1, :-1]),
        Diagnoser("conv_output_size", size_without_pad),
    ]


check_conv_forward_loops = register(Check(
    name="check_conv_forward_loops", function="conv_forward_loops(x, w, b, stride, pad)",
    forbidden=FORBIDDEN,
    reference=conv_forward, draw=_draw_conv, fixed=FIXED_CONV, result=ArrayResult(),
    diagnosers=_conv_mistakes(), stand_ins={"zero_pad": zero_pad},
))


# --- im2col ---------------------------------------------------------------------------------------

def _case_cols(x: np.ndarray, KH: int, KW: int, stride: int, pad: int) -> Case:
    return Case((x, KH, KW, stride, pad),
                f"x {x.shape}, KH {KH}, KW {KW}, stride {stride}, pad {pad}", x.size)


def _draw_cols(rng: np.random.Generator) -> Case:
    n, c = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    h, w = (int(k) for k in rng.integers(2, 7, size=2))
    kh, kw = int(rng.integers(1, min(h, 3) + 1)), int(rng.integers(1, min(w, 3) + 1))
    return _case_cols(rounded_normal(rng, n, c, h, w), kh, kw, int(rng.choice([1, 1, 2, 3])),
                      int(rng.choice([0, 0, 1, 2])))


def _cols_mistake(order=ROWS_CUV_COLS_NIJ, when=lambda x, s, p: True, stride=None, pad=None,
                  step=None):
    """im2col with the axes in ``order``, or another stride, padding or step, when ``when``."""
    def wrong(x, KH, KW, s=1, p=0):
        if not when(x, s, p):
            return None
        patches = receptive_fields(x, KH, KW, s if stride is None else stride(s),
                                   p if pad is None else pad(p), None if step is None else step(s))
        return patch_matrix(patches, order)
    return wrong


check_im2col = register(Check(
    name="check_im2col", function="im2col(x, KH, KW, stride, pad)", reference=im2col,
    forbidden=FORBIDDEN,
    draw=_draw_cols,
    fixed=(_case_cols(arange_grid(1, 1, 3, 3), 2, 2, 1, 0),
           _case_cols(arange_grid(2, 2, 3, 4), 2, 3, 1, 1),
           _case_cols(arange_grid(2, 3, 5, 5), 3, 3, 2, 1)),
    result=ArrayResult(),
    diagnosers=[
        Diagnoser("im2col_transposed", lambda *args: im2col(*args).T),
        Diagnoser("im2col_column_order", _cols_mistake((1, 4, 5, 2, 3, 0),
                                                       lambda x, s, p: x.shape[0] > 1)),
        Diagnoser("im2col_patch_order", _cols_mistake((4, 5, 1, 0, 2, 3),
                                                      lambda x, s, p: x.shape[1] > 1)),
        Diagnoser("conv_stride_ignored", _cols_mistake(when=lambda x, s, p: s > 1,
                                                       stride=lambda s: 1)),
        Diagnoser("conv_stride_ignored", _cols_mistake(when=lambda x, s, p: s > 1,
                                                       step=lambda s: 1)),
        Diagnoser("conv_pad_ignored", _cols_mistake(when=lambda x, s, p: p > 0, pad=lambda p: 0)),
        Diagnoser("conv_output_size", lambda x, KH, KW, s=1, p=0: patch_matrix(
            receptive_fields(x, KH, KW, s, p)[:, :, :-1, :-1], ROWS_CUV_COLS_NIJ)),
    ],
    stand_ins={"zero_pad": zero_pad},
))


# --- The layer as one matrix product --------------------------------------------------------------

def _product(x, w, b, s, p, order=ROWS_CUV_COLS_NIJ, w_order=(0, 1, 2, 3)):
    """``w_mat @ cols + b``: (F, columns), the kernels flattened in ``w_order``."""
    F, _, KH, KW = w.shape
    cols = patch_matrix(receptive_fields(x, KH, KW, s, p), order)
    return w.transpose(w_order).reshape(F, -1) @ cols + b[:, None]


def _reshaped_as_nfhw(x, w, b, s=1, p=0):
    """The product reshaped straight to (N, F, H_out, W_out), without moving F."""
    size = output_hw(x, *w.shape[2:], s, p)
    return made_if(x.shape[0] > 1 and w.shape[0] > 1,
               lambda: _product(x, w, b, s, p).reshape(x.shape[0], w.shape[0], *size))


def _columns_nij_read_as_ijn(x, w, b, s=1, p=0):
    """Columns in (i, j, n) order, then reshaped as if they were in (n, i, j) order."""
    size, N, F = output_hw(x, *w.shape[2:], s, p), x.shape[0], w.shape[0]
    return made_if(N > 1, lambda: _product(x, w, b, s, p, order=(1, 4, 5, 2, 3, 0)).reshape(
        F, N, *size).transpose(1, 0, 2, 3))


def _orders_differ(order, w_order):
    """Patches flattened in ``order``, kernels in ``w_order``: they pair the wrong numbers."""
    def wrong(x, w, b, s=1, p=0):
        size, N, F = output_hw(x, *w.shape[2:], s, p), x.shape[0], w.shape[0]
        return made_if(x.shape[1] > 1, lambda: _product(x, w, b, s, p, order, w_order).reshape(
            F, N, *size).transpose(1, 0, 2, 3))
    return wrong


check_conv_forward_im2col = register(Check(
    name="check_conv_forward_im2col", function="conv_forward_im2col(x, w, b, stride, pad)",
    forbidden=FORBIDDEN,
    reference=conv_forward, draw=_draw_conv, fixed=FIXED_CONV, result=ArrayResult(),
    diagnosers=[Diagnoser("conv_output_reshape", _reshaped_as_nfhw),
                Diagnoser("im2col_column_order", _columns_nij_read_as_ijn),
                Diagnoser("im2col_patch_order", _orders_differ((4, 5, 1, 0, 2, 3), (0, 1, 2, 3))),
                Diagnoser("im2col_patch_order", _orders_differ(ROWS_CUV_COLS_NIJ, (0, 2, 3, 1))),
                *_conv_mistakes()],
    stand_ins={"zero_pad": zero_pad, "im2col": im2col},
))
