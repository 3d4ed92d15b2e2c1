"""The lab tests' markers (``pytest -m lab02``), here so that tests elsewhere (convnb's, which also
run on a bare GPU machine) need nothing the labs need, such as nbformat and nbgrader."""

from __future__ import annotations

import re

from lab_suite import Lab
from lab_table import LABS


def pytest_configure(config):
    for lab in LABS:
        config.addinivalue_line("markers", f"{lab.key}: the tests of {lab.name}")


def pytest_collection_modifyitems(items):
    """Mark each lab test with its lab: the ``lab`` parameter of the shared suite, or the file
    ``tests/autograder/labs/test_labNN.py``."""
    for item in items:
        lab = getattr(item, "callspec", None) and item.callspec.params.get("lab")
        own = re.fullmatch(r"test_(lab\d+)", item.path.stem)
        if isinstance(lab, Lab):
            item.add_marker(lab.key)
        elif own and item.path.parent.name == "labs":
            item.add_marker(own[1])
