# Lab 3 in text form: the source of labs/source/lab03_pooling/lab03_pooling.ipynb.
# Edit this file, then run `python -m autograder.build lab03_pooling` from the
# repository root. The format is described in labs/README.md.

# %% [markdown] id=intro locked
# # Lab 3: pooling, forward and backward
#
# A pooling layer shrinks every feature map by summarising each small window with one number: its
# largest value (max pooling) or its mean (average pooling). It has no weights to learn, but a
# network still has to send gradients back through it. In this lab you write both poolings and
# their backward passes. Max pooling remembers *where* each maximum came from, the "switches",
# and its backward pass sends each gradient to that one place.
#
# **Reading.** The book's chapter *Pooling* (`05_pooling`): max and average pooling, windows,
# stride and the output size. The chapter *Backpropagation* (`06_backprop`): the gradient of a
# pooling layer, switches.
#
# **Letters.** `x` is a batch of feature maps, shape `(N, C, H, W)`. A pooling window is `k x k`
# and moves `stride` pixels at a time, in both directions; there is no padding. Each channel is
# pooled on its own, so the output `out` has shape `(N, C, H_out, W_out)` with
#
# $$H_\text{out} = \left\lfloor \frac{H - k}{\text{stride}} \right\rfloor + 1, \qquad
# W_\text{out} = \left\lfloor \frac{W - k}{\text{stride}} \right\rfloor + 1.$$
#
# Window `(i, j)` covers rows `i*stride .. i*stride + k - 1` and columns
# `j*stride .. j*stride + k - 1`. When `stride < k`, neighbouring windows overlap.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `max_pool_forward(x, k, stride)`: the maxima (3 points) and their switches (3 points) | 6 |
# | 2 | `max_pool_backward(dout, x, k, stride)`: the gradient through max pooling | 5 |
# | 3 | `avg_pool_forward(x, k, stride)`: average pooling | 4 |
# | 4 | `avg_pool_backward(dout, x, k, stride)`: the gradient through average pooling | 5 |
#
# **Total: 20 points.**
#
# **How it is graded.** Below each function is a *visible test*: run it. It tries a few small
# cases, prints a report (the smallest failing case, expected against got, the largest error and
# a hint) and fails if a case is wrong. When your lab is graded, *hidden tests* run the same
# comparison on random batches, windows and strides, and give partial credit: the function's
# points times the fraction of cases it gets right, rounded down to half a point. Half of the
# random inputs are small whole numbers, so windows with two equal maxima are common.
# Each function is graded on its own: where it calls another function you write in this
# lab, the course's version stands in for yours during its tests, visible and hidden (the
# report says so), so one mistake costs points once.
#
# A result counts as right when it is a `np.ndarray` (not a list, not an `np.matrix`), of the
# shape and dtype in the docstring, with no NaN or infinity, and every entry within
# `1e-9 + 1e-6 * |expected|` of the reference (the switches exactly equal). The cases are small:
# loops are fine. Printing or warnings inside your functions cost nothing.
#
# Rules: keep the function names and signatures; do not delete or copy cells; write the
# operations yourself with NumPy (not with `convnb`, SciPy, `np.lib.stride_tricks`,
# `np.convolve` or `np.correlate`, which are what your answers are compared with, nor with a
# deep-learning library).
#
# **Installing and checking.** The notebook needs the course's package (`convnb` and these checks)
# in the Python that runs it. Download `convnb-0.1.0-py3-none-any.whl` from the book's Labs page and
# run `pip install convnb-0.1.0-py3-none-any.whl` in a terminal (on a JupyterHub, its terminal),
# with `pip install jupyterlab` if your computer has no Jupyter yet; on Colab, make the first cell
# `%pip install https://<the book's address>/convnb-0.1.0-py3-none-any.whl` (the address of the
# package's link on the Labs page). Before you submit, save the notebook and run
# `python -m autograder check lab03_pooling.ipynb` in a terminal, in its folder: it runs the
# notebook from the top in a fresh kernel, as the grader does, and prints PASS or FAIL for each
# visible test, with the whole report and hint of each failure. (On Colab, which has no terminal,
# download the notebook and check it on a computer with the package.) While you work, run the cells
# one by one: *Run All* stops at the first visible test that fails.

# %% id=setup locked
import numpy as np

from autograder.checks.lab03 import (
    check_avg_pool_backward,
    check_avg_pool_forward,
    check_max_pool_backward,
    check_max_pool_forward,
    check_max_pool_switches,
)

