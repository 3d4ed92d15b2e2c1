"""Checks for lab03_pooling: max and average pooling, forward and backward, with switches.

The answer key is convnb: ``max_pool2d(..., return_indices=True)`` (the maximum of each window
and its switch, the flat index ``row * W + col`` of the first maximum in row-major order, as
PyTorch), ``max_pool2d_backward``, ``avg_pool2d`` and ``avg_pool2d_backward``. ``max_pool_forward``
returns ``(out, switches)``; one check judges ``out``, another the switches, so a student with the
right maxima but the wrong indices keeps the points for the maxima.

Half of the random inputs are small integers, so that windows often hold tied maxima and the
"first maximum" rule is tested; the other half are rounded to two decimals.

A backward pass may build on its forward pass (``max_pool_backward`` on the switches of
``max_pool_forward``): its check runs it with the course's forward pass standing in for the
student's (:attr:`.core.Check.stand_ins`).
"""

from __future__ import annotations

import numpy as np

import convnb
from convnb.windows import sliding_windows

from .common import arange_grid, item_of, made_if, output_hw, rounded_normal
from .compare import ArrayResult
from .core import Case, Check, Diagnoser, pick
from .detect import COURSE_RULES
from .registry import register

__all__ = ["check_avg_pool_backward", "check_avg_pool_forward", "check_max_pool_backward",
           "check_max_pool_forward", "check_max_pool_switches"]

# The lab's rules: "write the operations yourself with NumPy (not with convnb, scipy or
# np.lib.stride_tricks)": the course's default.
FORBIDDEN = COURSE_RULES

FORWARD = ("out", "switches")


# --- The answers ----------------------------------------------------------------------------------

