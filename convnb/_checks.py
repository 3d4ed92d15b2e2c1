"""Argument checks shared by every operator.

Each check raises ``ValueError`` or ``TypeError`` with a message that names the function, the
argument, what was expected and what was given, written for a student reading a traceback.
The value a check inspects is typed ``Any``: it is whatever the caller was given, and finding out
what it is, is the check's job.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .types import Array

PADDING_STRINGS = ("valid", "same", "full")
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def check_array(x: Any, name: str, fn: str, layout: str) -> None:
    """Check that ``x`` is a real floating array of the rank of ``layout``, e.g. "(N, C, H, W)";
    a layout that starts with "..." (as "(..., in_features)") allows any leading axes."""
    axes = [part.strip() for part in layout.strip("()").split(",") if part.strip()]
    any_leading = axes[0] == "..."
    ndim = len(axes) - any_leading
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"{fn}: {name} must be an array of shape {layout}, got {type(x).__name__}")
    if x.ndim < ndim or (x.ndim > ndim and not any_leading):
        hint = ""
        if x.ndim == ndim - 1 and layout.startswith("(N,"):
            hint = f"; for a single example add the batch axis with {name}[None]"
        at_least = "at least " if any_leading else ""
        raise ValueError(f"{fn}: {name} must have {at_least}{ndim} dimensions {layout}, got shape "
                         f"{tuple(x.shape)}{hint}")
    if np.dtype(x.dtype).kind != "f":
        raise TypeError(
            f"{fn}: {name} must hold real floating-point numbers (float32 or float64), "
            f"got dtype {x.dtype}; convert it with {name}.astype(float)"
        )
    if 0 in x.shape:
        raise ValueError(f"{fn}: {name} must not be empty, got shape {tuple(x.shape)}")


def check_layer_input(layer: str, x: Any, like: Array, layout: str) -> None:
    """A layer's input: an array as :func:`check_array` wants it, and of the dtype of ``like``
    (the layer's parameters). NumPy's default float64 meeting float32 weights is the most common
    slip, so the message says how to fix it."""
    check_array(x, "x", layer, layout)
    if np.dtype(x.dtype) != np.dtype(like.dtype):
        raise TypeError(f"{layer}: x is {x.dtype} but the layer's parameters are {like.dtype}; "
                        f"convert one of them: x.astype(np.{like.dtype}) or model.to(np.{x.dtype})")


def check_same_dtype(fn: str, **arrays: Array | None) -> None:
    """Check that every given array (``None`` skipped) has one dtype, as PyTorch requires."""
    given = {name: a for name, a in arrays.items() if a is not None}
    dtypes = {np.dtype(a.dtype) for a in given.values()}
    if len(dtypes) > 1:
        listing = ", ".join(f"{name} is {a.dtype}" for name, a in given.items())
        raise TypeError(f"{fn}: all arrays must have the same dtype, got {listing}")


def pair(value: Any, name: str, fn: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each at least ``minimum``, as a pair (height, width)."""
    values = value if isinstance(value, tuple | list) else (value, value)
    ok = len(values) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= minimum
        for v in values
    )
    if not ok:
        kind = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{fn}: {name} must be an int or a pair of ints, {kind}, got {value!r}")
    return int(values[0]), int(values[1])


def check_padding_mode(mode: Any, fn: str) -> str:
    if mode not in PADDING_MODES:
        raise ValueError(f"{fn}: padding_mode must be one of {PADDING_MODES}, got {mode!r}")
    return mode


def resolve_padding(
    padding: Any,
    kernel: tuple[int, int],
    dilation: tuple[int, int],
    stride: tuple[int, int],
    fn: str,
) -> tuple[int, int, int, int]:
    """Padding as (top, bottom, left, right) rows and columns.

    ``padding`` is an int, a pair (rows, columns), or ``"valid"`` (none), ``"same"`` (output as
    large as the input; stride 1 only; an odd total puts the extra row/column at the bottom/right,
    as PyTorch does) or ``"full"`` (dilation * (k - 1) on every side).
    """
    if isinstance(padding, str):
        spans = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "full":
            return spans[0], spans[0], spans[1], spans[1]
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(
                    f"{fn}: padding='same' needs stride 1, got stride {stride}; "
                    "pass the padding as numbers instead"
                )
            top, left = spans[0] // 2, spans[1] // 2
            return top, spans[0] - top, left, spans[1] - left
        raise ValueError(
            f"{fn}: padding must be an int, a pair, or one of {PADDING_STRINGS}, got {padding!r}"
        )
    ph, pw = pair(padding, "padding", fn, minimum=0)
    return ph, ph, pw, pw


def check_dout(fn: str, dout: Any, expected: tuple[int, ...], like: Array,
               layout: str = "(N, F, H_out, W_out)") -> None:
    """``dout`` must have the forward output's shape (``layout`` names its axes) and the input's
    dtype."""
    check_array(dout, "dout", fn, layout)
    if tuple(dout.shape) != expected:
        raise ValueError(f"{fn}: dout must have the output's shape {expected}, "
                         f"got {tuple(dout.shape)}")
    check_same_dtype(fn, dout=dout, x=like)
