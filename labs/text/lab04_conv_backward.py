# Lab 4 in text form: the source of labs/source/lab04_conv_backward/lab04_conv_backward.ipynb.
# Edit this file, then run `python -m autograder.build lab04_conv_backward` from the
# repository root. The format is described in labs/README.md.

# %% [markdown] id=intro locked
# # Lab 4: backpropagation through a convolution layer
#
# A convolution layer learns because we can say how the loss changes when any of its numbers
# changes: the input `x`, the kernels `w` and the biases `b`. In this lab you derive and code
# those three gradients, write the tool that every backward pass deserves, a numerical gradient
# checker, and then turn that checker on your own layer.
#
# **Reading.** The book's chapter *Backpropagation* (`06_backprop`): the gradients of a
# convolution layer, why the weights appear flipped, and gradient checking. The forward pass is
# the one of the chapter *Channels* (`04_channels`) and of Lab 2.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `conv_backward(dout, x, w, stride, pad)`: `db` | 2 |
# | 1 | the same function's `dw` | 4 |
# | 1 | the same function's `dx` | 5 |
# | 2 | `numerical_gradient(f, x, dout, eps)`: centred differences | 4 |
# | 2 | ... that leave `x` as it was | 1 |
# | 3 | `gradcheck_conv(x, w, b, dout, stride, pad)`: your checker on your layer | 4 |
#
# **Total: 20 points.**
#
# **Letters.** `x` is `(N, C, H, W)`: N examples, C channels, H rows, W columns. `w` is
# `(F, C, KH, KW)`: F filters of C channels, KH rows and KW columns each. `b` is `(F,)`. The
# output `out` and its gradient `dout` are `(N, F, H_out, W_out)` with
# `H_out = (H + 2*pad - KH) // stride + 1` and `W_out = (W + 2*pad - KW) // stride + 1`.
# `xpad` is `x` with `pad` zeros added on each side of H and W.
#
# **How it is graded.** Below each function is a *visible test*: run it. It tries a few small
# cases, prints a report (the smallest failing case, expected against got, the largest error and
# a hint) and fails if a case is wrong. When your lab is graded, *hidden tests* run the same
# comparison on random sizes, strides and paddings and give partial credit: the points times the
# fraction of cases that are right, rounded down to half a point. `conv_backward` is graded three
# times, once for each gradient, so a right `db` earns its points even while `dx` is wrong.
# Each function is graded on its own: where it calls another function you write in this
# lab, the course's version stands in for yours during its tests, visible and hidden (the
# report says so), so one mistake costs points once.
#
# A result counts as right when it is a `np.ndarray` (not a list), of the shape in the
# docstring, of dtype `float64`, with no NaN or infinity, and every entry within
# `1e-9 + 1e-6 * |expected|` of the reference (Part 2 has its own tolerance, stated there).
# Loops are fine: the cases are small. Printing or warnings inside your functions cost nothing.
#
# Rules: keep the function names and signatures; do not delete or copy cells; write the
# gradients yourself with NumPy: not with `convnb`, which is what your answers are compared
# with, nor with SciPy, PyTorch or another autograd library, nor with `np.convolve` or
# `np.correlate`. The checks watch what your functions call: such a call scores that function 0
# and is shown to the instructor.
#
# **Installing and checking.** The notebook needs the course's package (`convnb` and these checks)
# in the Python that runs it. Download `convnb-0.1.0-py3-none-any.whl` from the book's Labs page and
# run `pip install convnb-0.1.0-py3-none-any.whl` in a terminal (on a JupyterHub, its terminal),
# with `pip install jupyterlab` if your computer has no Jupyter yet; on Colab, make the first cell
# `%pip install https://<the book's address>/convnb-0.1.0-py3-none-any.whl` (the address of the
# package's link on the Labs page). Before you submit, save the notebook and run
# `python -m autograder check lab04_conv_backward.ipynb` in a terminal, in its folder: it runs the
# notebook from the top in a fresh kernel, as the grader does, and prints PASS or FAIL for each
# visible test, with the whole report and hint of each failure. (On Colab, which has no terminal,
# download the notebook and check it on a computer with the package.) While you work, run the cells
# one by one: *Run All* stops at the first visible test that fails.

# %% id=setup locked
import numpy as np

from autograder.checks.lab04 import (
    check_conv_backward_db,
    check_conv_backward_dw,
    check_conv_backward_dx,
    check_gradcheck_conv,
    check_numerical_gradient,
    check_numerical_gradient_keeps_x,
)


