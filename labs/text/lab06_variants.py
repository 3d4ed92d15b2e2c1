# Lab 6 in text form: the source of labs/source/lab06_variants/lab06_variants.ipynb.
# Edit this file, then run `python -m autograder.build lab06_variants` from the
# repository root. The format is described in labs/README.md.

# %% [markdown] id=intro locked
# # Lab 6: transposed, dilated and depthwise-separable convolutions
#
# The plain convolution layer has relatives that change one thing about it. A *transposed*
# convolution runs the sliding window backwards and makes an image larger: the upsampling half
# of an encoder-decoder. A *dilated* convolution spreads its kernel's taps apart and sees a wider
# region for the same number of weights. A *depthwise-separable* convolution splits the work into
# a spatial step per channel and a 1 x 1 step across channels, and costs a fraction of the
# weights and multiplications. In this lab you write each of them and count what they see and
# what they cost.
#
# **Reading.** The book's chapter *Variants of convolution* (`07_variants`): transposed
# convolution, dilated convolution and receptive fields, depthwise and depthwise-separable
# convolution. The arithmetic of output sizes is in *Padding and stride*
# (`03_padding_stride`), and Lab 4's `dx` turns out to be a transposed convolution.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `conv_transpose(x, w, stride, pad)`: transposed convolution | 5 |
# | 2 | `upsample_weights(C, factor)`: upsampling with a transposed convolution | 2 |
# | 3 | `dilated_conv(x, w, dilation, pad)`: dilated convolution | 3 |
# | 4 | `receptive_field(layers)`: the receptive field of a stack of layers | 3 |
# | 5 | `depthwise_separable(x, w_depth, w_point, pad)`: depthwise, then pointwise | 3 |
# | 6 | `separable_params(c_in, c_out, k)`: its weights and biases | 2 |
# | 6 | `separable_macs(c_in, c_out, k, h_out, w_out)`: its multiplications | 2 |
#
# **Total: 20 points.**
#
# **Letters.** `x` is `(N, C, H, W)`: N examples, C channels, H rows, W columns. A convolution's
# kernels `w` are `(F, C, KH, KW)`: F filters of C channels; a transposed convolution's are
# `(C, F, KH, KW)`, input channels first, as in PyTorch. Outputs are `(N, F, H_out, W_out)`.
# `xpad` is `x` with `pad` zeros added on each side of H and W.
#
# **How it is graded.** Below each function is a *visible test*: run it. It tries a few small
# cases, prints a report (the smallest failing case, expected against got, the largest error and
# a hint) and fails if a case is wrong. When your lab is graded, *hidden tests* run the same
# comparison on random sizes, strides, dilations and paddings, and give partial credit: the
# function's points times the fraction of cases it gets right, rounded down to half a point.
# Each function is graded on its own: where it calls another function you write in this
# lab, the course's version stands in for yours during its tests, visible and hidden (the
# report says so), so one mistake costs points once.
#
# An array result counts as right when it is a `np.ndarray` (not a list), of the shape in the
# docstring, of dtype `float64`, with no NaN or infinity, and every entry within
# `1e-9 + 1e-6 * |expected|` of the reference. Counts are `int`s, exactly equal. Loops are fine:
# the cases are small. Printing or warnings inside your functions cost nothing.
#
# Rules: keep the function names and signatures; do not delete or copy cells; write the
# operations yourself with NumPy: not with `convnb`, `scipy` or a deep-learning library, which
# are what your answers are compared with, nor with `np.convolve` or `np.correlate`. The checks
# watch what your functions call: such a call scores that function 0 and is shown to the
# instructor.
#
# **Installing and checking.** The notebook needs the course's package (`convnb` and these checks)
# in the Python that runs it. Download `convnb-0.1.0-py3-none-any.whl` from the book's Labs page and
# run `pip install convnb-0.1.0-py3-none-any.whl` in a terminal (on a JupyterHub, its terminal),
# with `pip install jupyterlab` if your computer has no Jupyter yet; on Colab, make the first cell
# `%pip install https://<the book's address>/convnb-0.1.0-py3-none-any.whl` (the address of the
# package's link on the Labs page). Before you submit, save the notebook and run
# `python -m autograder check lab06_variants.ipynb` in a terminal, in its folder: it runs the
# notebook from the top in a fresh kernel, as the grader does, and prints PASS or FAIL for each
# visible test, with the whole report and hint of each failure. (On Colab, which has no terminal,
# download the notebook and check it on a computer with the package.) While you work, run the cells
# one by one: *Run All* stops at the first visible test that fails.

