"""convnb: reference convolution, pooling and backprop for the convnb course.

Layout is NCHW; weights are (F, C/groups, KH, KW) as in PyTorch, and every "convolution" is a
cross-correlation with the semantics of ``torch.nn.functional`` of the same name. Every operator has
a ``*_naive`` twin written as loops. Arrays may be NumPy (CPU) or CuPy (GPU): the result lives where
the input does.
"""

from . import backend as backend
from . import data as data
from . import nn as nn
from .arithmetic import *  # noqa: F403
from .backend import asnumpy as asnumpy
from .backend import get_array_module as get_array_module
from .backend import to_device as to_device
from .conv import *  # noqa: F403
from .filters import *  # noqa: F403
from .gradcheck import *  # noqa: F403
from .local import *  # noqa: F403
from .lp_pool import *  # noqa: F403
from .pool import *  # noqa: F403
from .pool_random import *  # noqa: F403
from .transposed import *  # noqa: F403

__version__ = "0.1.0"
