"""Hand-written CUDA kernels: one launch where CuPy's array operations would take many.

On a GPU a small layer's time goes mostly to launching kernels (each CuPy operation costs several
microseconds of Python and driver work), not to arithmetic. convnb's array code, written once for
NumPy and CuPy, launches one kernel per kernel tap or window offset and more: a 3 x 3 col2im is 9
strided additions, max pooling's switches about five operations per window offset, an SGD step
with momentum five per parameter. The kernels here do each of those in one launch and leave the
arithmetic-heavy part, the matrix products, to cuBLAS through ``cupy.matmul``:

* :func:`patches`, im2col's patch matrix read straight from the unpadded input (padding is a
  test, never a copy), and :func:`fold`, its adjoint (col2im), in which each input pixel sums the
  patch entries that read it: a gather, so no atomic additions and the same result every run;
* :func:`direct_forward` (bias included), :func:`direct_input_grad` and
  :func:`direct_weight_grad`, direct convolution with one thread per output, input pixel or weight:
  a small layer in one launch each, where im2col takes four or more;
* :func:`channel_sums`, the bias gradient in one launch (CuPy's reduction takes several times as
  long to start), and :func:`cross_entropy`, the softmax cross-entropy's forward pass;
* :func:`max_pool_switches` and :func:`max_pool_route`, max pooling's forward and backward, and
  :func:`avg_pool_forward` and :func:`avg_pool_backward`, average pooling's;
* :func:`sgd_step` and :func:`adam_step`, one fused elementwise kernel per parameter.

Each computes the numbers the array code computes, up to the order of its additions (the tests
hold them to ``*_naive``). The kernels index their arrays as C-ordered blocks of memory, so each
function here takes its inputs in any layout and makes them contiguous itself (a copy only where
one is not); an ``out`` it writes into must already be. Their CUDA source is ``kernels.cu`` beside
this module, compiled once per dtype, by NVRTC through CuPy, on first use. Only
:mod:`convnb.backend` and this module import CuPy, and this one only when a function here is
called, which callers do only for float32 and float64 CuPy arrays whose indices fit in 32 bits
(:func:`usable`); other arrays keep to the array code.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

import numpy as np

from .backend import is_cupy_array
from .types import Array

THREADS = 256  # threads per block
MAX_BLOCKS = 2**20  # blocks per launch at most; a grid-stride loop covers the rest
# The most entries an array may have for the kernels' 32-bit indices: a grid-stride loop's index
# steps up to MAX_BLOCKS * THREADS past the last entry, and must still fit in an int.
MAX_ENTRIES = 2**31 - 1 - MAX_BLOCKS * THREADS


_TYPES = {"float32": "float", "float64": "double", "int8": "signed char", "int64": "long long"}


@cache
def source() -> str:
    """The kernels' CUDA source, ``kernels.cu`` beside this module."""
    return resources.files(__package__).joinpath("kernels.cu").read_text()


@cache
def _kernel(name: str, dtype: str, offset_dtype: str = "int8"):
    import cupy

    preamble = f"typedef {_TYPES[dtype]} T;\ntypedef {_TYPES[offset_dtype]} O;\n"
    return cupy.RawKernel(preamble + source(), name)


def usable(a: Array, *sizes: int) -> bool:
    """True when ``a`` is a float32 or float64 CuPy array and every size (a count of array
    entries) fits the kernels' 32-bit indices: then the kernels here can compute on it."""
    return (is_cupy_array(a) and a.dtype.name in ("float32", "float64")
            and max(sizes, default=0) <= MAX_ENTRIES)


def _contiguous(*arrays: Array | None) -> list[Array | None]:
    """The arrays as C-contiguous CuPy arrays, copied only where they are not (None stays)."""
    import cupy

    return [None if a is None else cupy.ascontiguousarray(a) for a in arrays]


@cache
def _int32s(sizes: tuple[int, ...]) -> tuple[np.int32, ...]:
    return tuple(np.int32(s) for s in sizes)


