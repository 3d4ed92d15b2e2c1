"""Losses: a number that says how wrong the predictions are, and its gradient.

``loss = criterion(pred, target)`` returns a 0-d array (``float(loss)`` gives the number) and
caches what ``criterion.backward()`` needs to return ``d loss / d pred``, which starts a
network's backward pass.
"""

from __future__ import annotations

import numpy as np

from .. import cuda
from ..backend import get_array_module, is_device_array
from ..types import Array
from .module import Module

__all__ = ["CrossEntropyLoss", "MSELoss"]

REDUCTIONS = ("mean", "sum")


def _check_reduction(name: str, reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


class CrossEntropyLoss(Module):
    """Softmax cross-entropy on logits with integer class targets, as
    ``torch.nn.CrossEntropyLoss``::

        loss_i = -log softmax(z_i)[y_i] = logsumexp(z_i) - z_i[y_i]

    averaged over examples (``reduction="mean"``) or summed (``"sum"``). ``logsumexp`` subtracts
    the largest logit first, so large logits do not overflow ``exp``. The gradient with respect to
    the logits is ``softmax(z_i) - onehot(y_i)`` (divided by the count for the mean). For
    segmentation, logits (N, K, H, W) with targets (N, H, W) score every pixel. Targets are moved
    to the logits' device. Forward caches the softmax and the targets.

    A target outside ``[0, K)`` raises a ``ValueError`` on the CPU. On a GPU, asking would make
    the host wait for the device at every step, so there such a target gets a NaN loss (and NaN
    gradients), which the mean carries to the number you read; :func:`~convnb.train.fit` checks
    all its targets on the host before it starts.

    Shapes: logits (N, K) or (N, K, d1, ...), target (N,) or (N, d1, ...) ints in [0, K) -> ()
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction("CrossEntropyLoss", reduction)
        self._cache = None

    def forward(self, logits: Array, target: Array) -> Array:
        xp = get_array_module(logits)
        target = xp.asarray(target)
        if logits.ndim < 2 or tuple(target.shape) != (logits.shape[0], *logits.shape[2:]):
            raise ValueError(f"CrossEntropyLoss: logits (N, K, ...) need targets (N, ...), got "
                             f"logits {tuple(logits.shape)} and target {tuple(target.shape)}")
        if np.dtype(target.dtype).kind not in "iu":
            raise TypeError(f"CrossEntropyLoss: targets must be integer class indices, got "
                            f"dtype {target.dtype}")
        K = logits.shape[1]
        on_device = is_device_array(target)
        if not on_device and (int(target.min()) < 0 or int(target.max()) >= K):
            raise ValueError(f"CrossEntropyLoss: targets must lie in [0, {K}) for {K} classes, "
                             f"got values from {int(target.min())} to {int(target.max())}")
        if logits.ndim == 2 and cuda.usable(logits, logits.size):  # one kernel: softmax, losses
            y = target.astype(xp.int64, copy=False)
            probs, loss = cuda.cross_entropy(logits, y, self.reduction == "mean")
            self._cache = (probs, y.reshape(-1, 1), tuple(logits.shape))
            return loss
        z = xp.moveaxis(logits, 1, -1).reshape(-1, K)  # one row of K logits per prediction
        y = target.reshape(-1, 1)
        if on_device:  # checked without a wait for the device: a bad target's loss is NaN
            valid = (y >= 0) & (y < K)
            y = xp.where(valid, y, 0)
        shifted = z - z.max(axis=1, keepdims=True)
        log_norm = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        losses = log_norm - xp.take_along_axis(shifted, y, axis=1)
        probs = xp.exp(shifted - log_norm)
        if on_device:
            losses, probs = xp.where(valid, losses, xp.nan), xp.where(valid, probs, xp.nan)
        self._cache = (probs, y, tuple(logits.shape))
        return losses.mean() if self.reduction == "mean" else losses.sum()

    def backward(self, dout: Array | float = 1.0) -> Array:
        """``d loss / d logits``, times ``dout`` (the gradient of whatever uses the loss)."""
        probs, y, shape = self.cached("_cache")
        xp = get_array_module(probs)
        grad = probs - (xp.arange(probs.shape[1]) == y)
        if self.reduction == "mean":
            grad = grad / probs.shape[0]
        grad = (grad * dout).reshape(shape[0], *shape[2:], shape[1])
        return xp.ascontiguousarray(xp.moveaxis(grad, -1, 1))


class MSELoss(Module):
    """Mean squared error ``mean((pred - target)**2)``, as ``torch.nn.MSELoss``
    (``reduction="sum"`` sums instead). Forward caches ``pred - target``.

    Shapes: pred (any), target (same) -> ()
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction("MSELoss", reduction)
        self._diff = None

    def forward(self, pred: Array, target: Array) -> Array:
        if tuple(pred.shape) != tuple(target.shape):
            raise ValueError(f"MSELoss: pred and target must have the same shape, got "
                             f"{tuple(pred.shape)} and {tuple(target.shape)}")
        self._diff = pred - target
        squares = self._diff * self._diff
        return squares.mean() if self.reduction == "mean" else squares.sum()

    def backward(self, dout: Array | float = 1.0) -> Array:
        """``d loss / d pred = 2 (pred - target)`` (divided by the count for the mean)."""
        diff = self.cached("_diff")
        grad = 2 * diff * dout
        return grad / diff.size if self.reduction == "mean" else grad
