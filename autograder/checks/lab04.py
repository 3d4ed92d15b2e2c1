"""Checks for lab04_conv_backward: the convolution layer's gradients, a numerical gradient checker,
and that checker used on the student's own layer.

The answer key is convnb: ``conv2d_backward`` for dx, dw and db (one check each, so that each
gradient earns its own points); functions with known derivatives (``sin``, ``x**3``, matrix
products, ``conv2d``) for the checker; ``numerical_gradient`` and ``conv2d_backward`` for the
errors a correct gradient check reports. Inputs are rounded to two decimals so that the feedback's
numbers stay readable.

``gradcheck_conv`` is judged on its own: its check runs it with the course's ``conv_backward`` and
a correct ``numerical_gradient`` (convnb's centred difference) standing in for the student's
(:attr:`.core.Check.stand_ins`), whose mistakes cost points in Parts 1 and 2 only. A checker is
also judged where the answer is known to be large: about half its cases, and at least one for
each gradient, hand it a ``conv_backward`` with that gradient wrong on purpose
(:data:`WRONG_LAYERS`), so a checker that reports small errors whatever it checks
(``np.zeros(3)``) fails them. Likewise ``numerical_gradient`` earns its point
for keeping ``x`` only when it evaluated ``f`` at a moved ``x``: doing nothing keeps ``x`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import convnb

from .common import (
    DB_WRONG_AXES,
    arange_grid,
    crop_hw,
    draw_kernel_hw,
    item_of,
    output_hw,
    pad_hw,
    rounded_normal,
    seeded_normal,
    stamped_one_apart,
)
from .compare import PASS, ArrayResult, BelowResult, Output, ResultError, Verdict
from .core import Case, Check, Diagnoser, pick
from .detect import COURSE_RULES, STRIDE_TRICKS
from .registry import register

__all__ = [
    "check_conv_backward_db", "check_conv_backward_dw", "check_conv_backward_dx",
    "check_gradcheck_conv", "check_numerical_gradient", "check_numerical_gradient_keeps_x",
]

# The lab's rules: "write the gradients yourself with NumPy (not with convnb, nor with an
# autograd library)"; its given conv_forward takes its windows with sliding_window_view.
FORBIDDEN = COURSE_RULES.allowing(*STRIDE_TRICKS)

NAMES = ("dx", "dw", "db")
# Largest relative error a correct layer and a correct centred difference leave (they reach
# about 1e-9 on these sizes); a wrong gradient gives errors near 1.
GRADCHECK_THRESHOLD = 1e-6


# --- The layer's gradients ------------------------------------------------------------------------

def conv_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1,
                  pad: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return convnb.conv2d_backward(dout, x, w, stride=stride, padding=pad)


def _case_backward(x: np.ndarray, w: np.ndarray, stride: int, pad: int,
                   dout: np.ndarray) -> Case:
    return Case((dout, x, w, stride, pad),
                f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad} (dout {dout.shape})",
                x.size + w.size + dout.size)


def _out_shape(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> tuple[int, ...]:
    """dout's shape, (N, F, H_out, W_out)."""
    return (x.shape[0], w.shape[0], *output_hw(x, *w.shape[2:], stride, pad))


def _draw_geometry(rng: np.random.Generator,
                   most: int = 3) -> tuple[np.ndarray, np.ndarray, int, int]:
    """x, w, stride and pad of a small layer, with at most ``most`` channels and filters."""
    N, C, F = (int(n) for n in rng.integers(1, [3, most + 1, most + 1]))
    KH, KW = draw_kernel_hw(rng)
    stride = int(rng.choice([1, 1, 2, 2, 3]))
    pad = int(rng.integers(0, max(KH, KW)))
    # At least two outputs along each axis, so that the stride shows.
    H, W = (int(rng.integers(max(1, k + stride - 2 * pad), k + stride + most)) for k in (KH, KW))
    return rounded_normal(rng, N, C, H, W), rounded_normal(rng, F, C, KH, KW), stride, pad


