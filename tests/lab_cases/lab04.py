"""lab04_conv_backward's wrong solutions for the lab test suite (``tests/lab_table.py``): wrong
layers and wrong gradient checkers, written the ways students write them, tried against each
check and as nbgrader students; the gradient check of the student's own layer is slow, so it is
tried on three seeds. A wrong layer or checker never costs gradcheck_conv's points: the course's
stand in for them there. ``tests/autograder/labs/test_lab04.py`` checks that the helpers below
compute the right gradients when told to (no bug in the tests), and grades a student who cheats
on every part."""

from __future__ import annotations

import numpy as np
from lab_suite import Extra, edited_solution, solution_of

NAME = "lab04_conv_backward"
sol = solution_of(NAME)


# --- Wrong layers -------------------------------------------------------------------------------

def loops(dout, x, w, stride=1, pad=0, dx_step=None, dw_step=None, crop=True):
    """The solution's loops, with the windows' jump and the final crop open to mistakes."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            d = dout[:, :, i, j]
            s = stride if dw_step is None else dw_step
            dw += np.tensordot(d, xpad[:, :, i * s:i * s + KH, j * s:j * s + KW], axes=([0], [0]))
            s = stride if dx_step is None else dx_step
            dxpad[:, :, i * s:i * s + KH, j * s:j * s + KW] += np.tensordot(d, w, axes=([1], [0]))
    dx = dxpad[:, :, pad:pad + H, pad:pad + W] if crop else dxpad
    return dx, dw, dout.sum(axis=(0, 2, 3))


def full_correlation_dx(dout, x, w, stride=1, pad=0, flip=True, dout_pad=None):
    """dx the lecture's way: spread dout by the stride, pad it, correlate with the kernels."""
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    spread = np.zeros((N, F, (dout.shape[2] - 1) * stride + 1, (dout.shape[3] - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    ph, pw = (KH - 1, KW - 1) if dout_pad is None else (dout_pad, dout_pad)
    spread = np.pad(spread, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kernels = w[:, :, ::-1, ::-1] if flip else w
    rows, cols = spread.shape[2] - KH + 1, spread.shape[3] - KW + 1
    dxpad = np.zeros((N, C, max(rows, H + 2 * pad), max(cols, W + 2 * pad)))
    for i in range(rows):
        for j in range(cols):
            dxpad[:, :, i, j] = np.tensordot(spread[:, :, i:i + KH, j:j + KW], kernels,
                                             axes=([1, 2, 3], [0, 2, 3]))
    if dout_pad is not None:
        return dxpad[:, :, :rows, :cols]
    return dxpad[:, :, pad:pad + H, pad:pad + W]


def _with(dx=None, dw=None, db=None):
    """The solution's conv_backward with some of its three gradients replaced."""
    def conv_backward(dout, x, w, stride=1, pad=0):
        right = sol("conv_backward")(dout, x, w, stride, pad)
        return tuple(part if fn is None else fn(dout, x, w, stride, pad)
                     for part, fn in zip(right, (dx, dw, db), strict=True))
    return conv_backward


def _dw_convolved(dout, x, w, stride=1, pad=0):
    """dw as a 'valid convolution of the padded input by dout': dout turned half a turn."""
    return sol("conv_backward")(np.ascontiguousarray(dout[:, :, ::-1, ::-1]), x, w, 1, pad)[1]


# --- Wrong checkers -----------------------------------------------------------------------------

def one_sided(f, x, dout, eps=1e-6):
    grad, moved = np.zeros(x.shape), x.copy()
    base = np.sum(f(x) * dout)
    for index in np.ndindex(x.shape):
        moved[index] = x[index] + eps
        grad[index] = (np.sum(f(moved) * dout) - base) / eps
        moved[index] = x[index]
    return grad


def aliased(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x_plus = x  # not a copy
        x_plus[index] += eps
        plus = np.sum(f(x_plus) * dout)
        x_minus = x
        x_minus[index] -= eps
        minus = np.sum(f(x_minus) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def centred(f, x, dout, eps=1e-6, divide=2.0, weights=True):
    grad, moved = np.zeros(x.shape), x.copy()
    for index in np.ndindex(x.shape):
        moved[index] = x[index] + eps
        plus = f(moved)
        moved[index] = x[index] - eps
        minus = f(moved)
        moved[index] = x[index]
        grad[index] = np.sum((plus - minus) * (dout if weights else 1.0)) / (divide * eps)
    return grad


# --- The same mistakes as a student's code ------------------------------------------------------

# The layer as loops over the kernel's taps (dw) and a 'full' correlation (dx), the way the
# lectures draw it; the placeholders make the classic mistakes.
CONV_BACKWARD = """\
def conv_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out, W_out = dout.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    db = {DB}
    dw = np.zeros_like(w)
    for u in range(KH):
        for v in range(KW):
            patch = xpad[:, :, u:u + stride * (H_out - 1) + 1:stride,
                         v:v + stride * (W_out - 1) + 1:stride]
            dw[:, :, u, v] = np.tensordot({DW_DOUT}, patch, axes=([0, 2, 3], [0, 2, 3]))
    # dx: dout with zeros between its entries, padded 'full', correlated with the kernels.
    spread = np.zeros((N, F, (H_out - 1) * stride + 1, (W_out - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = dout
    spread = np.pad(spread, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    kernels = {KERNELS}
    dxpad = np.zeros_like(xpad)
    for i in range(spread.shape[2] - KH + 1):
        for j in range(spread.shape[3] - KW + 1):
            dxpad[:, :, i, j] = np.tensordot(spread[:, :, i:i + KH, j:j + KW], kernels,
                                             axes=([1, 2, 3], [0, 2, 3]))
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, db
"""
RIGHT = {"DB": "dout.sum(axis=(0, 2, 3))", "DW_DOUT": "dout", "KERNELS": "w[:, :, ::-1, ::-1]"}
UNFLIPPED = CONV_BACKWARD.format(**RIGHT | {"KERNELS": "w"})

NO_STRIDE = """\
def conv_backward(dout, x, w, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad, dw = np.zeros_like(xpad), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    dw[f] += dout[n, f, i, j] * xpad[n, :, i:i + KH, j:j + KW]
                    dxpad[n, :, i:i + KH, j:j + KW] += dout[n, f, i, j] * w[f]
    return dxpad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
"""

CHECKER = """\
def numerical_gradient(f, x, dout, eps={EPS}):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += eps
        plus = np.sum(f(moved) * dout)
        moved[index] -= 2 * eps
        minus = np.sum(f(moved) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad
"""
ONE_SIDED = """\
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    base = np.sum(f(x) * dout)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += eps
        grad[index] = (np.sum(f(moved) * dout) - base) / eps
    return grad
"""
MUTATING = """\
def numerical_gradient(f, x, dout, eps=1e-6):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x[index] += eps
        plus = np.sum(f(x) * dout)
        x[index] -= 2 * eps
        minus = np.sum(f(x) * dout)
        grad[index] = (plus - minus) / (2 * eps)
    return grad
"""

# The checker that moves x itself and never puts it back, as a function too.
_namespace: dict = {"np": np}
exec(MUTATING, _namespace)  # noqa: S102 - a function definition, nothing more
mutating = _namespace["numerical_gradient"]



# Mistakes of gradcheck_conv itself, in its wiring: the forward pass that varies w ignores w_,
# and the numerical dx weighs the outputs by ones instead of dout. (A wrong conv_backward or
# numerical_gradient costs nothing here: the course's stand in for them.)
W_HELD = [("lambda w_: conv_forward(x, w_, b", "lambda w_: conv_forward(x, w, b")]
NO_DOUT = [("conv_forward(x_, w, b, stride, pad), x, dout)",
            "conv_forward(x_, w, b, stride, pad), x, np.ones_like(dout))")]


def gradcheck_with(edits: list[tuple[str, str]]):
    """The solution's gradcheck_conv with ``edits`` made to its cell."""
    return edited_solution(NAME, "gradcheck_conv", {"gradcheck_conv": edits})


MISTAKES = {
    "db over the positions only": ("check_conv_backward_db",
                                   _with(db=lambda dout, *a: dout.sum(axis=(2, 3))), "db_axes"),
    "db over the batch only": ("check_conv_backward_db",
                               _with(db=lambda dout, *a: dout.sum(axis=0)), "db_axes"),
    "db over the filters too": ("check_conv_backward_db",
                                _with(db=lambda dout, *a: dout.sum(axis=(1, 2, 3))),
                                "db_summed_over_f"),
    "db as a mean": ("check_conv_backward_db",
                     _with(db=lambda dout, *a: dout.mean(axis=(0, 2, 3))), "db_mean"),
    "dw with x and dout swapped": (
        "check_conv_backward_dw",
        _with(dw=lambda *a: sol("conv_backward")(*a)[1][:, :, ::-1, ::-1]), "dw_swapped"),
    "dw as a convolution": ("check_conv_backward_dw", _with(dw=_dw_convolved), "dw_swapped"),
    "dw ignores the stride": ("check_conv_backward_dw",
                              lambda *a: loops(*a, dw_step=1), "dw_stride_ignored"),
    "dx with unflipped kernels": (
        "check_conv_backward_dx",
        _with(dx=lambda *a: full_correlation_dx(*a, flip=False)), "dx_not_flipped"),
    "dx of the padded input": ("check_conv_backward_dx", lambda *a: loops(*a, crop=False),
                               "dx_not_cropped"),
    "dx ignores the stride": ("check_conv_backward_dx", lambda *a: loops(*a, dx_step=1),
                              "dx_stride_ignored"),
    "dout padded by pad": (
        "check_conv_backward_dx",
        _with(dx=lambda dout, x, w, stride=1, pad=0: full_correlation_dx(
            dout, x, w, stride, pad, dout_pad=pad)), "dx_dout_padding"),
    "one-sided difference": ("check_numerical_gradient", one_sided, "grad_one_sided"),
    "eps = 1e-2": ("check_numerical_gradient", lambda f, x, dout: centred(f, x, dout, 1e-2),
                   "grad_eps_too_large"),
    "dout ignored": ("check_numerical_gradient",
                     lambda f, x, dout: centred(f, x, dout, weights=False), "grad_no_dout"),
    "divides by eps": ("check_numerical_gradient",
                       lambda f, x, dout: centred(f, x, dout, divide=1.0), "grad_double"),
    "x_plus = x": ("check_numerical_gradient", aliased, "grad_half"),
    "x changed and not restored": ("check_numerical_gradient_keeps_x", mutating,
                                   "grad_mutates_x"),
    "gradcheck's forward ignores w_": ("check_gradcheck_conv", gradcheck_with(W_HELD),
                                       "own_gradcheck_large"),
    "gradcheck's numerical dx without dout": ("check_gradcheck_conv", gradcheck_with(NO_DOUT),
                                              "own_gradcheck_large"),
}

# Student -> ({solution cell: code replacing the solution}, {test cell: the hint it must show},
# test cells that may lose points without a hint asserted). Other cells must earn full marks:
# a right gradcheck_conv keeps its 4 points whatever the student's conv_backward and
# numerical_gradient do (the course's stand in for them), so each mistake costs points once.
STUDENTS = {
    "noflip": ({"conv_backward": UNFLIPPED}, {"hidden_conv_backward_dx": "dx_not_flipped"}),
    "nostride": ({"conv_backward": NO_STRIDE},
                 {"hidden_conv_backward_dx": "dx_stride_ignored",
                  "hidden_conv_backward_dw": "dw_stride_ignored"}),
    "db_eps": ({"conv_backward": CONV_BACKWARD.format(**RIGHT | {"DB": "dout.sum(axis=(2, 3))"}),
                "numerical_gradient": CHECKER.format(EPS="1e-2")},
               {"hidden_conv_backward_db": "db_axes",
                "hidden_numerical_gradient": "grad_eps_too_large"}),
    "onesided_dwconv": (
        {"conv_backward": CONV_BACKWARD.format(**RIGHT | {"DW_DOUT": "dout[:, :, ::-1, ::-1]"}),
         "numerical_gradient": ONE_SIDED},
        {"hidden_conv_backward_dw": "dw_swapped", "hidden_numerical_gradient": "grad_one_sided"}),
    # gradcheck_conv's own mistake still costs its points.
    "mutating_wiring": ({"numerical_gradient": MUTATING, "gradcheck_conv": W_HELD},
                        {"hidden_numerical_gradient_keeps_x": "grad_mutates_x",
                         "hidden_gradcheck_conv": "own_gradcheck_large"},
                        ("hidden_numerical_gradient",)),
}

# gradcheck_conv built on conv_backward and numerical_gradient (the solution's cell), for
# lab_cases.assert_judged_on_its_own.
BUILDS_ON = {"check_gradcheck_conv": [None]}

# A student who cheats on every part: the layer is convnb's, the checker returns the derivative
# the check's function knows, the gradient check reports no error whatever it checks. Each
# earns nothing and is flagged with its evidence; keeping x earns nothing, unflagged: the
# checker never moved x, so there is nothing to judge.
CHEATS = {
    "conv_backward": """\
import convnb

def conv_backward(dout, x, w, stride=1, pad=0):
    return convnb.conv2d_backward(dout, x, w, stride=stride, padding=pad)""",
    "numerical_gradient": """\
def numerical_gradient(f, x, dout, eps=1e-6):
    return f.grad(x, dout)""",
    "gradcheck_conv": """\
def gradcheck_conv(x, w, b, dout, stride=1, pad=0):
    return np.zeros(3)""",
}
CHEATED = {
    **dict.fromkeys(("hidden_conv_backward_dx", "hidden_conv_backward_dw",
                     "hidden_conv_backward_db"),
                    "conv_backward called convnb.conv.conv2d_backward"),
    "hidden_numerical_gradient": "numerical_gradient called autograder.checks.lab04.",
    "hidden_gradcheck_conv": "gradcheck_conv(x, w, b, dout, stride, pad) returned the same value "
                             "in all 9 random cases ([0. 0. 0.]), whose right answers differ",
}
UNJUDGED = ("hidden_numerical_gradient_keeps_x",)

CASES = {"students": STUDENTS, "mistakes": MISTAKES,
         "few_seeds": frozenset({"check_gradcheck_conv"}),
         "extra": {"cheats": Extra(lambda course: course.submission(CHEATS), honest=False,
                                   flagged=CHEATED, lost=UNJUDGED)}}
