# Lab 7 in text form: the source of labs/source/lab07_fast_conv/lab07_fast_conv.ipynb.
# Edit this file, then run `python -m autograder.build lab07_fast_conv` from the
# repository root. The format is described in labs/README.md.

# %% [markdown] id=intro locked
# # Lab 7: fast convolution
#
# The definition of a convolution layer is four nested loops: every output number is a small dot
# product of a kernel with a patch of the input. Written that way in Python it is slow, not
# because there is much arithmetic but because Python pays a fixed price for every one of the
# N·F·H_out·W_out dot products. Fast libraries reorganise the same arithmetic into a few large
# operations. In this lab you write the two classic reorganisations and time them against the
# loops:
#
# * **im2col**: copy every patch into a column of one big matrix, and the whole layer becomes a
#   single matrix product, which NumPy hands to an optimised library (BLAS, or cuBLAS on a GPU).
# * **the FFT**: by the convolution theorem, a convolution is a product of Fourier transforms.
#   Its cost hardly depends on the kernel size, so it wins for large kernels.
#
# **Reading.** The book's chapter *Fast convolution* (`08_fast_convolution`): loops, im2col and
# the matrix product, the FFT, and GPUs. Lab 2 built the same patch matrix with loops.
#
# **Letters.** `x` is a batch of inputs `(N, C, H, W)`; `w` holds the filters `(F, C, KH, KW)`;
# the output `out` is `(N, F, H_out, W_out)`. Everything here is a *valid* cross-correlation,
# stride 1, no padding, no bias, as in every deep-learning library:
#
# $$\text{out}[n, f, i, j] = \sum_{c, u, v} w[f, c, u, v]\; x[n, c, i + u, j + v],
# \qquad H_\text{out} = H - KH + 1,\quad W_\text{out} = W - KW + 1.$$
#
# | part | you write | points |
# |---|---|---|
# | 1 | `im2col(x, KH, KW)`: every patch as a column, without a Python loop | 3 |
# | 2 | `conv2d_im2col(x, w)`: the layer as one matrix product | 3 |
# | 3 | `correlate1d_fft(x, w)`: cross-correlation of a signal by the FFT | 4 |
# | 4 | `conv2d_fft(x, w)`: the layer by the FFT | 5 |
# | 5 | timing: loops, im2col and FFT side by side (not graded) | – |
# | 6 | the same on a GPU with CuPy, where there is one (not graded) | – |
#
# **Total: 15 points.**
#
# **How it is graded.** Below each function is a *visible test*: run it. It tries a few small
# cases, prints a report (the smallest failing case, expected against got, the largest error and
# a hint) and fails if a case is wrong. When your lab is graded, *hidden tests* run the same
# comparison on random batch sizes, channels, filters and kernels, and give partial credit: the
# function's points times the fraction of cases it gets right, rounded down to half a point. A
# result counts as right when it is a `np.ndarray` of the shape in the docstring, of dtype
# `float64` like the inputs (so real, not complex), with no NaN or infinity, and every entry
# within `1e-9 + 1e-6 * |expected|` of the reference. Timings are printed, never graded: they
# depend on the machine.
# Each function is graded on its own: where it calls another function you write in this
# lab, the course's version stands in for yours during its tests, visible and hidden (the
# report says so), so one mistake costs points once.
#
# **On a GPU.** Start each function with `xp = get_array_module(x)` and write `xp.` where you
# would write `np.`: `xp` is NumPy for NumPy arrays and CuPy for CuPy arrays, so part 6 can run
# your code on a GPU unchanged. The tests pass NumPy arrays, so `np.` earns the same points.
#
# Rules: keep the function names and signatures; do not delete or copy cells; write the
# functions with NumPy (`np.fft` and `np.lib.stride_tricks.sliding_window_view` are allowed;
# `as_strided`, `np.convolve` and `np.correlate` are not), not with `convnb` (apart from
# `get_array_module`) or SciPy, which are what your answers are compared with, nor with a
# deep-learning library. Printing or warnings inside your functions cost nothing.
#
# **Installing and checking.** The notebook needs the course's package (`convnb` and these checks)
# in the Python that runs it. Download `convnb-0.1.0-py3-none-any.whl` from the book's Labs page and
# run `pip install convnb-0.1.0-py3-none-any.whl` in a terminal (on a JupyterHub, its terminal),
# with `pip install jupyterlab` if your computer has no Jupyter yet; on Colab, make the first cell
# `%pip install https://<the book's address>/convnb-0.1.0-py3-none-any.whl` (the address of the
# package's link on the Labs page). Before you submit, save the notebook and run
# `python -m autograder check lab07_fast_conv.ipynb` in a terminal, in its folder: it runs the
# notebook from the top in a fresh kernel, as the grader does, and prints PASS or FAIL for each
# visible test, with the whole report and hint of each failure. (On Colab, which has no terminal,
# download the notebook and check it on a computer with the package.) While you work, run the cells
# one by one: *Run All* stops at the first visible test that fails.

