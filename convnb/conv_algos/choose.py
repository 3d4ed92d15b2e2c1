"""``algo="auto"``: which algorithm a layer gets, decided once per shape and dtype.

cuDNN's benchmark mode times every algorithm on the first call with a new shape and remembers the
winner; timing inside a student's training step would make runs irreproducible, so by default
``"auto"`` applies a fixed rule instead (:mod:`.measured` is the benchmark mode, for whoever
switches it on), derived from timings of the algorithms on a 2-core CPU
(float32; see :func:`rule`), or on a GPU :func:`gpu_rule`, and remembers its answer per shape,
dtype, array module and number of BLAS threads (:func:`blas_threads`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import fft, flat, measured, winograd

if TYPE_CHECKING:
    from ..geometry import ConvGeometry


FLAT_WIDTH = 1.25  # "flat" while the padded rows are at most this many times the output's
FLAT_CHANNELS = 8  # ... and the layer has at least this many input channels per group
FLAT_EXTRA_MACS = 24  # ... and adds at most this many multiply-adds per patch value not copied
FFT_RATIO = 8  # "fft" where the direct multiply-adds are this many times its modelled cost
FFT_FILTER_WEIGHT = 1  # the model's cost of a complex multiply-add of the filters' DFTs
FFT_RATIO_DEPTHWISE = 2  # ... for depthwise layers, whose other algorithms are slower per add
FFT_RATIO_DEPTHWISE_BACKWARD = 2.5  # ... for their gradients, where the FFT gains less
WINOGRAD_CHANNELS = 16  # "winograd" at one thread from this many input and output channels
WINOGRAD_TILES = 128  # ... and this many 4 x 4 tiles of outputs in the batch


def fft_ratio(g: ConvGeometry) -> float:
    """The layer's multiply-adds, ``N*F*C/groups*KH*KW*H_out*W_out``, over a model of the FFT's
    cost (:mod:`.fft`), with ``Ht x Wt`` its transform size: ``Ht*Wt*log2(Ht*Wt)`` for each
    transform (``N*C`` inputs, ``N*F`` outputs), 8 for each complex multiply-add of the sums
    over channels, ``N*F*C/groups*Ht*(Wt//2 + 1)`` of them in one small matrix product per
    frequency, and 1 for each of the filters' DFTs, ``F*C/groups*KH*(Wt//2 + 1)*(KW + Ht)`` in
    two large products. The weights are not the FFT's own costs (fitted to its measured times
    alone, the sums' weight comes out near 1): the 8 also stands for the other algorithms,
    whose matrix products run fastest on the layers of many channels, where the sums are
    many. With these weights a ratio of :data:`FFT_RATIO` separated the layers of
    ``bench.auto_rule`` on which the FFT won from those on which it lost best (see
    :func:`rule`); the ratio does not order the speed-ups themselves."""
    Ht, Wt = fft.transform_size(g)
    per_group, L = g.C // g.groups, Wt // 2 + 1
    macs = g.N * g.F * per_group * g.KH * g.KW * g.H_out * g.W_out
    transforms = (g.N * g.C + g.N * g.F) * Ht * Wt * np.log2(Ht * Wt)
    sums = g.N * g.F * per_group * Ht * L
    filters = g.F * per_group * g.KH * L * (g.KW + Ht)
    return macs / (transforms + 8 * sums + FFT_FILTER_WEIGHT * filters)


def rule(g: ConvGeometry, backward: bool = False, threads: int = 2) -> str:
    """The algorithm for a layer of geometry ``g``, for its forward pass or (``backward``) for
    both of its gradients, when NumPy's matrix products run on ``threads`` threads.

    * Layers whose :func:`fft_ratio` is at least :data:`FFT_RATIO` (depthwise layers:
      :data:`FFT_RATIO_DEPTHWISE`, and :data:`FFT_RATIO_DEPTHWISE_BACKWARD` for their
      gradients): ``"fft"``. Its cost hardly grows with the kernel, so it wins on large
      kernels, unless few channels leave its transforms nothing to share, or a stride makes it
      compute outputs it throws away. Timed on the twenty-two large-kernel layers of
      ``bench.auto_rule`` (7 x 7 to 31 x 31; ``bench/results/2026-11-29-auto-rule-fft-*``:
      Haswell and SkylakeX kernels, one and two threads), after the filters' spectra became
      matrix products and the transforms' lengths products of small primes (:mod:`.fft`):
      the rule takes the FFT for nine ordinary layers, with ratios from 8.3 (x (8, 16, 32, 32)
      by w (16, 16, 9, 9): forward 1.9 ms against flat's 3.4 at two threads, Haswell kernels)
      to 21.1 (x (8, 16, 64, 64) by w (16, 16, 15, 15): 10.9 ms against im2col's 54.6). With
      the Haswell kernels the FFT was 1.17 to 7.9 times as fast as the fastest other algorithm
      on all nine, both ways, at one and two threads; with the SkylakeX kernels on all but the
      backward pass of x (32, 1, 64, 64) by w (8, 1, 21, 21), 0.81 and 0.96 times as fast. It
      leaves eight: the 13 x 13 layer of chapter 8, x (1, 8, 64, 64) (ratio 7.2), where the FFT
      would have won by 1.10 to 2.36 in every setting; x (8, 3, 64, 64) by w (16, 3, 11, 11)
      (7.8), where it lost by up to 2.4 times in three settings (the two are out of order, so
      no threshold takes the one and leaves the other); five layers of 9 x 9 and 7 x 7 kernels
      with 8 to 64 channels (5.2 to 6.4), where it won clearly only at one thread with the
      Haswell kernels (up to 1.8 times); elsewhere its forward pass was at most 1.11 times as
      fast and its backward pass lost (down to 0.43 times); AlexNet's 11 x 11 stem at
      stride 4 (0.6), by 25 to 100 times. Of the five depthwise layers it takes 11 x 11,
      13 x 13 and 31 x 31 on 32 x 32 maps (ratios 2.6 to 7.7) both ways, 2.1 to 6.8 times as
      fast forward and 1.01 to 8.0 backward, and 9 x 9 on 56 x 56 maps (2.2) forward only
      (1.10 to 1.18 times as fast; its backward pass lost by 1.3 to 1.5 in all four settings);
      it leaves 9 x 9 on 32 x 32 (1.98), where the FFT would have won forward by 1.4 to 1.5
      and gained 0.83 to 1.20 backward. The suite's layers and ``bench.auto_rule``'s other rows
      (3 x 3 to 7 x 7) have ratios of at most 2.0 (depthwise: 1.1), far below.
    * Depthwise layers (one input channel and one filter per group): ``"flat"`` at stride 1,
      forward and backward (except the backward pass of a layer padded past its kernel's
      reach), everything else ``"direct"``, one multiply-add per tap; im2col would run
      ``N*groups`` matrix products of one row (bench row "depthwise", 1 thread: forward 3.1 ms
      against 8.4 ms, backward 6.6 against 30). Both work on chunks of examples that stay in
      the cache; per chunk, direct makes two NumPy passes per tap (a multiply, then an add),
      flat copies one shifted slice per tap and hands the weighted sum of the slices to BLAS,
      one short product per channel. On the twelve depthwise layers of ``bench.auto_rule``
      (3 to 512 channels, 3 x 3 to 7 x 7 kernels, 7 x 7 to 112 x 112 images, one dilated, one
      unpadded) flat's forward pass was 1.06 to 3.17 times faster than direct's on every layer,
      at one and at two threads, with both of OpenBLAS's kernel sets that the development
      machines ran (Haswell and SkylakeX; 2026-11-29). Its backward pass computes ``dx`` as a
      forward pass of ``dout`` (:func:`.flat.as_forward`) and ``dw`` as direct does: on the
      same layers and the suite's, in the same four settings, 1.0 to 1.96 times as fast as
      direct's whole backward pass (the most on 5 x 5, 7 x 7 and dilated kernels), slower
      once, by 2 % (the unpadded layer, Haswell kernels, two threads).
    * Backward passes of layers whose windows tile the input (stride equal to the kernel, no
      dilation, as in a 2 x 2 stride-2 "patchify" layer or the transposed convolution that
      upsamples by 2): ``"direct"``, whose per-tap products write disjoint outputs, where
      im2col's col2im adds each tap back through a strided view. ``conv_transpose2d`` of
      x (16, 64, 16, 16) by w (64, 32, 2, 2), stride 2, two threads: 1.3 ms against 9.1; the
      whole conv2d backward of (64, 16, 28, 28) by (16, 16, 2, 2): 2.1 ms against 4.6 (one
      thread: 2.1 against 3.4); each the median of one process.
    * Backward passes of strided layers whose stride divides the kernel (4 x 4 at stride 2):
      ``"flat"``, which computes ``dx`` as one forward pass over the stride's phases
      (:mod:`.phases`) and ``dw`` as im2col does. Timed by ``bench.auto_rule`` (seven such
      layers, both kernel sets, one and two threads) its whole backward pass was 1.10 to 1.97
      times as fast as im2col's on six layers and tied on the seventh. Until glibc was told to
      keep freed memory (:mod:`convnb.heap`) it was left out: called again and again in a
      process of its own, it made glibc hand its heap back and take it again on every call,
      about 1,900 page faults per call. ``conv_transpose2d`` of x (16, 64, 16, 16) by
      w (64, 32, 4, 4) at stride 2, padding 1, two threads, three fresh processes each: 2.6 to
      2.7 ms against im2col's 3.7 to 3.9 with the memory kept, 5.4 to 5.5 ms with glibc's
      defaults (2026-11-29).
    * At one thread, 3 x 3 layers at stride 1 without dilation or groups, with at least
      :data:`WINOGRAD_CHANNELS` input and output channels and :data:`WINOGRAD_TILES` tiles of
      4 x 4 outputs: ``"winograd"``, for the forward pass and ``dx`` (its ``dw`` is flat's).
      One thread, forward and backward, against flat: "mid" 5.7 and 17.6 ms against 8.9 and
      21.6; "deep" 3.1 and 8.7 against 4.4 and 9.8; (64, 16, 32, 32) by (16, 16, 3, 3) 5.7 and
      14.2 against 7.3 and 18.8; (64, 64, 56, 56) by (64, 64, 3, 3) 109 and 337 against 208 and
      431. At two threads flat's products use both cores and Winograd's transforms one: "deep"
      forward 3.1 against 2.6, "mid" 5.8 against 5.3, so Winograd is left to one thread
      (``train``'s default). With three input channels ("cifar-stem") it is twice as slow as
      im2col at any thread count. With 64 tiles it matches flat at best (x (16, 32, 8, 8), w
      (32, 32, 3, 3): 0.39 ms each) and loses on smaller batches (x (4, 32, 16, 16): 0.37
      against 0.32), where 128 tiles win (x (32, 16, 8, 8), w (16, 16, 3, 3): 0.25 against
      0.30).
    * Layers at stride 1 with at least :data:`FLAT_CHANNELS` input channels per group, padded
      rows at most :data:`FLAT_WIDTH` times as wide as the output's, and at most
      :data:`FLAT_EXTRA_MACS` extra multiply-adds per patch value: ``"flat"``. It copies its
      patch matrices in long runs where im2col copies runs of ``W_out``, and pays for that with
      ``Wp / W_out`` times the arithmetic: ``(Wp - W_out) / W_out * F/groups`` extra
      multiply-adds for each patch value whose short copy it saves. With many filters the saved
      copy is worth less than the arithmetic. Two threads, forward and backward, flat against
      im2col: "mid" (18 columns for 16, 64 filters: 8 extra) 6.0 and 13.0 ms against 8.2 and
      12.4; x (32, 64, 16, 16) by w (128, 64, 3, 3) (16 extra) 9.2 and 18.7 against 10.9 and
      18.1; "deep" (10 for 8, 128 filters: 32 extra) 2.7 and 5.3 against 2.2 and 4.4;
      x (16, 256, 14, 14) by w (256, 256, 3, 3) (37 extra) 24.8 and 45.9 against 20.1 and 41.5;
      x (8, 64, 56, 56) by w (64, 64, 3, 3) (2.3 extra) 12.1 and 26.2 against 15.9 and 39.3
      (one thread: the same winners, 2026-11-28). "dilated" forward 0.6 against 1.0. Wider
      padding loses: "lenet-c2" (14 for 10) 1.7 and 5.4 against 1.5 and 4.5. First layers (one
      to six channels) gain little or lose, their patch matrices being short: "cifar-stem"
      backward 10.0 against 8.0. With larger kernels no kernel size separates them: on
      eleven first layers of one to four channels with 5 x 5 to 11 x 11 kernels at stride 1
      (``bench.auto_rule``'s first-layer rows; AMD EPYC family 23, Haswell kernels,
      2026-11-29) flat's passes ran 0.91 to 1.37 times as fast as im2col's at one thread
      (faster in 14 of 22) and 0.97 to 1.34 at two (18 of 22). The 11 x 11 RGB layer's: 0.91
      to 1.14 there, 1.48 to 2.24 on the family-26 machine; LeNet's first layer's forward
      pass: 1.04 to 1.13 there, on the family-26 machine 1.14 and 1.33 with the Haswell kernels
      but 0.74 and 0.87 with the SkylakeX kernels. Gains whose sign changes with the machine,
      the kernels and the threads leave first layers with im2col. (At one thread on family 23 the
      FFT beat both on the 11 x 11 layer, 2.6 times im2col's speed forward, where on the
      family-26 machine it lost by up to 2.4 times: see the FFT case above.)
      Dilated layers' gradients follow the same rule (until
      2026-11-29 they all went to ``"direct"``): on the five dilated layers of
      ``bench.auto_rule`` that flat fits, timed at one and two threads with both kernel sets,
      flat's backward beat direct's in 19 of the 20 timings, by up to 2.2 times, and lost once,
      by 0.5 %; with three or four channels im2col beat direct in 7 of the 8 timings, by 1.29
      to 2.7 times, and lost once by 3 %.
    * Gradients of dilated layers at stride 1 with at least :data:`FLAT_CHANNELS` channels per
      group whose padded rows are too wide for flat: ``"direct"``, which never builds the
      padding and skips the taps that fall into it. x (8, 32, 16, 16) by w (32, 32, 3, 3),
      dilation 4, padding 4 (rows of 24 for 16): direct the fastest in three of the four
      settings (1.08 ms at two threads, Haswell kernels, against im2col's 1.05 and flat's 0.97
      in the fourth). Dilated layers that flat leaves for their many filters go to im2col, which
      beat direct in three of the four settings on x (8, 64, 16, 16) by w (128, 64, 3, 3) and
      tied in the fourth.
    * Everything else: ``"im2col"``, one matrix product per chunk of examples; direct's
      per-tap products over ``C/groups`` channels are slower on every other row of the suite
      (1.1x on "dilated" to 20x on "mnist-c1", one input channel).

    The timings (float32, 2-core AMD EPYC, NumPy with OpenBLAS on its SkylakeX kernels, 2026-11-27
    and 28; the fastest of three processes' medians, as the machine has slow spells) are of this
    project's bench suite (``bench/conv_suite.py``), except those dated 2026-11-29, which are
    ``python -m bench.auto_rule``'s on the next machine, with each kernel set
    (``bench/results/2026-11-29-auto-rule-*.md``).
    """
    depthwise = g.C == g.groups and g.F == g.groups
    if depthwise:
        fft_from = FFT_RATIO_DEPTHWISE_BACKWARD if backward else FFT_RATIO_DEPTHWISE
    else:
        fft_from = FFT_RATIO
    if fft_ratio(g) >= fft_from:
        return "fft"
    if depthwise:
        flat_fits = g.stride == (1, 1) and (not backward or flat.as_forward(g) is not None)
        return "flat" if flat_fits else "direct"
    if backward and g.stride == (g.KH, g.KW) and g.dilation == (1, 1):
        return "direct"
    if backward and g.stride != (1, 1) and flat.as_phases(g) is not None:
        return "flat"
    if (threads == 1 and winograd.fits(g) and g.C >= WINOGRAD_CHANNELS
            and g.F >= WINOGRAD_CHANNELS and winograd.tiles(g) >= WINOGRAD_TILES):
        return "winograd"
    extra_columns = g.padded_size[1] - g.W_out
    if (g.stride == (1, 1) and g.C // g.groups >= FLAT_CHANNELS
            and g.padded_size[1] <= FLAT_WIDTH * g.W_out
            and extra_columns * (g.F // g.groups) <= FLAT_EXTRA_MACS * g.W_out):
        return "flat"
    if (backward and g.stride == (1, 1) and g.dilation != (1, 1)
            and g.C // g.groups >= FLAT_CHANNELS and g.padded_size[1] > FLAT_WIDTH * g.W_out):
        return "direct"
    return "im2col"


# On a GPU, "direct" up to this many multiply-adds per forward pass, for the forward pass and for
# the gradients (measured, see gpu_rule).
GPU_DIRECT_MACS = {"forward": 200_000_000, "backward": 50_000_000}


def gpu_rule(g: ConvGeometry, backward: bool = False) -> str:
    """The algorithm for a layer of geometry ``g`` on a GPU (CuPy arrays), for its forward pass
    or (``backward``) both gradients.

    There a small layer's time is the host's, launching kernels, so the rule counts launches:
    ``"direct"`` does each pass in one kernel of :mod:`convnb.cuda` (one thread per output, input
    pixel or weight), im2col in about four (gather, GEMM, reorder, and col2im for ``dx``). Past
    :data:`GPU_DIRECT_MACS` multiply-adds the arithmetic dominates, which cuBLAS's GEMM does
    faster than direct's threads: ``"im2col"``. On an H200 (2026-11-28, float32, bench suite):
    forward, direct against im2col, "deep" (151 million) 0.19 ms against 0.34, "mid" (302
    million) 0.35 against 0.18; backward, "stem-7x7" (38 million) 0.25 against 0.43, "cifar-stem"
    (57 million) 0.40 against 0.33. Depthwise layers are ``"direct"`` at any size. ``"flat"`` only
    moves fewer, longer runs of memory, which a GPU's threads do not need.
    """
    macs = g.N * g.F * g.H_out * g.W_out * (g.C // g.groups) * g.KH * g.KW
    depthwise = g.C == g.groups and g.F == g.groups
    limit = GPU_DIRECT_MACS["backward" if backward else "forward"]
    return "direct" if depthwise or macs <= limit else "im2col"


@lru_cache(maxsize=1)
def _blas_libraries() -> list:
    """threadpoolctl's handles on the BLAS libraries loaded (empty where it cannot tell)."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().select(user_api="blas").lib_controllers
    except Exception:  # threadpoolctl missing or unable to inspect this process
        return []


def blas_threads() -> int:
    """The threads NumPy's BLAS uses now (as ``threadpool_limits`` left it; asking takes about a
    microsecond). 2 where that cannot be told, so that ``"auto"`` keeps to the algorithms that
    do not depend on it. The answer picks an algorithm: it changes the speed and the rounding of
    the result, no more."""
    return max((library.num_threads for library in _blas_libraries()), default=2)


@lru_cache(maxsize=4096)
def _cached(g: ConvGeometry, dtype: str, module: str, backward: bool, threads: int) -> str:
    return gpu_rule(g, backward) if module == "cupy" else rule(g, backward, threads)


GRADIENTS = ("weight_grad", "input_grad")  # the passes of a convolution's backward


def choose_algo(g: ConvGeometry, dtype: object, module: str, backward: bool = False,
                passes: tuple[str, ...] | None = None) -> str:
    """:func:`rule`'s answer for ``g``, cached per geometry, dtype, array module name, direction
    and, for NumPy arrays, the BLAS threads of the moment; for NumPy arrays after
    :func:`.measured.set_benchmark` ``(True)``, the algorithm that runs ``passes`` fastest, as
    timed on this machine. ``passes`` are those the caller runs (default: ``("forward",)``, or
    both gradients when ``backward``): a transposed convolution runs the convolution's
    ``input_grad`` alone, for instance."""
    dtype = np.dtype(dtype).name
    threads = blas_threads() if module == "numpy" else 0
    if module == "numpy" and measured.benchmark_enabled():
        passes = passes or (GRADIENTS if backward else ("forward",))
        return measured.fastest(g, dtype, passes, threads)
    return _cached(g, dtype, module, backward, threads)