# %% [markdown] id=part1 locked
# ## Part 1: max pooling and its switches (6 points)
#
# Each output is the largest number in its window, channel by channel:
#
# $$\text{out}[n, c, i, j] = \max_{0 \le u, v < k}\; x[n, c,\; i \cdot \text{stride} + u,\;
# j \cdot \text{stride} + v].$$
#
# The **switch** of output `(n, c, i, j)` says where that maximum sits in its input plane
# `x[n, c]` (an `H x W` image), as one flat index: if the maximum is at row `r` and column `q`,
# the switch is `r * W + q` (the position in `x[n, c].reshape(-1)`). When several entries of a
# window tie for the maximum, the switch is the **first** of them in row-major order (row by
# row, each row left to right), which is what `np.argmax` returns on a flattened window. The
# switches are integers: return them with dtype `int64` (`np.argmax` gives that; a
# `np.zeros(..., dtype=np.int64)` array holds them).
#
# The lecture's example: one 4 x 4 slice, 2 x 2 windows, stride 2. Its maxima are `6 8 / 3 4`,
# and their switches are `5 7 / 8 15`: the 6 sits at row 1, column 1, so `1 * 4 + 1 = 5`.
#
# `max_pool_forward` returns both, as a tuple `(out, switches)`. The maxima and the switches are
# graded separately (3 points each).

# %% id=max_pool_forward solution
def max_pool_forward(x, k, stride):
    """Max pooling, with the position of every maximum.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of feature maps; k <= H and k <= W.
    k : int
        Window height and width.
    stride : int
        How many pixels the window moves between neighbouring outputs (both axes).

    Returns
    -------
    out : np.ndarray, float64
        ``out[n, c, i, j] = max_{u, v} x[n, c, i*stride + u, j*stride + v]``.
    switches : np.ndarray, int64
        ``switches[n, c, i, j] = r * W + q`` where ``x[n, c, r, q]`` is the first maximum of
        window ``(i, j)`` in row-major order.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out), switches (N, C, H_out, W_out) with
    ``H_out = (H - k) // stride + 1`` and ``W_out = (W - k) // stride + 1``
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out = (H - k) // stride + 1
    W_out = (W - k) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    switches = np.zeros((N, C, H_out, W_out), dtype=np.int64)
    for i in range(H_out):
        for j in range(W_out):
            r, q = i * stride, j * stride
            window = x[:, :, r:r + k, q:q + k].reshape(N, C, k * k)
            first = np.argmax(window, axis=2)  # u * k + v of the first maximum
            out[:, :, i, j] = np.max(window, axis=2)
            switches[:, :, i, j] = (r + first // k) * W + (q + first % k)
    return out, switches
    ### END SOLUTION

# %% id=test_max_pool_forward locked
check_max_pool_forward(max_pool_forward)

# %% id=test_max_pool_switches locked
check_max_pool_switches(max_pool_forward)

# %% id=lecture_example locked
# The lecture's single depth slice (one example, one channel) and its max pooled output.
x_lecture = np.array([[[[1, 1, 2, 4],
                        [5, 6, 7, 8],
                        [3, 2, 1, 0],
                        [1, 2, 3, 4]]]], dtype=float)
out_lecture = np.array([[[[6, 8],
                          [3, 4]]]], dtype=float)

out, switches = max_pool_forward(x_lecture, 2, 2)
print("maxima:\n", out[0, 0], "\nswitches:\n", switches[0, 0])
assert np.array_equal(out, out_lecture), "these are not the lecture's maxima"
assert np.array_equal(switches, [[[[5, 7], [8, 15]]]]), "these are not the switches above"
print("The lecture's example, with its switches.")

# %% id=hidden_max_pool_forward tests
# Hidden tests (3 points): the maxima of max_pool_forward on random batches, windows and strides.
### BEGIN HIDDEN TESTS
check_max_pool_forward(max_pool_forward, seed=1301, points=3)
### END HIDDEN TESTS

# %% id=hidden_max_pool_switches tests
# Hidden tests (3 points): the switches of max_pool_forward on random batches, windows, strides.
### BEGIN HIDDEN TESTS
check_max_pool_switches(max_pool_forward, seed=1302, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part2 locked
# ## Part 2: the gradient through max pooling (5 points)
#
# `dout` is the gradient of the loss with respect to `out`, the same shape. Only one input of a
# window decided its output, the maximum, and moving that input by a little moves the output by
# the same amount; moving any other input of the window changes nothing. So each `dout` entry
# goes, whole, to its window's switch, and every other input gets nothing from that window:
#
# $$dx[n, c, r, q] = \sum_{(i, j)\,:\;\text{switch}(n, c, i, j) = (r, q)} dout[n, c, i, j].$$
#
# The sum matters when windows overlap: one input can be the maximum of several windows, and
# then it collects all of their gradients. Use the switches of your `max_pool_forward`; a flat
# view `dx.reshape(N, C, H * W)` takes them as they are.

# %% id=max_pool_backward solution
def max_pool_backward(dout, x, k, stride):
    """Gradient of max pooling with respect to its input.

    Parameters
    ----------
    dout : np.ndarray, float64
        Gradient of the loss with respect to the output of ``max_pool_forward(x, k, stride)``.
    x : np.ndarray, float64
        The input of the forward pass.
    k : int
        Window height and width.
    stride : int
        How many pixels the window moves between neighbouring outputs (both axes).

    Returns
    -------
    np.ndarray, float64
        ``dx``: each ``dout[n, c, i, j]`` added at the switch of window ``(i, j)``; zero
        elsewhere.

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    _, switches = max_pool_forward(x, k, stride)
    dx = np.zeros((N, C, H * W))
    for n, c, i, j in np.ndindex(*dout.shape):
        dx[n, c, switches[n, c, i, j]] += dout[n, c, i, j]
    return dx.reshape(N, C, H, W)
    ### END SOLUTION

