"""lab03_pooling's wrong solutions for the lab test suite (``tests/lab_table.py``): classic mistakes
against each check, written as a student would (pooling loops with one mistake switched on), and
wrong students for nbgrader with two mistakes each, in different functions."""

from __future__ import annotations

import numpy as np


def _max_forward(x, k, stride, *, step=None, tie=">", origin=None, row="W", in_window=False,
                 size=None):
    """Max pooling as loops, with one mistake switched on."""
    N, C, H, W = x.shape
    H_out, W_out = ((H - k) // stride + 1, (W - k) // stride + 1) if size is None else size(
        H, W, k, stride)
    step = stride if step is None else step
    out = np.zeros((N, C, H_out, W_out))
    switches = np.zeros((N, C, H_out, W_out), dtype=np.int64)
    for n, c, i, j in np.ndindex(N, C, H_out, W_out):
        best, where = -np.inf, (0, 0)
        for u, v in np.ndindex(k, k):
            value = x[n, c, i * step + u, j * step + v]
            if value > best or (tie == ">=" and value == best):
                best, where = value, (u, v)
        corner = step if origin is None else origin
        r, s = i * corner + where[0], j * corner + where[1]
        out[n, c, i, j] = best
        switches[n, c, i, j] = where[0] * k + where[1] if in_window else r * (
            W if row == "W" else H) + s
    return out, switches


def _max_backward(dout, x, k, stride, *, route="switch", assign=False, step=None):
    """Max pooling's gradient as loops, routed to the first maximum (``"switch"``), every tied
    maximum (``"ties"``) or the whole ``"window"``; ``assign`` overwrites instead of adding."""
    step = stride if step is None else step
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * step:i * step + k, j * step:j * step + k]
        if route == "window":
            mask = np.ones_like(window, dtype=bool)
        elif route == "ties":
            mask = window == window.max()  # CS231n's mask, every tied maximum
        else:
            mask = np.zeros(window.size, dtype=bool)
            mask[np.argmax(window)] = True
            mask = mask.reshape(window.shape)
        target = dx[n, c, i * step:i * step + k, j * step:j * step + k]
        if assign:
            target[mask] = dout[n, c, i, j]
        else:
            target[mask] += dout[n, c, i, j]
    return dx


def _avg_forward(x, k, stride, *, divide_by=None, step=None):
    N, C, H, W = x.shape
    H_out, W_out = (H - k) // stride + 1, (W - k) // stride + 1
    step = stride if step is None else step
    out = np.zeros((N, C, H_out, W_out))
    for i, j in np.ndindex(H_out, W_out):
        window = x[:, :, i * step:i * step + k, j * step:j * step + k]
        out[:, :, i, j] = window.sum(axis=(2, 3)) / (k * k if divide_by is None else divide_by(k))
    return out


def _avg_backward(dout, x, k, stride, *, divide_by=None, assign=False, step=None):
    dx = np.zeros(x.shape)
    step = stride if step is None else step
    for i, j in np.ndindex(*dout.shape[2:]):
        share = dout[:, :, i, j, None, None] / (k * k if divide_by is None else divide_by(k))
        window = dx[:, :, i * step:i * step + k, j * step:j * step + k]
        if assign:
            window[...] = share
        else:
            window += share
    return dx


MISTAKES = {
    "max pooling with the stride ignored": (
        "check_max_pool_forward", lambda x, k, s: _max_forward(x, k, s, step=1),
        "pool_stride_ignored"),
    "max pooling assumes stride == k": (
        "check_max_pool_forward", lambda x, k, s: _max_forward(
            x, k, s, step=k, size=lambda H, W, k, s: ((H - k) // k + 1, (W - k) // k + 1)),
        "pool_stride_ignored"),
    "max pooling one row short": (
        "check_max_pool_forward", lambda x, k, s: _max_forward(
            x, k, s, size=lambda H, W, k, s: ((H - k) // s, (W - k) // s)), "pool_output_size"),
    "switches inside the window": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, in_window=True),
        "switch_in_window"),
    "switches: the last maximum on ties (>=)": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, tie=">="),
        "switch_last_max"),
    "switches: window corners k apart": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, origin=k),
        "switch_wrong_origin"),
    "switches: row * H + col": (
        "check_max_pool_switches", lambda x, k, s: _max_forward(x, k, s, row="H"),
        "switch_flat_index"),
    "max gradient to the whole window": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, route="window"),
        "maxgrad_to_window"),
    "max gradient to every tied maximum": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, route="ties"),
        "maxgrad_all_ties"),
    "max gradient assigned, not added": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, assign=True),
        "maxgrad_overwrite"),
    "max gradient with the stride ignored": (
        "check_max_pool_backward", lambda *a: _max_backward(*a, step=1), "pool_stride_ignored"),
    "average as the sum": (
        "check_avg_pool_forward", lambda x, k, s: _avg_forward(x, k, s, divide_by=lambda k: 1),
        "avg_sum"),
    "average divided by k": (
        "check_avg_pool_forward", lambda x, k, s: _avg_forward(x, k, s, divide_by=lambda k: k),
        "avg_divided_by_k"),
    "average with the stride ignored": (
        "check_avg_pool_forward", lambda x, k, s: _avg_forward(x, k, s, step=1),
        "pool_stride_ignored"),
    "average gradient not divided": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, divide_by=lambda k: 1),
        "avggrad_not_divided"),
    "average gradient divided by k": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, divide_by=lambda k: k),
        "avggrad_divided_by_k"),
    "average gradient assigned, not added": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, assign=True),
        "avggrad_overwrite"),
    "average gradient with the stride ignored": (
        "check_avg_pool_backward", lambda *a: _avg_backward(*a, step=1), "pool_stride_ignored"),
}


