"""lab06_variants's wrong solutions for the lab test suite (``tests/lab_table.py``): transposed,
dilated and depthwise-separable convolutions, receptive fields and counts, written the ways
students get them wrong, tried against each check and as nbgrader students.
``tests/autograder/labs/test_lab06.py`` checks that the helpers below compute the right answers
when told to (no bug in the tests)."""

from __future__ import annotations

import numpy as np
from lab_suite import solution_of

sol = solution_of("lab06_variants")


def pad_hw(a, p):
    """``a`` (N, C, H, W) with ``p`` zeros on each side of H and W."""
    return np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)))


def correlate(x, kernels, stride=1):
    """Valid multi-channel correlation with loops: kernels (F, C, KH, KW)."""
    KH, KW = kernels.shape[2:]
    rows, cols = (x.shape[2] - KH) // stride + 1, (x.shape[3] - KW) // stride + 1
    out = np.zeros((x.shape[0], kernels.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = x[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = np.tensordot(window, kernels, axes=([1, 2, 3], [1, 2, 3]))
    return out


def transpose_as_correlation(x, w, stride=1, pad=0, flip=True, spread=True):
    """The transposed convolution as a forward one: zeros between the pixels (or, wrongly, the
    stride of a forward pass), 'full' padding, the kernels' channel axes swapped."""
    KH, KW = w.shape[2:]
    kernels = w.transpose(1, 0, 2, 3)
    kernels = kernels[:, :, ::-1, ::-1] if flip else kernels
    if spread:
        spaced = np.zeros((*x.shape[:2], (x.shape[2] - 1) * stride + 1,
                           (x.shape[3] - 1) * stride + 1))
        spaced[:, :, ::stride, ::stride] = x
        full = correlate(np.pad(spaced, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1))),
                         kernels)
        return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]
    padded = np.pad(x, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    return correlate(padded[:, :, pad:padded.shape[2] - pad, pad:padded.shape[3] - pad],
                     kernels, stride)


def stamps(x, w, stride=1, pad=0, step=None):
    """The solution's stamping loops with the stamps' spacing open to mistakes."""
    (N, _, H, W), (_, F, KH, KW) = x.shape, w.shape
    step = stride if step is None else step
    full = np.zeros((N, F, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for i in range(H):
        for j in range(W):
            full[:, :, i * step:i * step + KH, j * step:j * step + KW] += np.tensordot(
                x[:, :, i, j], w, axes=([1], [0]))
    return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]


def dilated(x, w, dilation=1, pad=0, tap=None, jump=1, span=None):
    """Dilated convolution with loops: tap spacing, window jump and output size open to
    mistakes."""
    tap = dilation if tap is None else tap
    F, _, KH, KW = w.shape
    xpad = pad_hw(x, pad)
    span = (lambda k: tap * (k - 1) + 1) if span is None else span
    rows = (xpad.shape[2] - span(KH)) // jump + 1
    cols = (xpad.shape[3] - span(KW)) // jump + 1
    out = np.zeros((x.shape[0], F, rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = xpad[:, :, i * jump:i * jump + tap * (KH - 1) + 1:tap,
                          j * jump:j * jump + tap * (KW - 1) + 1:tap]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out


def _field(layers, grow, jump_first=False, dilation_in_jump=False):
    size, jump = 1, 1
    for k, s, d in layers:
        factor = s * d if dilation_in_jump else s
        if jump_first:
            jump *= factor
        size += grow(k, d) * jump
        if not jump_first:
            jump *= factor
    return size


def _depthwise_mixing(x, w_depth, w_point, pad=0):
    xpad = pad_hw(x, pad)
    C = x.shape[1]
    depth = correlate(xpad, np.repeat(w_depth, C, axis=1))  # every kernel over every channel
    return np.einsum("nchw,fc->nfhw", depth, w_point[:, :, 0, 0])


def depthwise_only(x, w_depth, w_point, pad=0):
    xpad, C = pad_hw(x, pad), x.shape[1]
    return np.concatenate([correlate(xpad[:, c:c + 1], w_depth[c:c + 1]) for c in range(C)],
                          axis=1)


MISTAKES = {
    "conv_transpose pads the input": (
        "check_conv_transpose",
        lambda x, w, stride=1, pad=0: stamps(pad_hw(x, pad), w, stride), "tconv_pad_added"),
    "conv_transpose pads the output": (
        "check_conv_transpose",
        lambda x, w, stride=1, pad=0: pad_hw(stamps(x, w, stride), pad), "tconv_pad_added"),
    "conv_transpose without the flip": (
        "check_conv_transpose",
        lambda x, w, stride=1, pad=0: transpose_as_correlation(x, w, stride, pad, flip=False),
        "tconv_not_flipped"),
    "conv_transpose with a forward stride": (
        "check_conv_transpose",
        lambda x, w, stride=1, pad=0: transpose_as_correlation(x, w, stride, pad, spread=False),
        "tconv_forward_stride"),
    "conv_transpose stamps one pixel apart": (
        "check_conv_transpose", lambda x, w, stride=1, pad=0: stamps(x, w, stride, pad, step=1),
        "tconv_stride_ignored"),
    "upsampling mixes channels": ("check_upsample_weights",
                                  lambda C, factor: np.ones((C, C, factor, factor)),
                                  "upsample_mixes_channels"),
    "dilation as a stride": ("check_dilated_conv",
                             lambda x, w, dilation=1, pad=0: dilated(x, w, 1, pad, jump=dilation),
                             "dilation_as_stride"),
    "taps dilation + 1 apart": (
        "check_dilated_conv",
        lambda x, w, dilation=1, pad=0: dilated(x, w, dilation, pad, tap=dilation + 1),
        "dilation_plus_one"),
    "dilated kernel spans d*k": (
        "check_dilated_conv",
        lambda x, w, dilation=1, pad=0: dilated(x, w, dilation, pad, span=lambda k: dilation * k),
        "dilation_span_dk"),
    "dilation ignored": ("check_dilated_conv",
                         lambda x, w, dilation=1, pad=0: dilated(x, w, 1, pad),
                         "dilation_ignored"),
    "field grows by d*k - 1": ("check_receptive_field",
                               lambda layers: _field(layers, lambda k, d: d * k - 1), "rf_dk"),
    "field without the jump": (
        "check_receptive_field",
        lambda layers: 1 + sum(d * (k - 1) for k, s, d in layers), "rf_jump_ignored"),
    "jump updated first": (
        "check_receptive_field",
        lambda layers: _field(layers, lambda k, d: d * (k - 1), jump_first=True), "rf_jump_early"),
    "dilation as a stride in the jump": (
        "check_receptive_field",
        lambda layers: _field(layers, lambda k, d: k - 1, dilation_in_jump=True),
        "rf_dilation_as_stride"),
    "field without dilation": ("check_receptive_field",
                               lambda layers: _field(layers, lambda k, d: k - 1),
                               "dilation_ignored"),
    "depthwise step mixes channels": ("check_depthwise_separable", _depthwise_mixing,
                                      "dsep_mixes_channels"),
    "pointwise step forgotten": ("check_depthwise_separable", depthwise_only,
                                 "sep_no_pointwise"),
    "depthwise kernels flipped": (
        "check_depthwise_separable",
        lambda x, wd, wp, pad=0: sol("depthwise_separable")(x, wd[:, :, ::-1, ::-1], wp, pad),
        "depthwise_flipped"),
    "params without biases": ("check_separable_params",
                              lambda ci, co, k: ci * k * k + ci * co, "sep_no_bias"),
    "params without the depthwise biases": (
        "check_separable_params", lambda ci, co, k: ci * k * k + ci * co + co, "sep_one_bias"),
    "params without the pointwise step": (
        "check_separable_params", lambda ci, co, k: ci * k * k + ci, "sep_no_pointwise"),
    "params of a full depthwise step": (
        "check_separable_params", lambda ci, co, k: ci * ci * k * k + ci + ci * co + co,
        "sep_full_depthwise"),
    "macs without the pointwise step": (
        "check_separable_macs", lambda ci, co, k, h, w: ci * k * k * h * w, "sep_no_pointwise"),
    "macs of a full depthwise step": (
        "check_separable_macs", lambda ci, co, k, h, w: (ci * ci * k * k + ci * co) * h * w,
        "sep_full_depthwise"),
    "macs of one position": (
        "check_separable_macs", lambda ci, co, k, h, w: ci * k * k + ci * co, "macs_no_positions"),
}


STAMPING = """\
def conv_transpose(x, w, stride=1, pad=0):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))  # as in a forward convolution
    N, C, H, W = x.shape
    _, F, KH, KW = w.shape
    out = np.zeros((N, F, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for i in range(H):
        for j in range(W):
            out[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW] += np.tensordot(
                x[:, :, i, j], w, axes=([1], [0]))
    return out
"""
AS_CORRELATION = """\
def conv_transpose(x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    _, F, KH, KW = w.shape
    spaced = np.zeros((N, C, (H - 1) * stride + 1, (W - 1) * stride + 1))
    spaced[:, :, ::stride, ::stride] = x
    spaced = np.pad(spaced, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    H_full, W_full = spaced.shape[2] - KH + 1, spaced.shape[3] - KW + 1
    full = np.zeros((N, F, H_full, W_full))
    for i in range(H_full):
        for j in range(W_full):
            full[:, :, i, j] = np.tensordot(spaced[:, :, i:i + KH, j:j + KW], w,
                                            axes=([1, 2, 3], [0, 2, 3]))
    return full[:, :, pad:H_full - pad, pad:W_full - pad]
"""
DILATED = """\
def dilated_conv(x, w, dilation=1, pad=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    F, _, KH, KW = w.shape
    H_out, W_out = {SIZE}
    out = np.zeros((x.shape[0], F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = xpad[:, :, {WINDOW}]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out
"""
FIELD = """\
def receptive_field(layers):
    size, jump = 1, 1
    for k, s, d in layers:
        size += {GROWTH}
        jump *= s
    return size
"""
MIXING_DEPTHWISE = """\
def depthwise_separable(x, w_depth, w_point, pad=0):
    N, C, H, W = x.shape
    KH, KW = w_depth.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    depth = np.zeros((N, C, H_out, W_out))
    for c in range(C):
        for u in range(KH):
            for v in range(KW):
                depth[:, c] += (xpad[:, :, u:u + H_out, v:v + W_out] * w_depth[c, 0, u, v]).sum(1)
    return np.einsum("nchw,fc->nfhw", depth, w_point[:, :, 0, 0])
"""

# Student -> ({solution cell: code replacing the solution}, {test cell: the hint it must show}).
# Other cells must earn full marks.
STUDENTS = {
    "padded": ({"conv_transpose": STAMPING,
                "upsample_weights": "def upsample_weights(C, factor):\n"
                                    "    return np.ones((C, C, factor, factor))"},
               {"hidden_conv_transpose": "tconv_pad_added",
                "hidden_upsample_weights": "upsample_mixes_channels"}),
    "unflipped": ({"conv_transpose": AS_CORRELATION,
                   "receptive_field": FIELD.format(GROWTH="(d * k - 1) * jump")},
                  {"hidden_conv_transpose": "tconv_not_flipped",
                   "hidden_receptive_field": "rf_dk"}),
    "strided": ({"dilated_conv": DILATED.format(
                    SIZE="((xpad.shape[2] - KH) // dilation + 1, (xpad.shape[3] - KW) // dilation"
                         " + 1)",
                    WINDOW="i * dilation:i * dilation + KH, j * dilation:j * dilation + KW"),
                 "separable_macs": "def separable_macs(c_in, c_out, k, h_out, w_out):\n"
                                   "    return c_in * k * k + c_in * c_out"},
                {"hidden_dilated_conv": "dilation_as_stride",
                 "hidden_separable_macs": "macs_no_positions"}),
    "spans": ({"dilated_conv": DILATED.format(
                   SIZE="(xpad.shape[2] - dilation * KH + 1, xpad.shape[3] - dilation * KW + 1)",
                   WINDOW="i:i + dilation * (KH - 1) + 1:dilation, "
                          "j:j + dilation * (KW - 1) + 1:dilation"),
               "receptive_field": FIELD.format(GROWTH="d * (k - 1)"),
               "separable_params": "def separable_params(c_in, c_out, k):\n"
                                   "    return c_in * k * k + c_in * c_out"},
              {"hidden_dilated_conv": "dilation_span_dk",
               "hidden_receptive_field": "rf_jump_ignored",
               "hidden_separable_params": "sep_no_bias"}),
    "depthwise": ({"depthwise_separable": MIXING_DEPTHWISE,
                   "separable_params": "def separable_params(c_in, c_out, k):\n"
                                       "    return c_in * k * k + c_in",
                   "separable_macs": "def separable_macs(c_in, c_out, k, h_out, w_out):\n"
                                     "    return c_in * k * k * h_out * w_out"},
                  {"hidden_depthwise_separable": "dsep_mixes_channels",
                   "hidden_separable_params": "sep_no_pointwise",
                   "hidden_separable_macs": "sep_no_pointwise"}),
}

# depthwise_separable built on dilated_conv, by check, for lab_cases.assert_judged_on_its_own.
SEPARABLE_BY_DILATED = """\
def depthwise_separable(x, w_depth, w_point, pad=0):
    depth = np.concatenate([dilated_conv(x[:, c:c + 1], w_depth[c:c + 1], 1, pad)
                            for c in range(x.shape[1])], axis=1)
    return dilated_conv(depth, w_point)
"""
BUILDS_ON = {"check_depthwise_separable": [SEPARABLE_BY_DILATED]}

CASES = {"students": STUDENTS, "mistakes": MISTAKES}