def _draw_backward(rng: np.random.Generator) -> Case:
    x, w, stride, pad = _draw_geometry(rng)
    return _case_backward(x, w, stride, pad, rounded_normal(rng, *_out_shape(x, w, stride, pad)))


def _fixed_backward(x_shape, w_shape, stride: int, pad: int, seed: int) -> Case:
    x, w = seeded_normal(seed, *x_shape), seeded_normal(seed + 1, *w_shape)
    return _case_backward(x, w, stride, pad,
                          seeded_normal(seed + 2, *_out_shape(x, w, stride, pad)))


FIXED_BACKWARD = (
    _case_backward(arange_grid(1, 1, 3, 3), np.array([[[[1.0, 2.0], [3.0, 4.0]]]]),
                   1, 0, np.array([[[[1.0, 0.0], [0.0, -1.0]]]])),
    _fixed_backward((2, 2, 4, 5), (3, 2, 2, 3), 1, 1, 4001),
    # The lectures' layer: a 5 x 5 x 3 input, two 3 x 3 x 3 filters, stride 2, pad 1.
    _fixed_backward((1, 3, 5, 5), (2, 3, 3, 3), 2, 1, 4011),
)


def _leftover(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> tuple[int, int]:
    """Rows and columns of the padded input that no window reaches (fewer than the stride)."""
    (_, _, H, W), (_, _, KH, KW) = x.shape, w.shape
    return (H + 2 * pad - KH) % stride, (W + 2 * pad - KW) % stride


def _stamp(dout, x, w, stride, pad, kernels=None):
    """dx of the padded input, ``kernels`` (default ``w``) stamped by every entry of dout."""
    kernels = w if kernels is None else kernels
    return convnb.conv_transpose2d(dout, kernels, stride=stride, padding=0,
                                   output_padding=_leftover(x, w, stride, pad))


def _dx_not_flipped(dout, x, w, stride=1, pad=0):
    return crop_hw(_stamp(dout, x, w, stride, pad, w[:, :, ::-1, ::-1]), pad)


def _dx_not_cropped(dout, x, w, stride=1, pad=0):
    return None if pad == 0 else _stamp(dout, x, w, stride, pad)


def _dx_dout_padded_by_pad(dout, x, w, stride=1, pad=0):
    if stride != 1:
        return None
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return convnb.conv2d(dout, flipped, padding=pad)


def _dx_stride_ignored(dout, x, w, stride=1, pad=0):
    if stride == 1:
        return None
    H, W = x.shape[2:]
    return stamped_one_apart(dout, w, (H + 2 * pad, W + 2 * pad), pad)


def _dw_stride_ignored(dout, x, w, stride=1, pad=0):
    if stride == 1:
        return None
    (_, _, h_out, w_out), (_, _, KH, KW) = dout.shape, w.shape
    xpad = pad_hw(x, pad)
    return convnb.conv2d_backward(dout, xpad[:, :, :h_out + KH - 1, :w_out + KW - 1], w)[1]


def _dw_convolved(dout, x, w, stride=1, pad=0):
    if stride != 1:
        return None
    return conv_backward(np.ascontiguousarray(dout[:, :, ::-1, ::-1]), x, w, 1, pad)[1]


def _db_sum(*axes: int) -> Callable[..., np.ndarray]:
    return lambda dout, x, w, stride=1, pad=0: dout.sum(axis=axes)


def _gradient_check(name: str, diagnosers: list[Diagnoser]) -> Check:
    """The check of one gradient of ``conv_backward``, ``name`` in :data:`NAMES`."""
    index = NAMES.index(name)
    return register(Check(
        name=f"check_conv_backward_{name}",
        forbidden=FORBIDDEN,
        function=f"{name} of conv_backward(dout, x, w, stride, pad)",
        reference=item_of(index, conv_backward), draw=_draw_backward, fixed=FIXED_BACKWARD,
        result=ArrayResult(), call=pick(index, NAMES), diagnosers=diagnosers))


check_conv_backward_dx = _gradient_check("dx", [
    Diagnoser("dx_not_flipped", _dx_not_flipped),
    Diagnoser("dx_not_cropped", _dx_not_cropped),
    Diagnoser("dx_dout_padding", _dx_dout_padded_by_pad),
    Diagnoser("dx_stride_ignored", _dx_stride_ignored),
])

check_conv_backward_dw = _gradient_check("dw", [
    Diagnoser("dw_swapped", lambda *args: conv_backward(*args)[1][:, :, ::-1, ::-1]),
    Diagnoser("dw_swapped", _dw_convolved),
    Diagnoser("dw_stride_ignored", _dw_stride_ignored),
])

check_conv_backward_db = _gradient_check("db", [
    *(Diagnoser("db_axes", _db_sum(*axes)) for axes in DB_WRONG_AXES),
    *(Diagnoser("db_summed_over_f", _db_sum(*axes)) for axes in [(1, 2, 3), (0, 1, 2, 3), (0, 1)]),
    Diagnoser("db_mean", lambda dout, *args: dout.mean(axis=(0, 2, 3))),
])


# --- The numerical gradient -----------------------------------------------------------------------

@dataclass(frozen=True)
class KnownFunction:
    """A function whose gradient is known: ``f(x)``, and ``grad(x, dout)``, the gradient of
    ``sum(f(x) * dout)``. The student's checker calls it like any function of one array."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.f(x)

    def __repr__(self) -> str:
        return self.name


def _sin4() -> KnownFunction:
    return KnownFunction("f(x) = sin(4x)", lambda x: np.sin(4 * x),
                         lambda x, dout: 4 * np.cos(4 * x) * dout)


def _cube() -> KnownFunction:
    return KnownFunction("f(x) = x**3", lambda x: x ** 3, lambda x, dout: 3 * x ** 2 * dout)


def _matmul(a: np.ndarray) -> KnownFunction:
    return KnownFunction(f"f(x) = x @ A, A {a.shape}", lambda x: x @ a,
                         lambda x, dout: dout @ a.T)


def _tanh_matmul(a: np.ndarray) -> KnownFunction:
    def grad(x, dout):
        return ((1 - np.tanh(x @ a) ** 2) * dout) @ a.T
    return KnownFunction(f"f(x) = tanh(x @ A), A {a.shape}", lambda x: np.tanh(x @ a), grad)


def _conv_of_x(w: np.ndarray, stride: int, pad: int) -> KnownFunction:
    return KnownFunction(
        f"f(x) = conv2d(x, w), w {w.shape}, stride {stride}, pad {pad}",
        lambda x: convnb.conv2d(x, w, stride=stride, padding=pad),
        lambda x, dout: convnb.conv2d_backward(dout, x, w, stride=stride, padding=pad)[0])


def _conv_of_w(x0: np.ndarray) -> KnownFunction:
    return KnownFunction(
        f"f(x) = conv2d(x0, x), x0 {x0.shape} (x as the kernels)",
        lambda w: convnb.conv2d(x0, w),
        lambda w, dout: convnb.conv2d_backward(dout, x0, w)[1])


def _case_gradient(f: KnownFunction, x: np.ndarray, dout: np.ndarray) -> Case:
    return Case((f, x, dout), f"{f.name}, x {x.shape}", x.size)


def _draw_gradient(rng: np.random.Generator) -> Case:
    kind = int(rng.integers(0, 6))
    if kind < 2:
        f = _sin4() if kind == 0 else _cube()
        x = rounded_normal(rng, *rng.integers(1, 5, size=int(rng.integers(1, 3))))
    elif kind < 4:
        m, n, k = (int(s) for s in rng.integers(1, 5, size=3))
        f = (_matmul if kind == 2 else _tanh_matmul)(rounded_normal(rng, n, k))
        x = rounded_normal(rng, m, n)
    elif kind == 4:
        C, F, K = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 4))
        stride, pad = int(rng.integers(1, 3)), int(rng.integers(0, K))
        f = _conv_of_x(rounded_normal(rng, F, C, K, K), stride, pad)
        x = rounded_normal(rng, 1, C, int(rng.integers(K, K + 3)), int(rng.integers(K, K + 3)))
    else:
        C, F, K = int(rng.integers(1, 3)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
        f = _conv_of_w(rounded_normal(rng, 1, C, K + 2, K + 2))
        x = rounded_normal(rng, F, C, K, K)
    return _case_gradient(f, x, rounded_normal(rng, *f(x).shape))


FIXED_GRADIENT = (
    _case_gradient(_sin4(), np.array([0.0, 0.3, -1.2]), np.array([1.0, 1.0, 2.0])),
    _case_gradient(_matmul(np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5]])),
                   np.arange(6.0).reshape(2, 3) / 4, np.array([[1.0, -1.0], [0.5, 2.0]])),
    _case_gradient(_cube(), np.array([[0.5, -1.0], [2.0, 0.1]]),
                   np.array([[1.0, 0.0], [-1.0, 3.0]])),
    _case_gradient(_conv_of_x(seeded_normal(4021, 2, 2, 3, 3), 2, 1),
                   seeded_normal(4022, 1, 2, 4, 4), seeded_normal(4023, 1, 2, 2, 2)),
)


def numerical_gradient(f: KnownFunction, x: np.ndarray, dout: np.ndarray) -> np.ndarray:
    """The right answer: the function's own derivative (not a finite difference)."""
    return f.grad(x, dout)


def _difference(kind: str, eps: float) -> Callable[..., np.ndarray]:
    """A finite difference of ``sum(f(x) * dout)``: ``"centred"``, ``"forward"``, ``"backward"``
    or ``"half"`` (a forward difference divided by 2 eps: x_plus and x_minus are one array)."""
    steps = {"centred": (eps, -eps), "forward": (eps, 0.0), "backward": (0.0, -eps),
             "half": (eps, 0.0)}[kind]

    def wrong(f, x, dout):
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            values = []
            for step in steps:
                moved = x.copy()
                moved[index] += step
                values.append(np.sum(f(moved) * dout))
            span = eps if kind in ("forward", "backward") else 2 * eps
            grad[index] = (values[0] - values[1]) / span
        return grad
    return wrong


check_numerical_gradient = register(Check(
    name="check_numerical_gradient", function="numerical_gradient(f, x, dout)",
    forbidden=FORBIDDEN,
    reference=numerical_gradient, draw=_draw_gradient, fixed=FIXED_GRADIENT,
    # A centred difference with eps near 1e-6 is within 1e-9 of the derivative on these cases; a
    # one-sided one is off by about eps * f''(x) / 2, which this tolerance sees on curved f.
    result=ArrayResult(rtol=1e-6, atol=1e-7),
    diagnosers=[
        Diagnoser("grad_no_dout", lambda f, x, dout: f.grad(x, np.ones_like(dout))),
        Diagnoser("grad_double", lambda f, x, dout: 2 * f.grad(x, dout)),
        *(Diagnoser("grad_one_sided", _difference(kind, eps))
          for kind in ("forward", "backward") for eps in (1e-4, 1e-5, 1e-6, 1e-7)),
        *(Diagnoser("grad_half", _difference("half", eps)) for eps in (1e-4, 1e-5, 1e-6, 1e-7)),
        *(Diagnoser("grad_eps_too_large", _difference("centred", eps))
          for eps in (1e-1, 1e-2, 1e-3)),
    ],
))


class _Probe:
    """The function to differentiate, as the student's checker gets it: it notes whether the
    checker evaluated it at an x other than the one it was given."""

    def __init__(self, f: KnownFunction, x: np.ndarray) -> None:
        self.f, self.x, self.moved = f, x.copy(), False

    def __call__(self, v: np.ndarray) -> np.ndarray:
        self.moved = self.moved or (np.shape(v) == self.x.shape and not np.array_equal(v, self.x))
        return self.f(v)

    def __repr__(self) -> str:
        return repr(self.f)


def _x_after_the_call(student_fn: Callable[..., object], f, x, dout) -> np.ndarray:
    """x after the student's checker ran, judged only if it evaluated f at a moved x: a function
    that computes nothing keeps x, and earns nothing for it."""
    probe = _Probe(f, x)
    student_fn(probe, x, dout)
    if not probe.moved:
        raise ResultError("numerical_gradient never evaluated f at a moved x (x with one entry "
                          "changed by eps), so there is no x to keep yet: this test judges the "
                          "differences it computes")
    return x


check_numerical_gradient_keeps_x = register(Check(
    name="check_numerical_gradient_keeps_x", function="x after numerical_gradient(f, x, dout)",
    forbidden=FORBIDDEN,
    reference=lambda f, x, dout: x, draw=_draw_gradient, fixed=FIXED_GRADIENT,
    # Changing an entry and changing it back may leave a rounding error, nothing more.
    result=ArrayResult(rtol=1e-12, atol=1e-12), call=_x_after_the_call, n_random=6,
    fallback_hint="grad_mutates_x",
))


# --- The checker on the layer ---------------------------------------------------------------------

def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """The lab's relative error: max |a - b| / max(|a| + |b|)."""
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))


