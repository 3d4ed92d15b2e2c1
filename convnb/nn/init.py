"""Weight initialisation, with ``torch.nn.init``'s names, formulas and fan computation.

A layer's outputs keep a useful scale only if its weights are scaled to the number of inputs each
output sums ("fan in") or of outputs each input feeds ("fan out"). For a weight of shape
``(a, b, k1, k2, ...)`` PyTorch takes ``fan_in = b * k1 * k2 ...`` and ``fan_out = a * k1 * k2 ...``
whatever the layer, so a transposed convolution's weight ``(C_in, C_out/groups, KH, KW)`` gets
``fan_in = C_out/groups * KH * KW``; these functions do the same, so that numbers match PyTorch's.

* He / Kaiming (ReLU networks): std ``gain / sqrt(fan)``, ``gain = sqrt(2 / (1 + a^2))``.
* Glorot / Xavier (tanh networks): std ``gain * sqrt(2 / (fan_in + fan_out))``.
* A uniform draw on ``[-bound, bound]`` has that std when ``bound = sqrt(3) * std``.

Every function fills its array (or a :class:`Parameter`'s data) in place and returns it. Numbers are
drawn on the host from a NumPy ``Generator`` and then copied to the array's device, so a seed gives
the same weights on the CPU and on a GPU. ``rng`` is a ``Generator``, a seed, or ``None`` for the
module-wide generator that :func:`manual_seed` resets.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import get_array_module
from ..types import Array, RngLike
from .module import Parameter

__all__ = [
    "calculate_gain", "get_rng", "kaiming_normal_", "kaiming_uniform_", "manual_seed",
    "ones_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]

_global_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Reset the generator that layers and init functions use when given no ``rng``, as
    ``torch.manual_seed`` does: the same seed then builds the same model."""
    global _global_rng
    _global_rng = np.random.default_rng(seed)


def get_rng(rng: np.random.Generator | int | None = None) -> np.random.Generator:
    """``rng`` itself, a new generator seeded with it, or the module-wide one for ``None``."""
    if rng is None:
        return _global_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {rng!r}")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance after ``nonlinearity`` (PyTorch's table)."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """PyTorch's fans for a weight of ``shape``: ``(shape[1], shape[0])`` times the kernel size."""
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need at least 2 dimensions, got shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fill(array: Array | Parameter, values: np.ndarray) -> Array | Parameter:
    data = array.data if isinstance(array, Parameter) else array
    data[...] = get_array_module(data).asarray(values.astype(data.dtype))
    return array


def _shape(array: Array | Parameter) -> tuple[int, ...]:
    return tuple((array.data if isinstance(array, Parameter) else array).shape)


def uniform_(array: Array | Parameter, a: float = 0.0, b: float = 1.0,
             rng: RngLike = None) -> Array | Parameter:
    """Fill with draws from U(a, b)."""
    return _fill(array, get_rng(rng).uniform(a, b, _shape(array)))


def zeros_(array: Array | Parameter) -> Array | Parameter:
    return _fill(array, np.zeros(_shape(array)))


def ones_(array: Array | Parameter) -> Array | Parameter:
    return _fill(array, np.ones(_shape(array)))


def _kaiming_std(array: Array | Parameter, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(_shape(array))
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(array: Array | Parameter, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", rng: RngLike = None) -> Array | Parameter:
    """He initialisation, uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)``.

    Layers' default is ``a = sqrt(5)``, which makes ``bound = 1 / sqrt(fan_in)``.
    """
    bound = math.sqrt(3.0) * _kaiming_std(array, a, mode, nonlinearity)
    return uniform_(array, -bound, bound, rng)


def kaiming_normal_(array: Array | Parameter, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng: RngLike = None) -> Array | Parameter:
    """He initialisation, normal: N(0, std^2), ``std = gain / sqrt(fan)``."""
    std = _kaiming_std(array, a, mode, nonlinearity)
    return _fill(array, get_rng(rng).normal(0.0, std, _shape(array)))


def _xavier_std(array: Array | Parameter, gain: float) -> float:
    fan_in, fan_out = fan_in_and_fan_out(_shape(array))
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_uniform_(array: Array | Parameter, gain: float = 1.0,
                    rng: RngLike = None) -> Array | Parameter:
    """Glorot initialisation, uniform: ``bound = gain * sqrt(6 / (fan_in + fan_out))``."""
    bound = math.sqrt(3.0) * _xavier_std(array, gain)
    return uniform_(array, -bound, bound, rng)


def xavier_normal_(array: Array | Parameter, gain: float = 1.0,
                   rng: RngLike = None) -> Array | Parameter:
    """Glorot initialisation, normal: ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    return _fill(array, get_rng(rng).normal(0.0, _xavier_std(array, gain), _shape(array)))


def default_init_(weight: Parameter, bias: Parameter | None, rng: RngLike = None) -> None:
    """PyTorch's default for Linear and convolutions: ``kaiming_uniform_(a=sqrt(5))`` for the
    weight and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias."""
    rng = get_rng(rng)
    kaiming_uniform_(weight, a=math.sqrt(5), rng=rng)
    if bias is not None:
        bound = 1 / math.sqrt(fan_in_and_fan_out(weight.shape)[0])
        uniform_(bias, -bound, bound, rng)
