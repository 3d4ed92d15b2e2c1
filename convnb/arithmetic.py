"""Convolution arithmetic: output sizes, receptive fields, parameter and operation counts.

The letters follow the book: ``i`` input size, ``k`` kernel size, ``s`` stride, ``p`` padding on
each side, ``d`` dilation, ``o`` output size, all along one axis.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

__all__ = [
    "conv_macs", "conv_output_size", "conv_params", "conv_transpose_output_size",
    "depthwise_separable_params", "linear_params", "locally_connected_params", "pool_output_size",
    "receptive_field",
]


def _check_ints(fn: str, minimum: dict[str, int], values: dict[str, int]) -> None:
    for name, value in values.items():
        low = minimum.get(name, 1)
        # NumPy integers count (a shape's entries are np.int64): numbers.Integral takes both.
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
            kind = "a positive int" if low == 1 else f"an int of at least {low}"
            raise ValueError(f"{fn}: {name} must be {kind}, got {value!r}")


def conv_output_size(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output size of a convolution along one axis: floor((i + 2p - d(k-1) - 1) / s) + 1.

    Raises ``ValueError`` when the (dilated) kernel does not fit in the padded input.
    """
    _check_ints("conv_output_size", {"p": 0}, {"i": i, "k": k, "s": s, "p": p, "d": d})
    span = d * (k - 1) + 1
    if span > i + 2 * p:
        raise ValueError(
            f"conv_output_size: the kernel spans {span} (d*(k-1)+1) but the padded input has only "
            f"{i + 2 * p} (i + 2p = {i} + 2*{p}); the output would be empty"
        )
    return (i + 2 * p - span) // s + 1


def pool_output_size(
    i: int, k: int, s: int | None = None, p: int = 0, d: int = 1, ceil_mode: bool = False
) -> int:
    """Output size of a pooling window along one axis (stride defaults to the window size).

    With ``ceil_mode`` the division rounds up, but, as in PyTorch, a last window that would start
    in the right padding is dropped.
    """
    s = k if s is None else s
    _check_ints("pool_output_size", {"p": 0}, {"i": i, "k": k, "s": s, "p": p, "d": d})
    if p > k // 2:  # PyTorch's rule, whatever the dilation
        raise ValueError(
            f"pool_output_size: padding must be at most half the window ({k} // 2 = {k // 2}), "
            f"got {p}"
        )
    span = d * (k - 1) + 1
    if span > i + 2 * p:
        raise ValueError(
            f"pool_output_size: the window spans {span} but the padded input has only {i + 2 * p}"
        )
    steps = (i + 2 * p - span + (s - 1 if ceil_mode else 0)) // s
    if ceil_mode and steps * s >= i + p:
        steps -= 1
    return steps + 1


def conv_transpose_output_size(
    i: int, k: int, s: int = 1, p: int = 0, d: int = 1, output_padding: int = 0
) -> int:
    """Output size of a transposed convolution: (i - 1)s - 2p + d(k - 1) + output_padding + 1.

    It is the input size of the convolution whose transpose this is; ``output_padding`` picks
    among the sizes that such a convolution maps to ``i`` (it must be smaller than s or d).
    """
    _check_ints(
        "conv_transpose_output_size",
        {"p": 0, "output_padding": 0},
        {"i": i, "k": k, "s": s, "p": p, "d": d, "output_padding": output_padding},
    )
    if output_padding >= max(s, d):
        raise ValueError(
            "conv_transpose_output_size: output_padding must be smaller than the stride or the "
            f"dilation ({s}, {d}), got {output_padding}"
        )
    o = (i - 1) * s - 2 * p + d * (k - 1) + output_padding + 1
    if o < 1:
        raise ValueError(f"conv_transpose_output_size: the output would be empty (size {o})")
    return o


def receptive_field(layers: Sequence[Sequence[int]]) -> tuple[int, int]:
    """Receptive field size and jump of the last layer of a stack, along one axis.

    ``layers`` holds one ``(k, s, d)`` per layer (``(k, s)`` means d = 1). Each layer widens the
    field by d(k-1) input steps of the current jump, and multiplies the jump by its stride.

    Returns ``(size, jump)``: how many input pixels one output unit sees, and how far apart (in
    input pixels) two neighbouring output units are.
    """
    size, jump = 1, 1
    for n, layer in enumerate(layers):
        if len(layer) not in (2, 3):
            raise ValueError(
                f"receptive_field: layer {n} must be (k, s) or (k, s, d), got {layer!r}"
            )
        k, s, d = (*layer, 1) if len(layer) == 2 else layer
        _check_ints("receptive_field", {}, {f"layers[{n}].k": k, f"layers[{n}].s": s,
                                            f"layers[{n}].d": d})
        size += d * (k - 1) * jump
        jump *= s
    return size, jump


def conv_params(c_in: int, c_out: int, kh: int, kw: int, groups: int = 1, bias: bool = True) -> int:
    """Number of learned numbers in a convolution layer: F * (C / g) * KH * KW (+ F biases)."""
    _check_ints("conv_params", {}, {"c_in": c_in, "c_out": c_out, "kh": kh, "kw": kw,
                                    "groups": groups})
    if c_in % groups or c_out % groups:
        raise ValueError(f"conv_params: groups ({groups}) must divide c_in ({c_in}) and c_out "
                         f"({c_out})")
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


def conv_macs(c_in: int, c_out: int, kh: int, kw: int, h_out: int, w_out: int,
              groups: int = 1) -> int:
    """Multiply-accumulates of one convolution of one example: (C/g) KH KW F H_out W_out."""
    return conv_params(c_in, c_out, kh, kw, groups, bias=False) * h_out * w_out


def locally_connected_params(h_out: int, w_out: int, c_in: int, c_out: int, kh: int, kw: int,
                             bias: bool = False) -> int:
    """Weights of a locally connected layer: every output unit has its own kernel."""
    per_position = conv_params(c_in, c_out, kh, kw, bias=bias)
    return h_out * w_out * per_position


def linear_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Weights of a fully connected layer: every output unit sees every input."""
    _check_ints("linear_params", {}, {"n_in": n_in, "n_out": n_out})
    return n_in * n_out + (n_out if bias else 0)


def depthwise_separable_params(c_in: int, c_out: int, k: int, bias: bool = False) -> int:
    """A k x k depthwise convolution (one kernel per channel) then a 1 x 1 convolution."""
    return conv_params(c_in, c_in, k, k, groups=c_in, bias=bias) + conv_params(
        c_in, c_out, 1, 1, bias=bias
    )
