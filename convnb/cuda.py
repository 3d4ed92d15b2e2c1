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

Each computes exactly what the array code computes (the tests hold them to ``*_naive``) and is
compiled once per dtype, by NVRTC through CuPy, on first use. Only :mod:`convnb.backend` and this
module import CuPy, and this one only when a function here is called, which callers do for CuPy
arrays only (:func:`convnb.backend.is_cupy_array`). Indices are 32-bit: callers check
:func:`fits` first and otherwise keep to the array code.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from .backend import is_cupy_array
from .types import Array

INT32_MAX = 2**31 - 1
THREADS = 256  # threads per block

_SOURCE = r"""
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif

extern "C" __global__ void patches(const T* x, T* cols, int n, int C, int H, int W, int KH,
    int KW, int sh, int sw, int dh, int dw, int top, int left, int H_out, int W_out) {
  // cols (C*KH*KW, n*H_out*W_out): row (c, u, v), column (b, i, j)
  int M = H_out * W_out, NM = n * M, total = C * KH * KW * NM;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int col = e % NM, row = e / NM;
    int j = col % W_out, i = (col / W_out) % H_out, b = col / M;
    int v = row % KW, u = (row / KW) % KH, c = row / (KH * KW);
    int y = i * sh + u * dh - top, xq = j * sw + v * dw - left;
    cols[e] = (y >= 0 && y < H && xq >= 0 && xq < W) ? x[((b * C + c) * H + y) * W + xq] : (T)0;
  }
}

extern "C" __global__ void fold(const T* cols, T* dx, int n, int C, int H, int W, int KH,
    int KW, int sh, int sw, int dh, int dw, int top, int left, int H_out, int W_out) {
  // dx (n, C, H, W): each pixel adds the entries of cols that patches() copied from it
  int NM = n * H_out * W_out, total = n * C * H * W;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int xq = e % W, y = (e / W) % H, c = (e / (W * H)) % C, b = e / (W * H * C);
    T acc = 0;
    for (int u = 0; u < KH; u++) {
      int yy = y + top - u * dh;
      if (yy < 0) break;
      if (yy % sh || yy / sh >= H_out) continue;
      for (int v = 0; v < KW; v++) {
        int xx = xq + left - v * dw;
        if (xx < 0) break;
        if (xx % sw || xx / sw >= W_out) continue;
        acc += cols[((c * KH + u) * KW + v) * NM + (b * H_out + yy / sh) * W_out + xx / sw];
      }
    }
    dx[e] = acc;
  }
}

extern "C" __global__ void direct_forward(const T* x, const T* w, const T* b, T* out,
    int has_bias, int F, int groups, int n, int C, int H, int W, int KH, int KW, int sh, int sw,
    int dh, int dw, int top, int left, int H_out, int W_out) {
  // out (n, F, H_out, W_out): each thread one output, summing its group's channels and taps
  int Cg = C / groups, Fg = F / groups, total = n * F * H_out * W_out;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int j = e % W_out, i = (e / W_out) % H_out, f = (e / (W_out * H_out)) % F;
    int bat = e / (W_out * H_out * F), c0 = f / Fg * Cg;
    T acc = 0;
    for (int c = 0; c < Cg; c++) {
      const T* plane = x + (long long)(bat * C + c0 + c) * H * W;
      const T* taps = w + (f * Cg + c) * KH * KW;
      for (int u = 0; u < KH; u++) {
        int y = i * sh + u * dh - top;
        if (y < 0 || y >= H) continue;
        for (int v = 0; v < KW; v++) {
          int xq = j * sw + v * dw - left;
          if (xq >= 0 && xq < W) acc += taps[u * KW + v] * plane[y * W + xq];
        }
      }
    }
    out[e] = has_bias ? acc + b[f] : acc;
  }
}

extern "C" __global__ void direct_input_grad(const T* dout, const T* w, T* dx, int F,
    int groups, int n, int C, int H, int W, int KH, int KW, int sh, int sw, int dh, int dw,
    int top, int left, int H_out, int W_out) {
  // dx (n, C, H, W): each pixel adds w * dout over the filters and taps that read it
  int Cg = C / groups, Fg = F / groups, total = n * C * H * W;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int xq = e % W, y = (e / W) % H, c = (e / (W * H)) % C, bat = e / (W * H * C);
    int f0 = c / Cg * Fg, cl = c % Cg;
    T acc = 0;
    for (int u = 0; u < KH; u++) {
      int yy = y + top - u * dh;
      if (yy < 0) break;
      if (yy % sh || yy / sh >= H_out) continue;
      for (int v = 0; v < KW; v++) {
        int xx = xq + left - v * dw;
        if (xx < 0) break;
        if (xx % sw || xx / sw >= W_out) continue;
        const T* grads = dout + (long long)(bat * F + f0) * H_out * W_out
                         + (yy / sh) * W_out + xx / sw;
        for (int f = 0; f < Fg; f++)
          acc += w[(((f0 + f) * Cg + cl) * KH + u) * KW + v] * grads[f * H_out * W_out];
      }
    }
    dx[e] = acc;
  }
}

__device__ T batch_sum(const T* grads, const T* inputs, int first, int n, int step,
    long long grads_step, long long inputs_step) {
  // grads[b * grads_step] * inputs[b * inputs_step] added over b = first, first + step, ... < n
  T sum = 0;
  for (int b = first; b < n; b += step) sum += grads[b * grads_step] * inputs[b * inputs_step];
  return sum;
}

extern "C" __global__ void direct_weight_grad(const T* dout, const T* x, T* dw_out, int F,
    int groups, int n, int C, int H, int W, int KH, int KW, int sh, int sw, int dh, int dw,
    int top, int left, int H_out, int W_out) {
  // one block per weight (f, c, u, v): its threads share out the output pixels, each pixel's
  // products summed over the batch (a run with no index arithmetic); a plane smaller than the
  // block gives each pixel several threads, which take every lanes-th example
  __shared__ T partial[256];
  int Cg = C / groups, Fg = F / groups, k = blockIdx.x;
  int v = k % KW, u = (k / KW) % KH, cl = (k / (KW * KH)) % Cg, f = k / (KW * KH * Cg);
  int c = f / Fg * Cg + cl, M = H_out * W_out;
  int lanes = M >= (int)blockDim.x ? 1 : blockDim.x / M;  // threads per pixel
  T acc = 0;
  for (int t = threadIdx.x; t < lanes * M; t += blockDim.x) {
    int e = t % M, y = e / W_out * sh + u * dh - top, xq = e % W_out * sw + v * dw - left;
    if (y >= 0 && y < H && xq >= 0 && xq < W)
      acc += batch_sum(dout + (long long)f * M + e, x + (long long)c * H * W + y * W + xq,
                       t / M, n, lanes, (long long)F * M, (long long)C * H * W);
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) dw_out[k] = partial[0];
}

extern "C" __global__ void channel_sums(const T* a, T* sums, int n, int F, int M) {
  // sums (F,): one block per channel f, adding a[b, f, m] over b and m
  __shared__ T partial[256];
  int f = blockIdx.x;
  T acc = 0;
  for (int e = threadIdx.x; e < n * M; e += blockDim.x)
    acc += a[(long long)(e / M * F + f) * M + e % M];
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[f] = partial[0];
}

extern "C" __global__ void cross_entropy(const T* z, const long long* target, T* probs,
    T* loss, int N, int K, int mean) {
  // one block: each thread takes rows r, r + blockDim.x, ...; loss_r = logsumexp(z_r) - z_r[y_r]
  // and probs_r = softmax(z_r), both NaN for a target outside [0, K)
  __shared__ T partial[256];
  T acc = 0;
  for (int r = threadIdx.x; r < N; r += blockDim.x) {
    const T* row = z + (long long)r * K;
    T* p = probs + (long long)r * K;
    T top = row[0];
    for (int k = 1; k < K; k++)
      if (row[k] > top || row[k] != row[k]) top = row[k];
    T total = 0;
    for (int k = 0; k < K; k++) total += exp(row[k] - top);
    T log_norm = log(total);
    long long y = target[r];
    bool valid = y >= 0 && y < K;
    for (int k = 0; k < K; k++) p[k] = valid ? exp(row[k] - top - log_norm) : (T)NAN;
    acc += valid ? log_norm - (row[y] - top) : (T)NAN;
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) loss[0] = mean ? partial[0] / N : partial[0];
}

__device__ int window_count(int start, int K, int low, int high) {
  // how many of the positions start, start + 1, ..., start + K - 1 lie in [low, high)
  int count = 0;
  for (int u = 0; u < K; u++) count += start + u >= low && start + u < high;
  return count;
}

extern "C" __global__ void avg_pool_forward(const T* x, T* out, int include_pad, int n, int C,
    int H, int W, int KH, int KW, int sh, int sw, int dh, int dw, int top, int left,
    int H_out, int W_out) {
  // each window's sum over its size (padding counted with include_pad, never the ceil_mode part
  // past the padding); windows have no dilation
  int total = n * C * H_out * W_out;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int j = e % W_out, i = (e / W_out) % H_out, plane = e / (W_out * H_out);
    int y0 = i * sh - top, x0 = j * sw - left, pad_y = include_pad ? top : 0;
    int pad_x = include_pad ? left : 0;
    T sum = 0;
    for (int u = 0; u < KH; u++) {
      if (y0 + u < 0 || y0 + u >= H) continue;
      for (int v = 0; v < KW; v++)
        if (x0 + v >= 0 && x0 + v < W) sum += x[(plane * H + y0 + u) * W + x0 + v];
    }
    out[e] = sum / (T)(window_count(y0, KH, -pad_y, H + pad_y)
                       * window_count(x0, KW, -pad_x, W + pad_x));
  }
}

extern "C" __global__ void avg_pool_backward(const T* dout, T* dx, int include_pad, int n,
    int C, int H, int W, int KH, int KW, int sh, int sw, int dh, int dw, int top, int left,
    int H_out, int W_out) {
  // dx (n, C, H, W): each pixel adds its windows' dout over their sizes
  int total = n * C * H * W;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int xq = e % W, y = (e / W) % H, plane = e / (W * H);
    int pad_y = include_pad ? top : 0, pad_x = include_pad ? left : 0;
    T acc = 0;
    for (int u = 0; u < KH; u++) {
      int yy = y + top - u;
      if (yy < 0) break;
      if (yy % sh || yy / sh >= H_out) continue;
      int rows = window_count(yy - top, KH, -pad_y, H + pad_y);
      for (int v = 0; v < KW; v++) {
        int xx = xq + left - v;
        if (xx < 0) break;
        if (xx % sw || xx / sw >= W_out) continue;
        T share = dout[(plane * H_out + yy / sh) * W_out + xx / sw];
        acc += share / (T)(rows * window_count(xx - left, KW, -pad_x, W + pad_x));
      }
    }
    dx[e] = acc;
  }
}

extern "C" __global__ void max_pool_switches(const T* x, T* out, O* offset, int n, int C,
    int H, int W, int KH, int KW, int sh, int sw, int dh, int dw, int top, int left,
    int H_out, int W_out) {
  // PyTorch's scan: a strictly larger value moves the switch; the last NaN wins over all
  int total = n * C * H_out * W_out;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int j = e % W_out, i = (e / W_out) % H_out, plane = e / (W_out * H_out);
    T best = -INFINITY;
    int at = 0, nan_at = -1;
    for (int k = 0; k < KH * KW; k++) {
      int y = i * sh + (k / KW) * dh - top, xq = j * sw + (k % KW) * dw - left;
      T value = (y >= 0 && y < H && xq >= 0 && xq < W) ? x[(plane * H + y) * W + xq] : -INFINITY;
      if (value != value) nan_at = k;
      else if (value > best) { best = value; at = k; }
    }
    if (nan_at >= 0) { best = NAN; at = nan_at; }
    out[e] = best;
    offset[e] = (O)at;
  }
}

extern "C" __global__ void max_pool_route(const T* dout, const T* out, const O* offset, T* dx,
    int n, int C, int H, int W, int KH, int KW, int sh, int sw, int dh, int dw, int top,
    int left, int H_out, int W_out) {
  // dx (n, C, H, W): each pixel adds dout of the windows whose switch it is (none that saw
  // only padding or -inf)
  int total = n * C * H * W;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    int xq = e % W, y = (e / W) % H, plane = e / (W * H);
    T acc = 0;
    for (int u = 0; u < KH; u++) {
      int yy = y + top - u * dh;
      if (yy < 0) break;
      if (yy % sh || yy / sh >= H_out) continue;
      for (int v = 0; v < KW; v++) {
        int xx = xq + left - v * dw;
        if (xx < 0) break;
        if (xx % sw || xx / sw >= W_out) continue;
        int o = (plane * H_out + yy / sh) * W_out + xx / sw;
        if (offset[o] == u * KW + v && out[o] != -INFINITY) acc += dout[o];
      }
    }
    dx[e] = acc;
  }
}
"""

