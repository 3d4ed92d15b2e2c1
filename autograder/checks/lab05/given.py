"""The lab's interface: its given code (``Layer``, ``Sequential``, ``init_uniform``), the network
it asks for, and convnb's layers behind that interface, the answer key of the layer checks.

The given code is repeated here because the checks of ``train_step`` and ``build_cnn`` hand the
student's function models of that interface, and read models back through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnb import nn

from ..detect import COURSE_RULES, STRIDE_TRICKS

# The lab's network and data: what the grader rebuilds from recorded parameters.
FILTERS, KERNEL, PAD, POOL, CLASSES, HIDDEN = 16, 3, 1, 4, 10, 32
CNN_SHAPES = ((FILTERS, 1, KERNEL, KERNEL), (FILTERS,), (CLASSES, FILTERS * 2 * 2), (CLASSES,))
MLP_SHAPES = ((HIDDEN, 64), (HIDDEN,), (CLASSES, HIDDEN), (CLASSES,))
PERM_SEED = 5  # the lab's perm = np.random.default_rng(5).permutation(64)

# The lab's rules: "write the layers yourself with NumPy (not with convnb or PyTorch)"; its setup
# cell imports convnb.data's digits and batches for the training, and window views are NumPy.
FORBIDDEN = COURSE_RULES.allowing(*STRIDE_TRICKS, "convnb.data")


# --- The lab's given code -------------------------------------------------------------------------

class Layer:
    """Base class of the lab's layers: ``params`` and ``grads`` by name, ``grads`` zero at first."""

    def __init__(self, **params: np.ndarray) -> None:
        self.params = params
        self.grads = {name: np.zeros_like(p) for name, p in params.items()}


class Sequential:
    """The lab's container: forward in order, backward in reverse, ``zero_grad`` in place, and
    ``parameters()`` as (parameter, gradient) pairs."""

    def __init__(self, *layers: Any) -> None:
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def zero_grad(self) -> None:
        for layer in self.layers:
            for g in layer.grads.values():
                g[...] = 0

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(layer.params[k], layer.grads[k]) for layer in self.layers for k in layer.params]


def init_uniform(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """PyTorch's initial weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = prod(shape[1:])."""
    bound = 1 / np.sqrt(np.prod(shape[1:]))
    return rng.uniform(-bound, bound, size=shape)


def flat_parameters(model: Any) -> np.ndarray:
    """Every parameter of a model of the lab's interface, flattened and joined in
    ``parameters()`` order: what a check records of a model."""
    return np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1)
                           for p, _ in model.parameters()])


# --- Reference layers: the lab's interface around convnb.nn ---------------------------------------

class Wrapped(Layer):
    """A convnb.nn module behind the lab's interface; gradients accumulate, as in the lab."""

    def __init__(self, module: nn.Module, **params: np.ndarray) -> None:
        super().__init__(**params)
        self.module = module

    def _sync(self) -> None:
        for name, p in zip(self.params, self.module.parameters(), strict=True):
            p.data, p.grad = self.params[name], None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._sync()
        return self.module.forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = self.module.backward(dout)
        for name, p in zip(self.params, self.module.parameters(), strict=True):
            self.grads[name] += p.grad
        return dx


def conv_layer(w: np.ndarray, b: np.ndarray, pad: int = 0) -> Wrapped:
    F, C, KH, KW = w.shape
    return Wrapped(nn.Conv2d(C, F, (KH, KW), padding=pad, dtype=np.float64), w=w, b=b)


def linear_layer(w: np.ndarray, b: np.ndarray) -> Wrapped:
    return Wrapped(nn.Linear(w.shape[1], w.shape[0], dtype=np.float64), w=w, b=b)


def relu_layer() -> Wrapped:
    return Wrapped(nn.ReLU())


def maxpool_layer(k: int) -> Wrapped:
    return Wrapped(nn.MaxPool2d(k))


def flatten_layer() -> Wrapped:
    return Wrapped(nn.Flatten())


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    criterion = nn.CrossEntropyLoss()
    loss = np.asarray(criterion.forward(scores, y))
    return loss, criterion.backward()