def conv_forward(x, w, b, stride=1, pad=0):
    """The forward pass of a convolution layer (given): the function whose gradients you write.

    ``out[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] * xpad[n, c, i*s + u, j*s + v]``
    with ``s = stride``.

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, H_out, W_out)
    """
    KH, KW = w.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # Every KH x KW window of xpad, then every stride-th one: (N, C, H_out, W_out, KH, KW).
    windows = np.lib.stride_tricks.sliding_window_view(xpad, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    return np.einsum("nchwuv,fcuv->nfhw", windows, w) + b.reshape(1, -1, 1, 1)


def rel_error(a, b):
    """How far apart two gradients are, relative to their size: max |a - b| / max(|a| + |b|)."""
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b))))

# %% [markdown] id=part1 locked
# ## Part 1: the layer's gradients (2 + 4 + 5 points)
#
# The forward pass computes
#
# $$\mathrm{out}[n, f, i, j] = b[f] + \sum_{c, u, v} w[f, c, u, v]\;
#   \mathrm{xpad}[n, c,\; i \cdot \mathrm{stride} + u,\; j \cdot \mathrm{stride} + v].$$
#
# Some loss $L$ comes later, and the layer above hands you `dout`, the gradient of $L$ with
# respect to `out`: `dout[n, f, i, j]` says how much $L$ changes per unit change of
# `out[n, f, i, j]`. By the chain rule, the gradient with respect to any number of the layer is
# the sum, over every output that number took part in, of `dout` times the factor it was
# multiplied by there.
#
# **db.** `b[f]` is added, with factor 1, to every output of filter `f`, in every example and at
# every position, so `db[f]` is the sum of `dout[:, f]` over the examples and the positions:
# one number per filter, shape `(F,)`.
#
# **dw.** `w[f, c, u, v]` multiplies `xpad[n, c, i*stride + u, j*stride + v]` in
# `out[n, f, i, j]`, so
#
# $$dw[f, c, u, v] = \sum_{n, i, j} \mathrm{dout}[n, f, i, j]\;
#   \mathrm{xpad}[n, c,\; i \cdot \mathrm{stride} + u,\; j \cdot \mathrm{stride} + v]:$$
#
# the same windows as the forward pass, weighted by `dout` instead of by `w`. For stride 1 it is
# the valid correlation of the padded input with `dout`.
#
# **dx.** An input pixel feeds every output whose window covers it, each time through the weight
# at its place in that window. As loops: for each output position `(i, j)`, the window it read,
# `xpad[:, :, i*stride : i*stride + KH, j*stride : j*stride + KW]`, receives
# `dout[n, f, i, j] * w[f]`, summed over the filters `f`:
#
# $$\mathrm{dxpad}[n, c,\; i \cdot \mathrm{stride} + u,\; j \cdot \mathrm{stride} + v]
#   \mathrel{+}= \mathrm{dout}[n, f, i, j]\; w[f, c, u, v].$$
#
# Windows overlap, so use `+=`. The padding is not part of `x`: the answer is the middle,
# `dx = dxpad[:, :, pad:pad + H, pad:pad + W]`. Read as one operation (the lecture's picture, for
# stride 1), `dxpad` is the *full* correlation of `dout`, padded with `KH - 1` rows and `KW - 1`
# columns of zeros, with every kernel turned half a turn, `w[:, :, ::-1, ::-1]`: the weights
# appear flipped. With a stride, first put `stride - 1` zeros between the entries of `dout`. Rows
# and columns that no window reaches (when `H + 2*pad - KH` is not a multiple of the stride) get
# gradient 0.
#
# Return the tuple `(dx, dw, db)`. One loop over the output positions `(i, j)`, with
# `np.tensordot` or `np.einsum` over the other axes, is quick; more loops are fine too. While you
# work, return `None` in place of a gradient you have not written yet: the tests of the others
# still run.

