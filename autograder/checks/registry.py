"""Every check by the name test cells call it, so the grader can find a hidden cell's check."""

from __future__ import annotations

import importlib
import pkgutil
import re

from .core import Check

_CHECKS: dict[str, Check] = {}
LAB_MODULE = re.compile(r"lab\d+$")


def register(check: Check) -> Check:
    """Add ``check`` under ``check.name`` and return it: ``check_x = register(Check(...))``."""
    if not check.name.startswith("check_"):
        raise ValueError(f"a check's name starts with 'check_', got {check.name!r}")
    known = _CHECKS.get(check.name)
    if known is not None and known is not check:
        raise ValueError(f"two checks are named {check.name!r}")
    _CHECKS[check.name] = check
    return check


def load_all() -> dict[str, Check]:
    """Import every lab module (``autograder/checks/labNN.py``, or a package ``labNN/`` for a
    large lab) and return all checks by name."""
    package = __name__.rpartition(".")[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if LAB_MODULE.match(module.name):
            importlib.import_module(f"{package}.{module.name}")
    return dict(_CHECKS)


def get_check(name: str) -> Check:
    """The check called ``name``; ``KeyError`` when no lab module defines it."""
    if name not in _CHECKS:
        load_all()
    if name not in _CHECKS:
        raise KeyError(f"no check is named {name!r}; known: {sorted(_CHECKS)}")
    return _CHECKS[name]
