"""Layers without a spatial structure: activations, Linear, Flatten, Dropout."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .. import cuda
from .._checks import check_layer_input
from ..backend import get_array_module
from ..types import Array, RngLike
from .init import default_init_, get_rng
from .module import Module, Parameter

__all__ = ["Dropout", "Flatten", "Linear", "ReLU", "Tanh"]


class ReLU(Module):
    """``max(0, x)`` elementwise. Forward caches where ``x > 0`` (the gradient is 0 at 0, as in
    PyTorch).

    Shapes: x (any) -> out (same)
    """

    def __init__(self) -> None:
        super().__init__()
        self._positive = None

    def forward(self, x: Array) -> Array:
        self._positive = x > 0
        return x * self._positive

    def backward(self, dout: Array) -> Array:
        return dout * self.cached("_positive")


class Tanh(Module):
    """``tanh(x)`` elementwise. Forward caches the output ``out``: ``d tanh = 1 - out**2``.

    Shapes: x (any) -> out (same)
    """

    def __init__(self) -> None:
        super().__init__()
        self._out = None

    def forward(self, x: Array) -> Array:
        self._out = get_array_module(x).tanh(x)
        return self._out

    def backward(self, dout: Array) -> Array:
        out = self.cached("_out")
        return dout * (1 - out * out)


def _column_sums(rows: Array) -> Array:
    """``rows.sum(axis=0)``; on a GPU one kernel, which starts several times faster than CuPy's
    reduction. Shapes: rows (n, k) -> (k,)"""
    return cuda.channel_sums(rows) if cuda.usable(rows, rows.size) else rows.sum(axis=0)


class Linear(Module):
    """Fully connected layer ``out = x @ weight.T + bias``, as ``torch.nn.Linear``.

    Weight and bias start as PyTorch's: U(-1/sqrt(in_features), 1/sqrt(in_features)).
    Forward caches the input ``x``.

    Shapes: x (..., in_features) -> out (..., out_features);
    weight (out_features, in_features), bias (out_features,)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: DTypeLike = np.float32, rng: RngLike = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.zeros((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None
        default_init_(self.weight, self.bias, rng)
        self._x = None

    def forward(self, x: Array) -> Array:
        check_layer_input(type(self).__name__, x, self.weight.data, "(..., in_features)")
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: x has {x.shape[-1]} features (last axis of shape "
                             f"{tuple(x.shape)}) but the layer expects in_features="
                             f"{self.in_features}; is a Flatten missing?")
        self._x = x
        out = x @ self.weight.data.T
        return out if self.bias is None else out + self.bias.data

    def backward(self, dout: Array) -> Array:
        self._parameter_grads(dout)
        return dout @ self.weight.data

    def backward_params(self, dout: Array) -> None:
        if type(self).backward is not Linear.backward:  # a subclass's own backward comes first
            return super().backward_params(dout)
        self._parameter_grads(dout)

    def _parameter_grads(self, dout: Array) -> None:
        x = self.cached("_x")
        rows = dout.reshape(-1, self.out_features)  # every leading axis is a batch axis
        self.weight.accumulate(rows.T @ x.reshape(-1, self.in_features))
        if self.bias is not None:
            self.bias.accumulate(_column_sums(rows))

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Merge axes ``start_dim`` to ``end_dim`` into one, as ``torch.nn.Flatten`` (by default all
    but the batch axis: the bridge from feature maps to Linear). Forward caches the input shape.

    Shapes: x (N, C, H, W) -> out (N, C*H*W)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim
        self._shape = None

    def forward(self, x: Array) -> Array:
        self._shape = tuple(x.shape)
        start, end = (d % x.ndim for d in (self.start_dim, self.end_dim))
        return x.reshape(*self._shape[:start], -1, *self._shape[end + 1:])

    def backward(self, dout: Array) -> Array:
        return dout.reshape(self.cached("_shape"))


class Dropout(Module):
    """Inverted dropout, as ``torch.nn.Dropout``: in training, zero each entry with probability
    ``p`` and scale the survivors by ``1 / (1 - p)``, so that nothing changes in eval mode, where
    the layer is the identity.

    The mask is drawn on the host from ``rng`` (a NumPy ``Generator``, a seed, or ``None`` for the
    generator :func:`convnb.nn.manual_seed` resets) and copied to the input's device; the last
    training mask stays in ``self.mask`` (True = kept). Forward caches the scaled mask.

    Shapes: x (any) -> out (same)
    """

    def __init__(self, p: float = 0.5, rng: RngLike = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is a probability, between 0 and 1, got {p}")
        self.p = p
        self.rng = None if rng is None else get_rng(rng)
        self.mask = None
        self._scale = None

    def forward(self, x: Array) -> Array:
        if not self.training or self.p == 0:
            self._scale = 1.0
            return x
        self.mask = get_rng(self.rng).random(tuple(x.shape)) >= self.p
        keep = get_array_module(x).asarray(self.mask.astype(x.dtype))
        self._scale = keep * 0.0 if self.p == 1 else keep / (1 - self.p)
        return x * self._scale

    def backward(self, dout: Array) -> Array:
        return dout * self.cached("_scale")

    def extra_repr(self) -> str:
        return f"p={self.p}"
