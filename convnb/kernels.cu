// convnb's CUDA kernels: the source that convnb/cuda.py compiles (by NVRTC, through CuPy) once
// per dtype, with T the float type and O the integer type of max pooling's offsets. Every kernel
// with a `total` runs a grid-stride loop: any number of blocks of any size covers every element.
// tests/cuda_on_cpu.py compiles this file with g++ and runs it on the CPU, one thread at a time.
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif

__device__ int window_at(int y, int pad, int offset, int stride, int n_out) {
  // along one axis: the output whose window reads input position y at this offset (its kernel
  // tap times the dilation), or -1 if none does
  int p = y + pad - offset;
  return p < 0 || p % stride || p / stride >= n_out ? -1 : p / stride;
}

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
      int i = window_at(y, top, u * dh, sh, H_out);
      for (int v = 0; v < KW && i >= 0; v++) {
        int j = window_at(xq, left, v * dw, sw, W_out);
        if (j >= 0) acc += cols[((c * KH + u) * KW + v) * NM + (b * H_out + i) * W_out + j];
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
      int i = window_at(y, top, u * dh, sh, H_out);
      for (int v = 0; v < KW && i >= 0; v++) {
        int j = window_at(xq, left, v * dw, sw, W_out);
        if (j < 0) continue;
        const T* grads = dout + (long long)(bat * F + f0) * H_out * W_out + i * W_out + j;
        for (int f = 0; f < Fg; f++)
          acc += w[(((f0 + f) * Cg + cl) * KH + u) * KW + v] * grads[f * H_out * W_out];
      }
    }
    dx[e] = acc;
  }
}

__device__ T block_sum(T* partial, T value) {
  // the sum of the block's values, for thread 0 (a tree in the block's shared memory, partial:
  // one entry per thread; every thread of the block must call it)
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  return partial[0];
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
  T total = block_sum(partial, acc);
  if (threadIdx.x == 0) dw_out[k] = total;
}

extern "C" __global__ void channel_sums(const T* a, T* sums, int n, int F, int M) {
  // sums (F,): one block per channel f, adding a[b, f, m] over b and m
  __shared__ T partial[256];
  int f = blockIdx.x;
  T acc = 0;
  for (int e = threadIdx.x; e < n * M; e += blockDim.x)
    acc += a[(long long)(e / M * F + f) * M + e % M];
  T total = block_sum(partial, acc);
  if (threadIdx.x == 0) sums[f] = total;
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
  T total = block_sum(partial, acc);
  if (threadIdx.x == 0) loss[0] = mean ? total / N : total;
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
      int i = window_at(y, top, u, sh, H_out);
      if (i < 0) continue;
      int rows = window_count(i * sh - top, KH, -pad_y, H + pad_y);
      for (int v = 0; v < KW; v++) {
        int j = window_at(xq, left, v, sw, W_out);
        if (j < 0) continue;
        T share = dout[(plane * H_out + i) * W_out + j];
        acc += share / (T)(rows * window_count(j * sw - left, KW, -pad_x, W + pad_x));
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
      int i = window_at(y, top, u * dh, sh, H_out);
      for (int v = 0; v < KW && i >= 0; v++) {
        int j = window_at(xq, left, v * dw, sw, W_out);
        int o = (plane * H_out + i) * W_out + j;
        if (j >= 0 && offset[o] == u * KW + v && out[o] != -INFINITY) acc += dout[o];
      }
    }
    dx[e] = acc;
  }
}