# %% id=setup locked
import time

import numpy as np

import convnb
from autograder.checks.lab07 import (
    check_conv2d_fft,
    check_conv2d_im2col,
    check_correlate1d_fft,
    check_im2col_strided,
)
from convnb import get_array_module
from convnb.backend import gpu_available

# %% [markdown] id=given_text locked
# ## The loop version (given)
#
# The definition, one output number at a time. Your functions must give the same numbers, and
# part 5 times them against it.

# %% id=given locked
def conv2d_loops(x, w):
    """Valid cross-correlation of a batch with a bank of filters, by explicit loops.

    Shapes: x (N, C, H, W), w (F, C, KH, KW) -> out (N, F, H - KH + 1, W - KW + 1)
    """
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    out = np.zeros((N, F, H - KH + 1, W - KW + 1))
    for n in range(N):
        for f in range(F):
            for i in range(H - KH + 1):
                for j in range(W - KW + 1):
                    out[n, f, i, j] = np.sum(x[n, :, i:i + KH, j:j + KW] * w[f])
    return out


def best_time(fn, *args, repeat=3):
    """The shortest of `repeat` runs of fn(*args), in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best

# %% [markdown] id=part1 locked
# ## Part 1: im2col without loops (3 points)
#
# In lab 2 you filled the patch matrix with loops over the kernel offsets. NumPy can do it with
# none: `np.lib.stride_tricks.sliding_window_view(x, (KH, KW), axis=(2, 3))` returns every
# `KH x KW` window of every image and channel at once, shape `(N, C, H_out, W_out, KH, KW)`,
# with `windows[n, c, i, j, u, v] == x[n, c, i + u, j + v]`. It is a *view*: no number is
# copied, the same memory is read with other strides.
#
# Lay the windows out as lab 2 did: column `n*H_out*W_out + i*W_out + j` holds the patch of
# output pixel `(i, j)` of example `n`, read channel by channel and row by row,
#
# $$\text{cols}[c \cdot KH \cdot KW + u \cdot KW + v,\;\; n \cdot H_\text{out} W_\text{out}
# + i \cdot W_\text{out} + j] = x[n, c, i + u, j + v].$$
#
# A `reshape` keeps the order of the axes it merges, so first `transpose` the six axes into the
# order (the three that make a row, then the three that make a column), then `reshape`. That
# reshape is where the copy happens: each pixel lands in up to `KH*KW` columns, the memory price
# of im2col. For one 3 x 3 image `0 1 2 / 3 4 5 / 6 7 8` and a 2 x 2 kernel,
#
# ```
# [[0. 1. 3. 4.]
#  [1. 2. 4. 5.]
#  [3. 4. 6. 7.]
#  [4. 5. 7. 8.]]
# ```

# %% id=im2col solution
def im2col(x, KH, KW):
    """Every KH x KW patch of a batch as one column of a matrix (stride 1, no padding).

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of inputs.
    KH, KW : int
        Kernel height and width; KH <= H and KW <= W.

    Returns
    -------
    np.ndarray, float64
        ``cols[c*KH*KW + u*KW + v, n*H_out*W_out + i*W_out + j] = x[n, c, i + u, j + v]``.

    Shapes: x (N, C, H, W) -> cols (C*KH*KW, N*H_out*W_out) with H_out = H - KH + 1 and
    W_out = W - KW + 1
    """
    ### BEGIN SOLUTION
    xp = get_array_module(x)
    N, C, H, W = x.shape
    windows = xp.lib.stride_tricks.sliding_window_view(x, (KH, KW), axis=(2, 3))
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * KH * KW, -1)
    ### END SOLUTION

# %% id=test_im2col locked
check_im2col_strided(im2col)

# %% id=hidden_im2col tests
# Hidden tests (3 points): im2col on random batches, channels and kernels.
### BEGIN HIDDEN TESTS
check_im2col_strided(im2col, seed=1701, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part2 locked
# ## Part 2: the layer as one matrix product (3 points)
#
# Flatten each filter the way a patch was flattened: `w.reshape(F, -1)` is an `(F, C*KH*KW)`
# matrix whose row `f` lists filter `f` channel by channel, row by row. Then
# `w.reshape(F, -1) @ cols` computes every dot product of every filter with every patch in one
# call: an `(F, N*H_out*W_out)` matrix. Put it back into the shape `(N, F, H_out, W_out)`:
# first the shape the columns were made in, `(F, N, H_out, W_out)`, then swap the first two
# axes. Call your `im2col`.
#
# This one matrix product is the "GEMM" (general matrix multiply) that most convolution
# libraries on CPUs and GPUs reduce a layer to.

# %% id=conv2d_im2col solution
def conv2d_im2col(x, w):
    """Valid cross-correlation as one matrix product of the filters with im2col's patches.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of inputs.
    w : np.ndarray, float64
        The filters; KH <= H and KW <= W.

    Returns
    -------
    np.ndarray, float64
        The same numbers as ``conv2d_loops(x, w)``.

    Shapes: x (N, C, H, W), w (F, C, KH, KW) -> out (N, F, H - KH + 1, W - KW + 1)
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    out = w.reshape(F, -1) @ im2col(x, KH, KW)
    return out.reshape(F, N, H - KH + 1, W - KW + 1).transpose(1, 0, 2, 3)
    ### END SOLUTION