# %% id=test_max_pool_backward locked
check_max_pool_backward(max_pool_backward)

# %% id=hidden_max_pool_backward tests
# Hidden tests (5 points): max_pool_backward on random batches, windows, strides and gradients.
### BEGIN HIDDEN TESTS
check_max_pool_backward(max_pool_backward, seed=1303, points=5)
### END HIDDEN TESTS

# %% [markdown] id=part3 locked
# ## Part 3: average pooling (4 points)
#
# Each output is the mean of the `k * k` numbers in its window:
#
# $$\text{out}[n, c, i, j] = \frac{1}{k^2} \sum_{u=0}^{k-1} \sum_{v=0}^{k-1}
# x[n, c,\; i \cdot \text{stride} + u,\; j \cdot \text{stride} + v].$$

# %% id=avg_pool_forward solution
def avg_pool_forward(x, k, stride):
    """Average pooling.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of feature maps; k <= H and k <= W.
    k : int
        Window height and width.
    stride : int
        How many pixels the window moves between neighbouring outputs (both axes).

    Returns
    -------
    np.ndarray, float64
        ``out[n, c, i, j] = mean_{u, v} x[n, c, i*stride + u, j*stride + v]``.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out) with
    ``H_out = (H - k) // stride + 1`` and ``W_out = (W - k) // stride + 1``
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out = (H - k) // stride + 1
    W_out = (W - k) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            r, q = i * stride, j * stride
            out[:, :, i, j] = x[:, :, r:r + k, q:q + k].mean(axis=(2, 3))
    return out
    ### END SOLUTION

# %% id=test_avg_pool_forward locked
check_avg_pool_forward(avg_pool_forward)

# %% id=hidden_avg_pool_forward tests
# Hidden tests (4 points): avg_pool_forward on random batches, windows and strides.
### BEGIN HIDDEN TESTS
check_avg_pool_forward(avg_pool_forward, seed=1304, points=4)
### END HIDDEN TESTS

# %% [markdown] id=part4 locked
# ## Part 4: the gradient through average pooling (5 points)
#
# Every input of a window counts for `1 / k**2` of its output, so each `dout` entry is shared
# out evenly: every input of window `(i, j)` receives `dout[n, c, i, j] / k**2`. An input that
# lies in several overlapping windows adds up its share of each:
#
# $$dx[n, c, r, q] = \frac{1}{k^2} \sum_{(i, j)\,:\;(r, q) \in \text{window}(i, j)}
# dout[n, c, i, j].$$
#
# This backward pass does not need the values of `x`, only its shape.

# %% id=avg_pool_backward solution
def avg_pool_backward(dout, x, k, stride):
    """Gradient of average pooling with respect to its input.

    Parameters
    ----------
    dout : np.ndarray, float64
        Gradient of the loss with respect to the output of ``avg_pool_forward(x, k, stride)``.
    x : np.ndarray, float64
        The input of the forward pass (only its shape is needed).
    k : int
        Window height and width.
    stride : int
        How many pixels the window moves between neighbouring outputs (both axes).

    Returns
    -------
    np.ndarray, float64
        ``dx``: each ``dout[n, c, i, j] / k**2`` added to every input of window ``(i, j)``.

    Shapes: dout (N, C, H_out, W_out), x (N, C, H, W) -> dx (N, C, H, W)
    """
    ### BEGIN SOLUTION
    dx = np.zeros(x.shape)
    _, _, H_out, W_out = dout.shape
    for i in range(H_out):
        for j in range(W_out):
            r, q = i * stride, j * stride
            dx[:, :, r:r + k, q:q + k] += dout[:, :, i, j, None, None] / (k * k)
    return dx
    ### END SOLUTION

# %% id=test_avg_pool_backward locked
check_avg_pool_backward(avg_pool_backward)

# %% id=hidden_avg_pool_backward tests
# Hidden tests (5 points): avg_pool_backward on random batches, windows, strides and gradients.
### BEGIN HIDDEN TESTS
check_avg_pool_backward(avg_pool_backward, seed=1305, points=5)
### END HIDDEN TESTS

# %% [markdown] id=end locked
# ## Try it (not graded)
#
# The cell below is yours. For example: check your backward passes with a numerical gradient
# (nudge one entry of `x` by `1e-6` and watch `np.sum(out * dout)` change), and see what
# happens to max pooling's gradient when two entries of a window tie; or shift an image by one
# pixel and count how many outputs of a 2 x 2, stride 2 max pooling change.

# %%
