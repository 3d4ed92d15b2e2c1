"""Shared test set-up: importable helpers, hypothesis profiles, the array backends to test on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# The package under test comes from this checkout; helpers such as device_double from tests/
# (appended, so that tests/convnb/ never shadows the convnb package).
sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.append(str(Path(__file__).parent))

from device_double import DeviceArray  # noqa: E402

from convnb.backend import asnumpy, gpu_available  # noqa: E402

settings.register_profile(
    "default", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")


def _cupy_asarray(a: np.ndarray):
    import cupy

    return cupy.asarray(a)


BACKENDS = {"numpy": lambda a: a, "device-double": DeviceArray}
if gpu_available():
    BACKENDS["cupy"] = _cupy_asarray


@pytest.fixture(params=list(BACKENDS))
def to_backend(request):
    """Moves a NumPy array to the backend under test: NumPy itself, the device double, or CuPy
    (only where a GPU is present)."""
    return BACKENDS[request.param]


@pytest.fixture
def host():
    """Brings any backend's array back to NumPy, checking it stayed on its device."""
    return asnumpy


def pytest_configure(config):
    config.addinivalue_line("markers", "pypi: installs packages from PyPI into a fresh virtual "
                                       "environment (needs the network or a warm pip cache)")