def max_pool_forward(x: np.ndarray, k: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    return convnb.max_pool2d(x, k, stride, return_indices=True)


def max_pool_backward(dout: np.ndarray, x: np.ndarray, k: int, stride: int) -> np.ndarray:
    return convnb.max_pool2d_backward(dout, x, k, stride)


def avg_pool_forward(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    return convnb.avg_pool2d(x, k, stride)


def avg_pool_backward(dout: np.ndarray, x: np.ndarray, k: int, stride: int) -> np.ndarray:
    return convnb.avg_pool2d_backward(dout, x, k, stride)


# --- Cases ----------------------------------------------------------------------------------------

def _input(rng: np.random.Generator, *shape: int) -> np.ndarray:
    if rng.random() < 0.5:
        return rng.integers(-3, 4, size=shape).astype(float)  # ties are common
    return rounded_normal(rng, *shape)


def _draw_geometry(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    h, w = (int(s) for s in rng.integers(2, 8, size=2))
    k = int(rng.choice([2, 2, 3])) if min(h, w) >= 3 else 2
    return _input(rng, n, c, h, w), k, int(rng.choice([1, 2, 2, 3]))


def _case_forward(x: np.ndarray, k: int, stride: int) -> Case:
    return Case((x, k, stride), f"x {x.shape}, k {k}, stride {stride}", x.size)


def _case_backward(dout: np.ndarray, x: np.ndarray, k: int, stride: int) -> Case:
    return Case((dout, x, k, stride), f"dout {dout.shape}, x {x.shape}, k {k}, stride {stride}",
                x.size)


def _draw_forward(rng: np.random.Generator) -> Case:
    return _case_forward(*_draw_geometry(rng))


def _draw_backward(rng: np.random.Generator) -> Case:
    x, k, stride = _draw_geometry(rng)
    dout = rounded_normal(rng, *x.shape[:2], *output_hw(x, k, k, stride))
    return _case_backward(dout, x, k, stride)


# The lecture's single depth slice, max pooled with 2x2 windows and stride 2 (lecture 001).
LECTURE_X = np.array([[[[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]]], dtype=float)
TIES = np.array([[[[1, 3, 3, 0, 2], [3, 1, 0, 3, 3], [0, 3, 2, 1, 0], [2, 0, 3, 3, 1]]]],
                dtype=float)
TWO_BY_TWO = arange_grid(2, 2, 5, 4) * 7 % 11

FIXED_FORWARD = (_case_forward(LECTURE_X, 2, 2), _case_forward(TIES, 3, 1),
                 _case_forward(TIES, 2, 1), _case_forward(TWO_BY_TWO, 2, 3))


def _backward_cases() -> tuple[Case, ...]:
    cases = []
    for case in FIXED_FORWARD:
        x, k, stride = case.args
        size = x.shape[:2] + output_hw(x, k, k, stride)
        dout = np.arange(1, np.prod(size) + 1, dtype=float).reshape(size)
        cases.append(_case_backward(dout, x, k, stride))
    return tuple(cases)


FIXED_BACKWARD = _backward_cases()


# --- Max pooling and its mistakes -----------------------------------------------------------------

def _offsets(windows: np.ndarray, last: bool) -> np.ndarray:
    """Offset ``u*k + v`` of the first (or last) maximum of every window."""
    flat = windows.reshape(*windows.shape[:-2], -1)
    if last:
        return flat.shape[-1] - 1 - np.argmax(flat[..., ::-1], axis=-1)
    return np.argmax(flat, axis=-1)


def _max_pool(x, k, stride, *, step=None, size=None, last=False, origin=None, row=None,
              in_window=False):
    """Max pooling with a mistake: windows ``step`` apart (not ``stride``), an output of ``size``,
    the ``last`` maximum on ties, switches as offsets ``in_window``, or computed from window
    corners ``origin`` apart with rows ``row`` long."""
    H_out, W_out = output_hw(x, k, k, stride) if size is None else size
    step = stride if step is None else step
    windows = sliding_windows(x, (k, k), (step, step), (1, 1), (H_out, W_out))
    offset = _offsets(windows, last)
    out = np.take_along_axis(windows.reshape(*windows.shape[:-2], -1), offset[..., None],
                             axis=-1)[..., 0]
    if in_window:
        return out, offset
    origin = step if origin is None else origin
    rows = np.arange(H_out)[:, None] * origin + offset // k
    cols = np.arange(W_out) * origin + offset % k
    return out, rows * (x.shape[3] if row is None else row) + cols


def _pooling_mistakes(pool) -> list[Diagnoser]:
    """Window placement mistakes of ``pool(x, k, stride, step=..., size=...)``."""
    def stride_one(x, k, s):
        return made_if(s > 1, lambda: pool(x, k, 1, step=1, size=output_hw(x, k, k, 1)))

    def stride_one_cropped(x, k, s):
        return made_if(s > 1, lambda: pool(x, k, s, step=1))

    def stride_is_window(x, k, s):
        return made_if(s != k, lambda: pool(x, k, k, step=k, size=output_hw(x, k, k, k)))

    def one_short(x, k, s):
        rows, cols = output_hw(x, k, k, s)
        return pool(x, k, s, size=(rows - 1, cols - 1))

    return [Diagnoser("pool_stride_ignored", stride_one),
            Diagnoser("pool_stride_ignored", stride_one_cropped),
            Diagnoser("pool_stride_ignored", stride_is_window),
            Diagnoser("pool_output_size", one_short)]


def _forward_checks():
    checks = []
    for index, name in enumerate(FORWARD):
        reference = item_of(index, max_pool_forward)
        diagnosers = [Diagnoser(d.hint, item_of(index, d.wrong))
                      for d in _pooling_mistakes(_max_pool)]
        if name == "switches":
            diagnosers = [
                Diagnoser("switch_in_window",
                          lambda x, k, s: _max_pool(x, k, s, in_window=True)[1]),
                Diagnoser("switch_last_max", lambda x, k, s: _max_pool(x, k, s, last=True)[1]),
                Diagnoser("switch_wrong_origin", lambda x, k, s: made_if(
                    s != k, lambda: _max_pool(x, k, s, origin=k)[1])),
                Diagnoser("switch_flat_index", lambda x, k, s: made_if(
                    x.shape[2] != x.shape[3], lambda: _max_pool(x, k, s, row=x.shape[2])[1])),
                *diagnosers]
        checks.append(register(Check(
            name=f"check_max_pool_{'forward' if name == 'out' else name}",
            forbidden=FORBIDDEN,
            function=f"max_pool_forward(x, k, stride)[{index}] ({name})",
            reference=reference, draw=_draw_forward, fixed=FIXED_FORWARD,
            result=ArrayResult() if name == "out" else ArrayResult(rtol=0, atol=0),
            diagnosers=diagnosers, call=pick(index, FORWARD))))
    return checks


check_max_pool_forward, check_max_pool_switches = _forward_checks()


def _scatter(dout, x, k, stride, *, step=None, route="first", overwrite=False, scale=1.0):
    """Backward of a pooling written as loops, with a mistake: windows ``step`` apart, the
    gradient routed to the ``"first"`` or ``"last"`` maximum, to ``"ties"`` (every maximum) or to
    the ``"window"`` (every entry), times ``scale``, assigned (``overwrite``) instead of added."""
    step = stride if step is None else step
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        r, s = i * step, j * step
        window = x[n, c, r:r + k, s:s + k]
        if route == "window":
            mask = np.ones(window.shape, dtype=bool)
        elif route == "ties":
            mask = window == window.max()
        else:
            mask = np.zeros(window.size, dtype=bool)
            mask[_offsets(window, route == "last")] = True
            mask = mask.reshape(window.shape)
        target = dx[n, c, r:r + k, s:s + k]
        target[mask] = (0 if overwrite else target[mask]) + scale * dout[n, c, i, j]
    return dx


def _backward_check(pool: str, reference, diagnosers: list[Diagnoser], route: str,
                    scale, forward) -> Check:
    """The check of ``{pool}_pool_backward``: its own ``diagnosers``, then the window placement
    mistakes of a backward pass that routes the gradient to ``route`` (``scale(k)``: the right
    factor); the course's ``forward`` stands in for ``{pool}_pool_forward``."""
    return register(Check(
        name=f"check_{pool}_pool_backward", function=f"{pool}_pool_backward(dout, x, k, stride)",
        forbidden=FORBIDDEN,
        reference=reference, draw=_draw_backward, fixed=FIXED_BACKWARD, result=ArrayResult(),
        stand_ins={f"{pool}_pool_forward": forward},
        # inputs in two windows (where gradients must be added), and windows that do not overlap
        cover=lambda case: case.args[3] < case.args[2] and max(case.args[0].shape[2:]) > 1,
        diagnosers=[
            *diagnosers,
            Diagnoser("pool_stride_ignored", lambda dout, x, k, s: made_if(
                s > 1, lambda: _scatter(dout, x, k, s, step=1, route=route, scale=scale(k)))),
            Diagnoser("pool_stride_ignored", lambda dout, x, k, s: made_if(
                s != k, lambda: _scatter(dout, x, k, s, step=k, route=route, scale=scale(k)))),
        ],
    ))


check_max_pool_backward = _backward_check("max", max_pool_backward, [
    Diagnoser("maxgrad_to_window", lambda dout, x, k, s: _scatter(dout, x, k, s, route="window")),
    Diagnoser("maxgrad_all_ties", lambda dout, x, k, s: _scatter(dout, x, k, s, route="ties")),
    Diagnoser("switch_last_max", lambda dout, x, k, s: _scatter(dout, x, k, s, route="last")),
    Diagnoser("maxgrad_overwrite", lambda dout, x, k, s: made_if(s < k, lambda: _scatter(
        dout, x, k, s, overwrite=True))),
], route="first", scale=lambda k: 1.0, forward=max_pool_forward)


# --- Average pooling and its mistakes -------------------------------------------------------------

def _avg_pool(x, k, stride, *, step=None, size=None, scale=None):
    """Average pooling with windows ``step`` apart, an output of ``size``, the window sums
    times ``scale`` (``1 / k**2`` when right)."""
    size = output_hw(x, k, k, stride) if size is None else size
    step = stride if step is None else step
    windows = sliding_windows(x, (k, k), (step, step), (1, 1), size)
    return windows.sum(axis=(-2, -1)) * (1 / k**2 if scale is None else scale)


check_avg_pool_forward = register(Check(
    name="check_avg_pool_forward", function="avg_pool_forward(x, k, stride)",
    forbidden=FORBIDDEN,
    reference=avg_pool_forward, draw=_draw_forward, fixed=FIXED_FORWARD, result=ArrayResult(),
    diagnosers=[
        Diagnoser("avg_sum", lambda x, k, s: _avg_pool(x, k, s, scale=1.0)),
        Diagnoser("avg_divided_by_k", lambda x, k, s: _avg_pool(x, k, s, scale=1 / k)),
        *_pooling_mistakes(_avg_pool),
    ],
))

check_avg_pool_backward = _backward_check("avg", avg_pool_backward, [
    Diagnoser("avggrad_not_divided", lambda dout, x, k, s: _scatter(dout, x, k, s, route="window")),
    Diagnoser("avggrad_divided_by_k", lambda dout, x, k, s: _scatter(
        dout, x, k, s, route="window", scale=1 / k)),
    Diagnoser("avggrad_overwrite", lambda dout, x, k, s: made_if(s < k, lambda: _scatter(
        dout, x, k, s, route="window", overwrite=True, scale=1 / k**2))),
], route="window", scale=lambda k: 1 / k**2, forward=avg_pool_forward)