def _wrong_layer(part: str) -> Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The course's conv_backward with its ``part`` wrong on purpose (a classic mistake: dx with
    the kernels not flipped, dw flipped, db as a mean): a right checker reports a large error
    for that part, about 1 (db: (M - 1) / (M + 1), M = N * H_out * W_out >= 4)."""
    def layer(dout, x, w, stride=1, pad=0):
        dx, dw, db = conv_backward(dout, x, w, stride, pad)
        if part == "dx":
            dx = _dx_not_flipped(dout, x, w, stride, pad)
        elif part == "dw":
            dw = np.ascontiguousarray(dw[:, :, ::-1, ::-1])
        else:
            db = dout.mean(axis=(0, 2, 3))
        return dx, dw, db
    return layer


WRONG_LAYERS = {part: _wrong_layer(part) for part in NAMES}


def gradcheck_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, dout: np.ndarray,
                   stride: int = 1, pad: int = 0, part: str | None = None) -> np.ndarray:
    """The errors a correct checker reports: about 1e-10 for the course's layer, and a large
    error for the gradient ``part`` of a layer wrong there on purpose (:data:`WRONG_LAYERS`)."""
    layer = conv_backward if part is None else WRONG_LAYERS[part]
    dx, dw, db = layer(dout, x, w, stride, pad)

    def forward(x=x, w=w, b=b):
        return convnb.conv2d(x, w, b, stride=stride, padding=pad)

    numeric = [convnb.numerical_gradient(lambda v: forward(x=v), x, dout),
               convnb.numerical_gradient(lambda v: forward(w=v), w, dout),
               convnb.numerical_gradient(lambda v: forward(b=v), b, dout)]
    return np.array([rel_error(a, n) for a, n in zip((dx, dw, db), numeric, strict=True)])


def _case_gradcheck(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int,
                    dout: np.ndarray, part: str | None = None) -> Case:
    wrong = "" if part is None else f", the course's conv_backward with {part} wrong on purpose"
    return Case((x, w, b, dout, stride, pad),
                f"x {x.shape}, w {w.shape}, stride {stride}, pad {pad}{wrong}", x.size + w.size,
                part)


# The layer a case hands the checker: the course's (None) or one wrong in a gradient.
LAYERS = (None, None, None, *NAMES)


def _draw_gradcheck(rng: np.random.Generator) -> Case:
    """A small random layer, half the time with the course's conv_backward wrong in one gradient
    (:data:`WRONG_LAYERS`), drawn where that gradient differs from the right one (not so where,
    say, no window reaches x)."""
    part = LAYERS[int(rng.integers(len(LAYERS)))]
    while True:
        x, w, stride, pad = _draw_geometry(rng, most=2)
        b = rounded_normal(rng, w.shape[0])
        dout = rounded_normal(rng, *_out_shape(x, w, stride, pad))
        if part is None:
            return _case_gradcheck(x, w, b, stride, pad, dout)
        right = conv_backward(dout, x, w, stride, pad)[NAMES.index(part)]
        wrong = WRONG_LAYERS[part](dout, x, w, stride, pad)[NAMES.index(part)]
        if not np.allclose(wrong, right, rtol=0.1, atol=0.1 * np.abs(right).max()):
            return _case_gradcheck(x, w, b, stride, pad, dout, part)


@dataclass(frozen=True)
class CheckerResult:
    """A gradient checker's errors (dx, dw, db): a plain float ``np.ndarray`` of three finite
    errors, each at least 0 and below ``threshold`` where the course's layer is right, and
    within ``rtol`` of the true error (large) for the gradient it got wrong on purpose. So a
    checker that reports small errors whatever the layer does is wrong where the answer is
    known."""

    threshold: float = GRADCHECK_THRESHOLD
    rtol: float = 0.01

    def tolerance(self) -> str:
        return (f"{BelowResult(self.threshold, NAMES).tolerance()} for the course's layer; for a "
                f"gradient it gets wrong on purpose, within {self.rtol:.0%} of its true error")

    def judge(self, expected: np.ndarray, got: Output) -> Verdict:
        below = BelowResult(float("inf"), NAMES).judge(expected, got)  # type, shape, finite
        if not below.passed:
            return below
        reference = (f"reference:    {np.array2string(expected, precision=4)} (the course's "
                     "errors)", f"got:          {np.array2string(got.values, precision=4)}")
        for name, want, have in zip(NAMES, expected, got.values, strict=True):
            if want < self.threshold and not have < self.threshold:
                return Verdict(False, f"the error of {name} is {have:.3g}: not below "
                               f"{self.threshold:g}", reference)
            if want >= self.threshold and not abs(have - want) <= self.rtol * want:
                return Verdict(False, f"the error of {name} is {have:.3g}, but the course's "
                               f"conv_backward in this case has {name} wrong on purpose: its "
                               f"true error is {want:.3g}, which a gradient checker must "
                               "report", reference)
        return PASS

    def matches(self, wrong: object, got: Output) -> bool:
        return ArrayResult().matches(wrong, got)


@dataclass(frozen=True)
class CheckerCheck(Check):
    """The check of a gradient checker: each case hands it the course's ``conv_backward``, or
    one wrong in the gradient its ``part`` names (every seed draws each kind: ``cover``)."""

    def stand_ins_for(self, case: Case) -> dict[str, Callable[..., object]]:
        if case.part is None:
            return dict(self.stand_ins)
        return {**self.stand_ins, "conv_backward": WRONG_LAYERS[case.part]}

    def diagnose(self, cases: list[Case], outputs: list[Output],
                 failing: list[int]) -> tuple[str | None, int]:
        """The hint of the cases of the course's layer only: on a wrong one, the problem says
        what the checker missed."""
        right = [i for i in failing if cases[i].part is None]
        return super().diagnose(cases, outputs, right) if right else (None, 0)


_FIXED_LAYER = (seeded_normal(4031, 1, 3, 5, 5), seeded_normal(4032, 2, 3, 3, 3),
                np.array([1.0, -0.5]), 2, 1, seeded_normal(4033, 1, 2, 3, 3))

check_gradcheck_conv = register(CheckerCheck(
    name="check_gradcheck_conv", function="gradcheck_conv(x, w, b, dout, stride, pad)",
    forbidden=FORBIDDEN,
    reference=gradcheck_conv, draw=_draw_gradcheck,
    fixed=tuple(_case_gradcheck(*_FIXED_LAYER, part) for part in (None, *NAMES)),
    result=CheckerResult(), n_random=9, cover=lambda case: case.part or "right",
    fallback_hint="own_gradcheck_large",
    stand_ins={"conv_backward": conv_backward, "numerical_gradient": convnb.numerical_gradient},
))
