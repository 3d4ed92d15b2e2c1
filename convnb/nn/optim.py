"""Optimisers: turn each parameter's ``.grad`` into a step, with ``torch.optim``'s exact rules.

Create one after the model is on its device, then per batch: ``zero_grad()``, forward, loss,
backward, ``step()``. Parameters whose ``.grad`` is ``None`` are skipped, as in PyTorch.
Hyper-parameters are plain attributes (``optimizer.lr = 0.01`` changes the learning rate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .. import cuda
from ..backend import get_array_module
from ..types import Array
from .module import Parameter, zero_grads

__all__ = ["SGD", "Adam", "Optimizer"]


def _fused(p: Parameter) -> bool:
    """True when :mod:`convnb.cuda`'s fused step can update ``p`` (on a GPU, float)."""
    return cuda.usable(p.data) and p.grad.dtype == p.data.dtype


class Optimizer:
    """Holds the parameters and per-parameter state (``state[i]`` for ``params[i]``)."""

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not all(isinstance(p, Parameter) for p in self.params):
            raise TypeError(f"{type(self).__name__}: params must be Parameters, e.g. "
                            f"model.parameters()")
        if lr < 0:
            raise ValueError(f"{type(self).__name__}: lr must be non-negative, got {lr}")
        self.lr = lr
        self.state: list[dict[str, Array | int]] = [{} for _ in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``None`` (PyTorch's default) or zeros."""
        zero_grads(self.params, set_to_none)

    def step(self) -> None:
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                self.update(p, state)

    def update(self, p: Parameter, state: dict[str, Array | int]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define update")


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``::

        g = grad + weight_decay * w
        v = g                                 (first step)
        v = momentum * v + (1 - dampening) * g (later steps)
        g = g + momentum * v if nesterov else v      (only when momentum > 0)
        w = w - lr * g

    Note the momentum form: PyTorch's ``v`` sums gradients and ``lr`` scales the sum (Sutskever
    et al. scale each gradient by ``lr`` before adding it); both agree while ``lr`` is fixed.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.momentum, self.dampening = momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov

    def update(self, p: Parameter, state: dict[str, Array | int]) -> None:
        if _fused(p):  # one fused kernel instead of up to six
            v = cuda.sgd_step(p.data, p.grad, self.lr, self.weight_decay, self.momentum,
                              self.dampening, self.nesterov, state.get("momentum_buffer"))
            if v is not None:
                state["momentum_buffer"] = v
            return
        g = p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                state["momentum_buffer"] = (self.momentum * state["momentum_buffer"]
                                            + (1 - self.dampening) * g)
            v = state["momentum_buffer"]
            g = g + self.momentum * v if self.nesterov else v
        p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as ``torch.optim.Adam``: a step along the running mean of the
    gradients, scaled per entry by the running root mean square, both corrected for starting at
    zero::

        g = grad + weight_decay * w                    (L2 penalty; AdamW decouples it)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        w = w - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def update(self, p: Parameter, state: dict[str, Array | int]) -> None:
        xp = get_array_module(p.data)
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p.data), exp_avg_sq=xp.zeros_like(p.data))
        state["step"] += 1
        t = state["step"]
        if _fused(p):  # one fused kernel instead of about twelve
            cuda.adam_step(p.data, p.grad, state["exp_avg"], state["exp_avg_sq"], self.lr,
                           self.betas, self.eps, self.weight_decay, t)
            return
        g = p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
        state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
        denom = xp.sqrt(state["exp_avg_sq"]) / math.sqrt(1 - beta2**t) + self.eps
        p.data -= (self.lr / (1 - beta1**t)) * (state["exp_avg"] / denom)
