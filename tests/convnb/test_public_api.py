"""convnb's public API is its ``__all__``: every name there exists, every operator module's own
``__all__`` is re-exported as the very same object, and nothing public is left out of it."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

import convnb

OPERATOR_MODULES = ["arithmetic", "conv", "filters", "gradcheck", "local", "lp_pool", "pool",
                    "pool_random", "transposed"]


def test_every_name_in_all_exists_once():
    assert len(convnb.__all__) == len(set(convnb.__all__))
    missing = [name for name in convnb.__all__ if not hasattr(convnb, name)]
    assert not missing, f"convnb.__all__ names {missing}, which convnb does not define"


@pytest.mark.parametrize("module_name", OPERATOR_MODULES)
def test_each_operator_module_is_re_exported(module_name):
    module = importlib.import_module(f"convnb.{module_name}")
    for name in module.__all__:
        assert name in convnb.__all__, f"convnb.{module_name}.{name} is not in convnb.__all__"
        assert getattr(convnb, name) is getattr(module, name), f"convnb.{name}"


def test_nothing_public_is_left_out_of_all():
    public = {name for name in dir(convnb) if not name.startswith("_")
              and not isinstance(getattr(convnb, name), ModuleType)}
    assert public <= set(convnb.__all__), sorted(public - set(convnb.__all__))
    assert {"backend", "data", "nn"} <= set(convnb.__all__)


def test_star_import_gives_all():
    namespace: dict = {}
    exec("from convnb import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(convnb.__all__)
