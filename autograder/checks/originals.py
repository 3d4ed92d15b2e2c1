"""What the checks rely on, held as it was before any student code ran, and what has replaced it.

A student's code can replace a NumPy function (``np.isclose = lambda *a, **k: True``), a builtin,
a function or method of the checks (``records.emit``, ``Check.__call__``), or the checks' tracer
(``sys.setprofile``). :data:`ORIGINALS` holds each of them, with its code, from the import of
``autograder.checks`` (the locked setup cell of every lab), and :meth:`Originals.replaced` names
those that are no longer what they were. A check calls it before and after running the student's
function, and flags what it names.
"""

from __future__ import annotations

import builtins
import sys
import threading
import types
from typing import Any

import numpy as np

BUILTINS = (
    "abs", "all", "any", "bool", "callable", "dict", "enumerate", "float", "getattr", "hasattr",
    "id", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next",
    "object", "print", "range", "repr", "round", "setattr", "sorted", "str", "sum", "super",
    "tuple", "type", "vars", "zip",
)
"""The builtins the checks use (``input``, ``display`` and the like are IPython's to change)."""
PACKAGES = ("autograder.checks", "convnb")
"""The packages whose modules are held as they are loaded (the checks and the reference)."""
_MISSING = object()


def _what(value: Any) -> str:
    if value is _MISSING:
        return "deleted"
    owner = getattr(value, "__module__", None) or type(value).__module__
    return f"replaced by {owner}.{getattr(value, '__qualname__', type(value).__qualname__)}"


class Originals:
    """Objects by where they are found (a module's or class's namespace and a name), each with
    its code when it has some."""

    def __init__(self) -> None:
        self._held: dict[tuple[int, str], tuple[str, Any, str, Any, Any, Any]] = {}
        self._early: list[str] = []

    def hold(self, label: str, namespace: Any, name: str, owner: Any = None) -> None:
        """Holds ``namespace[name]`` (a module's ``__dict__``, a class's ``vars``, which is a new
        view of the class at each call: ``owner`` is then the class), as ``label`` in findings;
        a name already held keeps its first value."""
        key = (id(namespace if owner is None else owner), name)
        if key not in self._held and name in namespace:
            value = namespace[name]
            owner = namespace if owner is None else owner  # kept alive: its id stays its own
            self._held[key] = (label, namespace, name, value, getattr(value, "__code__", None),
                               owner)

    def hold_names(self, module: types.ModuleType, names: list[str]) -> None:
        """Holds ``names`` of ``module`` (Python's or NumPy's). One that a module of another
        package defined was replaced before the checks were imported (by a cell above the
        setup cell): :meth:`replaced` names it from then on."""
        package = module.__name__.partition(".")[0]
        for name in names:
            value = getattr(module, name)
            if not (getattr(value, "__module__", None) or "").startswith(package):
                self._early.append(f"{module.__name__}.{name} was {_what(value)} before the "
                                   "checks were imported")
            self.hold(f"{module.__name__}.{name}", vars(module), name)

    def hold_module(self, module: types.ModuleType) -> None:
        """Holds the functions and classes of ``module`` that the checks' or convnb's modules
        define (its own, and those it imports from its siblings), and their classes' methods."""
        namespace = vars(module)
        for name, value in list(namespace.items()):
            owner = getattr(value, "__module__", None) or ""
            if not (isinstance(value, types.FunctionType | type) and owner.startswith(PACKAGES)):
                continue
            self.hold(f"{module.__name__}.{name}", namespace, name)
            if isinstance(value, type):
                for member, attribute in list(vars(value).items()):
                    if callable(attribute) or isinstance(attribute, staticmethod | classmethod
                                                         | property):
                        self.hold(f"{owner}.{value.__qualname__}.{member}", vars(value),
                                  member, value)

    def hold_loaded(self) -> None:
        """Holds every module of :data:`PACKAGES` loaded so far, and what a module partly loaded
        at the last call has defined since."""
        for name, module in list(sys.modules.items()):
            if name.startswith(PACKAGES) and isinstance(module, types.ModuleType):
                self.hold_module(module)

    def replaced(self) -> list[str]:
        """What is no longer the object held, or has another code: ``"numpy.isclose was
        replaced by __main__.isclose"``."""
        found = list(self._early)
        for label, namespace, name, value, code, _ in list(self._held.values()):
            now = namespace.get(name, _MISSING)
            if now is not value:
                found.append(f"{label} was {_what(now)}")
            elif code is not None and getattr(value, "__code__", None) is not code:
                found.append(f"{label} had its code replaced")
        return found


ORIGINALS = Originals()
ORIGINALS.hold_names(builtins, list(BUILTINS))
ORIGINALS.hold_names(sys, ["setprofile", "getprofile"])
ORIGINALS.hold_names(threading, ["setprofile", "getprofile"])
for _module in (np, np.random, np.linalg, np.fft, np.lib.stride_tricks):
    ORIGINALS.hold_names(_module, [name for name, value in vars(_module).items()
                                   if callable(value) and not name.startswith("__")])
