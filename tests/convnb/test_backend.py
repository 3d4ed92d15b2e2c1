"""The backend contract: results live where inputs live, and the device double is strict."""

from __future__ import annotations

import numpy as np
import pytest
from device_double import DeviceArray, HostArrayError, xp

from convnb import backend


def test_numpy_inputs_compute_with_numpy():
    assert backend.get_array_module(np.zeros(2), None, 3.0) is np
    assert backend.get_array_module() is np


def test_device_arrays_compute_with_their_namespace():
    assert backend.get_array_module(np.zeros(2), DeviceArray(np.zeros(2))) is xp
    assert backend.is_device_array(DeviceArray(np.zeros(1)))
    assert not backend.is_device_array(np.zeros(1))


def test_the_double_refuses_implicit_host_conversion_like_cupy():
    d = DeviceArray(np.arange(4.0))
    assert not isinstance(d, np.ndarray)
    with pytest.raises(TypeError, match="implicit conversion"):
        np.asarray(d)
    with pytest.raises(TypeError):
        np.pad(d, 1)
    with pytest.raises(TypeError):
        np.add(np.ones(4), d)
    with pytest.raises(HostArrayError):
        d + np.ones(4)
    with pytest.raises(HostArrayError):
        xp.matmul(d, np.ones(4))
    assert isinstance(d.sum(), DeviceArray)  # reductions stay on the device, as CuPy's do
    assert float(d.sum()) == 6.0


def test_asnumpy_and_to_device_cpu():
    d = DeviceArray(np.arange(3.0))
    np.testing.assert_array_equal(backend.asnumpy(d), [0.0, 1.0, 2.0])
    a = np.ones(2)
    assert backend.asnumpy(a) is a
    np.testing.assert_array_equal(backend.to_device(d, "cpu"), [0.0, 1.0, 2.0])


def test_to_device_rejects_unknown_devices():
    with pytest.raises(ValueError, match=r"to_device: device must be one of \('cpu', 'gpu'\), "
                                         r"got 'tpu'"):
        backend.to_device(np.ones(1), "tpu")


@pytest.mark.skipif(backend.gpu_available(), reason="a GPU is present: the move really happens")
def test_to_gpu_without_cupy_or_gpu_says_what_is_missing():
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="needs CuPy"):
            backend.to_device(np.ones(1), "gpu")
    else:
        with pytest.raises(Exception):  # noqa: B017 - CuPy's own error when no device is usable
            backend.to_device(np.ones(1), "gpu")


@pytest.mark.skipif(not backend.gpu_available(), reason="needs CuPy and a GPU")
def test_round_trip_through_the_gpu():
    a = np.arange(6.0).reshape(2, 3)
    g = backend.to_device(a, "gpu")
    assert type(g).__module__.startswith("cupy")
    assert backend.get_array_module(g).__name__ == "cupy"
    np.testing.assert_array_equal(backend.to_device(g, "cpu"), a)
