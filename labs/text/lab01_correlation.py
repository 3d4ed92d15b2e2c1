# Lab 1 in text form: the source of labs/source/lab01_correlation/lab01_correlation.ipynb.
# Edit this file, then run `python -m autograder.build lab01_correlation` from the
# repository root. The format is described in labs/README.md.

# %% [markdown] id=intro locked
# # Lab 1: correlation, convolution and padding
#
# Every convolutional layer is built from three small ideas: slide a kernel over an input and
# take a weighted sum at each position (correlation); decide what happens at the borders
# (padding); and decide how far the kernel jumps between positions (stride). In this lab you
# write each of them yourself, with plain NumPy, and check them against the course's reference.
#
# **Reading.** The book's chapter *Convolution* (`02_convolution`): discrete convolution,
# convolution versus correlation, image filters. The chapter *Padding and stride*
# (`03_padding_stride`): boundaries, "valid", "same" and "full" outputs, stride, and the
# arithmetic of output sizes.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `correlate1d(x, w)`: cross-correlation of a signal | 3 |
# | 2 | `convolve1d(x, w)`: convolution, the flipped version | 2 |
# | 3 | `correlate2d(x, w, stride)`: cross-correlation of an image, with a stride | 4 |
# | 4 | `convolve2d(x, w)`: convolution of an image | 3 |
# | 5 | `pad2d(x, p, mode)`: zero, reflect and replicate padding | 4 |
# | 6 | `output_size(i, k, s, p)`: the output-size formula | 4 |
#
# **Total: 20 points.**
#
# **How it is graded.** Below each function is a *visible test*: run it. It tries a few small
# cases, prints a report (the smallest failing case, expected against got, the largest error and
# a hint) and fails if a case is wrong. When your lab is graded, *hidden tests* run the same
# comparison on random sizes, kernels, strides and paddings, and give partial credit: the
# function's points times the fraction of cases it gets right, rounded down to half a point.
# Each function is graded on its own: where it calls another function you write in this
# lab, the course's version stands in for yours during its tests, visible and hidden (the
# report says so), so one mistake costs points once.
#
# A result counts as right when it is a `np.ndarray` (not a list, not an `np.matrix`), of the
# shape in the docstring, of dtype `float64` like the inputs, with no NaN or infinity, and every
# entry within `1e-9 + 1e-6 * |expected|` of the reference. `output_size` returns an `int`.
# Loops are fine: the cases are small. Printing or warnings inside your functions cost nothing.
#
# Rules: keep the function names and signatures; do not delete or copy cells; write the
# operations yourself with NumPy (not with `convnb`, SciPy, `np.convolve` or `np.correlate`,
# which are what your answers are compared with, nor with a deep-learning library). `np.pad` is
# allowed in part 5, once you have checked what its modes do.
#
# **Installing and checking.** The notebook needs the course's package (`convnb` and these checks)
# in the Python that runs it. Download `convnb-0.1.0-py3-none-any.whl` from the book's Labs page and
# run `pip install convnb-0.1.0-py3-none-any.whl` in a terminal (on a JupyterHub, its terminal),
# with `pip install jupyterlab` if your computer has no Jupyter yet; on Colab, make the first cell
# `%pip install https://<the book's address>/convnb-0.1.0-py3-none-any.whl` (the address of the
# package's link on the Labs page). Before you submit, save the notebook and run
# `python -m autograder check lab01_correlation.ipynb` in a terminal, in its folder: it runs the
# notebook from the top in a fresh kernel, as the grader does, and prints PASS or FAIL for each
# visible test, with the whole report and hint of each failure. (On Colab, which has no terminal,
# download the notebook and check it on a computer with the package.) While you work, run the cells
# one by one: *Run All* stops at the first visible test that fails.

# %% id=setup locked
import numpy as np

from autograder.checks.lab01 import (
    check_convolve1d,
    check_convolve2d,
    check_correlate1d,
    check_correlate2d,
    check_output_size,
    check_pad2d,
)