def _launch(name: str, total: int, arrays: tuple[Array, ...], sizes: tuple[int, ...],
            offset_dtype: str = "int8", blocks: int | None = None) -> None:
    kernel = _kernel(name, arrays[0].dtype.name, offset_dtype)
    if blocks is None:
        blocks = max(1, min(-(-total // THREADS), MAX_BLOCKS))
    if total:
        kernel((blocks,), (THREADS,), (*arrays, *_int32s(sizes)))


def _layer(n: int, C: int, H: int, W: int, kernel, stride, dilation, top: int, left: int,
           H_out: int, W_out: int) -> tuple[int, ...]:
    return (n, C, H, W, *kernel, *stride, *dilation, top, left, H_out, W_out)


def conv_sizes(g, n: int) -> tuple[int, ...]:
    """The kernels' size arguments for ``n`` examples of convolution geometry ``g``."""
    return _layer(n, g.C, g.H, g.W, (g.KH, g.KW), g.stride, g.dilation, g.pads[0], g.pads[2],
                  g.H_out, g.W_out)


def patches(x: Array, g) -> Array:
    """im2col's patch matrix of the examples in ``x``, zero padding included.

    Shapes: x (n, C, H, W) -> cols (C*KH*KW, n*H_out*W_out), rows (c, u, v)
    """
    import cupy

    (x,), n = _contiguous(x), x.shape[0]
    cols = cupy.empty((g.C * g.KH * g.KW, n * g.H_out * g.W_out), dtype=x.dtype)
    _launch("patches", cols.size, (x, cols), conv_sizes(g, n))
    return cols


def fold(cols: Array, g, out: Array) -> Array:
    """The adjoint of :func:`patches` into ``out``, contiguous (col2im, padding dropped).

    Shapes: cols (C*KH*KW, n*H_out*W_out) -> out (n, C, H, W), contiguous
    """
    _launch("fold", out.size, (*_contiguous(cols), out), conv_sizes(g, out.shape[0]))
    return out


def _grouped(g) -> tuple[int, ...]:
    return (g.F, g.groups, *conv_sizes(g, g.N))


def direct_forward(x: Array, w: Array, b: Array | None, g) -> Array:
    """Direct convolution, bias included: one thread per output.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) or None -> out (N, F, H_out, W_out)
    """
    import cupy

    x, w, b = _contiguous(x, w, b)
    out = cupy.empty((g.N, g.F, g.H_out, g.W_out), dtype=x.dtype)
    _launch("direct_forward", out.size, (x, w, w if b is None else b, out),
            (b is not None, *_grouped(g)))
    return out


def direct_input_grad(dout: Array, w: Array, g) -> Array:
    """Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW) -> dx (N, C, H, W)"""
    import cupy

    dout, w = _contiguous(dout, w)
    dx = cupy.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    _launch("direct_input_grad", dx.size, (dout, w, dx), _grouped(g))
    return dx


def direct_weight_grad(dout: Array, x: Array, g) -> Array:
    """Shapes: dout (N, F, H_out, W_out), x (N, C, H, W) -> dw (F, C/groups, KH, KW)"""
    import cupy

    dout, x = _contiguous(dout, x)
    dw = cupy.empty((g.F, g.C // g.groups, g.KH, g.KW), dtype=x.dtype)
    _launch("direct_weight_grad", dw.size, (dout, x, dw), _grouped(g), blocks=dw.size)
    return dw


def channel_sums(a: Array) -> Array:
    """Each channel's sum, as ``a.sum(axis=(0, 2, ...))``: the bias gradient of a layer.

    Shapes: a (n, F, ...) -> (F,)
    """
    import cupy

    a = _contiguous(a)[0].reshape(a.shape[0], a.shape[1], -1)
    n, F, M = a.shape
    sums = cupy.empty(F, dtype=a.dtype)
    _launch("channel_sums", sums.size, (a, sums), (n, F, M), blocks=F)
    return sums


def cross_entropy(logits: Array, target: Array, mean: bool) -> tuple[Array, Array]:
    """The softmax of each row and the mean (or sum) of ``logsumexp(z) - z[y]``, as
    :class:`convnb.nn.CrossEntropyLoss` on a device: NaN for a target outside ``[0, K)``.

    Shapes: logits (N, K), target (N,) int64 -> probs (N, K), loss ()
    """
    import cupy

    logits, target = _contiguous(logits, target)
    probs = cupy.empty_like(logits)
    loss = cupy.empty((), dtype=logits.dtype)
    _launch("cross_entropy", 1, (logits, target, probs, loss), (*logits.shape, mean), blocks=1)
    return probs, loss


def pool_sizes(g) -> tuple[int, ...]:
    """The kernels' size arguments for pooling geometry ``g``."""
    return _layer(g.N, g.C, g.H, g.W, g.kernel, g.stride, g.dilation, *g.padding, g.H_out,
                  g.W_out)


def avg_pool_forward(x: Array, g, count_include_pad: bool) -> Array:
    """Average pooling, as :func:`convnb.pool.avg_pool2d`.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out)
    """
    import cupy

    (x,) = _contiguous(x)
    out = cupy.empty((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    _launch("avg_pool_forward", out.size, (x, out), (count_include_pad, *pool_sizes(g)))
    return out


def avg_pool_backward(dout: Array, g, count_include_pad: bool) -> Array:
    """Each ``dout`` entry shared equally by its window's inputs, as
    :func:`convnb.pool.avg_pool2d_backward`.

    Shapes: dout (N, C, H_out, W_out) -> dx (N, C, H, W)
    """
    import cupy

    (dout,) = _contiguous(dout)
    dx = cupy.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    _launch("avg_pool_backward", dx.size, (dout, dx), (count_include_pad, *pool_sizes(g)))
    return dx


def max_pool_switches(x: Array, g) -> tuple[Array, Array]:
    """Each window's maximum and its offset ``u*KW + v``, as :func:`convnb.pool.switches`.

    Shapes: x (N, C, H, W) -> out (N, C, H_out, W_out), offset (same) int8, or int64 for
    windows of more than 128 entries
    """
    import cupy

    (x,) = _contiguous(x)
    out = cupy.empty((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    offset_dtype = "int8" if g.kernel[0] * g.kernel[1] <= 128 else "int64"
    offset = cupy.empty(out.shape, dtype=offset_dtype)
    _launch("max_pool_switches", out.size, (x, out, offset), pool_sizes(g), offset_dtype)
    return out, offset


def max_pool_route(dout: Array, out: Array, offset: Array, g) -> Array:
    """Each ``dout`` entry added onto its window's switch, as :func:`convnb.pool.route_to_max`.

    Shapes: dout, out, offset (N, C, H_out, W_out) -> dx (N, C, H, W)
    """
    import cupy

    dout, out, offset = _contiguous(dout, out, offset)
    dx = cupy.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    _launch("max_pool_route", dx.size, (dout, out, offset, dx), pool_sizes(g),
            str(offset.dtype))
    return dx


# --- optimiser steps: the formulas of convnb.nn.optim, one kernel per parameter -----------------

@cache
def _elementwise(name: str):
    import cupy

    if name == "sgd":
        return cupy.ElementwiseKernel(
            "T grad, T lr, T weight_decay", "T w",
            "T g = grad; if (weight_decay != (T)0) g = g + weight_decay * w; w = w - lr * g;",
            "convnb_sgd")
    if name == "sgd_momentum":
        return cupy.ElementwiseKernel(
            "T grad, T lr, T weight_decay, T momentum, T keep, bool first, bool nesterov",
            "T w, T v",
            """T g = grad;
            if (weight_decay != (T)0) g = g + weight_decay * w;
            v = first ? g : momentum * v + keep * g;
            w = w - lr * (nesterov ? g + momentum * v : v);""",
            "convnb_sgd_momentum")
    return cupy.ElementwiseKernel(
        "T grad, T step_size, T weight_decay, T beta1, T keep1, T beta2, T keep2, T bias2_root, "
        "T eps", "T w, T m, T v",
        """T g = grad;
        if (weight_decay != (T)0) g = g + weight_decay * w;
        m = beta1 * m + keep1 * g;
        v = beta2 * v + keep2 * g * g;
        w = w - step_size * (m / (sqrt(v) / bias2_root + eps));""",
        "convnb_adam")


def sgd_step(w: Array, grad: Array, lr: float, weight_decay: float, momentum: float = 0.0,
             dampening: float = 0.0, nesterov: bool = False, v: Array | None = None) -> None:
    """One step of :class:`convnb.nn.SGD` on ``w`` in place; with momentum, ``v`` is the momentum
    buffer, updated in place (``None`` on the first step: pass the one this returns next time).

    Shapes: w, grad, v: the parameter's
    """
    t = w.dtype.type
    if not momentum:
        _elementwise("sgd")(grad, t(lr), t(weight_decay), w)
        return None
    first = v is None
    if first:
        import cupy

        v = cupy.empty_like(w)
    _elementwise("sgd_momentum")(grad, t(lr), t(weight_decay), t(momentum), t(1 - dampening),
                                 first, nesterov, w, v)
    return v


def adam_step(w: Array, grad: Array, m: Array, v: Array, lr: float, betas, eps: float,
              weight_decay: float, t: int) -> None:
    """One step of :class:`convnb.nn.Adam` (step number ``t``, from 1) on ``w``, ``m`` and ``v``
    in place.

    Shapes: w, grad, m, v: the parameter's
    """
    beta1, beta2 = betas
    cast = w.dtype.type
    _elementwise("adam")(grad, cast(lr / (1 - beta1**t)), cast(weight_decay), cast(beta1),
                         cast(1 - beta1), cast(beta2), cast(1 - beta2),
                         cast(math.sqrt(1 - beta2**t)), cast(eps), w, m, v)
