# Lab 2 in text form: the source of labs/source/lab02_conv_forward/lab02_conv_forward.ipynb.
# Edit this file, then run `python -m autograder.build lab02_conv_forward` from the
# repository root. The format is described in labs/README.md.

# %% [markdown] id=intro locked
# # Lab 2: the convolution layer, forward
#
# A convolution layer takes a batch of images with several channels and returns a batch of
# feature maps, one per filter. Each filter is as deep as its input: it looks at every channel of
# a small window at once, and adds what it sees into one number. In this lab you write that layer
# twice: first with plain loops that read like the formula, then as one big matrix product
# ("im2col"), the way fast libraries do it. Both must give the same numbers.
#
# **Reading.** The book's chapter *Channels* (`04_channels`): tensors, depth, the 5 x 5 x 3
# example with two filters, the 4-D kernel. The chapter *Padding and stride*
# (`03_padding_stride`): zero padding, stride and the output size. For part 3 and 4, the chapter
# *Fast convolution* (`08_fast_convolution`): loops, im2col and the matrix product.
#
# **Letters.** `x` is a batch of inputs, shape `(N, C, H, W)`: N examples, C channels, H rows,
# W columns. `w` holds the filters, shape `(F, C, KH, KW)`: F filters, each C channels deep and
# KH x KW wide. `b` is the bias, one number per filter, shape `(F,)`. The output `out` has shape
# `(N, F, H_out, W_out)`, with
#
# $$H_\text{out} = \left\lfloor \frac{H + 2\,\text{pad} - KH}{\text{stride}} \right\rfloor + 1,
# \qquad W_\text{out} = \left\lfloor \frac{W + 2\,\text{pad} - KW}{\text{stride}} \right\rfloor
# + 1.$$
#
# | part | you write | points |
# |---|---|---|
# | 1 | `zero_pad(x, pad)`: zeros around every image of the batch | 2 |
# | 2 | `conv_forward_loops(x, w, b, stride, pad)`: the layer, with loops | 7 |
# | 3 | `im2col(x, KH, KW, stride, pad)`: every receptive field as a column of a matrix | 6 |
# | 4 | `conv_forward_im2col(x, w, b, stride, pad)`: the layer as one matrix product | 5 |
#
# **Total: 20 points.**
#
# **How it is graded.** Below each function is a *visible test*: run it. It tries a few small
# cases, prints a report (the smallest failing case, expected against got, the largest error and
# a hint) and fails if a case is wrong. When your lab is graded, *hidden tests* run the same
# comparison on random batch sizes, channels, filters, kernels, strides and paddings, and give
# partial credit: the function's points times the fraction of cases it gets right, rounded down
# to half a point.
# Each function is graded on its own: where it calls another function you write in this
# lab, the course's version stands in for yours during its tests, visible and hidden (the
# report says so), so one mistake costs points once.
#
# A result counts as right when it is a `np.ndarray` (not a list, not an `np.matrix`), of the
# shape in the docstring, of dtype `float64` like the inputs, with no NaN or infinity, and every
# entry within `1e-9 + 1e-6 * |expected|` of the reference. The cases are small: loops are fine.
# Printing or warnings inside your functions cost nothing.
#
# Rules: keep the function names and signatures; do not delete or copy cells; write the
# operations yourself with NumPy (not with `convnb`, SciPy, `np.lib.stride_tricks`,
# `np.convolve` or `np.correlate`, which are what your answers are compared with, nor with a
# deep-learning library). `np.pad` is allowed in part 1.
#
# **Installing and checking.** The notebook needs the course's package (`convnb` and these checks)
# in the Python that runs it. Download `convnb-0.1.0-py3-none-any.whl` from the book's Labs page and
# run `pip install convnb-0.1.0-py3-none-any.whl` in a terminal (on a JupyterHub, its terminal),
# with `pip install jupyterlab` if your computer has no Jupyter yet; on Colab, make the first cell
# `%pip install https://<the book's address>/convnb-0.1.0-py3-none-any.whl` (the address of the
# package's link on the Labs page). Before you submit, save the notebook and run
# `python -m autograder check lab02_conv_forward.ipynb` in a terminal, in its folder: it runs the
# notebook from the top in a fresh kernel, as the grader does, and prints PASS or FAIL for each
# visible test, with the whole report and hint of each failure. (On Colab, which has no terminal,
# download the notebook and check it on a computer with the package.) While you work, run the cells
# one by one: *Run All* stops at the first visible test that fails.