# %% [markdown] id=part1 locked
# ## Part 1: cross-correlation in 1-D (3 points)
#
# Lay the kernel `w` (length `K`) over the signal `x` (length `L`) starting at position `i`,
# multiply the entries that lie on top of each other, and add the products:
#
# $$\mathrm{out}[i] = \sum_{k=0}^{K-1} w[k]\, x[i + k].$$
#
# Keep only the placements where the whole kernel lies inside the signal (the *valid* output):
# `i = 0, 1, ..., L - K`, so the output has `L - K + 1` entries. For example `x = [1, 2, 3, 4, 5]`
# and `w = [1, 0, -1]` give `[-2, -2, -2]`: each output is a difference of two samples two
# apart. This is what deep-learning libraries compute in their "convolution" layers.

# %% id=correlate1d solution
def correlate1d(x, w):
    """Valid cross-correlation of a 1-D signal with a kernel.

    Parameters
    ----------
    x : np.ndarray, float64
        The signal.
    w : np.ndarray, float64
        The kernel, no longer than the signal (K <= L).

    Returns
    -------
    np.ndarray, float64
        ``out[i] = sum_k w[k] * x[i + k]`` for ``i = 0 .. L - K``.

    Shapes: x (L,), w (K,) -> out (L - K + 1,)
    """
    ### BEGIN SOLUTION
    L, K = len(x), len(w)
    out = np.zeros(L - K + 1)
    for i in range(L - K + 1):
        out[i] = np.sum(w * x[i:i + K])
    return out
    ### END SOLUTION

# %% id=test_correlate1d locked
check_correlate1d(correlate1d)

