"""lab02_conv_forward's wrong solutions for the lab test suite (``tests/lab_table.py``): classic
mistakes against each check, written as a student would (loops and im2col with one mistake
switched on), wrong students for nbgrader, made by editing the solution, and a student who cheats
on every part (``tests/autograder/labs/test_lab02.py``)."""

from __future__ import annotations

import numpy as np
from lab_suite import Extra, solution_of

sol = solution_of("lab02_conv_forward")


def _loops(x, w, b, stride=1, pad=0, *, flip=False, bias="once", channels="all", step=None,
           size=None, padding=None):
    """The solution's loops with one mistake switched on."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = sol("zero_pad")(x, pad) if padding is None else padding(x, pad)
    H_out, W_out = ((H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1) \
        if size is None else size(xpad, KH, KW, stride, pad)
    step = stride if step is None else step
    kernel = w[..., ::-1, ::-1] if flip else w
    out = np.zeros((N, F, H_out, W_out))
    for n, f, i, j in np.ndindex(N, F, H_out, W_out):
        patch = xpad[n, :, i * step:i * step + KH, j * step:j * step + KW]
        if channels == "last":  # `=` in a loop over channels keeps the last one
            for c in range(C):
                out[n, f, i, j] = np.sum(patch[c] * kernel[f, c]) + b[f]
            continue
        total = np.sum(patch * kernel[f])
        out[n, f, i, j] = total + {"once": b[f], "none": 0.0, "per_channel": C * b[f]}[bias]
    return out


def _im2col(x, KH, KW, stride=1, pad=0, *, order="cuv,nij", step=None, padded=True):
    """im2col as loops, its rows and columns numbered in ``order``, windows ``step`` apart."""
    N, C, H, W = x.shape
    H_out, W_out = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
    xpad = sol("zero_pad")(x, pad if padded else 0)
    step = stride if step is None else step
    rows, columns = order.split(",")
    cols = {}
    for n, c, i, j, u, v in np.ndindex(N, C, H_out, W_out, KH, KW):
        at = dict(n=n, c=c, i=i, j=j, u=u, v=v)
        sizes = dict(n=N, c=C, i=H_out, j=W_out, u=KH, v=KW)
        row = int(np.ravel_multi_index([at[a] for a in rows], [sizes[a] for a in rows]))
        col = int(np.ravel_multi_index([at[a] for a in columns], [sizes[a] for a in columns]))
        r, s = i * step + u, j * step + v
        cols[row, col] = xpad[n, c, r, s] if r < xpad.shape[2] and s < xpad.shape[3] else 0.0
    out = np.zeros((C * KH * KW, N * H_out * W_out))
    for (row, col), value in cols.items():
        out[row, col] = value
    return out


def _by_im2col(cols_fn=None, w_order=(0, 1, 2, 3), reshape="right"):
    """The layer as one product of ``cols_fn``'s patches (the solution's im2col if ``None``)."""
    def conv(x, w, b, stride=1, pad=0):
        N, _, H, W = x.shape
        F, _, KH, KW = w.shape
        H_out, W_out = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
        cols = (cols_fn or sol("im2col"))(x, KH, KW, stride, pad)
        out = w.transpose(w_order).reshape(F, -1) @ cols + b[:, None]
        if reshape == "straight":
            return out.reshape(N, F, H_out, W_out)
        return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
    return conv


def _unpadded_size(xpad, KH, KW, stride, pad):
    return (xpad.shape[2] - KH) // stride + 1, (xpad.shape[3] - KW) // stride + 1


MISTAKES = {
    "np.pad(x, pad) pads every axis": (
        "check_zero_pad", lambda x, pad: np.pad(x, pad), "pad_wrong_axes"),
    "channels-last padding (C and H)": (
        "check_zero_pad", lambda x, pad: np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))),
        "pad_wrong_axes"),
    "padding before only": (
        "check_zero_pad", lambda x, pad: np.pad(x, ((0, 0), (0, 0), (pad, 0), (pad, 0))),
        "pad_one_side"),
    "a true convolution (flipped kernels)": (
        "check_conv_forward_loops", lambda *a: _loops(*a, flip=True), "conv_flipped"),
    "bias forgotten": ("check_conv_forward_loops", lambda *a: _loops(*a, bias="none"),
                       "conv_bias_missing"),
    "bias added in the channel loop": (
        "check_conv_forward_loops", lambda *a: _loops(*a, bias="per_channel"),
        "conv_bias_per_channel"),
    "channels assigned, not summed": (
        "check_conv_forward_loops", lambda *a: _loops(*a, channels="last"),
        "conv_channels_not_summed"),
    "stride ignored in the jumps": (
        "check_conv_forward_loops", lambda *a: _loops(*a, step=1), "conv_stride_ignored"),
    "output one short": (
        "check_conv_forward_loops", lambda *a: _loops(*a, size=lambda xp, kh, kw, s, p: (
            (xp.shape[2] - kh) // s, (xp.shape[3] - kw) // s)), "conv_output_size"),
    "padding forgotten": (
        "check_conv_forward_loops",
        lambda *a: _loops(*a, padding=lambda x, p: x, size=_unpadded_size), "conv_pad_ignored"),
    "im2col returns rows": (
        "check_im2col", lambda *a: sol("im2col")(*a).T, "im2col_transposed"),
    "im2col with the examples innermost": (
        "check_im2col", lambda *a: _im2col(*a, order="cuv,ijn"), "im2col_column_order"),
    "im2col patches in (u, v, c) order": (
        "check_im2col", lambda *a: _im2col(*a, order="uvc,nij"), "im2col_patch_order"),
    "im2col ignores the stride": (
        "check_im2col", lambda *a: _im2col(*a, step=1), "conv_stride_ignored"),
    "im2col without padding": (
        "check_im2col", lambda x, kh, kw, s=1, p=0: _im2col(x, kh, kw, s, 0),
        "conv_pad_ignored"),
    "product reshaped straight to (N, F, ...)": (
        "check_conv_forward_im2col", _by_im2col(reshape="straight"), "conv_output_reshape"),
    "kernels flattened (u, v, c), patches (c, u, v)": (
        "check_conv_forward_im2col", _by_im2col(w_order=(0, 2, 3, 1)), "im2col_patch_order"),
    "patches (u, v, c), kernels (c, u, v)": (
        "check_conv_forward_im2col", _by_im2col(lambda *a: _im2col(*a, order="uvc,nij")),
        "im2col_patch_order"),
    "columns (i, j, n) read as (n, i, j)": (
        "check_conv_forward_im2col", _by_im2col(lambda *a: _im2col(*a, order="cuv,ijn")),
        "im2col_column_order"),
    "im2col layer without the bias": (
        "check_conv_forward_im2col",
        lambda x, w, b, s=1, p=0: _by_im2col()(x, w, 0 * b, s, p), "conv_bias_missing"),
    "im2col layer with flipped kernels": (
        "check_conv_forward_im2col",
        lambda x, w, b, s=1, p=0: _by_im2col()(x, w[..., ::-1, ::-1], b, s, p), "conv_flipped"),
}


LOOP_BODY = "out[n, f, i, j] = np.sum(patch * w[f]) + b[f]"
IM2COL_SLICE = "xpad[:, :, u:u + stride * H_out:stride, v:v + stride * W_out:stride]"
IM2COL_BUFFER = "cols = np.zeros((C, KH, KW, N, H_out, W_out), dtype=x.dtype)"

# Student -> ({solution cell: [(solution text, the student's text), ...]}, {test cell: the hint
# it must show, or None: it loses points, whatever the hint}). Other test cells keep full marks.
STUDENTS = {
    "flip_and_reshape": (
        {"conv_forward_loops": [(LOOP_BODY, LOOP_BODY.replace("w[f]", "w[f, :, ::-1, ::-1]"))],
         "conv_forward_im2col": [("out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)",
                                  "out.reshape(N, F, H_out, W_out)")]},
        {"hidden_conv_forward_loops": "conv_flipped",
         "hidden_conv_forward_im2col": "conv_output_reshape"}),
    "bias_per_channel_and_stride": (
        {"conv_forward_loops": [(LOOP_BODY, "for c in range(C):\n" + " " * 24
                                 + "out[n, f, i, j] += np.sum(patch[c] * w[f, c]) + b[f]")],
         "im2col": [(IM2COL_SLICE, "xpad[:, :, u:u + H_out, v:v + W_out]")]},
        {"hidden_conv_forward_loops": "conv_bias_per_channel",
         "hidden_im2col": "conv_stride_ignored"}),  # conv_forward_im2col keeps its points
    "channels_assigned_and_patch_order": (
        {"conv_forward_loops": [(LOOP_BODY, "for c in range(C):\n" + " " * 24
                                 + "out[n, f, i, j] = np.sum(patch[c] * w[f, c]) + b[f]")],
         "im2col": [(IM2COL_BUFFER, IM2COL_BUFFER.replace("C, KH, KW", "KH, KW, C")),
                    ("cols[:, u, v] = sliced.transpose(1, 0, 2, 3)",
                     "cols[u, v] = sliced.transpose(1, 0, 2, 3)")]},
        {"hidden_conv_forward_loops": "conv_channels_not_summed",
         "hidden_im2col": "im2col_patch_order"}),
    # The layers call zero_pad: the course's stands in, so they keep their points.
    "pad_every_axis": (
        {"zero_pad": [("    N, C, H, W = x.shape\n", "    return np.pad(x, pad)\n")]},
        {"hidden_zero_pad": "pad_wrong_axes"}),
}

# The layers built on zero_pad and im2col, by check (None: the solution's cell), for
# lab_cases.assert_judged_on_its_own.
IM2COL_OF_PADDED = """\
def conv_forward_im2col(x, w, b, stride=1, pad=0):
    N = x.shape[0]
    F, _, KH, KW = w.shape
    xpad = zero_pad(x, pad)
    H_out = (xpad.shape[2] - KH) // stride + 1
    W_out = (xpad.shape[3] - KW) // stride + 1
    out = w.reshape(F, -1) @ im2col(xpad, KH, KW, stride, 0) + b[:, None]
    return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
