"""The words convnb's signatures use for what an argument may be.

* ``Array``: a NumPy array (CPU) or a CuPy array (GPU). Operators return their result where
  their input lives (:mod:`convnb.backend`).
* ``IntOrPair``: a size for both axes at once (``3``) or per axis (``(rows, columns)``), as
  PyTorch's ``kernel_size``, ``stride``, ``padding`` and ``dilation``.
* ``RngLike``: a NumPy ``Generator``, an int seed, or ``None`` (a fresh generator for the
  operators, the one :func:`convnb.nn.manual_seed` resets for layers).

``Any`` is left only where a value really can be anything, and each place says why: the
argument checks (:mod:`convnb._checks`: finding out what they were given is their job), what
``Module.forward`` returns and caches, a state dict that may hold PyTorch tensors, and the
keyword arguments of the function :func:`~convnb.gradcheck.gradcheck` calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import numpy as np

if TYPE_CHECKING:
    import cupy

__all__ = ["Array", "IntOrPair", "RngLike"]

Array: TypeAlias = "np.ndarray | cupy.ndarray"
IntOrPair: TypeAlias = int | tuple[int, int]
RngLike: TypeAlias = np.random.Generator | int | None