# %% id=setup locked
import numpy as np

from autograder.checks.lab06 import (
    check_conv_transpose,
    check_depthwise_separable,
    check_dilated_conv,
    check_receptive_field,
    check_separable_macs,
    check_separable_params,
    check_upsample_weights,
)

# %% [markdown] id=part1 locked
# ## Part 1: transposed convolution (5 points)
#
# A convolution with stride 2 turns a 2H x 2W image into one about H x W. Its *transpose* goes
# the other way: from something shaped like that output back to something shaped like the input.
# Think of it as stamping. Every input number `x[n, c, i, j]` leaves a copy of the kernel
# `w[c, f]`, scaled by its value, on output channel `f`, with the copy's top-left corner at
# `(i*stride, j*stride)`:
#
# $$\mathrm{full}[n, f,\; i \cdot \mathrm{stride} + u,\; j \cdot \mathrm{stride} + v]
#   \mathrel{+}= x[n, c, i, j]\; w[c, f, u, v].$$
#
# Stamps that overlap add up (use `+=`). Before cropping, `full` has
# `(H - 1)*stride + KH` rows and `(W - 1)*stride + KW` columns. Here `pad` works the other way
# round from a forward convolution: it is the padding of the convolution being transposed, so it
# is *cut off*, `pad` rows and columns from each border:
#
# $$H_\text{out} = (H - 1)\cdot\mathrm{stride} - 2\cdot\mathrm{pad} + KH.$$
#
# For example, a 2 x 2 input, a 3 x 3 kernel, stride 2 and pad 1 give a 3 x 3 output: the
# transpose of the 3 x 3 to 2 x 2 convolution with the same settings. The same operation can be
# written as a forward convolution: put `stride - 1` zeros between the input's pixels, pad with
# `KH - 1` zeros above and below (`KW - 1` left and right), and correlate with the kernels turned
# half a turn (and their two channel axes swapped). That gives `full`; cut `pad` rows and columns
# from each border as above. (Padding by `KH - 1 - pad` instead does both at once, but only
# while `pad <= KH - 1`; the tests also use larger `pad`.) If that reminds you of Lab 4's `dx`,
# it should: a transposed convolution *is* the backward pass of a convolution with respect to
# its input.