_TYPES = {"float32": "float", "float64": "double", "int8": "signed char", "int64": "long long"}


@cache
def _kernel(name: str, dtype: str, offset_dtype: str = "int8"):
    import cupy

    preamble = f"typedef {_TYPES[dtype]} T;\ntypedef {_TYPES[offset_dtype]} O;\n"
    return cupy.RawKernel(preamble + _SOURCE, name)


def usable(a: Array, *sizes: int) -> bool:
    """True when ``a`` is a float32 or float64 CuPy array and every size (a count of array
    entries) fits the kernels' 32-bit indices: then the kernels here can compute on it."""
    return (is_cupy_array(a) and a.dtype.name in ("float32", "float64")
            and max(sizes, default=0) <= INT32_MAX)


@cache
def _int32s(sizes: tuple[int, ...]) -> tuple[np.int32, ...]:
    return tuple(np.int32(s) for s in sizes)


def _launch(name: str, total: int, arrays: tuple[Array, ...], sizes: tuple[int, ...],
            offset_dtype: str = "int8", blocks: int | None = None) -> None:
    kernel = _kernel(name, arrays[0].dtype.name, offset_dtype)
    if blocks is None:
        blocks = max(1, min(-(-total // THREADS), 2**20))
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

    Shapes: x (n, C, H, W), contiguous -> cols (C*KH*KW, n*H_out*W_out), rows (c, u, v)
    """
    import cupy

    n = x.shape[0]
    cols = cupy.empty((g.C * g.KH * g.KW, n * g.H_out * g.W_out), dtype=x.dtype)
    _launch("patches", cols.size, (x, cols), conv_sizes(g, n))
    return cols


def fold(cols: Array, g, out: Array) -> Array:
    """The adjoint of :func:`patches` into ``out``, contiguous (col2im, padding dropped).

    Shapes: cols (C*KH*KW, n*H_out*W_out), contiguous -> out (n, C, H, W)
    """
    _launch("fold", out.size, (cols, out), conv_sizes(g, out.shape[0]))
    return out


def _grouped(g) -> tuple[int, ...]:
    return (g.F, g.groups, *conv_sizes(g, g.N))


def direct_forward(x: Array, w: Array, b: Array | None, g) -> Array:
    """Direct convolution, bias included: one thread per output.

    Shapes: x (N, C, H, W), w (F, C/groups, KH, KW), b (F,) or None, all contiguous
    -> out (N, F, H_out, W_out)
    """
    import cupy

    out = cupy.empty((g.N, g.F, g.H_out, g.W_out), dtype=x.dtype)
    _launch("direct_forward", out.size, (x, w, w if b is None else b, out),
            (b is not None, *_grouped(g)))
    return out


def direct_input_grad(dout: Array, w: Array, g) -> Array:
    """Shapes: dout (N, F, H_out, W_out), w (F, C/groups, KH, KW), contiguous -> dx (N, C, H, W)"""
    import cupy

    dx = cupy.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    _launch("direct_input_grad", dx.size, (dout, w, dx), _grouped(g))
    return dx


def direct_weight_grad(dout: Array, x: Array, g) -> Array:
    """Shapes: dout (N, F, H_out, W_out), x (N, C, H, W), contiguous -> dw (F, C/groups, KH, KW)"""
    import cupy

    dw = cupy.empty((g.F, g.C // g.groups, g.KH, g.KW), dtype=x.dtype)
    _launch("direct_weight_grad", dw.size, (dout, x, dw), _grouped(g), blocks=dw.size)
    return dw


def channel_sums(a: Array) -> Array:
    """Each channel's sum, as ``a.sum(axis=(0, 2))``: the bias gradient of a layer.

    Shapes: a (n, F, M), contiguous -> (F,)
    """
    import cupy

    n, F, M = a.shape
    sums = cupy.empty(F, dtype=a.dtype)
    _launch("channel_sums", sums.size, (a, sums), (n, F, M), blocks=F)
    return sums


def cross_entropy(logits: Array, target: Array, mean: bool) -> tuple[Array, Array]:
    """The softmax of each row and the mean (or sum) of ``logsumexp(z) - z[y]``, as
    :class:`convnb.nn.CrossEntropyLoss` on a device: NaN for a target outside ``[0, K)``.

    Shapes: logits (N, K), contiguous, target (N,) int64 -> probs (N, K), loss ()
    """
    import cupy

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

    Shapes: x (N, C, H, W), contiguous -> out (N, C, H_out, W_out)
    """
    import cupy

    out = cupy.empty((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    _launch("avg_pool_forward", out.size, (x, out), (count_include_pad, *pool_sizes(g)))
    return out


def avg_pool_backward(dout: Array, g, count_include_pad: bool) -> Array:
    """Each ``dout`` entry shared equally by its window's inputs, as
    :func:`convnb.pool.avg_pool2d_backward`.

    Shapes: dout (N, C, H_out, W_out), contiguous -> dx (N, C, H, W)
    """
    import cupy

    dx = cupy.empty((g.N, g.C, g.H, g.W), dtype=dout.dtype)
    _launch("avg_pool_backward", dx.size, (dout, dx), (count_include_pad, *pool_sizes(g)))
    return dx


def max_pool_switches(x: Array, g) -> tuple[Array, Array]:
    """Each window's maximum and its offset ``u*KW + v``, as :func:`convnb.pool.switches`.

    Shapes: x (N, C, H, W), contiguous -> out (N, C, H_out, W_out), offset (same) int8, or
    int64 for windows of more than 128 entries
    """
    import cupy

    out = cupy.empty((g.N, g.C, g.H_out, g.W_out), dtype=x.dtype)
    offset_dtype = "int8" if g.kernel[0] * g.kernel[1] <= 128 else "int64"
    offset = cupy.empty(out.shape, dtype=offset_dtype)
    _launch("max_pool_switches", out.size, (x, out, offset), pool_sizes(g), offset_dtype)
    return out, offset


def max_pool_route(dout: Array, out: Array, offset: Array, g) -> Array:
    """Each ``dout`` entry added onto its window's switch, as :func:`convnb.pool.route_to_max`.

    Shapes: dout, out, offset (N, C, H_out, W_out), contiguous -> dx (N, C, H, W)
    """
    import cupy

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