# %% id=conv_backward solution
def conv_backward(dout, x, w, stride=1, pad=0):
    """Gradients of a convolution layer's loss with respect to its input, kernels and biases.

    Parameters
    ----------
    dout : np.ndarray, float64
        Gradient of the loss with respect to the layer's output.
    x : np.ndarray, float64
        The layer's input (as in the forward pass).
    w : np.ndarray, float64
        The kernels.
    stride : int
        Distance between neighbouring windows (both axes).
    pad : int
        Zeros added on each side of H and W in the forward pass.

    Returns
    -------
    tuple (dx, dw, db) of np.ndarray, float64

    Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), w (F, C, KH, KW)
    -> dx (N, C, H, W), dw (F, C, KH, KW), db (F,)
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out, W_out = dout.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad = np.zeros_like(xpad)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for i in range(H_out):
        for j in range(W_out):
            rows = slice(i * stride, i * stride + KH)
            cols = slice(j * stride, j * stride + KW)
            d = dout[:, :, i, j]                                             # (N, F)
            dw += np.tensordot(d, xpad[:, :, rows, cols], axes=([0], [0]))   # (F, C, KH, KW)
            dxpad[:, :, rows, cols] += np.tensordot(d, w, axes=([1], [0]))   # (N, C, KH, KW)
    dx = dxpad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
    ### END SOLUTION

# %% id=test_conv_backward_db locked
check_conv_backward_db(conv_backward)

# %% id=hidden_conv_backward_db tests
# Hidden tests (2 points): db of conv_backward on random layers.
### BEGIN HIDDEN TESTS
check_conv_backward_db(conv_backward, seed=4101, points=2)
### END HIDDEN TESTS

# %% id=test_conv_backward_dw locked
check_conv_backward_dw(conv_backward)

# %% id=hidden_conv_backward_dw tests
# Hidden tests (4 points): dw of conv_backward on random layers, strides and paddings.
### BEGIN HIDDEN TESTS
check_conv_backward_dw(conv_backward, seed=4102, points=4)
### END HIDDEN TESTS

# %% id=test_conv_backward_dx locked
check_conv_backward_dx(conv_backward)

# %% id=hidden_conv_backward_dx tests
# Hidden tests (5 points): dx of conv_backward on random layers, strides and paddings.
### BEGIN HIDDEN TESTS
check_conv_backward_dx(conv_backward, seed=4103, points=5)
### END HIDDEN TESTS

# %% [markdown] id=part2 locked
# ## Part 2: a numerical gradient checker (4 + 1 points)
#
# A backward pass can be wrong in ways no one spots by reading it. Finite differences give an
# independent answer that needs nothing but the forward pass. If `y = f(x)` and the loss has
# gradient `dout` with respect to `y`, the gradient with respect to `x` is the gradient of the
# number `g(x) = sum(f(x) * dout)` (with `dout` held fixed). Estimate it one entry at a time:
# move only `x[k]` a little up and a little down,
#
# $$\frac{\partial g}{\partial x[k]} \approx
#   \frac{g(x + \varepsilon e_k) - g(x - \varepsilon e_k)}{2 \varepsilon},$$
#
# where $e_k$ is 1 at entry `k` and 0 elsewhere. This *centred* difference is exact for
# quadratics, and its error shrinks like $\varepsilon^2$ (about $\varepsilon^2 g'''/6$); the
# one-sided `(g(x + eps e_k) - g(x)) / eps` is off by about $\varepsilon\, g''/2$. Why not make
# $\varepsilon$ tiny? Each value of `g` carries a rounding error of about `1e-16` times its size,
# and dividing by $\varepsilon$ magnifies it. In float64, `eps = 1e-6` keeps both small: an
# error of about `1e-13` from the third derivative and `1e-10` from rounding, for values of `g`
# and its derivatives near 1.
#
# `np.ndindex(x.shape)` yields every index tuple of an array of any shape. Leave the caller's `x`
# as it was: change a copy, or put each entry back after its two evaluations (the second hidden
# test, worth 1 point, checks that `x` comes back unchanged, and that `f` was really evaluated
# at moved copies of `x`).
#
# The tests call `numerical_gradient(f, x, dout)` (so with your default `eps`) on functions whose
# derivative is known: `sin(4x)`, `x**3`, `x @ A`, `tanh(x @ A)`, a convolution of `x`, and a
# convolution as a function of its kernels. Your result must be within `1e-7 + 1e-6 * |exact|`
# of the exact derivative.

# %% id=numerical_gradient solution
def numerical_gradient(f, x, dout, eps=1e-6):
    """Centred-difference estimate of the gradient of ``sum(f(x) * dout)`` with respect to x.

    Parameters
    ----------
    f : callable
        A function of one array, returning an array of the shape of ``dout``.
    x : np.ndarray, float64
        Where to take the gradient. It is not changed.
    dout : np.ndarray, float64
        The weights of the outputs (the gradient of the loss with respect to ``f(x)``).
    eps : float
        The step.

    Returns
    -------
    np.ndarray, float64
        ``grad[k] = (sum(f(x + eps e_k) * dout) - sum(f(x - eps e_k) * dout)) / (2 eps)``.

    Shapes: x (any shape), dout (the shape of f(x)) -> grad (the shape of x)
    """
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape)
    moved = x.copy()
    for index in np.ndindex(x.shape):
        moved[index] = x[index] + eps
        plus = np.sum(f(moved) * dout)
        moved[index] = x[index] - eps
        minus = np.sum(f(moved) * dout)
        moved[index] = x[index]
        grad[index] = (plus - minus) / (2 * eps)
    return grad
    ### END SOLUTION

# %% id=test_numerical_gradient locked
check_numerical_gradient(numerical_gradient)
check_numerical_gradient_keeps_x(numerical_gradient)

# %% id=hidden_numerical_gradient tests
# Hidden tests (4 points): numerical_gradient on random functions with known derivatives.
### BEGIN HIDDEN TESTS
check_numerical_gradient(numerical_gradient, seed=4104, points=4)
### END HIDDEN TESTS

# %% id=hidden_numerical_gradient_keeps_x tests
# Hidden tests (1 point): x is unchanged after numerical_gradient.
### BEGIN HIDDEN TESTS
check_numerical_gradient_keeps_x(numerical_gradient, seed=4105, points=1)
### END HIDDEN TESTS

# %% [markdown] id=part3 locked
# ## Part 3: check your own layer (4 points)
#
# Now use your checker the way it is meant to be used: on your layer. `conv_forward` (in the
# setup cell) is a function of four arrays, and the checker varies one array at a time, so wrap
# the forward pass as a function of the one you check, holding the others fixed. For the
# kernels:
#
# ```python
# dw_num = numerical_gradient(lambda w_: conv_forward(x, w_, b, stride, pad), w, dout)
# ```
#
# Do the same for `x` and `b`, compare each with the gradient your `conv_backward` returns, and
# return the three errors `np.array([err_dx, err_dw, err_db])`, each computed with `rel_error`
# (given in the setup cell). It divides the largest difference by the largest size of the
# gradients, `max |a - b| / max(|a| + |b|)`, so an entry that is tiny only because its terms
# cancel does not raise a false alarm. (The book's `convnb.rel_error`, chapter *Backpropagation*,
# divides entry by entry instead, `max(|a - b| / max(1e-8, |a| + |b|))`; on the same gradients it
# can give a larger number. The tests use the lab's.)
#
# The hidden tests run your `gradcheck_conv` on random layers and want every error below
# `1e-6`; a right layer and a right checker give `1e-9` or less, a wrong gradient about 1. While
# they run, the course's `conv_backward` and `numerical_gradient` stand in for yours (Parts 1
# and 2 judge those), so what Part 3 grades is the wiring: which array each lambda varies, and
# that both sides of each error use the same gradient and the same `dout`. Some hidden layers
# are wrong on purpose (an unflipped `dx`, a flipped `dw`, a mean for `db`): there a checker
# must report the large error it really is, within 1%, so a checker that always answers small
# errors fails them.

# %% id=gradcheck_conv solution
def gradcheck_conv(x, w, b, dout, stride=1, pad=0):
    """Relative errors between conv_backward and numerical_gradient of conv_forward.

    Parameters
    ----------
    x, w, b : np.ndarray, float64
        The layer's input, kernels and biases.
    dout : np.ndarray, float64
        The gradient of the loss with respect to the layer's output.
    stride, pad : int
        The layer's stride and padding.

    Returns
    -------
    np.ndarray, float64
        ``[rel_error(dx, dx_num), rel_error(dw, dw_num), rel_error(db, db_num)]``: your
        ``conv_backward``'s gradients against your ``numerical_gradient``'s.

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,), dout (N, F, H_out, W_out) -> (3,)
    """
    ### BEGIN SOLUTION
    dx, dw, db = conv_backward(dout, x, w, stride, pad)
    dx_num = numerical_gradient(lambda x_: conv_forward(x_, w, b, stride, pad), x, dout)
    dw_num = numerical_gradient(lambda w_: conv_forward(x, w_, b, stride, pad), w, dout)
    db_num = numerical_gradient(lambda b_: conv_forward(x, w, b_, stride, pad), b, dout)
    return np.array([rel_error(dx, dx_num), rel_error(dw, dw_num), rel_error(db, db_num)])
    ### END SOLUTION

# %% id=test_gradcheck_conv locked
check_gradcheck_conv(gradcheck_conv)

# %% id=hidden_gradcheck_conv tests
# Hidden tests (4 points): gradcheck_conv on random layers.
### BEGIN HIDDEN TESTS
check_gradcheck_conv(gradcheck_conv, seed=4106, points=4)
### END HIDDEN TESTS

# %% [markdown] id=end locked
# ## Try it (not graded)
#
# The cell below is yours. Some ideas: print the error of a one-sided and of a centred
# difference on `np.sin` for `eps = 1e-1, 1e-2, ..., 1e-10`, and find where each is smallest
# (why does the error grow again for tiny `eps`?); or run a stride-2 layer whose input is one
# row too tall for its windows, and look at the last row of your `dx`.

# %%