# %% id=conv_transpose solution
def conv_transpose(x, w, stride=1, pad=0):
    """Transposed convolution: every input pixel stamps its kernels onto the output.

    Parameters
    ----------
    x : np.ndarray, float64
        The input.
    w : np.ndarray, float64
        The kernels, input channels first: ``w[c, f]`` is what input channel ``c`` stamps onto
        output channel ``f``.
    stride : int
        Distance between the stamps of neighbouring input pixels (both axes).
    pad : int
        Rows and columns cut from each border of the stamped result.

    Returns
    -------
    np.ndarray, float64
        ``full[n, f, i*stride + u, j*stride + v] += x[n, c, i, j] * w[c, f, u, v]`` summed over
        ``c, i, j``, then ``full[:, :, pad:H_full - pad, pad:W_full - pad]`` with
        ``H_full = (H - 1)*stride + KH`` and ``W_full = (W - 1)*stride + KW``.

    Shapes: x (N, C, H, W), w (C, F, KH, KW) -> out (N, F, H_out, W_out) with
    ``H_out = (H - 1)*stride - 2*pad + KH`` and ``W_out = (W - 1)*stride - 2*pad + KW``
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    _, F, KH, KW = w.shape
    H_full, W_full = (H - 1) * stride + KH, (W - 1) * stride + KW
    full = np.zeros((N, F, H_full, W_full))
    for i in range(H):
        for j in range(W):
            # Pixel (i, j) of every example and channel stamps its kernels: (N, C) x (C, F, KH, KW).
            stamp = np.tensordot(x[:, :, i, j], w, axes=([1], [0]))
            full[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW] += stamp
    return full[:, :, pad:H_full - pad, pad:W_full - pad]
    ### END SOLUTION

# %% id=test_conv_transpose locked
check_conv_transpose(conv_transpose)

# %% id=hidden_conv_transpose tests
# Hidden tests (5 points): conv_transpose on random inputs, kernels, strides and paddings.
### BEGIN HIDDEN TESTS
check_conv_transpose(conv_transpose, seed=6101, points=5)
### END HIDDEN TESTS

# %% [markdown] id=part2 locked
# ## Part 2: upsampling with a transposed convolution (2 points)
#
# When the kernel is exactly `stride` pixels wide, the stamps tile the output without
# overlapping: each input pixel paints its own `stride x stride` block. With the right weights
# that block is a copy of the pixel, and the transposed convolution becomes nearest-neighbour
# upsampling, `factor` times larger along each axis. A decoder starts from such a layer and
# *learns* better weights.
#
# Write `upsample_weights(C, factor)`: the kernels `w` for which
# `conv_transpose(x, w, stride=factor)` repeats every pixel of every channel in a
# `factor x factor` block, for any `x` with `C` channels. Channel `c` of the output must come from
# channel `c` of the input alone.

# %% id=upsample_weights solution
def upsample_weights(C, factor):
    """Kernels that make a transposed convolution with stride ``factor`` repeat each pixel.

    Parameters
    ----------
    C : int
        Number of channels (in and out).
    factor : int
        Upsampling factor: the kernel size and the stride.

    Returns
    -------
    np.ndarray, float64
        ``w`` with ``conv_transpose(x, w, stride=factor)[n, c, i*factor + u, j*factor + v]
        == x[n, c, i, j]`` for all ``0 <= u, v < factor``.

    Shapes: -> w (C, C, factor, factor)
    """
    ### BEGIN SOLUTION
    w = np.zeros((C, C, factor, factor))
    for c in range(C):
        w[c, c] = 1.0
    return w
    ### END SOLUTION

# %% id=test_upsample_weights locked
check_upsample_weights(upsample_weights)

# %% id=hidden_upsample_weights tests
# Hidden tests (2 points): upsample_weights for random channel counts and factors.
### BEGIN HIDDEN TESTS
check_upsample_weights(upsample_weights, seed=6102, points=2)
### END HIDDEN TESTS

# %% [markdown] id=part3 locked
# ## Part 3: dilated convolution (3 points)
#
# A dilated (or *atrous*) convolution leaves `dilation - 1` holes between the taps of its kernel.
# The kernel still slides one pixel at a time (stride 1 here), but tap `(u, v)` reads the input
# `dilation * u` rows and `dilation * v` columns from the window's corner:
#
# $$\mathrm{out}[n, f, i, j] = \sum_{c, u, v} w[f, c, u, v]\;
#   \mathrm{xpad}[n, c,\; i + \mathrm{dilation} \cdot u,\; j + \mathrm{dilation} \cdot v].$$
#
# A kernel of size `KH` then spans `dilation*(KH - 1) + 1` rows, so
# `H_out = H + 2*pad - dilation*(KH - 1)`. Dilation 1 is the ordinary convolution. A 3 x 3 kernel
# with dilation 2 covers a 5 x 5 region with 9 weights. Unlike a stride, dilation does not
# subsample: the kernel still moves one pixel at a time, so with `pad = dilation*(KH - 1)/2` the
# output keeps the input's size. A tidy way to write it: loop over the taps `(u, v)`, and for
# each add `w`'s column `w[:, :, u, v]` times the input shifted by `(dilation*u, dilation*v)`.

# %% id=dilated_conv solution
def dilated_conv(x, w, dilation=1, pad=0):
    """Dilated convolution (a cross-correlation with holes between the kernel's taps), stride 1.

    Parameters
    ----------
    x : np.ndarray, float64
        The input.
    w : np.ndarray, float64
        The kernels.
    dilation : int
        Distance between neighbouring taps (1: an ordinary convolution).
    pad : int
        Zeros added on each side of H and W.

    Returns
    -------
    np.ndarray, float64
        ``out[n, f, i, j] = sum_{c, u, v} w[f, c, u, v] * xpad[n, c, i + d*u, j + d*v]`` with
        ``d = dilation``.

    Shapes: x (N, C, H, W), w (F, C, KH, KW) -> out (N, F, H_out, W_out) with
    ``H_out = H + 2*pad - dilation*(KH - 1)`` and ``W_out = W + 2*pad - dilation*(KW - 1)``
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = H + 2 * pad - dilation * (KH - 1), W + 2 * pad - dilation * (KW - 1)
    out = np.zeros((N, F, H_out, W_out))
    for u in range(KH):
        for v in range(KW):
            # Tap (u, v) of every window: the input shifted by (dilation*u, dilation*v).
            shifted = xpad[:, :, dilation * u:dilation * u + H_out,
                           dilation * v:dilation * v + W_out]
            out += np.einsum("nchw,fc->nfhw", shifted, w[:, :, u, v])
    return out
    ### END SOLUTION

# %% id=test_dilated_conv locked
check_dilated_conv(dilated_conv)

# %% id=hidden_dilated_conv tests
# Hidden tests (3 points): dilated_conv on random inputs, kernels, dilations and paddings.
### BEGIN HIDDEN TESTS
check_dilated_conv(dilated_conv, seed=6103, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part4 locked
# ## Part 4: receptive fields (3 points)
#
# The *receptive field* of a unit is the part of the network's input that can change it. Along
# one axis, a stack of layers, each with kernel size `k`, stride `s` and dilation `d`, is worked
# out layer by layer with two numbers: `size`, the receptive field so far, and `jump`, the
# distance in input pixels between two neighbouring units of the current layer. Before any layer
# both are 1. Each layer then
#
# 1. widens the field by its kernel's span, measured in steps of the current jump:
#    `size += d * (k - 1) * jump`;
# 2. multiplies the jump by its stride: `jump *= s`.
#
# The order matters: a layer's stride spaces out the units of the layers *after* it. The lecture's
# stack of 3 x 3 kernels with dilations 1, 2, 4 and 8 (stride 1) has receptive fields 3, 7, 15 and
# 31: it doubles with each layer while the number of weights only adds up.
#
# `layers` is a list of `(k, s, d)` tuples, the first layer first. Return `size`, an `int`.

# %% id=receptive_field solution
def receptive_field(layers):
    """Receptive field, in input pixels along one axis, of a unit of the last layer of a stack.

    Parameters
    ----------
    layers : list of (k, s, d) tuples of ints
        Kernel size, stride and dilation of each layer, the first layer first.

    Returns
    -------
    int
        The receptive field's size.
    """
    ### BEGIN SOLUTION
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size
    ### END SOLUTION

# %% id=test_receptive_field locked
check_receptive_field(receptive_field)

# %% id=hidden_receptive_field tests
# Hidden tests (3 points): receptive_field of random stacks of layers.
### BEGIN HIDDEN TESTS
check_receptive_field(receptive_field, seed=6104, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part5 locked
# ## Part 5: depthwise-separable convolution (3 points)
#
# An ordinary convolution looks across space and across channels at once: each of its F filters
# has `C * KH * KW` weights. A depthwise-separable convolution does the two jobs one after the
# other.
#
# 1. **Depthwise**: every channel is filtered on its own, channel `c` with its own kernel
#    `w_depth[c, 0]` (a convolution with `groups = C`), padding `pad`, stride 1. The result still
#    has C channels, of size `H_out = H + 2*pad - KH + 1` by `W_out = W + 2*pad - KW + 1`:
#
#    $$\mathrm{depth}[n, c, i, j] = \sum_{u, v} w_\text{depth}[c, 0, u, v]\;
#      \mathrm{xpad}[n, c, i + u, j + v].$$
#
# 2. **Pointwise**: a 1 x 1 convolution mixes the channels at every position:
#
#    $$\mathrm{out}[n, f, i, j] = \sum_c w_\text{point}[f, c, 0, 0]\; \mathrm{depth}[n, c, i, j].$$
#
# MobileNet builds whole networks from such pairs. No biases in this part.

# %% id=depthwise_separable solution
def depthwise_separable(x, w_depth, w_point, pad=0):
    """A depthwise convolution (one kernel per channel), then a pointwise (1 x 1) convolution.

    Parameters
    ----------
    x : np.ndarray, float64
        The input.
    w_depth : np.ndarray, float64
        One kernel per input channel.
    w_point : np.ndarray, float64
        The 1 x 1 kernels that mix the channels.
    pad : int
        Zeros added on each side of H and W before the depthwise step.

    Returns
    -------
    np.ndarray, float64
        The pointwise step's output.

    Shapes: x (N, C, H, W), w_depth (C, 1, KH, KW), w_point (F, C, 1, 1)
    -> out (N, F, H_out, W_out) with ``H_out = H + 2*pad - KH + 1``, ``W_out = W + 2*pad - KW + 1``
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    KH, KW = w_depth.shape[2:]
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    depth = np.zeros((N, C, H_out, W_out))
    for u in range(KH):
        for v in range(KW):
            depth += xpad[:, :, u:u + H_out, v:v + W_out] * w_depth[:, 0, u, v].reshape(1, C, 1, 1)
    return np.einsum("nchw,fc->nfhw", depth, w_point[:, :, 0, 0])
    ### END SOLUTION

# %% id=test_depthwise_separable locked
check_depthwise_separable(depthwise_separable)

# %% id=hidden_depthwise_separable tests
# Hidden tests (3 points): depthwise_separable on random inputs and kernels.
### BEGIN HIDDEN TESTS
check_depthwise_separable(depthwise_separable, seed=6105, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part6 locked
# ## Part 6: what it saves (2 + 2 points)
#
# Count both steps of a depthwise-separable layer with square `k x k` kernels, stride 1 and
# "same" padding (so both steps have outputs of size `h_out x w_out`).
#
# `separable_params(c_in, c_out, k)`: the learned numbers. The depthwise step has one `k x k`
# kernel per input channel, and the pointwise step `c_out` filters of `c_in` weights. Here
# **both steps have biases**, one per output channel of each step (`c_in` for the depthwise step,
# `c_out` for the pointwise one).
#
# `separable_macs(c_in, c_out, k, h_out, w_out)`: the multiply-accumulates (one multiplication and
# one addition; FLOPs are about twice the MACs) of both steps for one example, biases not
# counted. Every output number of a step costs as many multiplications as its kernel has
# weights.
#
# An ordinary `k x k` convolution from `c_in` to `c_out` channels has `c_out*c_in*k*k` weights
# and as many MACs per position. The separable layer's share of that is about
# `1/c_out + 1/k**2`: for `k = 3` and `c_out = 64`, roughly eight times fewer of both.

# %% id=separable_params solution
def separable_params(c_in, c_out, k):
    """Weights and biases of a depthwise-separable layer (both steps have biases).

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels.
    k : int
        The depthwise kernel's size (k x k).

    Returns
    -------
    int
    """
    ### BEGIN SOLUTION
    depthwise = c_in * k * k + c_in
    pointwise = c_in * c_out + c_out
    return depthwise + pointwise
    ### END SOLUTION

# %% id=test_separable_params locked
check_separable_params(separable_params)

# %% id=hidden_separable_params tests
# Hidden tests (2 points): separable_params for random layers.
### BEGIN HIDDEN TESTS
check_separable_params(separable_params, seed=6106, points=2)
### END HIDDEN TESTS

# %% id=separable_macs solution
def separable_macs(c_in, c_out, k, h_out, w_out):
    """Multiply-accumulates of a depthwise-separable layer on one example (biases not counted).

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels.
    k : int
        The depthwise kernel's size (k x k).
    h_out, w_out : int
        The output's size (the same for both steps).

    Returns
    -------
    int
    """
    ### BEGIN SOLUTION
    positions = h_out * w_out
    return (c_in * k * k + c_in * c_out) * positions
    ### END SOLUTION

# %% id=test_separable_macs locked
check_separable_macs(separable_macs)

# %% id=hidden_separable_macs tests
# Hidden tests (2 points): separable_macs for random layers and output sizes.
### BEGIN HIDDEN TESTS
check_separable_macs(separable_macs, seed=6107, points=2)
### END HIDDEN TESTS

# %% [markdown] id=end locked
# ## Try it (not graded)
#
# The cell below is yours. Some ideas: upsample a small image (`np.arange(16.0).reshape(1, 1, 4,
# 4)`) with `conv_transpose` and your `upsample_weights`, then with a 4 x 4 kernel, stride 2 and
# pad 1, and compare; check that `receptive_field` of the dilated stack grows like 2**(L + 1) - 1
# while that of the same stack without dilation grows like 2L + 1; or print the ratio of
# `separable_params` to the parameters of an ordinary convolution for `k = 3` and `c_out = 32,
# 64, 128, 256`.

# %%