# %% id=test_conv2d_im2col locked
check_conv2d_im2col(conv2d_im2col)

# %% id=hidden_conv2d_im2col tests
# Hidden tests (3 points): conv2d_im2col on random batches, channels, filters and kernels.
### BEGIN HIDDEN TESTS
check_conv2d_im2col(conv2d_im2col, seed=1702, points=3)
### END HIDDEN TESTS

# %% [markdown] id=part3 locked
# ## Part 3: cross-correlation by the FFT, in 1-D (4 points)
#
# The discrete Fourier transform of length `n` turns a *circular* convolution into a product:
# transform both signals, multiply entry by entry, transform back. Circular means that indices
# wrap around modulo `n`. For a cross-correlation one of the two signals runs backwards, and
# for real signals running backwards is the same as taking the complex conjugate of the
# transform. So, with `x` and `w` both zero-padded to length `n`,
#
# $$c[i] = \sum_k w[k]\; x[(i + k) \bmod n] \quad\text{is}\quad
# c = \text{irfft}\big(\text{rfft}(x, n) \cdot \overline{\text{rfft}(w, n)},\; n\big).$$
#
# `np.fft.rfft(x, n)` pads `x` with zeros to length `n` before transforming (and *cuts* it when
# `n` is shorter), and `np.fft.irfft(X, n)` returns `n` real numbers. Give `irfft` its `n`: its
# default assumes an even length.
#
# Which entries of `c` are the valid outputs `out[i] = sum_k w[k] x[i + k]`, `i = 0 .. L - K`?
# For those `i`, `i + k` never passes `L - 1`, so as long as `n >= L` nothing wraps around:
# they are the first `L - K + 1` entries of `c`. The entries after them mix the end of `x`
# with its start. (The other route flips the kernel instead of conjugating: that computes a
# convolution, whose valid part starts at index `K - 1`.)

