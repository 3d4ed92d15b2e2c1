"""Interactive explorers for the book: each function returns an ipywidgets container.

In a running kernel every control recomputes with convnb. In the static book the main controls
still work: their frames are precomputed and switched in the browser (see ``_core``).

==========================  ===================================================  ===============
explorer                    what it shows                                        chapter
==========================  ===================================================  ===============
``equivariance()``          shift the input, watch the feature map shift         01
``parameter_count()``       fully connected vs locally connected vs conv         01
``kernel_playground()``     preset or typed kernels on a real image              02
``conv_arithmetic()``       a kernel sliding with padding, stride, dilation      03
``multichannel()``          the 5x5x3 input with two 3x3x3 filters, step by step 04
``pooling()``               max / average / L2 / stochastic pooling, shifts      05
``backprop()``              delta maps, flipped kernel, gradients, switches      06
``receptive_field()``       which input pixels one output sees                   07
``feature_maps()``          LeNet-5's feature maps on a chosen digit             09
==========================  ===================================================  ===============
"""

from __future__ import annotations

# Each explorer's module has the explorer's name, so these imports must bind the functions last
# (importing a submodule binds its module to that name in this package).
from .arithmetic import conv_arithmetic
from .backprop import backprop
from .equivariance import equivariance, parameter_count
from .feature_maps import feature_maps
from .multichannel import multichannel
from .playground import kernel_playground
from .pooling import pooling
from .receptive import receptive_field

__all__ = [
    "backprop",
    "conv_arithmetic",
    "equivariance",
    "feature_maps",
    "kernel_playground",
    "multichannel",
    "parameter_count",
    "pooling",
    "receptive_field",
]