# %% id=setup locked
import numpy as np

from autograder.checks.lab02 import (
    check_conv_forward_im2col,
    check_conv_forward_loops,
    check_im2col,
    check_zero_pad,
)

# %% [markdown] id=part1 locked
# ## Part 1: zero padding a batch (2 points)
#
# Padding adds `pad` rows of zeros above *and* below every image, and `pad` columns of zeros
# left *and* right of it, in every channel of every example. Only the two spatial axes grow;
# the batch axis N and the channel axis C stay as they are:
#
# $$x_\text{pad}[n, c, \text{pad} + r, \text{pad} + q] = x[n, c, r, q],$$
#
# and zero everywhere else. `pad = 0` returns the input unchanged (as a new array or the same
# one; either is fine, but do not change `x` itself).

# %% id=zero_pad solution
def zero_pad(x, pad):
    """Pad the height and width of every image of a batch with zeros.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of images.
    pad : int
        Rows of zeros added above and below, and columns left and right (pad >= 0).

    Returns
    -------
    np.ndarray, float64
        ``xpad`` with ``xpad[:, :, pad:pad + H, pad:pad + W] == x`` and zeros around it.

    Shapes: x (N, C, H, W) -> xpad (N, C, H + 2*pad, W + 2*pad)
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    xpad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
    xpad[:, :, pad:pad + H, pad:pad + W] = x
    return xpad
    ### END SOLUTION

# %% id=test_zero_pad locked
check_zero_pad(zero_pad)

# %% id=hidden_zero_pad tests
# Hidden tests (2 points): zero_pad on random batches and paddings.
### BEGIN HIDDEN TESTS
check_zero_pad(zero_pad, seed=1201, points=2)
### END HIDDEN TESTS

# %% [markdown] id=part2 locked
# ## Part 2: the layer, with loops (7 points)
#
# Output number `(n, f, i, j)` is filter `f` laid over example `n` of the padded input, with its
# top-left corner at row `i * stride` and column `j * stride`: multiply the `C x KH x KW`
# numbers that lie on top of each other, add them all up (over the channels too), and add the
# filter's bias:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c=0}^{C-1} \sum_{u=0}^{KH-1} \sum_{v=0}^{KW-1}
# w[f, c, u, v]\; x_\text{pad}[n, c,\; i \cdot \text{stride} + u,\; j \cdot \text{stride} + v].$$
#
# This is a cross-correlation, like every "convolution" layer in deep learning: the kernel is
# not flipped. Use your `zero_pad`, then loop over `n`, `f`, `i` and `j`; the sum over
# `c, u, v` is one `np.sum` of a product of two `(C, KH, KW)` blocks.
#
# The cell after the visible test runs the lecture's example: a 5 x 5 x 3 input, two 3 x 3 x 3
# filters with biases 1 and 0, stride 2 and padding 1, whose output volume is 3 x 3 x 2. The
# lecture writes one channel at a time, `x[:, :, c]`; here that slice is `x[0, c]` (channels
# first), and filter `w0[:, :, c]` is `w[0, c]`.

# %% id=conv_forward_loops solution
def conv_forward_loops(x, w, b, stride=1, pad=0):
    """Forward pass of a convolution layer (cross-correlation), with explicit loops.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of inputs.
    w : np.ndarray, float64
        The filters; KH <= H + 2*pad and KW <= W + 2*pad.
    b : np.ndarray, float64
        One bias per filter.
    stride : int
        How many pixels a filter moves between neighbouring outputs (both axes).
    pad : int
        Zeros added on each side of the height and the width.

    Returns
    -------
    np.ndarray, float64
        ``out[n, f, i, j] = b[f] + sum_{c, u, v} w[f, c, u, v] *
        xpad[n, c, i*stride + u, j*stride + v]``.

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, H_out, W_out) with
    ``H_out = (H + 2*pad - KH) // stride + 1`` and ``W_out = (W + 2*pad - KW) // stride + 1``
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out = (H + 2 * pad - KH) // stride + 1
    W_out = (W + 2 * pad - KW) // stride + 1
    xpad = zero_pad(x, pad)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    patch = xpad[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    return out
    ### END SOLUTION

# %% id=test_conv_forward_loops locked
check_conv_forward_loops(conv_forward_loops)

# %% id=lecture_example locked
# The lecture's example, channels first: x_lecture[0, c] is the lecture's x[:, :, c] (without
# its border of padding), w_lecture[f, c] is its wf[:, :, c], out_lecture[0, f] its o[:, :, f].
x_lecture = np.array([[
    [[2, 1, 0, 2, 2], [0, 0, 2, 2, 0], [1, 0, 1, 2, 2], [0, 2, 2, 2, 0], [2, 2, 0, 0, 2]],
    [[2, 2, 0, 2, 1], [1, 2, 2, 2, 1], [1, 2, 2, 2, 1], [2, 1, 0, 1, 1], [0, 0, 1, 1, 0]],
    [[2, 2, 1, 0, 2], [1, 2, 2, 2, 2], [0, 0, 0, 1, 0], [1, 0, 2, 1, 2], [2, 2, 1, 0, 1]],
]], dtype=float)
w_lecture = np.array([
    [[[1, 1, -1], [1, 1, 0], [1, 1, -1]],
     [[1, -1, 0], [1, 1, 0], [1, -1, 1]],
     [[0, 0, 1], [-1, 0, -1], [-1, 1, -1]]],
    [[[1, 0, 0], [0, 1, 0], [0, 0, 0]],
     [[1, -1, -1], [1, -1, -1], [0, -1, 1]],
     [[-1, 0, 1], [-1, -1, 1], [1, -1, 0]]],
], dtype=float)
b_lecture = np.array([1.0, 0.0])
out_lecture = np.array([[
    [[3, 2, 11], [2, 12, 13], [-3, 6, 6]],
    [[-2, -3, 0], [-5, -3, 1], [-1, -2, 3]],
]], dtype=float)

out = conv_forward_loops(x_lecture, w_lecture, b_lecture, stride=2, pad=1)
print("your output volume, one filter at a time:")
print(out[0])
assert np.array_equal(out, out_lecture), "this is not the lecture's output volume (above: yours)"
print("It is the lecture's output volume.")

# %% id=hidden_conv_forward_loops tests
# Hidden tests (7 points): conv_forward_loops on random batches, filters, strides and paddings.
### BEGIN HIDDEN TESTS
check_conv_forward_loops(conv_forward_loops, seed=1202, points=7)
### END HIDDEN TESTS

# %% [markdown] id=part3 locked
# ## Part 3: im2col, receptive fields as columns (6 points)
#
# The loops in part 2 compute one small dot product per output number. Collect all the patches
# first, one per column of a matrix `cols`, and the whole layer becomes a single matrix product
# (part 4), which NumPy hands to a fast library.
#
# `im2col(x, KH, KW, stride, pad)` pads `x`, then writes the patch that output pixel `(i, j)`
# of example `n` sees into column `n * H_out * W_out + i * W_out + j` (examples outermost, then
# rows, then columns). Within a column the patch is read channel by channel, each channel row by
# row, exactly as `patch.reshape(-1)` reads a `(C, KH, KW)` block:
#
# $$\text{cols}[c \cdot KH \cdot KW + u \cdot KW + v,\;\; n \cdot H_\text{out} W_\text{out} +
# i \cdot W_\text{out} + j] = x_\text{pad}[n, c,\; i \cdot \text{stride} + u,\;
# j \cdot \text{stride} + v].$$
#
# For one 3 x 3 image holding `0 1 2 / 3 4 5 / 6 7 8` and a 2 x 2 kernel (stride 1, no padding)
# there are four patches, and `cols` is
#
# ```
# [[0. 1. 3. 4.]
#  [1. 2. 4. 5.]
#  [3. 4. 6. 7.]
#  [4. 5. 7. 8.]]
# ```
#
# Its first column is the top-left patch `0 1 / 3 4`. Looping over the output pixels is fine; a
# faster way loops over the `KH * KW` kernel offsets `(u, v)` and copies, for each, a strided
# slice of the padded input (all `n`, `c`, `i`, `j` at once).

# %% id=im2col solution
def im2col(x, KH, KW, stride=1, pad=0):
    """Every receptive field of a convolution as one column of a matrix.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of inputs.
    KH, KW : int
        Kernel height and width; KH <= H + 2*pad and KW <= W + 2*pad.
    stride : int
        How many pixels the kernel moves between neighbouring outputs (both axes).
    pad : int
        Zeros added on each side of the height and the width.

    Returns
    -------
    np.ndarray, float64
        ``cols[c*KH*KW + u*KW + v, n*H_out*W_out + i*W_out + j] =
        xpad[n, c, i*stride + u, j*stride + v]``.

    Shapes: x (N, C, H, W) -> cols (C*KH*KW, N*H_out*W_out) with
    ``H_out = (H + 2*pad - KH) // stride + 1`` and ``W_out = (W + 2*pad - KW) // stride + 1``
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    H_out = (H + 2 * pad - KH) // stride + 1
    W_out = (W + 2 * pad - KW) // stride + 1
    xpad = zero_pad(x, pad)
    cols = np.zeros((C, KH, KW, N, H_out, W_out), dtype=x.dtype)
    for u in range(KH):
        for v in range(KW):
            # Entry (u, v) of every patch: rows u, u + stride, ... and the same for columns.
            sliced = xpad[:, :, u:u + stride * H_out:stride, v:v + stride * W_out:stride]
            cols[:, u, v] = sliced.transpose(1, 0, 2, 3)
    return cols.reshape(C * KH * KW, N * H_out * W_out)
    ### END SOLUTION

# %% id=test_im2col locked
check_im2col(im2col)

# %% id=hidden_im2col tests
# Hidden tests (6 points): im2col on random batches, kernels, strides and paddings.
### BEGIN HIDDEN TESTS
check_im2col(im2col, seed=1203, points=6)
### END HIDDEN TESTS

# %% [markdown] id=part4 locked
# ## Part 4: the layer as one matrix product (5 points)
#
# Flatten each filter the same way a patch was flattened: `w.reshape(F, -1)` is an
# `(F, C*KH*KW)` matrix whose row `f` lists filter `f` channel by channel. Entry `(f, k)` of the
# product `w.reshape(F, -1) @ cols` is then filter `f` dotted with patch `k`: output number
# `(n, f, i, j)` without its bias, for the pixel that column `k` belongs to. Add the biases (one
# per row) and put the `(F, N*H_out*W_out)` result back into the shape `(N, F, H_out, W_out)`:
# mind which axis is which. Call your `im2col`; no loops are needed here.

# %% id=conv_forward_im2col solution
def conv_forward_im2col(x, w, b, stride=1, pad=0):
    """Forward pass of a convolution layer as one matrix product of im2col's patches.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of inputs.
    w : np.ndarray, float64
        The filters; KH <= H + 2*pad and KW <= W + 2*pad.
    b : np.ndarray, float64
        One bias per filter.
    stride : int
        How many pixels a filter moves between neighbouring outputs (both axes).
    pad : int
        Zeros added on each side of the height and the width.

    Returns
    -------
    np.ndarray, float64
        The same numbers as ``conv_forward_loops(x, w, b, stride, pad)``.

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,) -> out (N, F, H_out, W_out) with
    ``H_out = (H + 2*pad - KH) // stride + 1`` and ``W_out = (W + 2*pad - KW) // stride + 1``
    """
    ### BEGIN SOLUTION
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    H_out = (H + 2 * pad - KH) // stride + 1
    W_out = (W + 2 * pad - KW) // stride + 1
    out = w.reshape(F, -1) @ im2col(x, KH, KW, stride, pad) + b[:, None]
    return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
    ### END SOLUTION

# %% id=test_conv_forward_im2col locked
check_conv_forward_im2col(conv_forward_im2col)

# %% id=hidden_conv_forward_im2col tests
# Hidden tests (5 points): conv_forward_im2col on random batches, filters, strides and paddings.
### BEGIN HIDDEN TESTS
check_conv_forward_im2col(conv_forward_im2col, seed=1204, points=5)
### END HIDDEN TESTS

# %% [markdown] id=end locked
# ## Try it (not graded)
#
# The cell below is yours. For example: time both versions on a CIFAR-sized batch,
# `x = np.random.randn(16, 3, 32, 32)` with `w = np.random.randn(8, 3, 3, 3)`, stride 1 and
# padding 1 (`%timeit` in Jupyter), check that they agree with `np.allclose`, and count how many
# numbers `cols` holds compared with `x`: im2col buys its speed with memory.

# %%