# %% id=hidden_correlate1d tests
# Hidden tests (3 points): correlate1d on random signals and kernels.
### BEGIN HIDDEN TESTS
check_correlate1d(correlate1d, seed=1101, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part2 locked
# ## Part 2: convolution in 1-D, the flip (2 points)
#
# Convolution runs the kernel backwards: the first kernel entry meets the *last* sample of each
# window,
#
# $$\mathrm{out}[i] = \sum_{k=0}^{K-1} w[k]\, x[i + K - 1 - k],$$
#
# which is the correlation with the reversed kernel `w[::-1]`. The flip is what makes
# convolution commutative and associative (two blurs in a row are one blur), the properties that
# signal processing relies on. For a symmetric kernel the two operations agree; for
# `w = [1, 0, -1]` they differ by a sign. You may call your `correlate1d`.

# %% id=convolve1d solution
def convolve1d(x, w):
    """Valid convolution of a 1-D signal with a kernel (the kernel flipped, then correlated).

    Parameters
    ----------
    x : np.ndarray, float64
        The signal.
    w : np.ndarray, float64
        The kernel, K <= L.

    Returns
    -------
    np.ndarray, float64
        ``out[i] = sum_k w[k] * x[i + K - 1 - k]`` for ``i = 0 .. L - K``.

    Shapes: x (L,), w (K,) -> out (L - K + 1,)
    """
    ### BEGIN SOLUTION
    return correlate1d(x, w[::-1])
    ### END SOLUTION

# %% id=test_convolve1d locked
check_convolve1d(convolve1d)

# %% id=hidden_convolve1d tests
# Hidden tests (2 points): convolve1d on random signals and kernels.
### BEGIN HIDDEN TESTS
check_convolve1d(convolve1d, seed=1102, points=2)
### END HIDDEN TESTS

# %% [markdown] id=part3 locked
# ## Part 3: cross-correlation of an image, with a stride (4 points)
#
# In 2-D the kernel `w` (`KH` rows, `KW` columns) slides over the image `x` (`H` rows, `W`
# columns) along both axes. With stride `s` it jumps `s` pixels between neighbouring outputs,
# in both directions:
#
# $$\mathrm{out}[i, j] = \sum_{u=0}^{KH-1} \sum_{v=0}^{KW-1} w[u, v]\, x[i s + u,\; j s + v].$$
#
# Only valid placements count, so the output has `H_out = (H - KH) // s + 1` rows and
# `W_out = (W - KW) // s + 1` columns. Stride 1 gives the plain valid correlation.

# %% id=correlate2d solution
def correlate2d(x, w, stride=1):
    """Valid 2-D cross-correlation of an image with a kernel, with a stride.

    Parameters
    ----------
    x : np.ndarray, float64
        The image.
    w : np.ndarray, float64
        The kernel, KH <= H and KW <= W.
    stride : int
        How many pixels the kernel moves between neighbouring outputs (both axes).

    Returns
    -------
    np.ndarray, float64
        ``out[i, j] = sum_{u, v} w[u, v] * x[i*stride + u, j*stride + v]``.

    Shapes: x (H, W), w (KH, KW) -> out (H_out, W_out) with
    ``H_out = (H - KH) // stride + 1`` and ``W_out = (W - KW) // stride + 1``
    """
    ### BEGIN SOLUTION
    H, W = x.shape
    KH, KW = w.shape
    H_out, W_out = (H - KH) // stride + 1, (W - KW) // stride + 1
    out = np.zeros((H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            patch = x[i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[i, j] = np.sum(w * patch)
    return out
    ### END SOLUTION

# %% id=test_correlate2d locked
check_correlate2d(correlate2d)

# %% id=hidden_correlate2d tests
# Hidden tests (4 points): correlate2d on random images, kernels and strides.
### BEGIN HIDDEN TESTS
check_correlate2d(correlate2d, seed=1103, points=4)
### END HIDDEN TESTS

# %% [markdown] id=part4 locked
# ## Part 4: convolution of an image (3 points)
#
# 2-D convolution turns the kernel half a turn (180 degrees) before correlating:
# `w[::-1, ::-1]`, which reverses both the rows and the columns. A half turn is not a transpose:
# `w.T` mirrors the kernel across its diagonal. The lecture's edge detector (the Laplacian) and
# its blur are symmetric, so convolution and correlation agree on them; a Sobel kernel changes
# sign. No stride here. You may call your `correlate2d`.

# %% id=convolve2d solution
def convolve2d(x, w):
    """Valid 2-D convolution of an image with a kernel.

    Parameters
    ----------
    x : np.ndarray, float64
        The image.
    w : np.ndarray, float64
        The kernel, KH <= H and KW <= W.

    Returns
    -------
    np.ndarray, float64
        ``out[i, j] = sum_{u, v} w[u, v] * x[i + KH - 1 - u, j + KW - 1 - v]``.

    Shapes: x (H, W), w (KH, KW) -> out (H - KH + 1, W - KW + 1)
    """
    ### BEGIN SOLUTION
    return correlate2d(x, w[::-1, ::-1])
    ### END SOLUTION

# %% id=test_convolve2d locked
check_convolve2d(convolve2d)

# %% id=hidden_convolve2d tests
# Hidden tests (3 points): convolve2d on random images and kernels.
### BEGIN HIDDEN TESTS
check_convolve2d(convolve2d, seed=1104, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part5 locked
# ## Part 5: padding (4 points)
#
# A valid output shrinks by `K - 1`; padding the input first keeps the size (or any size you
# want) and lets the kernel see the border pixels more often (as often as the others only with
# 'full' padding, `K - 1` on each side). `pad2d(x, p, mode)`
# adds `p_rows` rows above *and* below the image and `p_cols` columns left *and* right of it;
# `p` is either one int (the same on both axes) or a pair `(p_rows, p_cols)`. What goes into the
# new border depends on `mode`; for one row `a b c d` padded by 2 on each side:
#
# | mode | padded row | the border is |
# |---|---|---|
# | `"zeros"` | `0 0 a b c d 0 0` | zero |
# | `"reflect"` | `c b a b c d c b` | the image mirrored about its edge pixel (not repeated) |
# | `"replicate"` | `a a a b c d d d` | the edge pixel, repeated |
#
# The names are PyTorch's `padding_mode`s. In 2-D, the corners follow from applying the rule to
# the rows and then to the columns. For `"reflect"` the padding is smaller than the image
# (`p_rows < H`, `p_cols < W`); the tests respect that. The result has the dtype of `x`.

# %% id=pad2d solution
def pad2d(x, p, mode="zeros"):
    """Pad an image on all four sides.

    Parameters
    ----------
    x : np.ndarray, float64
        The image.
    p : int or tuple of two ints
        Rows added above and below, and columns added left and right: ``(p_rows, p_cols)``;
        an int means the same on both axes.
    mode : {"zeros", "reflect", "replicate"}
        What fills the border (see the table above).

    Returns
    -------
    np.ndarray, same dtype as x
        The padded image, ``x`` in its middle:
        ``out[p_rows:p_rows + H, p_cols:p_cols + W] == x``.

    Shapes: x (H, W) -> out (H + 2 * p_rows, W + 2 * p_cols)
    """
    ### BEGIN SOLUTION
    p_rows, p_cols = (p, p) if isinstance(p, int) else p
    H, W = x.shape
    if mode == "zeros":
        out = np.zeros((H + 2 * p_rows, W + 2 * p_cols), dtype=x.dtype)
        out[p_rows:p_rows + H, p_cols:p_cols + W] = x
        return out
    # For every padded row (column), the image row (column) it copies.
    rows, cols = np.arange(-p_rows, H + p_rows), np.arange(-p_cols, W + p_cols)
    if mode == "replicate":
        rows, cols = np.clip(rows, 0, H - 1), np.clip(cols, 0, W - 1)
    elif mode == "reflect":
        rows, cols = np.abs(rows), np.abs(cols)
        rows = np.where(rows > H - 1, 2 * (H - 1) - rows, rows)
        cols = np.where(cols > W - 1, 2 * (W - 1) - cols, cols)
    else:
        raise ValueError(f"mode must be 'zeros', 'reflect' or 'replicate', got {mode!r}")
    return x[rows[:, None], cols[None, :]]
    ### END SOLUTION

# %% id=test_pad2d locked
check_pad2d(pad2d)

# %% id=hidden_pad2d tests
# Hidden tests (4 points): pad2d on random images, paddings and modes.
### BEGIN HIDDEN TESTS
check_pad2d(pad2d, seed=1105, points=4)
### END HIDDEN TESTS

# %% [markdown] id=part6 locked
# ## Part 6: the output-size formula (4 points)
#
# Along one axis, an input of size `i` padded by `p` on both sides has `i + 2p` positions. A
# kernel of size `k` moving `s` positions at a time fits at
#
# $$o = \left\lfloor \frac{i + 2p - k}{s} \right\rfloor + 1$$
#
# placements: `(i + 2p - k) // s` jumps after the first placement, rounded down because a last
# placement that would stick out of the padded input does not count. The lecture's example, a
# 5 x 5 input with a 3 x 3 kernel, stride 2 and padding 1, gives a 3 x 3 output. Return an `int`.

# %% id=output_size solution
def output_size(i, k, s=1, p=0):
    """Number of outputs of a convolution along one axis.

    Parameters
    ----------
    i : int
        Input size.
    k : int
        Kernel size, at most ``i + 2 * p``.
    s : int
        Stride.
    p : int
        Padding added on each side.

    Returns
    -------
    int
        ``floor((i + 2p - k) / s) + 1``.
    """
    ### BEGIN SOLUTION
    return (i + 2 * p - k) // s + 1
    ### END SOLUTION

# %% id=test_output_size locked
check_output_size(output_size)

# %% id=hidden_output_size tests
# Hidden tests (4 points): output_size on random sizes, kernels, strides and paddings.
### BEGIN HIDDEN TESTS
check_output_size(output_size, seed=1106, points=4)
### END HIDDEN TESTS

# %% [markdown] id=end locked
# ## Try it (not graded)
#
# The cell below is yours. For example: blur a small image with the lecture's 5 x 5 blur
# (a 3 x 3 block of ones in a 5 x 5 of zeros), pad it with each mode so that the output keeps
# the input's size, and compare the borders; or check `output_size` against the shapes your
# `correlate2d` returns.

# %%
