"""Shared test set-up: importable helpers, hypothesis profiles, the array backends to test on."""

from __future__ import annotations

import re
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


# `make test` runs one pytest-xdist worker per CPU with ``--dist loadfile``, and a worker takes
# one unit at a time: a test file, so that a module's fixtures (a graded course, a trained model)
# are built once; but all of tests/book, which shares one build of the book, and all the tests of
# one lab, which share its graded course (lab_suite.graded_course: tests/autograder/labs/ and the
# lab's cases of test_labs.py, test_integrity.py on lab01). Each worker orders its tests as
# below, and the units are handed out in that order: the book first (the longest), then the
# autograder's, then convnb's short files, which fill in while the other worker finishes.
# The units are the scopes of xdist's LoadFileScheduling (its ``_split_scope``, xdist 3.8).
# (`--dist loadgroup` with xdist_group marks would say this more briefly, but pytest 9.2 drops
# the groups: pytest-xdist issue 1386.)
_BOOK = "tests/book/"
_FIRST = (_BOOK, "tests/autograder/")
_LAB = re.compile(r"tests/autograder/(?:labs/test_(lab\d\d)\.py|test_labs\.py::[^\[]*\[(lab\d\d))")
_SAME_COURSE = {"tests/autograder/test_integrity.py": "lab01"}


def _unit(nodeid: str) -> str:
    """The unit of work a test belongs to (see above)."""
    path = nodeid.split("::", 1)[0]
    lab = _LAB.match(nodeid)
    if lab:
        return lab[1] or lab[2]
    return _BOOK if path.startswith(_BOOK) else _SAME_COURSE.get(path, path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ByUnit(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

    return ByUnit(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # only in an xdist worker
        return

    def rank(item: pytest.Item) -> int:
        path = item.nodeid
        return next((i for i, first in enumerate(_FIRST) if path.startswith(first)), len(_FIRST))

    items.sort(key=rank)  # stable: each part keeps its order
