"""convnb: reference convolution, pooling and backprop for the convnb course.

Layout is NCHW; weights are (F, C/groups, KH, KW) as in PyTorch, and every "convolution" is a
cross-correlation with the semantics of ``torch.nn.functional`` of the same name. Every operator has
a ``*_naive`` twin written as loops. Arrays may be NumPy (CPU) or CuPy (GPU): the result lives where
the input does.

``__all__`` lists the public API: the operators of :mod:`convnb.conv`, :mod:`convnb.transposed`,
:mod:`convnb.local`, :mod:`convnb.pool`, :mod:`convnb.lp_pool` and :mod:`convnb.pool_random` (each
module's ``__all__``), the image filters of :mod:`convnb.filters`, the size and cost formulas of
:mod:`convnb.arithmetic`, the gradient check, the device helpers of :mod:`convnb.backend`, and three
modules: ``nn`` (layers, losses, optimisers), ``data`` (datasets) and ``backend`` (devices).

Importing convnb has one effect beyond it: on Linux with glibc it tells ``malloc`` to keep the
memory the process frees, so that a loop over a layer reuses its temporaries' pages instead of
faulting them in again on every call (:mod:`convnb.heap`; ``CONVNB_KEEP_FREED_MEMORY=0`` opts out).
"""

from . import (
    backend,
    data,
    heap,  # noqa: F401  (keeps freed memory: glibc's thresholds, set on import)
    nn,
)
from .arithmetic import (
    conv_macs,
    conv_output_size,
    conv_params,
    conv_transpose_output_size,
    depthwise_separable_params,
    linear_params,
    locally_connected_params,
    pool_output_size,
    receptive_field,
)
from .backend import asnumpy, get_array_module, to_device
from .conv import (
    conv1d,
    conv1d_backward,
    conv1d_backward_naive,
    conv1d_naive,
    conv2d,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_naive,
)
from .filters import (
    blur_5x5,
    box_blur,
    convolve2d,
    convolve2d_naive,
    correlate2d,
    correlate2d_naive,
    gaussian_kernel,
    laplacian,
    sharpen,
    sobel,
)
from .gradcheck import gradcheck, numerical_gradient, rel_error
from .local import (
    locally_connected2d,
    locally_connected2d_backward,
    locally_connected2d_backward_naive,
    locally_connected2d_naive,
    tiled_conv2d,
    tiled_conv2d_backward,
    tiled_conv2d_backward_naive,
    tiled_conv2d_naive,
)
from .lp_pool import lp_pool2d, lp_pool2d_backward, lp_pool2d_backward_naive, lp_pool2d_naive
from .pool import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_backward_naive,
    avg_pool2d_naive,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_backward_naive,
    max_pool2d_naive,
)
from .pool_random import (
    fractional_max_pool2d,
    fractional_max_pool2d_naive,
    max_unpool2d,
    max_unpool2d_naive,
    stochastic_pool2d,
    stochastic_pool2d_naive,
)
from .transposed import (
    conv_transpose2d,
    conv_transpose2d_backward,
    conv_transpose2d_backward_naive,
    conv_transpose2d_naive,
)

__version__ = "0.1.0"

__all__ = [
    # subpackages and modules
    "backend", "data", "nn",
    # devices
    "asnumpy", "get_array_module", "to_device",
    # convolution
    "conv1d", "conv1d_backward", "conv1d_backward_naive", "conv1d_naive",
    "conv2d", "conv2d_backward", "conv2d_backward_naive", "conv2d_naive",
    "conv_transpose2d", "conv_transpose2d_backward", "conv_transpose2d_backward_naive",
    "conv_transpose2d_naive",
    "locally_connected2d", "locally_connected2d_backward", "locally_connected2d_backward_naive",
    "locally_connected2d_naive",
    "tiled_conv2d", "tiled_conv2d_backward", "tiled_conv2d_backward_naive", "tiled_conv2d_naive",
    # pooling
    "avg_pool2d", "avg_pool2d_backward", "avg_pool2d_backward_naive", "avg_pool2d_naive",
    "max_pool2d", "max_pool2d_backward", "max_pool2d_backward_naive", "max_pool2d_naive",
    "lp_pool2d", "lp_pool2d_backward", "lp_pool2d_backward_naive", "lp_pool2d_naive",
    "fractional_max_pool2d", "fractional_max_pool2d_naive", "max_unpool2d", "max_unpool2d_naive",
    "stochastic_pool2d", "stochastic_pool2d_naive",
    # image filters
    "blur_5x5", "box_blur", "convolve2d", "convolve2d_naive", "correlate2d", "correlate2d_naive",
    "gaussian_kernel", "laplacian", "sharpen", "sobel",
    # sizes and costs
    "conv_macs", "conv_output_size", "conv_params", "conv_transpose_output_size",
    "depthwise_separable_params", "linear_params", "locally_connected_params",
    "pool_output_size", "receptive_field",
    # gradient check
    "gradcheck", "numerical_gradient", "rel_error",
]
