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

import importlib
from typing import Any

_MODULES = {
    "equivariance": "equivariance",
    "parameter_count": "equivariance",
    "kernel_playground": "playground",
    "conv_arithmetic": "arithmetic",
    "multichannel": "multichannel",
    "pooling": "pooling",
    "backprop": "backprop",
    "receptive_field": "receptive",
    "feature_maps": "feature_maps",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    # ipywidgets is imported only when an explorer is asked for: `import convnb` stays light.
    if name not in _MODULES:
        raise AttributeError(f"module 'convnb.widgets' has no attribute {name!r}")
    explorer = getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)
    globals()[name] = explorer  # importing the module bound its name here: the function wins
    return explorer
