"""A stand-in for a CuPy array on a machine without a GPU.

``DeviceArray`` behaves like a CuPy array where it matters for convnb's backend contract: it is not
an ``np.ndarray``, it refuses implicit conversion to NumPy (``__array__`` raises, so ``np.pad(x)``
or ``np.asarray(x)`` fail loudly), NumPy ufuncs refuse it, mixing it with a host array in arithmetic
raises, and its ``__array_namespace__`` is :data:`xp`, a module-like object whose functions accept
device arrays only (like CuPy's) and return device arrays, reductions included (as 0-d arrays).
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

HOST_TO_DEVICE = {"asarray", "array", "asanyarray", "ascontiguousarray"}


class HostArrayError(TypeError):
    """Raised where code hands a NumPy array to a device function, as CuPy does."""


def unwrap(value: Any, allow_host: bool = False) -> Any:
    if isinstance(value, DeviceArray):
        return value._data
    if isinstance(value, np.ndarray) and not allow_host:
        raise HostArrayError(f"a NumPy array of shape {value.shape} was given to a device function")
    if isinstance(value, tuple | list):
        return type(value)(unwrap(v, allow_host) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v, allow_host) for k, v in value.items()}
    return value


def wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic) and not isinstance(value, np.dtype):
        return DeviceArray(np.asarray(value))
    if isinstance(value, tuple | list):
        return type(value)(wrap(v) for v in value)
    return value


def _device_function(function: Any, name: str) -> Any:
    allow_host = name in HOST_TO_DEVICE

    def call(*args, **kwargs):
        return wrap(function(*unwrap(args, allow_host), **unwrap(kwargs, allow_host)))

    call.__name__ = name
    return call


class _Namespace:
    """Module-like: every NumPy function under it, made to take and give device arrays."""

    def __init__(self, module: Any):
        self._module = module

    def __getattr__(self, name: str) -> Any:
        obj = getattr(self._module, name)
        if isinstance(obj, types.ModuleType):
            return _Namespace(obj)
        if isinstance(obj, type) or not callable(obj):
            return obj  # dtypes and constants pass through unchanged
        if isinstance(obj, np.ufunc):
            return _UFunc(obj)
        return _device_function(obj, name)


class _UFunc:
    def __init__(self, ufunc: np.ufunc):
        self._ufunc = ufunc

    def __call__(self, *args, **kwargs):
        return _device_function(self._ufunc, self._ufunc.__name__)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return _device_function(getattr(self._ufunc, name), name)


xp = _Namespace(np)


def _binary(name: str):
    def op(self, other):
        if isinstance(other, np.ndarray):
            raise HostArrayError(f"DeviceArray.{name} with a NumPy array of shape {other.shape}")
        return wrap(getattr(self._data, name)(unwrap(other)))

    return op


def _inplace(name: str):
    def op(self, other):
        if isinstance(other, np.ndarray):
            raise HostArrayError(f"DeviceArray.{name} with a NumPy array of shape {other.shape}")
        getattr(self._data, name)(unwrap(other))
        return self

    return op


class DeviceArray:
    """An array "on the device": the data is a NumPy array the outside cannot reach implicitly.

    ``DeviceArray.host_reads`` counts the reads that would make the host wait for a real device
    (``bool``, ``float``, ``int``, ``operator.index``, ``.item()``, ``.tolist()``, ``.get()``).
    """

    __array_ufunc__ = None  # NumPy ufuncs and host-array operators refuse device arrays
    host_reads = 0

    def __init__(self, data: np.ndarray):
        self._data = data

    def __array__(self, *args, **kwargs):
        raise TypeError("implicit conversion of a DeviceArray to a NumPy array is not allowed; "
                        "use .get() to copy it to the host")

    def __array_namespace__(self, api_version: str | None = None):
        return xp

    def get(self) -> np.ndarray:
        DeviceArray.host_reads += 1
        return self._data.copy()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # no __array_interface__, __array_struct__, ...: no way to host
            raise AttributeError(name)
        if name in ("item", "tolist"):
            DeviceArray.host_reads += 1
        attr = getattr(self._data, name)
        if callable(attr):
            return _device_function(attr, name)
        return wrap(attr)

    def __getitem__(self, key):
        return wrap(self._data[unwrap(key, allow_host=True)])

    def __setitem__(self, key, value):
        self._data[unwrap(key, allow_host=True)] = unwrap(value, allow_host=True)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (wrap(row) for row in self._data)

    def __float__(self):
        DeviceArray.host_reads += 1
        return float(self._data)

    def __int__(self):
        DeviceArray.host_reads += 1
        return int(self._data)

    def __bool__(self):
        DeviceArray.host_reads += 1
        return bool(self._data)

    def __index__(self):
        DeviceArray.host_reads += 1
        return self._data.__index__()

    def __neg__(self):
        return wrap(-self._data)

    def __pos__(self):
        return self

    def __abs__(self):
        return wrap(abs(self._data))

    def __invert__(self):
        return wrap(~self._data)

    def __repr__(self):
        return f"DeviceArray({self._data!r})"

    for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
                  "or", "xor", "lt", "le", "gt", "ge", "eq", "ne"):
        locals()[f"__{_name}__"] = _binary(f"__{_name}__")
        if _name not in ("lt", "le", "gt", "ge", "eq", "ne"):
            locals()[f"__r{_name}__"] = _binary(f"__r{_name}__")
            locals()[f"__i{_name}__"] = _inplace(f"__i{_name}__")
    del _name
    __hash__ = None