"""
BUILDS_ON = {
    "check_conv_forward_loops": [None],
    "check_im2col": [None],
    "check_conv_forward_im2col": [None, IM2COL_OF_PADDED],
}

# A student who cheats on every part: each earns nothing and is flagged with its evidence.
CHEATS = {
    # A subclass of np.ndarray returned in place of one.
    "zero_pad": """\
class Padded(np.ndarray):
    pass

def zero_pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))).view(Padded)""",
    # A hand-written function that just calls convnb.conv2d.
    "conv_forward_loops": """\
import convnb

def conv_forward_loops(x, w, b, stride=1, pad=0):
    return convnb.conv2d(x, w, b, stride=stride, padding=pad)""",
    # NumPy's window views, which this lab's rules forbid.
    "im2col": """\
def im2col(x, KH, KW, stride=1, pad=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(xpad, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(x.shape[1] * KH * KW, -1)""",
    "conv_forward_im2col": """\
import scipy.signal

def conv_forward_im2col(x, w, b, stride=1, pad=0):
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.array([[scipy.signal.correlate(image, kernel, mode="valid")[0] for kernel in w]
                    for image in xpad])
    return np.ascontiguousarray(out[:, :, ::stride, ::stride]) + b.reshape(1, -1, 1, 1)""",
}
CHEATED = {
    "hidden_zero_pad": "returned a __main__.Padded, of a class of the student's own that "
                       "subclasses numpy.ndarray",
    "hidden_conv_forward_loops": "conv_forward_loops called convnb.conv.conv2d",
    "hidden_im2col": "im2col called numpy.lib.stride_tricks.sliding_window_view",
    "hidden_conv_forward_im2col": "conv_forward_im2col called scipy.signal.",
}

CASES = {"students": STUDENTS, "mistakes": MISTAKES,
         "extra": {"cheats": Extra(lambda course: course.submission(CHEATS), honest=False,
                                   flagged=CHEATED)}}