# %% id=correlate1d_fft solution
def correlate1d_fft(x, w):
    """Valid cross-correlation of a signal with a kernel, computed with the FFT.

    Parameters
    ----------
    x : np.ndarray, float64
        The signal.
    w : np.ndarray, float64
        The kernel, K <= L.

    Returns
    -------
    np.ndarray, float64
        ``out[i] = sum_k w[k] * x[i + k]`` for ``i = 0 .. L - K``.

    Shapes: x (L,), w (K,) -> out (L - K + 1,)
    """
    ### BEGIN SOLUTION
    xp = get_array_module(x)
    L, K = len(x), len(w)
    spectrum = xp.fft.rfft(x, L) * xp.conj(xp.fft.rfft(w, L))
    return xp.fft.irfft(spectrum, L)[:L - K + 1]
    ### END SOLUTION

# %% id=test_correlate1d_fft locked
check_correlate1d_fft(correlate1d_fft)

# %% id=hidden_correlate1d_fft tests
# Hidden tests (4 points): correlate1d_fft on random signals and kernels, odd and even lengths.
### BEGIN HIDDEN TESTS
check_correlate1d_fft(correlate1d_fft, seed=1703, points=4)
### END HIDDEN TESTS

# %% [markdown] id=part4 locked
# ## Part 4: the layer by the FFT (5 points)
#
# In 2-D the same holds along both axes: `np.fft.rfft2(a, s=(H, W))` transforms the last two
# axes of `a`, zero-padded to `H x W`, for every leading index at once, and
# `np.fft.irfft2(A, s=(H, W))` transforms back. Transform the images, `(N, C, H, W)`, and the
# filters, `(F, C, KH, KW)` padded to `H x W`, once each. Output `(n, f)` then sums over the
# channels the product of image `(n, c)`'s transform with the conjugate of filter `(f, c)`'s:
#
# $$\text{OUT}[n, f] = \sum_c X[n, c] \cdot \overline{\mathcal{W}[f, c]},$$
#
# one `np.einsum("nchw,fchw->nfhw", ...)`. Transform back and keep the valid top-left
# `H_out x W_out` corner. The cost: `C·(N + F)` forward transforms, `N·F` inverse ones, and
# `N·F·C·H·(W//2 + 1)` complex products (`rfft2` keeps half the columns of a real image's
# spectrum), none of it growing with `KH·KW`.

# %% id=conv2d_fft solution
def conv2d_fft(x, w):
    """Valid cross-correlation of a batch with a bank of filters, computed with the FFT.

    Parameters
    ----------
    x : np.ndarray, float64
        A batch of inputs.
    w : np.ndarray, float64
        The filters; KH <= H and KW <= W.

    Returns
    -------
    np.ndarray, float64
        The same numbers as ``conv2d_loops(x, w)``.

    Shapes: x (N, C, H, W), w (F, C, KH, KW) -> out (N, F, H - KH + 1, W - KW + 1)
    """
    ### BEGIN SOLUTION
    xp = get_array_module(x)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    X = xp.fft.rfft2(x, s=(H, W))
    K = xp.conj(xp.fft.rfft2(w, s=(H, W)))
    out = xp.fft.irfft2(xp.einsum("nchw,fchw->nfhw", X, K), s=(H, W))
    return out[:, :, :H - KH + 1, :W - KW + 1]
    ### END SOLUTION

# %% id=test_conv2d_fft locked
check_conv2d_fft(conv2d_fft)

# %% id=hidden_conv2d_fft tests
# Hidden tests (5 points): conv2d_fft on random batches, channels, filters and kernels.
### BEGIN HIDDEN TESTS
check_conv2d_fft(conv2d_fft, seed=1704, points=5)
### END HIDDEN TESTS

