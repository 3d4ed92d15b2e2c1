"""The gradient check: compare a backward pass with centred finite differences.

If ``y = f(x)`` and a loss has gradient ``dout`` with respect to ``y``, then the gradient of the
loss with respect to ``x[k]`` is the derivative of ``sum(f(x) * dout)``, which finite differences
estimate one entry at a time::

    (sum(f(x + eps e_k) * dout) - sum(f(x - eps e_k) * dout)) / (2 eps)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .backend import get_array_module
from .types import Array

__all__ = ["gradcheck", "numerical_gradient", "rel_error"]


def numerical_gradient(f: Callable[[Array], Array], x: Array, dout: Array,
                       eps: float = 1e-6) -> Array:
    """Centred-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    ``x`` is not modified: ``f`` is called on perturbed copies. Use float64 for a meaningful check.

    Shapes: x (any), dout (the shape of f(x)) -> (the shape of x)
    """
    if not hasattr(x, "shape") or np.dtype(x.dtype).kind != "f":
        raise TypeError(f"numerical_gradient: x must be a floating array, got "
                        f"{getattr(x, 'dtype', type(x).__name__)}")
    xp = get_array_module(x)
    probe = x.copy()
    flat = probe.reshape(-1)  # a view: writing to it moves probe
    grad = xp.zeros(x.size, dtype=x.dtype)
    for k in range(x.size):
        original = flat[k].copy()
        flat[k] = original + eps
        above = f(probe)
        flat[k] = original - eps
        below = f(probe)
        flat[k] = original
        # Subtract before weighting: outputs that x[k] does not touch cancel exactly.
        grad[k] = ((above - below) * dout).sum() / (2 * eps)
    return grad.reshape(x.shape)


def rel_error(a: Array, b: Array) -> float:
    """Largest relative difference ``max |a - b| / max(1e-8, |a| + |b|)``, elementwise."""
    xp = get_array_module(a, b)
    return float((xp.abs(a - b) / xp.maximum(1e-8, xp.abs(a) + xp.abs(b))).max())


def gradcheck(
    f: Callable[..., Array],
    inputs: Mapping[str, Any],
    grads: Mapping[str, Array],
    dout: Array,
    eps: float = 1e-6,
    tol: float = 1e-7,
) -> float:
    """Check analytic gradients of ``f(**inputs)`` against finite differences.

    ``inputs`` are ``f``'s keyword arguments (``Any``: whatever ``f`` takes; those named in
    ``grads`` are arrays). ``grads`` maps an input's name to its analytic gradient (the backward
    pass's answer for ``dout``). The error of one gradient is ``max |analytic - numeric|``
    relative to the size of the gradient, ``max(|analytic| + |numeric|)``: unlike an
    entry-by-entry ratio it does not flag an entry that is tiny only because its terms cancel,
    where finite differences have no correct digits left. Raises ``AssertionError`` naming the
    argument, the worst index, and both values when the error exceeds ``tol``; returns the
    largest error otherwise.
    """
    worst = 0.0
    for name, analytic in grads.items():
        x = inputs[name]
        if tuple(analytic.shape) != tuple(x.shape):
            raise AssertionError(f"gradcheck: the gradient for {name} has shape "
                                 f"{tuple(analytic.shape)}, expected {tuple(x.shape)}")

        def f_of(value, name=name):
            return f(**{**inputs, name: value})

        numeric = numerical_gradient(f_of, x, dout, eps)
        xp = get_array_module(numeric)
        gaps = xp.abs(analytic - numeric)
        error = float(gaps.max()) / max(1e-8, float((xp.abs(analytic) + xp.abs(numeric)).max()))
        if error > tol:
            index = tuple(int(i) for i in np.unravel_index(int(gaps.argmax()), x.shape))
            raise AssertionError(
                f"gradcheck: d(loss)/d{name} is wrong at {name}{list(index)}: the backward pass "
                f"gives {float(analytic[index]):.8g}, finite differences give "
                f"{float(numeric[index]):.8g} (relative error {error:.2e} > {tol:.0e})"
            )
        worst = max(worst, error)
    return worst
