"""Checks for lab06_variants: transposed convolution and upsampling, dilated convolution and
receptive fields, depthwise-separable convolution and what it saves.

The answer key is convnb: ``conv_transpose2d``, ``conv2d`` (with ``dilation`` and ``groups``),
``receptive_field``, ``conv_params`` / ``conv_macs`` / ``depthwise_separable_params``. Inputs are
rounded to two decimals so that the feedback's numbers stay readable.

``depthwise_separable`` may build on ``dilated_conv`` (a plain convolution at dilation 1, channel
by channel and then pointwise): its check runs it with the course's ``dilated_conv`` standing in
for the student's (:attr:`.core.Check.stand_ins`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import convnb

from .common import (
    arange_grid,
    draw_kernel_hw,
    made_if,
    pad_hw,
    rounded_normal,
    seeded_normal,
    stamped_one_apart,
)
from .compare import ArrayResult, IntResult
from .core import Case, Check, Diagnoser
from .detect import COURSE_RULES, STRIDE_TRICKS
from .registry import register

__all__ = [
    "check_conv_transpose", "check_depthwise_separable", "check_dilated_conv",
    "check_receptive_field", "check_separable_macs", "check_separable_params",
    "check_upsample_weights",
]

# The lab's rules: "write the operations yourself with NumPy (not with convnb, scipy or a
# deep-learning library)"; they do not forbid NumPy's window views.
FORBIDDEN = COURSE_RULES.allowing(*STRIDE_TRICKS)


# --- Transposed convolution -----------------------------------------------------------------------

def conv_transpose(x: np.ndarray, w: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    return convnb.conv_transpose2d(x, w, stride=stride, padding=pad)


def _case_transpose(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> Case:
    return Case((x, w, stride, pad), f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad}",
                x.size + w.size)


def _draw_transpose(rng: np.random.Generator) -> Case:
    while True:
        N, C, F = (int(n) for n in rng.integers(1, [3, 4, 4]))
        H, W, KH, KW = (int(n) for n in rng.integers([1, 1, 1, 1], [5, 5, 5, 5]))
        if KH * KW == 1:
            KW = 3  # a 1 x 1 kernel cannot tell a flip from no flip
        stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if min((H - 1) * stride + KH, (W - 1) * stride + KW) - 2 * pad >= 2:
            return _case_transpose(rounded_normal(rng, N, C, H, W),
                                   rounded_normal(rng, C, F, KH, KW), stride, pad)


def _padded_instead(x, w, stride=1, pad=0):
    return made_if(pad > 0, lambda: pad_hw(conv_transpose(x, w, stride), pad))


def _input_padded(x, w, stride=1, pad=0):
    return made_if(pad > 0, lambda: conv_transpose(pad_hw(x, pad), w, stride))


def _forward_strided(x, w, stride=1, pad=0):
    """The correlation view with the stride of a forward pass instead of zeros between pixels."""
    KH, KW = w.shape[2:]
    kernels = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return made_if(stride > 1 and pad < min(KH, KW), lambda: convnb.conv2d(
        x, kernels, stride=stride, padding=(KH - 1 - pad, KW - 1 - pad)))


def _stride_ignored_transpose(x, w, stride=1, pad=0):
    if stride == 1:
        return None
    (H, W), (KH, KW) = x.shape[2:], w.shape[2:]
    return stamped_one_apart(x, w, ((H - 1) * stride + KH, (W - 1) * stride + KW), pad)


TINY = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])

check_conv_transpose = register(Check(
    name="check_conv_transpose", function="conv_transpose(x, w, stride, pad)",
    forbidden=FORBIDDEN,
    reference=conv_transpose, draw=_draw_transpose,
    fixed=(
        _case_transpose(TINY, np.array([[[[1.0, 0.0], [0.5, -1.0]]]]), 1, 0),
        _case_transpose(TINY, np.array([[[[1.0, 0.0, 2.0], [0.5, -1.0, 0.0], [0.0, 1.0, 1.0]]]]),
                        2, 1),
        _case_transpose(seeded_normal(6001, 2, 3, 3, 2), seeded_normal(6002, 3, 2, 2, 3), 3, 0),
    ),
    result=ArrayResult(),
    diagnosers=[Diagnoser("tconv_not_flipped",
                          lambda x, w, stride=1, pad=0: conv_transpose(x, w[:, :, ::-1, ::-1],
                                                                       stride, pad)),
                Diagnoser("tconv_pad_added", _padded_instead),
                Diagnoser("tconv_pad_added", _input_padded),
                Diagnoser("tconv_forward_stride", _forward_strided),
                Diagnoser("tconv_stride_ignored", _stride_ignored_transpose)],
))


def upsample_weights(C: int, factor: int) -> np.ndarray:
    """The kernels that make ``conv_transpose(x, w, stride=factor)`` repeat every pixel."""
    return np.eye(C)[:, :, None, None] * np.ones((1, 1, factor, factor))


def _case_upsample(C: int, factor: int) -> Case:
    return Case((C, factor), f"C={C}, factor={factor}", C * factor)


check_upsample_weights = register(Check(
    name="check_upsample_weights", function="upsample_weights(C, factor)",
    forbidden=FORBIDDEN,
    reference=upsample_weights,
    draw=lambda rng: _case_upsample(int(rng.integers(1, 5)), int(rng.integers(2, 5))),
    fixed=(_case_upsample(1, 2), _case_upsample(3, 2), _case_upsample(2, 3)),
    result=ArrayResult(), n_random=8,
    diagnosers=[Diagnoser("upsample_mixes_channels",
                          lambda C, factor: np.ones((C, C, factor, factor)))],
))


# --- Dilated convolution and receptive fields -----------------------------------------------------

def dilated_conv(x: np.ndarray, w: np.ndarray, dilation: int = 1, pad: int = 0) -> np.ndarray:
    return convnb.conv2d(x, w, padding=pad, dilation=dilation)


def _case_dilated(x: np.ndarray, w: np.ndarray, dilation: int, pad: int) -> Case:
    return Case((x, w, dilation, pad),
                f"x {x.shape}, w {w.shape}, dilation {dilation}, pad {pad}", x.size + w.size)


def _draw_dilated(rng: np.random.Generator) -> Case:
    N, C, F = (int(n) for n in rng.integers(1, [3, 4, 4]))
    KH, KW = draw_kernel_hw(rng)
    dilation, pad = int(rng.choice([1, 2, 2, 3, 3])), int(rng.integers(0, 3))
    # At least two outputs along each axis.
    H, W = (int(rng.integers(max(1, dilation * (k - 1) + 2 - 2 * pad), dilation * (k - 1) + 6))
            for k in (KH, KW))
    return _case_dilated(rounded_normal(rng, N, C, H, W), rounded_normal(rng, F, C, KH, KW),
                         dilation, pad)


def _dilated_span_dk(x, w, dilation=1, pad=0):
    """Right values, but H_out = H + 2 pad - d*KH + 1: too few rows and columns."""
    if dilation == 1:
        return None
    out = dilated_conv(x, w, dilation, pad)
    rows, cols = out.shape[2] - (dilation - 1), out.shape[3] - (dilation - 1)
    return np.ascontiguousarray(out[:, :, :rows, :cols]) if min(rows, cols) > 0 else None


check_dilated_conv = register(Check(
    name="check_dilated_conv", function="dilated_conv(x, w, dilation, pad)",
    forbidden=FORBIDDEN,
    reference=dilated_conv, draw=_draw_dilated,
    fixed=(
        _case_dilated(arange_grid(1, 1, 7, 7),
                      np.array([[[[1.0, 0.0, -1.0], [0.0, 2.0, 0.0], [1.0, 0.0, 0.0]]]]), 2, 0),
        _case_dilated(seeded_normal(6011, 1, 2, 6, 5), seeded_normal(6012, 2, 2, 2, 2), 3, 1),
        _case_dilated(seeded_normal(6013, 2, 1, 4, 4), seeded_normal(6014, 1, 1, 3, 2), 1, 1),
    ),
    result=ArrayResult(),
    diagnosers=[Diagnoser("dilation_as_stride", lambda x, w, dilation=1, pad=0: made_if(
                    dilation > 1, lambda: convnb.conv2d(x, w, stride=dilation, padding=pad))),
                Diagnoser("dilation_plus_one", lambda x, w, dilation=1, pad=0: dilated_conv(
                    x, w, dilation + 1, pad)),
                Diagnoser("dilation_span_dk", _dilated_span_dk),
                Diagnoser("dilation_ignored", lambda x, w, dilation=1, pad=0: dilated_conv(
                    x, w, 1, pad))],
))


Layers = Sequence[tuple[int, int, int]]


def receptive_field(layers: Layers) -> int:
    return convnb.receptive_field(layers)[0]


def _field(layers: Layers, grow, jump_first: bool = False, jump_factor=lambda k, s, d: s) -> int:
    """A receptive field computed the way a mistake does: ``grow(k, s, d)`` input steps per
    layer, the jump multiplied by ``jump_factor`` before (``jump_first``) or after growing."""
    size, jump = 1, 1
    for k, s, d in layers:
        if jump_first:
            jump *= jump_factor(k, s, d)
        size += grow(k, s, d) * jump
        if not jump_first:
            jump *= jump_factor(k, s, d)
    return size


def _case_field(layers: Layers) -> Case:
    layers = [tuple(int(n) for n in layer) for layer in layers]
    return Case((layers,), f"layers {layers} (each (k, s, d))", len(layers))


def _draw_field(rng: np.random.Generator) -> Case:
    layers = []
    for _ in range(int(rng.integers(1, 6))):
        k, s = int(rng.integers(1, 8)), int(rng.choice([1, 1, 2, 3]))
        d = int(rng.choice([1, 1, 2, 3, 4]))
        layers.append((k, s, d))
    return _case_field(layers)


STACKS = [[(3, 1, d) for d in (1, 2, 4, 8)[:n]] for n in range(1, 5)]  # 3, 7, 15, 31

check_receptive_field = register(Check(
    name="check_receptive_field", function="receptive_field(layers)",
    forbidden=FORBIDDEN,
    reference=receptive_field, draw=_draw_field,
    fixed=(*(_case_field(stack) for stack in STACKS),
           _case_field([(3, 1, 1), (2, 2, 1), (3, 1, 1)]),
           _case_field([(5, 2, 1), (3, 1, 2), (3, 2, 1), (3, 1, 1)])),
    result=IntResult(), n_random=16,
    diagnosers=[
        Diagnoser("rf_dk", lambda layers: _field(layers, lambda k, s, d: d * k - 1)),
        Diagnoser("rf_jump_ignored", lambda layers: _field(
            layers, lambda k, s, d: d * (k - 1), jump_factor=lambda k, s, d: 1)),
        Diagnoser("rf_jump_early", lambda layers: _field(
            layers, lambda k, s, d: d * (k - 1), jump_first=True)),
        Diagnoser("rf_dilation_as_stride", lambda layers: _field(
            layers, lambda k, s, d: k - 1, jump_factor=lambda k, s, d: s * d)),
        Diagnoser("rf_dilation_as_stride", lambda layers: _field(
            layers, lambda k, s, d: d * (k - 1), jump_factor=lambda k, s, d: s * d)),
        Diagnoser("dilation_ignored", lambda layers: _field(layers, lambda k, s, d: k - 1)),
    ],
))


# --- Depthwise-separable convolution --------------------------------------------------------------

def depthwise_separable(x: np.ndarray, w_depth: np.ndarray, w_point: np.ndarray,
                        pad: int = 0) -> np.ndarray:
    depth = convnb.conv2d(x, w_depth, padding=pad, groups=x.shape[1])
    return convnb.conv2d(depth, w_point)


def _case_separable(x: np.ndarray, w_depth: np.ndarray, w_point: np.ndarray, pad: int) -> Case:
    return Case((x, w_depth, w_point, pad),
                f"x {x.shape}, w_depth {w_depth.shape}, w_point {w_point.shape}, pad {pad}",
                x.size + w_depth.size + w_point.size)


def _draw_separable(rng: np.random.Generator) -> Case:
    N, C, F = (int(n) for n in rng.integers(1, [3, 4, 4]))
    KH, KW = draw_kernel_hw(rng, widen_to=3)
    pad = int(rng.integers(0, 2))
    H, W = int(rng.integers(max(1, KH - 2 * pad), KH + 4)), int(rng.integers(KW, KW + 4))
    return _case_separable(rounded_normal(rng, N, C, H, W), rounded_normal(rng, C, 1, KH, KW),
                           rounded_normal(rng, F, C, 1, 1), pad)


def _mixed_depthwise(x, w_depth, w_point, pad=0):
    C = x.shape[1]
    if C == 1:
        return None
    every_channel = np.ascontiguousarray(np.broadcast_to(w_depth, (C, C, *w_depth.shape[2:])))
    return convnb.conv2d(convnb.conv2d(x, every_channel, padding=pad), w_point)


check_depthwise_separable = register(Check(
    name="check_depthwise_separable", function="depthwise_separable(x, w_depth, w_point, pad)",
    forbidden=FORBIDDEN,
    reference=depthwise_separable, draw=_draw_separable,
    fixed=(
        _case_separable(arange_grid(1, 2, 4, 4),
                        np.array([[[[1.0, 0.0], [0.0, -1.0]]], [[[0.0, 1.0], [2.0, 0.0]]]]),
                        np.array([[[[1.0]], [[1.0]]], [[[2.0]], [[-1.0]]], [[[0.0]], [[0.5]]]]),
                        0),
        _case_separable(seeded_normal(6021, 2, 3, 5, 4), seeded_normal(6022, 3, 1, 3, 3),
                        seeded_normal(6023, 2, 3, 1, 1), 1),
    ),
    result=ArrayResult(),
    diagnosers=[
        Diagnoser("dsep_mixes_channels", _mixed_depthwise),
        Diagnoser("sep_no_pointwise", lambda x, w_depth, w_point, pad=0: convnb.conv2d(
            x, w_depth, padding=pad, groups=x.shape[1])),
        Diagnoser("depthwise_flipped", lambda x, w_depth, w_point, pad=0: depthwise_separable(
            x, np.ascontiguousarray(w_depth[:, :, ::-1, ::-1]), w_point, pad)),
    ],
    stand_ins={"dilated_conv": dilated_conv},
))


def separable_params(c_in: int, c_out: int, k: int) -> int:
    return convnb.depthwise_separable_params(c_in, c_out, k, bias=True)


def separable_macs(c_in: int, c_out: int, k: int, h_out: int, w_out: int) -> int:
    return (convnb.conv_macs(c_in, c_in, k, k, h_out, w_out, groups=c_in)
            + convnb.conv_macs(c_in, c_out, 1, 1, h_out, w_out))


def _channels(rng: np.random.Generator) -> int:
    return int(rng.choice([1, 2, 3, 8, 16, 24, 32, 64, 96, 128, 256, 512]))


def _case_params(c_in: int, c_out: int, k: int) -> Case:
    return Case((c_in, c_out, k), f"c_in={c_in}, c_out={c_out}, k={k}", c_in + c_out + k)


def _case_macs(c_in: int, c_out: int, k: int, h_out: int, w_out: int) -> Case:
    return Case((c_in, c_out, k, h_out, w_out),
                f"c_in={c_in}, c_out={c_out}, k={k}, h_out={h_out}, w_out={w_out}",
                c_in + c_out + k + h_out * w_out)


check_separable_params = register(Check(
    name="check_separable_params", function="separable_params(c_in, c_out, k)",
    forbidden=FORBIDDEN,
    reference=separable_params,
    draw=lambda rng: _case_params(_channels(rng), _channels(rng), int(rng.choice([1, 3, 5, 7]))),
    fixed=(_case_params(3, 2, 3), _case_params(32, 64, 3), _case_params(512, 512, 3)),
    result=IntResult(), n_random=10,
    diagnosers=[
        Diagnoser("sep_no_bias", lambda ci, co, k: ci * k * k + ci * co),
        Diagnoser("sep_one_bias", lambda ci, co, k: ci * k * k + ci * co + co),
        Diagnoser("sep_one_bias", lambda ci, co, k: ci * k * k + ci + ci * co),
        Diagnoser("sep_no_pointwise", lambda ci, co, k: ci * k * k + ci),
        Diagnoser("sep_no_pointwise", lambda ci, co, k: ci * k * k),
        Diagnoser("sep_full_depthwise", lambda ci, co, k: ci * ci * k * k + ci + ci * co + co),
    ],
))

check_separable_macs = register(Check(
    name="check_separable_macs", function="separable_macs(c_in, c_out, k, h_out, w_out)",
    forbidden=FORBIDDEN,
    reference=separable_macs,
    draw=lambda rng: _case_macs(_channels(rng), _channels(rng), int(rng.choice([1, 3, 5, 7])),
                                *(int(n) for n in rng.integers(1, 113, size=2))),
    fixed=(_case_macs(3, 2, 3, 4, 4), _case_macs(32, 64, 3, 112, 112),
           _case_macs(512, 512, 3, 14, 14)),
    result=IntResult(), n_random=10,
    diagnosers=[
        Diagnoser("sep_no_pointwise", lambda ci, co, k, h, w: ci * k * k * h * w),
        Diagnoser("sep_full_depthwise",
                  lambda ci, co, k, h, w: (ci * ci * k * k + ci * co) * h * w),
        Diagnoser("macs_no_positions", lambda ci, co, k, h, w: ci * k * k + ci * co),
    ],
))
