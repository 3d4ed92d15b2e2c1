"""Pooling with chance in it: stochastic pooling and fractional max pooling.

**Stochastic pooling** (Zeiler & Fergus 2013) treats a window of non-negative activations
``a_1 .. a_K`` as a probability distribution, ``p_k = a_k / sum(a)``, and during training outputs
one activation drawn from it: large activations win most often, but not always, which regularises
like dropout. At test time it outputs the expected value, ``sum(p_k a_k) = sum(a_k**2) / sum(a)``.

**Fractional max pooling** (Graham 2014) shrinks the input by a factor between 1 and 2 (any output
size) by letting the window starts advance by 1 or 2 in a pseudo-random pattern, drawn afresh per
plane from one uniform number per axis. It reproduces PyTorch's pattern exactly: given the same
``samples``, the result equals ``torch.nn.functional.fractional_max_pool2d(...,
_random_samples=samples)``.

Both return the flat index ``row * W + col`` of each chosen input, so their backward pass is
``convnb.max_unpool2d(dout, indices, x.shape[-2:], accumulate=True)``.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_array, pair
from .backend import get_array_module
from .pool_windows import pool_geometry
from .types import Array, IntOrPair, RngLike
from .windows import sliding_windows

__all__ = [
    "fractional_max_pool2d", "fractional_max_pool2d_naive", "max_unpool2d", "max_unpool2d_naive",
    "stochastic_pool2d", "stochastic_pool2d_naive",
]


def _generator(fn: str, rng: RngLike) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, int | np.integer) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"{fn}: rng must be a numpy Generator, an int seed or None, "
                    f"got {type(rng).__name__}")


def _check_non_negative(fn: str, x: Array) -> None:
    if bool((x < 0).any()):
        raise ValueError(f"{fn}: x must be non-negative (activations after a ReLU, read as "
                         f"unnormalised probabilities), got a minimum of {float(x.min()):.4g}")


# --- stochastic pooling -----------------------------------------------------------------------

def stochastic_pool2d(x: Array, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                      rng: RngLike = None, training: bool = True) -> tuple[Array, Array | None]:
    """Stochastic pooling (Zeiler & Fergus 2013) of non-negative ``x``.

    Training: each window outputs one of its inputs a_k, with probability ``a_k / sum(a)`` (an
    all-zero window outputs 0, index of its first input); one uniform number ``u`` per window
    picks the first k whose running sum exceeds ``u * sum(a)``.
    Test time: the expectation ``sum(a_k**2) / sum(a)``.

    Parameters
    ----------
    x : non-negative input (e.g. after a ReLU), float array.
    kernel_size, stride : int or pair; no padding.
    rng : numpy Generator, int seed or None; the draws are made on the host and moved to the
        device of ``x``.
    training : draw (True) or take the expectation (False).

    Returns ``(out, indices)``: indices flat (``row * W + col``, int64), None at test time.

    Shapes: x (N, C, H, W) -> out, indices (N, C, H_out, W_out), H_out = (H - KH) // stride + 1
    """
    fn = "stochastic_pool2d"
    g = pool_geometry(fn, x, kernel_size, stride)
    _check_non_negative(fn, x)
    xp = get_array_module(x)
    K = g.kernel[0] * g.kernel[1]
    a = sliding_windows(x, g.kernel, g.stride, (1, 1), (g.H_out, g.W_out))
    a = a.reshape(g.N, g.C, g.H_out, g.W_out, K)
    cum = xp.cumsum(a, axis=-1)
    total = cum[..., -1]
    if not training:
        return (a * a).sum(axis=-1) / xp.where(total > 0, total, 1), None
    u = _generator(fn, rng).random((g.N, g.C, g.H_out, g.W_out)).astype(x.dtype)
    k = (cum <= (xp.asarray(u) * total)[..., None]).sum(axis=-1)
    # Only rounding (u * total == total) or an all-zero window runs off the end.
    last_positive = K - 1 - xp.argmax((a > 0)[..., ::-1], axis=-1)
    k = xp.where(k < K, k, xp.where(total > 0, last_positive, 0))
    out = xp.take_along_axis(a, k[..., None], axis=-1)[..., 0]
    rows = xp.arange(g.H_out)[:, None] * g.stride[0] + k // g.kernel[1]
    cols = xp.arange(g.W_out) * g.stride[1] + k % g.kernel[1]
    return out, (rows * g.W + cols).astype(xp.int64)


def stochastic_pool2d_naive(x: Array, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                            rng: RngLike = None,
                            training: bool = True) -> tuple[Array, Array | None]:
    """:func:`stochastic_pool2d` as loops, drawing the same numbers from the same ``rng``.

    Shapes: x (N, C, H, W) -> out, indices (N, C, H_out, W_out)
    """
    fn = "stochastic_pool2d_naive"
    g = pool_geometry(fn, x, kernel_size, stride)
    _check_non_negative(fn, x)
    xp = get_array_module(x)
    (KH, KW), (sh, sw) = g.kernel, g.stride
    out = xp.zeros((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    indices = xp.zeros(out.shape, dtype=xp.int64)
    if training:
        u = _generator(fn, rng).random(out.shape).astype(x.dtype)
    for n in range(g.N):
        for c in range(g.C):
            for i in range(g.H_out):
                for j in range(g.W_out):
                    window = [(i * sh + du, j * sw + dv) for du in range(KH) for dv in range(KW)]
                    a = [x[n, c, r, col] for r, col in window]
                    total = sum(a)
                    if not training:
                        out[n, c, i, j] = sum(ak * ak for ak in a) / total if total > 0 else 0
                        continue
                    # Inverse CDF: the first k whose running sum passes u * total.
                    pick, running = None, 0
                    for k, ak in enumerate(a):
                        running = running + ak
                        if running > u[n, c, i, j] * total:
                            pick = k
                            break
                    if pick is None:
                        pick = max((k for k, ak in enumerate(a) if ak > 0), default=0)
                    r, col = window[pick]
                    out[n, c, i, j], indices[n, c, i, j] = a[pick], r * g.W + col
    return out, (indices if training else None)


# --- fractional max pooling -------------------------------------------------------------------

def _fractional_sizes(fn: str, x: Array, kernel_size: IntOrPair,
                      output_size: IntOrPair) -> tuple[tuple[int, int], tuple[int, int]]:
    check_array(x, "x", fn, "(N, C, H, W)")
    kernel = pair(kernel_size, "kernel_size", fn)
    if output_size is None:
        raise ValueError(f"{fn}: output_size (H_out, W_out) is required, got None")
    out = pair(output_size, "output_size", fn)
    for axis, size, k, o in zip(("height", "width"), x.shape[2:], kernel, out, strict=True):
        if o + k - 1 > size:
            raise ValueError(f"{fn}: an output {axis} of {o} with kernel_size {k} needs an input "
                             f"{axis} of at least output_size + kernel_size - 1 = {o + k - 1}, "
                             f"got {size}")
    return kernel, out


def _samples(fn: str, x: Array, rng: RngLike, samples: Array | None) -> Array:
    """One uniform number in [0, 1) per plane and axis: [..., 0] for the width, [..., 1] height."""
    N, C = x.shape[:2]
    if samples is None:
        draws = _generator(fn, rng).random((N, C, 2)).astype(x.dtype)
        return get_array_module(x).asarray(draws)
    if not hasattr(samples, "shape") or tuple(samples.shape) != (N, C, 2):
        raise ValueError(f"{fn}: samples must have shape (N, C, 2) = ({N}, {C}, 2), got "
                         f"{tuple(getattr(samples, 'shape', ())) or type(samples).__name__}")
    if np.dtype(samples.dtype).kind != "f":
        raise TypeError(f"{fn}: samples must be floating-point numbers in [0, 1), "
                        f"got dtype {samples.dtype}")
    if bool(((samples < 0) | (samples >= 1)).any()):
        raise ValueError(f"{fn}: samples must lie in [0, 1), got values from "
                         f"{float(samples.min())} to {float(samples.max())}")
    return samples.astype(x.dtype)


def _starts(sample: Array, size: int, out: int, k: int, dtype: np.dtype) -> Array:
    """PyTorch's window starts along one axis, computed in ``dtype`` as PyTorch does: the gaps
    ``alpha = (size - k) / (out - 1)`` rounded down from a random offset, the last window flush
    with the edge.

    Shapes: sample (N, C) -> (N, C, out) int64
    """
    xp = get_array_module(sample)
    last = xp.full((*sample.shape, 1), size - k, dtype=xp.int64)
    if out == 1:
        return last
    alpha = dtype.type(size - k) / dtype.type(out - 1)
    s = sample[..., None]
    steps = ((xp.arange(out - 1, dtype=dtype) + s) * alpha).astype(xp.int64)
    return xp.concatenate([steps - (s * alpha).astype(xp.int64), last], axis=-1)


def fractional_max_pool2d(x: Array, kernel_size: IntOrPair, output_size: IntOrPair,
                          rng: RngLike = None,
                          samples: Array | None = None) -> tuple[Array, Array]:
    """Fractional max pooling (Graham 2014), as ``torch.nn.functional.fractional_max_pool2d``.

    Output (i, j) is the maximum of the ``kernel_size`` window starting at pseudo-random
    (row_i, col_j); the starts grow by ``floor`` steps of ``(H - KH) / (H_out - 1)`` (likewise for
    the width), so windows may overlap.

    Parameters
    ----------
    x : input, float array.
    kernel_size, output_size : int or (rows, columns) pair; ``output_size + kernel_size - 1``
        must fit in the input.
    rng : numpy Generator, int seed or None, to draw ``samples`` when none are given.
    samples : PyTorch's ``_random_samples``, uniform in [0, 1): [..., 0] fixes the pattern of the
        columns, [..., 1] of the rows, of each plane.

    Returns ``(out, indices)``: maxima and their flat indices ``row * W + col`` (int64).

    Shapes: x (N, C, H, W), samples (N, C, 2) -> out, indices (N, C, H_out, W_out)
    """
    fn = "fractional_max_pool2d"
    (KH, KW), (H_out, W_out) = _fractional_sizes(fn, x, kernel_size, output_size)
    u = _samples(fn, x, rng, samples)
    xp = get_array_module(x)
    N, C, H, W = x.shape
    rows = _starts(u[..., 1], H, H_out, KH, x.dtype)[..., None] + xp.arange(KH)
    cols = _starts(u[..., 0], W, W_out, KW, x.dtype)[..., None] + xp.arange(KW)
    flat = rows[:, :, :, None, :, None] * W + cols[:, :, None, :, None, :]
    flat = flat.reshape(N, C, H_out, W_out, KH * KW)
    values = xp.take_along_axis(x.reshape(N, C, H * W), flat.reshape(N, C, -1), axis=-1)
    values = values.reshape(flat.shape)
    k = xp.argmax(values, axis=-1)[..., None]
    return (xp.take_along_axis(values, k, axis=-1)[..., 0],
            xp.take_along_axis(flat, k, axis=-1)[..., 0])


def fractional_max_pool2d_naive(x: Array, kernel_size: IntOrPair, output_size: IntOrPair,
                                rng: RngLike = None,
                                samples: Array | None = None) -> tuple[Array, Array]:
    """:func:`fractional_max_pool2d` as loops, PyTorch's ``generate_intervals`` line by line.

    Shapes: x (N, C, H, W), samples (N, C, 2) -> out, indices (N, C, H_out, W_out)
    """
    fn = "fractional_max_pool2d_naive"
    (KH, KW), (H_out, W_out) = _fractional_sizes(fn, x, kernel_size, output_size)
    u = _samples(fn, x, rng, samples)
    xp = get_array_module(x)
    N, C, H, W = x.shape
    real = x.dtype.type

    def intervals(sample, size, out, k):
        starts = [size - k] * out
        if out > 1:
            alpha = real(size - k) / real(out - 1)
            for i in range(out - 1):
                starts[i] = int((i + sample) * alpha) - int(sample * alpha)
        return starts

    out = xp.zeros((N, C, H_out, W_out), dtype=x.dtype)
    indices = xp.zeros(out.shape, dtype=xp.int64)
    for n in range(N):
        for c in range(C):
            row_starts = intervals(real(float(u[n, c, 1])), H, H_out, KH)
            col_starts = intervals(real(float(u[n, c, 0])), W, W_out, KW)
            for i, r0 in enumerate(row_starts):
                for j, c0 in enumerate(col_starts):
                    best, where = None, None
                    for r in range(r0, r0 + KH):
                        for col in range(c0, c0 + KW):
                            if best is None or x[n, c, r, col] > best:
                                best, where = x[n, c, r, col], r * W + col
                    out[n, c, i, j], indices[n, c, i, j] = best, where
    return out, indices


# --- unpooling: the backward pass of any pooling that returns indices ----------------------------

def _unpool_size(fn: str, x: Array, indices: Array,
                 output_size: tuple[int, ...]) -> tuple[int, int]:
    check_array(x, "x", fn, "(N, C, H_in, W_in)")
    if not hasattr(indices, "shape") or tuple(indices.shape) != tuple(x.shape):
        raise ValueError(f"{fn}: indices must have the shape of x {tuple(x.shape)}, got "
                         f"{tuple(getattr(indices, 'shape', ())) or type(indices).__name__}")
    if np.dtype(indices.dtype).kind not in "iu":
        raise TypeError(f"{fn}: indices must hold integers (flat positions row * W + col), got "
                        f"dtype {indices.dtype}")
    if isinstance(output_size, tuple | list) and len(output_size) == 4:
        output_size = tuple(output_size)[-2:]  # (N, C, H, W), as PyTorch accepts
    if output_size is None or not isinstance(output_size, tuple | list) or len(output_size) != 2:
        raise ValueError(f"{fn}: output_size must be the pooled input's size (H, W), "
                         f"got {output_size!r}")
    H, W = pair(output_size, "output_size", fn)
    if bool(((indices < 0) | (indices >= H * W)).any()):
        raise ValueError(f"{fn}: indices must lie in [0, H*W) = [0, {H * W}) for output_size "
                         f"({H}, {W}), got values from {int(indices.min())} to "
                         f"{int(indices.max())}")
    return H, W


def max_unpool2d(x: Array, indices: Array, output_size: tuple[int, ...],
                 accumulate: bool = False) -> Array:
    """Place every value of ``x`` at its flat index ``row * W + col`` in a zero (H, W) plane, as
    ``torch.nn.functional.max_unpool2d``.

    This is the backward pass of every pooling that returns indices (:func:`max_pool2d`,
    ``stochastic_pool2d``, ``fractional_max_pool2d``):
    ``dx = max_unpool2d(dout, indices, x.shape[-2:], accumulate=True)``.

    Parameters
    ----------
    x : values to place (a pooled output, or the gradient ``dout`` w.r.t. it).
    indices : integers in [0, H*W), as returned by the pooling.
    output_size : (H, W) of the pooled input (or its full (N, C, H, W) shape).
    accumulate : add values that share an index, as a gradient must when overlapping windows
        chose the same input. The default, like PyTorch, keeps one of them (for a max pooling's
        output they are the same value).

    Shapes: x (N, C, H_in, W_in), indices (N, C, H_in, W_in) -> out (N, C, H, W)
    """
    fn = "max_unpool2d"
    H, W = _unpool_size(fn, x, indices, output_size)
    xp = get_array_module(x, indices)
    N, C = x.shape[:2]
    flat = (indices.reshape(N * C, -1) + xp.arange(N * C)[:, None] * (H * W)).reshape(-1)
    if accumulate:
        out = xp.bincount(flat, weights=x.reshape(-1), minlength=N * C * H * W).astype(x.dtype)
    else:
        out = xp.zeros(N * C * H * W, dtype=x.dtype)
        out[flat] = x.reshape(-1)
    return out.reshape(N, C, H, W)


def max_unpool2d_naive(x: Array, indices: Array, output_size: tuple[int, ...],
                       accumulate: bool = False) -> Array:
    """:func:`max_unpool2d` as loops.

    Shapes: x (N, C, H_in, W_in), indices (N, C, H_in, W_in) integers -> out (N, C, H, W)
    """
    H, W = _unpool_size("max_unpool2d_naive", x, indices, output_size)
    N, C, H_in, W_in = x.shape
    out = get_array_module(x, indices).zeros((N, C, H * W), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_in):
                for j in range(W_in):
                    k = int(indices[n, c, i, j])
                    out[n, c, k] = (out[n, c, k] if accumulate else 0) + x[n, c, i, j]
    return out.reshape(N, C, H, W)