# %% [markdown] id=part5 locked
# ## Part 5: timing (not graded)
#
# Two layers: a typical one, small 3 x 3 kernels, and one with large 17 x 17 kernels. The cell
# checks that your functions agree with the loops, then prints the best of three runs of each
# (the loops run once: they are slow). The numbers depend on your machine and on what else it
# is doing; what matters is how they compare. Before you run it, guess: which method wins for
# each layer, and why does the FFT's time hardly change with the kernel size?

# %% id=timing locked
rng = np.random.default_rng(0)
layers = {"3 x 3 kernels": (rng.normal(size=(4, 3, 32, 32)), rng.normal(size=(8, 3, 3, 3))),
          "17 x 17 kernels": (rng.normal(size=(2, 3, 48, 48)), rng.normal(size=(4, 3, 17, 17)))}
for name, (x, w) in layers.items():
    start = time.perf_counter()
    reference = conv2d_loops(x, w)
    loops = time.perf_counter() - start
    print(f"{name}: x {x.shape}, w {w.shape}")
    print(f"  loops            {1000 * loops:8.2f} ms")
    for label, fn in (("im2col + matmul", conv2d_im2col), ("FFT", conv2d_fft),
                      ("convnb.conv2d", convnb.conv2d)):
        agrees = np.allclose(fn(x, w), reference)
        print(f"  {label:16s} {1000 * best_time(fn, x, w):8.2f} ms"
              + ("" if agrees else "   (differs from the loops!)"))

# %% [markdown] id=part6 locked
# ## Part 6: on a GPU (not graded)
#
# A GPU runs thousands of multiply-adds at once, so it rewards exactly the reorganisations of
# this lab: one big matrix product, or a few big FFTs, instead of many small dot products.
# CuPy is NumPy's interface on NVIDIA GPUs: `cupy.asarray` copies an array to the GPU, and if
# your functions use `xp = get_array_module(x)` they run there unchanged (`cupy.fft`, `cupy.einsum`
# and `cupy.lib.stride_tricks.sliding_window_view` mirror NumPy's). GPU calls return before the
# work is done, so the timing waits for the device before stopping the clock, and the first
# call of each function (which compiles kernels and plans FFTs) is not counted.
#
# Without a GPU, or without CuPy, the cell says so and skips; it never fails. On Colab, choose a
# GPU runtime to try it.

# %% id=gpu locked
if not gpu_available():
    print("No GPU here (CuPy is missing or sees no device): the GPU timings are skipped.")
else:
    import cupy

    def gpu_time(fn, *args, repeat=5):
        """Best of `repeat` runs, waiting for the GPU each time; a first run warms up."""
        fn(*args)
        cupy.cuda.Device().synchronize()
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            fn(*args)
            cupy.cuda.Device().synchronize()
            best = min(best, time.perf_counter() - start)
        return best

    for name, (x, w) in layers.items():
        x_gpu, w_gpu = cupy.asarray(x), cupy.asarray(w)
        print(f"{name} on the GPU:")
        for label, fn in (("im2col + matmul", conv2d_im2col), ("FFT", conv2d_fft),
                          ("convnb.conv2d", convnb.conv2d)):
            try:
                seconds = gpu_time(fn, x_gpu, w_gpu)
            except Exception as error:  # e.g. np. used where xp. is needed
                print(f"  {label:16s} could not run on the GPU: {type(error).__name__}: {error}")
                continue
            print(f"  {label:16s} {1000 * seconds:8.2f} ms")

# %% [markdown] id=end locked
# ## Things to try (not graded)
#
# * Time `conv2d_im2col` and `conv2d_fft` on one 64 x 64 image for kernel sizes 3, 5, 9, 17
#   and 33, and plot both against the kernel size. Where do the curves cross?
# * How many numbers does `im2col(x, KH, KW)` hold, compared with `x`? Try the 17 x 17 layer
#   above.
# * In `correlate1d_fft`, use a transform length `n` shorter than `L`, or keep the last
#   `L - K + 1` entries instead of the first, and compare with `np.correlate(x, w, "valid")`:
#   that is the wrap-around the checks look for.

# %%
