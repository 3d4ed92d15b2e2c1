"""Where arrays live: the array module (NumPy or CuPy) follows the input.

Every other convnb module asks :func:`get_array_module` for ``xp``, the module to compute with, so
device logic lives here and nowhere else. A CuPy array keeps the whole computation on the GPU; a
NumPy array keeps it on the CPU. The one other module that imports CuPy is :mod:`convnb.cuda`,
hand-written kernels that the array code calls for CuPy arrays (:func:`is_cupy_array`).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from .types import Array

DEVICES = ("cpu", "gpu")


def is_cupy_array(a: object) -> bool:
    """True for a CuPy array: one that :mod:`convnb.cuda`'s kernels can take."""
    return type(a).__module__.split(".")[0] == "cupy"


def _cupy() -> ModuleType:
    try:
        import cupy
    except ImportError as err:
        raise RuntimeError(
            "convnb: the 'gpu' device needs CuPy, which is not installed; "
            "install the package that matches your CUDA (e.g. pip install cupy-cuda12x)"
        ) from err
    return cupy


def get_array_module(*arrays: Array | float | None) -> ModuleType:
    """The array module to compute with: CuPy if any argument is a CuPy array, else NumPy.

    ``None`` and Python scalars are ignored. Any other array type that is not a NumPy array but
    offers the array API's ``__array_namespace__`` is computed on by that namespace, which is how
    the tests stand in a device-like array for CuPy on a machine without a GPU.
    """
    for a in arrays:
        if a is None or isinstance(a, np.ndarray | np.generic | int | float | bool):
            continue
        if is_cupy_array(a):
            return _cupy()
        namespace = getattr(a, "__array_namespace__", None)
        if namespace is not None:
            return namespace()
    return np


def is_device_array(a: Array) -> bool:
    """True for an array that does not live in host memory (a CuPy array or a stand-in for one)."""
    return get_array_module(a) is not np


def asnumpy(a: Array) -> np.ndarray:
    """Copy an array to the CPU as an ``np.ndarray`` (NumPy arrays are returned as they are)."""
    if isinstance(a, np.ndarray):
        return a
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)


def to_device(a: Array, device: str) -> Array:
    """Move ``a`` to ``device``: ``"cpu"`` gives an ``np.ndarray``, ``"gpu"`` a CuPy array."""
    if device == "cpu":
        return asnumpy(a)
    if device == "gpu":
        return _cupy().asarray(a)
    raise ValueError(f"to_device: device must be one of {DEVICES}, got {device!r}")


def gpu_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CUDA present but no usable device
        return False