LAST_MAXIMUM = """\
def max_pool_forward(x, k, stride):
    N, C, H, W = x.shape
    H_out = (H - k) // stride + 1
    W_out = (W - k) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    switches = np.zeros((N, C, H_out, W_out), dtype=np.int64)
    for n, c, i, j in np.ndindex(N, C, H_out, W_out):
        best = -np.inf
        for u in range(k):
            for v in range(k):
                r, s = i * stride + u, j * stride + v
                if x[n, c, r, s] >= best:
                    best = x[n, c, r, s]
                    out[n, c, i, j], switches[n, c, i, j] = best, r * W + s
    return out, switches
"""
WHOLE_WINDOW = """\
def max_pool_backward(dout, x, k, stride):
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        dx[n, c, i * stride:i * stride + k, j * stride:j * stride + k] += dout[n, c, i, j]
    return dx
"""
TIED_MASK = """\
def max_pool_backward(dout, x, k, stride):
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        window = x[n, c, i * stride:i * stride + k, j * stride:j * stride + k]
        mask = window == np.max(window)
        dx[n, c, i * stride:i * stride + k, j * stride:j * stride + k] += mask * dout[n, c, i, j]
    return dx
"""
AVG_SHARE = "dx[:, :, r:r + k, q:q + k] += dout[:, :, i, j, None, None] / (k * k)"

# Student -> ({solution cell: the student's code, or [(solution text, the student's text), ...]},
# {test cell: the hint it must show, or None: it loses points, whatever the hint}). Other test
# cells keep full marks.
STUDENTS = {
    "last_maximum_and_avg_stride": (
        {"max_pool_forward": LAST_MAXIMUM,
         "avg_pool_forward": [("r, q = i * stride, j * stride", "r, q = i, j")]},
        {"hidden_max_pool_switches": "switch_last_max",
         "hidden_avg_pool_forward": "pool_stride_ignored"}),  # max_pool_backward keeps its points
    "whole_window_and_sum": (
        {"max_pool_backward": WHOLE_WINDOW,
         "avg_pool_forward": [(".mean(axis=(2, 3))", ".sum(axis=(2, 3))")]},
        {"hidden_max_pool_backward": "maxgrad_to_window",
         "hidden_avg_pool_forward": "avg_sum"}),
    "tied_mask_and_not_divided": (
        {"max_pool_backward": TIED_MASK,
         "avg_pool_backward": [(AVG_SHARE, AVG_SHARE.replace(" / (k * k)", ""))]},
        {"hidden_max_pool_backward": "maxgrad_all_ties",
         "hidden_avg_pool_backward": "avggrad_not_divided"}),
    "switches_in_window_and_assign": (
        {"max_pool_forward": [("(r + first // k) * W + (q + first % k)", "first")],
         "avg_pool_backward": [(AVG_SHARE, AVG_SHARE.replace("+=", "="))]},
        {"hidden_max_pool_switches": "switch_in_window",
         "hidden_avg_pool_backward": "avggrad_overwrite"}),  # max_pool_backward keeps them too
}

# Backward passes built on their forward pass, by check (None: the solution's cell), for
# lab_cases.assert_judged_on_its_own.
AVG_BACKWARD_SIZED_BY_FORWARD = """\
def avg_pool_backward(dout, x, k, stride):
    out = avg_pool_forward(x, k, stride)
    dx = np.zeros(x.shape)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            dx[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += (
                dout[:, :, i, j, None, None] / (k * k))
    return dx
"""
BUILDS_ON = {
    "check_max_pool_backward": [None],
    "check_avg_pool_backward": [AVG_BACKWARD_SIZED_BY_FORWARD],
}

CASES = {"students": STUDENTS, "mistakes": MISTAKES}
