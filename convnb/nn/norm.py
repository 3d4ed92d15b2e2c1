"""Batch normalisation (Ioffe and Szegedy, 2015) for feature maps."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .._checks import check_layer_input
from ..backend import get_array_module
from ..types import Array
from .module import Module, Parameter

__all__ = ["BatchNorm2d"]

AXES = (0, 2, 3)  # a channel's statistics pool the batch and every pixel


def _per_channel(v: Array) -> Array:
    return v.reshape(1, -1, 1, 1)


class BatchNorm2d(Module):
    """Normalise each channel to mean 0 and variance 1, then scale and shift it, as
    ``torch.nn.BatchNorm2d``::

        out = weight * (x - mean) / sqrt(var + eps) + bias

    In training, ``mean`` and ``var`` are the batch's (over N, H and W; the biased variance) and
    the running estimates move towards them: ``running = (1 - momentum) * running + momentum *
    batch``, using the *unbiased* variance (``m / (m - 1)`` times it, ``m = N*H*W``), exactly as
    PyTorch. ``momentum=None`` averages all batches seen instead. In eval mode the running
    estimates are used, so one example's output does not depend on the others.
    Buffers: ``running_mean`` (zeros), ``running_var`` (ones), ``num_batches_tracked``.
    Forward caches the normalised input ``x_hat`` and ``1 / sqrt(var + eps)``.

    Shapes: x (N, num_features, H, W) -> out (same); weight, bias, running stats (num_features,)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine = affine
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self._cache = None

    def forward(self, x: Array) -> Array:
        check_layer_input(type(self).__name__, x, self.running_mean, "(N, C, H, W)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: x has {x.shape[1]} channels (shape "
                             f"{tuple(x.shape)}) but num_features is {self.num_features}")
        xp = get_array_module(x)
        if self.training:
            m = x.size // x.shape[1]
            if m < 2:
                raise ValueError(f"BatchNorm2d: training needs more than one value per channel "
                                 f"to estimate a variance, got x of shape {tuple(x.shape)}")
            mean, var = x.mean(axis=AXES), x.var(axis=AXES)
            self.num_batches_tracked += 1
            if self.momentum is None:  # the average of every batch so far, computed where
                # the counter lives: float() of a GPU array would make the host wait
                factor = (1 / self.num_batches_tracked).astype(self.running_mean.dtype)
            else:
                factor = self.momentum
            self.running_mean = (1 - factor) * self.running_mean + factor * mean
            self.running_var = (1 - factor) * self.running_var + factor * var * (m / (m - 1))
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1 / xp.sqrt(var + self.eps)
        x_hat = (x - _per_channel(mean)) * _per_channel(inv_std)
        self._cache = (x_hat, inv_std, self.training)
        if not self.affine:
            return x_hat
        return x_hat * _per_channel(self.weight.data) + _per_channel(self.bias.data)

    def backward(self, dout: Array) -> Array:
        x_hat, inv_std, training = self.cached("_cache")
        if self.affine:
            self.weight.accumulate((dout * x_hat).sum(axis=AXES))
            self.bias.accumulate(dout.sum(axis=AXES))
            dout = dout * _per_channel(self.weight.data)
        if not training:  # mean and var were constants
            return dout * _per_channel(inv_std)
        # In training mean and var depend on x too; differentiating through them removes from
        # dout its mean and its component along x_hat, per channel.
        mean_d = dout.mean(axis=AXES, keepdims=True)
        mean_dx = (dout * x_hat).mean(axis=AXES, keepdims=True)
        return (dout - mean_d - x_hat * mean_dx) * _per_channel(inv_std)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}")
