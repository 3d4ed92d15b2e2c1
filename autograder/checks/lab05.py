"""Checks for lab05_train_cnn: layers with a forward and a backward pass, the loss, one step of
SGD, the assembled CNN, its training on real digits, and the pixel-shuffle experiment.

The answer key is convnb: ``convnb.nn``'s Conv2d, ReLU, MaxPool2d, Flatten, Linear and
CrossEntropyLoss, and ``convnb.data``'s digits and held-out split. A layer is checked one quantity
per case: its forward output, ``dx``, or the gradient of one parameter. Trained models are checked
through their parameters: the requirement rebuilds the network with convnb and measures its
accuracy on the held-out digits itself, in the kernel and again when the grader rescores, so a
score cannot be claimed, only earned (:mod:`.scored`).

The lab's given code (``Layer``, ``Sequential``, ``init_uniform``) is repeated here: the checks of
``train_step`` and ``build_cnn`` hand the student's function models of that interface.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import convnb
from convnb import nn

from .compare import ArrayResult, ResultError
from .core import Case, Check, Diagnoser
from .registry import register
from .scored import Assessment, Band, ScoreResult

__all__ = [
    "check_build_cnn", "check_cnn_accuracy", "check_conv", "check_flatten", "check_linear",
    "check_maxpool", "check_relu", "check_shuffle_experiment", "check_shuffle_pixels",
    "check_softmax_cross_entropy", "check_train_step",
]

# The lab's network and data: what the grader rebuilds from recorded parameters.
FILTERS, KERNEL, PAD, POOL, CLASSES, HIDDEN = 16, 3, 1, 4, 10, 32
CNN_SHAPES = ((FILTERS, 1, KERNEL, KERNEL), (FILTERS,), (CLASSES, FILTERS * 2 * 2), (CLASSES,))
MLP_SHAPES = ((HIDDEN, 64), (HIDDEN,), (CLASSES, HIDDEN), (CLASSES,))
PERM_SEED = 5  # the lab's perm = np.random.default_rng(5).permutation(64)
THRESHOLDS = (0.5, 0.8, 0.9, 0.94)
EXPERIMENT = ("cnn", "cnn_shuffled", "mlp", "mlp_shuffled")
# The pixel-shuffle claims: an MLP trained on shuffled pixels is as good as on real ones (within
# MLP_SAME, both at least MLP_LEARNED); the CNN loses at least CNN_DROP, while its shuffled model
# still learned (at least SHUFFLED_LEARNED: it saw the same permutation as the test digits).
MLP_SAME, MLP_LEARNED, CNN_DROP, SHUFFLED_LEARNED = 0.03, 0.85, 0.01, 0.6


def _values(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return np.round(rng.normal(size=shape), 2)


def _nonzero(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values with no exact zero, where ReLU's gradient is a matter of convention."""
    x = _values(rng, *shape)
    return np.where(x == 0, 0.5, x)


def _distinct(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values without ties, so that every pooling window has one maximum."""
    n = int(np.prod(shape))
    return (rng.permutation(n) - n / 2).reshape(shape) / 4


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


# --- Reference layers: the lab's interface around convnb.nn ---------------------------------------

class _Wrapped(Layer):
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


def conv_layer(w: np.ndarray, b: np.ndarray, pad: int = 0) -> _Wrapped:
    F, C, KH, KW = w.shape
    return _Wrapped(nn.Conv2d(C, F, (KH, KW), padding=pad, dtype=np.float64), w=w, b=b)


def linear_layer(w: np.ndarray, b: np.ndarray) -> _Wrapped:
    return _Wrapped(nn.Linear(w.shape[1], w.shape[0], dtype=np.float64), w=w, b=b)


def relu_layer() -> _Wrapped:
    return _Wrapped(nn.ReLU())


def maxpool_layer(k: int) -> _Wrapped:
    return _Wrapped(nn.MaxPool2d(k))


def flatten_layer() -> _Wrapped:
    return _Wrapped(nn.Flatten())


def softmax_cross_entropy(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    criterion = nn.CrossEntropyLoss()
    loss = np.asarray(criterion.forward(scores, y))
    return loss, criterion.backward()


# --- The layers -----------------------------------------------------------------------------------

QUANTITIES = {"out": "forward, out", "dx": "backward, dx", "w": "backward, grads['w']",
              "b": "backward, grads['b']"}


def _run_layer(make: Any, init: tuple, x: np.ndarray, dout: np.ndarray, quantity: str) -> Any:
    """Build the layer with ``make(*init)``, run forward (and backward), return the quantity."""
    layer = make(*init)
    out = layer.forward(x)
    if quantity == "out":
        return out
    dx = layer.backward(dout)
    if quantity == "dx":
        return dx
    grads = getattr(layer, "grads", None)
    if not isinstance(grads, dict) or quantity not in grads:
        raise ResultError(f"the layer has no grads[{quantity!r}]: backward adds the gradient of "
                          f"params[{quantity!r}] to grads[{quantity!r}] (see Layer)")
    return grads[quantity]


def _layer_case(init: tuple, label: str, x: np.ndarray, dout: np.ndarray, quantity: str) -> Case:
    arrays = [a for a in init if isinstance(a, np.ndarray)]
    return Case((init, x, dout, quantity),
                f"{label}x {x.shape} (dout {dout.shape}): {QUANTITIES[quantity]}",
                x.size + sum(a.size for a in arrays))


def _reference(make: Callable[..., Layer]) -> Callable[..., np.ndarray]:
    return lambda init, x, dout, quantity: _run_layer(make, init, x, dout, quantity)


def _when(wanted: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A diagnoser for one quantity: ``fn(init, x, dout)`` when the case asks for ``wanted``."""
    return lambda init, x, dout, quantity: fn(init, x, dout) if quantity == wanted else None


def _layer_check(name: str, function: str, make: Callable[..., Layer], draw, fixed,
                 diagnosers: Sequence[Diagnoser], n_random: int) -> Check:
    return register(Check(
        name=name, function=function, reference=_reference(make), draw=draw, fixed=fixed,
        result=ArrayResult(), diagnosers=diagnosers, n_random=n_random,
        call=lambda cls, init, x, dout, quantity: _run_layer(cls, init, x, dout, quantity)))


def _pick(rng: np.random.Generator, quantities: Sequence[str]) -> str:
    return str(rng.choice(quantities))


# ReLU and Flatten: layers without parameters

def _plain_case(x: np.ndarray, dout: np.ndarray, quantity: str) -> Case:
    return _layer_case((), "", x, dout, quantity)


def _draw_relu(rng: np.random.Generator) -> Case:
    shape = tuple(int(n) for n in rng.integers(1, 4, size=int(rng.choice([2, 4]))))
    return _plain_case(_nonzero(rng, *shape), _nonzero(rng, *shape), _pick(rng, ("out", "dx")))


_RELU_X = np.array([[1.5, -2.0, 0.25], [-0.5, 3.0, -1.0]])
_RELU_DOUT = np.array([[1.0, 2.0, 3.0], [-4.0, -5.0, 6.0]])

check_relu = _layer_check(
    "check_relu", "ReLU().forward / .backward", relu_layer, _draw_relu,
    fixed=(_plain_case(_RELU_X, _RELU_DOUT, "out"), _plain_case(_RELU_X, _RELU_DOUT, "dx")),
    diagnosers=[Diagnoser("relu_backward_negative", _when("dx", lambda init, x, dout: dout)),
                Diagnoser("relu_backward_of_dout",
                          _when("dx", lambda init, x, dout: np.maximum(dout, 0))),
                Diagnoser("relu_backward_of_dout",
                          _when("dx", lambda init, x, dout: dout * (x > 0) * (dout > 0)))],
    n_random=10)


def _draw_flatten(rng: np.random.Generator) -> Case:
    N, C, H, W = (int(n) for n in rng.integers(1, 4, size=4))
    return _plain_case(_values(rng, N, C, H, W), _values(rng, N, C * H * W),
                         _pick(rng, ("out", "dx")))


_FLAT_X = np.arange(16.0).reshape(2, 2, 2, 2)

check_flatten = _layer_check(
    "check_flatten", "Flatten().forward / .backward", flatten_layer, _draw_flatten,
    fixed=(_plain_case(_FLAT_X, np.arange(16.0).reshape(2, 8) / 4, "out"),
           _plain_case(_FLAT_X, np.arange(16.0).reshape(2, 8) / 4, "dx")),
    diagnosers=[Diagnoser("flatten_backward_shape", _when("dx", lambda init, x, dout: dout)),
                Diagnoser("flatten_batch_axis", _when("out", lambda init, x, dout: x.reshape(-1)))],
    n_random=8)


# Linear

def _linear_case(w: np.ndarray, b: np.ndarray, x: np.ndarray, dout: np.ndarray,
                 quantity: str) -> Case:
    return _layer_case((w, b), f"w {w.shape}, b {b.shape}, ", x, dout, quantity)


def _draw_linear(rng: np.random.Generator) -> Case:
    N, D, M = (int(n) for n in rng.integers(1, 6, size=3))
    return _linear_case(_values(rng, M, D), _values(rng, M), _values(rng, N, D),
                        _values(rng, N, M), _pick(rng, tuple(QUANTITIES)))


def _fixed_linear(quantity: str) -> Case:
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0], [2.0, 2.0, -2.0], [1.0, 0.0, 0.0]])
    dout = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0], [-2.0, 0.0]])
    return _linear_case(w, np.array([0.5, -1.0]), x, dout, quantity)


def _square(fn):
    """A mistake whose shapes only work out when w is square (else its matmul fails)."""
    def wrong(init, x, dout):
        return fn(init, x, dout) if init[0].shape[0] == init[0].shape[1] else None
    return wrong


check_linear = _layer_check(
    "check_linear", "Linear(w, b).forward / .backward", linear_layer, _draw_linear,
    fixed=tuple(_fixed_linear(q) for q in QUANTITIES),
    diagnosers=[
        Diagnoser("linear_dw_transposed", _when("w", lambda init, x, dout: x.T @ dout)),
        Diagnoser("linear_db_not_summed", _when("b", lambda init, x, dout: dout)),
        Diagnoser("db_mean", _when("b", lambda init, x, dout: dout.mean(axis=0))),
        Diagnoser("linear_forward_not_transposed",
                  _when("out", _square(lambda init, x, dout: x @ init[0] + init[1]))),
        Diagnoser("linear_dx_not_transposed",
                  _when("dx", _square(lambda init, x, dout: dout @ init[0].T))),
    ],
    n_random=16)


# Conv

def _conv_case(w: np.ndarray, b: np.ndarray, pad: int, x: np.ndarray, dout: np.ndarray,
               quantity: str) -> Case:
    return _layer_case((w, b, pad), f"w {w.shape}, b {b.shape}, pad {pad}, ", x, dout, quantity)


def _draw_conv(rng: np.random.Generator) -> Case:
    N, C, F = (int(n) for n in rng.integers(1, [3, 3, 4]))
    KH, KW = (int(k) for k in rng.integers(1, 4, size=2))
    if KH * KW == 1:
        KW = 2  # a 1 x 1 kernel cannot tell a flip from no flip
    pad = int(rng.choice([0, 1, 1]))
    H, W = (int(rng.integers(max(1, k - 2 * pad), k + 3)) for k in (KH, KW))
    H_out, W_out = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    return _conv_case(_values(rng, F, C, KH, KW), _values(rng, F), pad, _values(rng, N, C, H, W),
                      _values(rng, N, F, H_out, W_out), _pick(rng, tuple(QUANTITIES)))


def _fixed_conv(quantity: str, seed: int, pad: int) -> Case:
    rng = np.random.default_rng(seed)
    x, w, b = _values(rng, 2, 2, 4, 5), _values(rng, 3, 2, 2, 3), _values(rng, 3)
    return _conv_case(w, b, pad, x, _values(rng, 2, 3, 3 + 2 * pad, 3 + 2 * pad), quantity)


def _conv_backward(init, x, dout, kernels=None):
    w, _, pad = init
    return convnb.conv2d_backward(dout, x, w if kernels is None else kernels, padding=pad)


def _conv_pad_ignored(init, x, dout):
    w, b, pad = init
    return None if pad == 0 else convnb.conv2d(x, w, b)


def _conv_dx_not_cropped(init, x, dout):
    w, _, pad = init
    if pad == 0:
        return None
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    return convnb.conv2d_backward(dout, xpad, w)[0]


check_conv = _layer_check(
    "check_conv", "Conv(w, b, pad).forward / .backward", conv_layer, _draw_conv,
    fixed=(*(_fixed_conv(q, 5001, 0) for q in QUANTITIES),
           *(_fixed_conv(q, 5002, 1) for q in QUANTITIES)),
    diagnosers=[
        Diagnoser("conv_flipped", _when("out", lambda init, x, dout: convnb.conv2d(
            x, init[0][:, :, ::-1, ::-1], init[1], padding=init[2]))),
        Diagnoser("layer_conv_pad_ignored", _when("out", _conv_pad_ignored)),
        Diagnoser("conv_bias_missing", _when("out", lambda init, x, dout: convnb.conv2d(
            x, init[0], padding=init[2]))),
        Diagnoser("dx_not_cropped", _when("dx", _conv_dx_not_cropped)),
        Diagnoser("dx_not_flipped", _when("dx", lambda init, x, dout: _conv_backward(
            init, x, dout, init[0][:, :, ::-1, ::-1])[0])),
        Diagnoser("dw_swapped", _when("w", lambda init, x, dout: _conv_backward(
            init, x, dout)[1][:, :, ::-1, ::-1])),
        *(Diagnoser("db_axes", _when("b", lambda init, x, dout, axes=axes: dout.sum(axis=axes)))
          for axes in [(2, 3), (0,), (0, 2), (0, 3)]),
        Diagnoser("db_mean", _when("b", lambda init, x, dout: dout.mean(axis=(0, 2, 3)))),
    ],
    n_random=16)


# MaxPool

def _maxpool_case(k: int, x: np.ndarray, dout: np.ndarray, quantity: str) -> Case:
    return _layer_case((k,), f"k {k}, ", x, dout, quantity)


def _draw_maxpool(rng: np.random.Generator) -> Case:
    k = int(rng.choice([2, 2, 3]))
    N, C, rows, cols = (int(n) for n in rng.integers(1, [3, 3, 4, 4]))
    return _maxpool_case(k, _distinct(rng, N, C, k * rows, k * cols),
                         _values(rng, N, C, rows, cols), _pick(rng, ("out", "dx")))


def _spread(dout: np.ndarray, k: int) -> np.ndarray:
    """Every window filled with its entry of dout."""
    return np.repeat(np.repeat(dout, k, axis=2), k, axis=3)


_POOL_X = _distinct(np.random.default_rng(5003), 1, 2, 4, 4)
_POOL_DOUT = np.array([[[[1.0, -2.0], [3.0, 0.5]], [[-1.0, 2.0], [0.25, 4.0]]]])

check_maxpool = _layer_check(
    "check_maxpool", "MaxPool(k).forward / .backward", maxpool_layer, _draw_maxpool,
    fixed=(_maxpool_case(2, _POOL_X, _POOL_DOUT, "out"),
           _maxpool_case(2, _POOL_X, _POOL_DOUT, "dx"),
           _maxpool_case(3, _distinct(np.random.default_rng(5004), 2, 1, 6, 3),
                         _values(np.random.default_rng(5005), 2, 1, 2, 1), "dx")),
    diagnosers=[
        Diagnoser("maxgrad_to_window", _when("dx", lambda init, x, dout: _spread(dout, init[0]))),
        Diagnoser("maxgrad_averaged",
                  _when("dx", lambda init, x, dout: _spread(dout, init[0]) / init[0] ** 2)),
        Diagnoser("maxpool_forward_average",
                  _when("out", lambda init, x, dout: convnb.avg_pool2d(x, init[0]))),
    ],
    n_random=10)


# --- The loss -------------------------------------------------------------------------------------

LOSS_PARTS = {"loss": "the loss", "dscores": "the gradient dscores"}


def _scalar(value: Any) -> Any:
    """A loss as a 0-d float array when it is a number (a Python or NumPy float, a 0-d array);
    anything else is left for the comparison to refuse."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return np.array(float(value))
    if type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind in "iuf":
        return value.astype(np.float64)
    return value


def _run_loss(fn: Callable[..., Any], scores: np.ndarray, y: np.ndarray, part: str) -> Any:
    value = fn(scores, y)
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ResultError("softmax_cross_entropy returns a pair: return loss, dscores")
    loss, dscores = value
    return _scalar(loss) if part == "loss" else dscores


def _loss_case(scores: np.ndarray, y: np.ndarray, part: str) -> Case:
    return Case((scores, y, part), f"scores {scores.shape}, y {y.tolist()}: {LOSS_PARTS[part]}",
                scores.size)


def _draw_loss(rng: np.random.Generator) -> Case:
    N, K = int(rng.integers(1, 7)), int(rng.integers(2, 8))
    scores = np.round(2 * rng.normal(size=(N, K)), 2)
    y = rng.integers(0, K, size=N)
    return _loss_case(scores, y, _pick(rng, tuple(LOSS_PARTS)))


def _loss_wrong(fn):
    """A mistake as ``fn(loss, dscores, scores, y) -> (loss, dscores)``."""
    def wrong(scores, y, part):
        loss, dscores = fn(*softmax_cross_entropy(scores, y), scores, y)
        return loss if part == "loss" else dscores
    return wrong


def _softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_LOSS_SCORES = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, -1.0, 3.0], [0.5, 2.5, -1.0]])
_LOSS_Y = np.array([0, 2, 2, 1])

check_softmax_cross_entropy = register(Check(
    name="check_softmax_cross_entropy", function="softmax_cross_entropy(scores, y)",
    reference=lambda scores, y, part: softmax_cross_entropy(scores, y)[list(LOSS_PARTS).index(
        part)],
    draw=_draw_loss,
    fixed=(_loss_case(_LOSS_SCORES, _LOSS_Y, "loss"), _loss_case(_LOSS_SCORES, _LOSS_Y, "dscores"),
           _loss_case(_LOSS_SCORES[:1], _LOSS_Y[:1], "dscores")),
    result=ArrayResult(), call=_run_loss, n_random=12,
    diagnosers=[
        Diagnoser("loss_not_averaged", _loss_wrong(
            lambda loss, d, scores, y: (loss * len(y), d * len(y)))),
        Diagnoser("loss_grad_no_onehot", _loss_wrong(
            lambda loss, d, scores, y: (loss, _softmax(scores) / len(y)))),
        Diagnoser("loss_grad_sign", _loss_wrong(lambda loss, d, scores, y: (loss, -d))),
    ],
))


# --- One step of SGD ------------------------------------------------------------------------------

def _tiny_cnn(init: dict[str, np.ndarray]) -> Sequential:
    """A small model of reference layers, built from copies of ``init``."""
    p = {k: v.copy() for k, v in init.items()}
    return Sequential(conv_layer(p["w1"], p["b1"], 1), relu_layer(), maxpool_layer(2),
                      flatten_layer(), linear_layer(p["w2"], p["b2"]))


def _flat(model: Any) -> np.ndarray:
    """Every parameter of the model, flattened and joined in ``parameters()`` order."""
    return np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1)
                           for p, _ in model.parameters()])


def _train_step(model: Sequential, loss_fn, x, y, lr, zero=True, sign=-1.0, update=True):
    """One step of SGD, with switches for the classic mistakes."""
    scores = model.forward(x)
    loss, dscores = loss_fn(scores, y)
    if zero:
        model.zero_grad()
    model.backward(dscores)
    if update:
        for p, g in model.parameters():
            p += sign * lr * g
    return loss


def _run_steps(step: Callable[..., Any], init: dict, xs: list, ys: list, lr: float,
               part: str) -> Any:
    model = _tiny_cnn(init)
    losses = [step(model, softmax_cross_entropy, x, y, lr) for x, y in zip(xs, ys, strict=True)]
    if part == "params":
        return _flat(model)
    if any(loss is None for loss in losses):
        raise ResultError("train_step returned None: return the batch's loss, the number that "
                          "loss_fn gives")
    values = [_scalar(loss) for loss in losses]
    if not all(type(v) is np.ndarray and v.shape == () for v in values):
        raise ResultError("train_step returned something other than a number: return the "
                          "batch's loss, the number that loss_fn gives")
    return np.array([float(v) for v in values])


STEP_PARTS = {"params": "the parameters after the steps", "loss": "the losses returned"}


def _step_case(init: dict, xs: list, ys: list, lr: float, part: str) -> Case:
    K = init["b2"].size
    return Case((init, xs, ys, lr, part),
                f"{len(xs)} steps, batches x {xs[0].shape}, {K} classes, lr {lr}: "
                f"{STEP_PARTS[part]}", len(xs) * xs[0].size)


def _draw_steps(rng: np.random.Generator, part: str | None = None) -> Case:
    F, K, B, steps = (int(n) for n in rng.integers([1, 2, 1, 2], [4, 5, 5, 4]))
    init = {"w1": init_uniform(rng, (F, 1, 3, 3)), "b1": _values(rng, F) / 4,
            "w2": init_uniform(rng, (K, F * 4)), "b2": _values(rng, K) / 4}
    xs = [np.round(rng.random((B, 1, 4, 4)), 2) for _ in range(steps)]
    ys = [rng.integers(0, K, size=B) for _ in range(steps)]
    lr = float(rng.choice([0.1, 0.5, 1.0]))
    return _step_case(init, xs, ys, lr, part or _pick(rng, ("params", "params", "loss")))


def _step_mistake(**switches):
    def wrong(init, xs, ys, lr, part):
        if part != "params":
            return None
        step = functools.partial(_train_step, **switches)
        return _run_steps(step, init, xs, ys, lr, part)
    return wrong


check_train_step = register(Check(
    name="check_train_step", function="train_step(model, loss_fn, x, y, lr)",
    reference=lambda *args: _run_steps(_train_step, *args), draw=_draw_steps,
    fixed=tuple(_draw_steps(np.random.default_rng(5006 + i), part)
                for i, part in enumerate(("params", "loss", "params"))),
    result=ArrayResult(), n_random=8,
    call=lambda fn, *args: _run_steps(fn, *args),
    diagnosers=[Diagnoser("train_forgot_zero_grad", _step_mistake(zero=False)),
                Diagnoser("train_gradient_ascent", _step_mistake(sign=1.0)),
                Diagnoser("train_params_unchanged", _step_mistake(update=False))],
))


# --- The assembled CNN ----------------------------------------------------------------------------

def build_cnn(rng: np.random.Generator, conv_first: bool = True,
              random_bias: bool = False) -> Sequential:
    """The lab's CNN: conv w, then linear w, drawn with ``init_uniform``; zero biases. The
    switches reproduce two classic mistakes: the linear weights drawn first, random biases."""
    shapes = dict(zip(("w1", "b1", "w2", "b2"), CNN_SHAPES, strict=True))
    p = {}
    for layer in ("1", "2") if conv_first else ("2", "1"):
        p["w" + layer] = init_uniform(rng, shapes["w" + layer])
        p["b" + layer] = (init_uniform(rng, shapes["b" + layer]) if random_bias
                          else np.zeros(shapes["b" + layer]))
    return Sequential(conv_layer(p["w1"], p["b1"], PAD), relu_layer(), maxpool_layer(POOL),
                      flatten_layer(), linear_layer(p["w2"], p["b2"]))


def _run_build(fn: Callable[..., Any], seed: int) -> np.ndarray:
    model = fn(np.random.default_rng(seed))
    shapes = [tuple(np.shape(p)) for p, _ in model.parameters()]
    if shapes != list(CNN_SHAPES):
        raise ResultError(f"the model's parameters have shapes {shapes}; the lab's CNN has "
                          f"{list(CNN_SHAPES)} (conv w, conv b, linear w, linear b)")
    return _flat(model)


def _build_case(seed: int) -> Case:
    return Case((seed,), f"rng = np.random.default_rng({seed})", seed)


check_build_cnn = register(Check(
    name="check_build_cnn", function="build_cnn(rng)",
    reference=lambda seed: _flat(build_cnn(np.random.default_rng(seed))),
    draw=lambda rng: _build_case(int(rng.integers(0, 10_000))),
    fixed=(_build_case(0), _build_case(1)), result=ArrayResult(), n_random=4,
    call=lambda fn, seed: _run_build(fn, seed),
    diagnosers=[
        Diagnoser("build_init_order", lambda seed: _flat(build_cnn(
            np.random.default_rng(seed), conv_first=False))),
        Diagnoser("build_random_bias", lambda seed: _flat(build_cnn(
            np.random.default_rng(seed), random_bias=True))),
    ],
))


# --- Trained models, rebuilt and measured with convnb ---------------------------------------------

@functools.lru_cache(maxsize=1)
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lab's data: ``x_train, x_test, y_train, y_test``, float64 digits, 20 % held out."""
    x, y = convnb.data.load_digits(dtype=np.float64)
    parts = convnb.data.train_test_split(x, y, test_fraction=0.2, seed=0)
    for part in parts:
        part.setflags(write=False)
    return parts


def perm() -> np.ndarray:
    return np.random.default_rng(PERM_SEED).permutation(64)


def shuffle_pixels(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    N, C = x.shape[:2]
    return np.ascontiguousarray(x.reshape(N, C, -1)[:, :, p].reshape(x.shape))


def _split(values: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    sizes = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]
    return [part.reshape(s) for part, s in zip(np.split(values, sizes), shapes, strict=True)]


def _size(shapes: Sequence[tuple[int, ...]]) -> int:
    return sum(int(np.prod(s)) for s in shapes)


def cnn_logits(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = _split(values, CNN_SHAPES)
    h = np.maximum(convnb.conv2d(x, w1, b1, padding=PAD), 0)
    return convnb.max_pool2d(h, POOL).reshape(len(x), -1) @ w2.T + b2


def mlp_logits(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = _split(values, MLP_SHAPES)
    return np.maximum(x.reshape(len(x), -1) @ w1.T + b1, 0) @ w2.T + b2


def test_accuracy(logits: Callable[..., np.ndarray], values: np.ndarray,
                  shuffled: bool = False) -> float:
    """The accuracy of the model ``values`` on the held-out digits (shuffled by the lab's perm)."""
    _, x_test, _, y_test = digits_split()
    x = shuffle_pixels(x_test, perm()) if shuffled else x_test
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predictions = logits(values, x).argmax(axis=1)
    return float(np.mean(predictions == y_test))


def _unusable(values: np.ndarray, shapes, what: str) -> Assessment | None:
    """Why ``values`` cannot be the parameters of the lab's network ``shapes``, or None."""
    if values.ndim != 1 or values.dtype.kind != "f" or values.size != _size(shapes):
        return Assessment(None, False, f"{what} has {values.size} parameters; the lab's network "
                          f"has {_size(shapes)} (shapes {list(shapes)})")
    if not np.isfinite(values).all():
        return Assessment(0.0, False, f"{what}'s parameters contain NaN or infinity: training "
                          "diverged")
    return None


@dataclass(frozen=True)
class AccuracyAtLeast:
    """The trained CNN classifies at least ``threshold`` of the held-out digits correctly."""

    threshold: float

    def assess(self, values: np.ndarray) -> Assessment:
        bad = _unusable(values, CNN_SHAPES, "the model")
        if bad is not None:
            return bad
        acc = test_accuracy(cnn_logits, values)
        n = len(digits_split()[3])
        return Assessment(acc, acc >= self.threshold,
                          f"test accuracy {acc:.3f} ({round(acc * n)} of {n} held-out digits), "
                          f"below {self.threshold}",
                          ("the grader rebuilt your CNN from its parameters and classified the "
                           "held-out digits itself",))


NOT_RUN = ("is None: the cells above it did not run to their end. Run them, from the top, and "
           "read their errors")


def _record_cnn(model: Any, threshold: float) -> np.ndarray:
    if model is None:
        raise ResultError(f"cnn {NOT_RUN}")
    return _flat(model)


def _threshold_case(threshold: float) -> Case:
    return Case((threshold,), f"the requirement: test accuracy at least {threshold}", 0)


check_cnn_accuracy = register(Check(
    name="check_cnn_accuracy", function="cnn (trained)",
    reference=AccuracyAtLeast, draw=None, fixed=tuple(map(_threshold_case, THRESHOLDS)),
    result=ScoreResult("the trained CNN's parameters, which classify the held-out digits at "
                       "least as well as required"),
    call=_record_cnn,
    diagnosers=[
        Diagnoser("accuracy_near_chance", lambda t: Band(AccuracyAtLeast(t), 0.0, 0.2)),
        Diagnoser("accuracy_low", lambda t: Band(AccuracyAtLeast(t), 0.2, 1.0)),
    ],
))


# --- The pixel-shuffle experiment -----------------------------------------------------------------

def _shuffle_case(x: np.ndarray, p: np.ndarray) -> Case:
    return Case((x, p), f"x {x.shape}, perm {p.tolist()}", x.size)


def _draw_shuffle(rng: np.random.Generator) -> Case:
    N, C, H, W = (int(n) for n in rng.integers([1, 1, 2, 2], [4, 3, 5, 5]))
    return _shuffle_case(_values(rng, N, C, H, W), rng.permutation(H * W))


check_shuffle_pixels = register(Check(
    name="check_shuffle_pixels", function="shuffle_pixels(x, perm)", reference=shuffle_pixels,
    draw=_draw_shuffle,
    fixed=(_shuffle_case(np.arange(8.0).reshape(2, 1, 2, 2), np.array([3, 0, 2, 1])),
           _shuffle_case(np.arange(12.0).reshape(1, 2, 2, 3), np.array([5, 4, 0, 1, 2, 3]))),
    result=ArrayResult(),
    diagnosers=[Diagnoser("shuffle_inverse", lambda x, p: shuffle_pixels(x, np.argsort(p)))],
))

SHAPES = {"cnn": CNN_SHAPES, "mlp": MLP_SHAPES}
LOGITS = {"cnn": cnn_logits, "mlp": mlp_logits}


def _record_experiment(models: Any, claim: str) -> np.ndarray:
    if models is None:
        raise ResultError(f"models {NOT_RUN}")
    if not isinstance(models, dict) or set(models) != set(EXPERIMENT):
        raise ResultError(f"pass a dictionary with the keys {list(EXPERIMENT)}")
    parts = []
    for key in EXPERIMENT:
        values = _flat(models[key])
        if values.size != _size(SHAPES[key.split("_")[0]]):
            raise ResultError(f"models[{key!r}] has {values.size} parameters; the lab's "
                              f"{key.split('_')[0]} has {_size(SHAPES[key.split('_')[0]])}")
        parts.append(values)
    return np.concatenate(parts)


def _accuracies(values: np.ndarray) -> dict[str, float] | Assessment:
    sizes = [_size(SHAPES[key.split("_")[0]]) for key in EXPERIMENT]
    if values.ndim != 1 or values.dtype.kind != "f" or values.size != sum(sizes):
        return Assessment(None, False, f"{values.size} parameters were recorded for the four "
                          f"models; the lab's networks have {sum(sizes)}")
    parts = np.split(values, np.cumsum(sizes)[:-1])
    return {key: test_accuracy(LOGITS[key.split("_")[0]], part, key.endswith("shuffled"))
            if np.isfinite(part).all() else 0.0
            for key, part in zip(EXPERIMENT, parts, strict=True)}


def _table(acc: dict[str, float]) -> tuple[str, ...]:
    return ("test accuracy, as the grader measures it (shuffled models on shuffled test digits):",
            *(f"  {key:13s} {acc[key]:.3f}" for key in EXPERIMENT))


@dataclass(frozen=True)
class ShuffleClaim:
    """One claim of the experiment. ``"mlp"``: the MLP learns as well from shuffled pixels (both
    at least MLP_LEARNED, within MLP_SAME of each other). ``"cnn"``: the CNN loses at least
    CNN_DROP when the pixels are shuffled, while its shuffled model still learned. The score is
    the model's drop in accuracy."""

    claim: str

    def assess(self, values: np.ndarray) -> Assessment:
        acc = _accuracies(values)
        if isinstance(acc, Assessment):
            return acc
        drop = acc[self.claim] - acc[f"{self.claim}_shuffled"]
        if self.claim == "mlp":
            low = min(acc["mlp"], acc["mlp_shuffled"])
            passed = low >= MLP_LEARNED and abs(drop) <= MLP_SAME
            problem = (f"an MLP reaches at least {MLP_LEARNED} on real and on shuffled pixels, "
                       f"within {MLP_SAME} of each other; yours: {acc['mlp']:.3f} and "
                       f"{acc['mlp_shuffled']:.3f}")
        else:
            passed = acc["cnn_shuffled"] >= SHUFFLED_LEARNED and drop >= CNN_DROP
            problem = (f"the CNN on shuffled pixels should learn (at least {SHUFFLED_LEARNED}) "
                       f"but lose at least {CNN_DROP} against real pixels; yours: "
                       f"{acc['cnn']:.3f} on real, {acc['cnn_shuffled']:.3f} on shuffled pixels")
        return Assessment(drop, passed, problem, _table(acc))


@dataclass(frozen=True)
class ShuffledLearned:
    """For diagnosis: the score is the accuracy of the claim's shuffled model."""

    claim: str

    def assess(self, values: np.ndarray) -> Assessment:
        acc = _accuracies(values)
        if isinstance(acc, Assessment):
            return acc
        return Assessment(acc[f"{self.claim}_shuffled"], True)


def _claim_case(claim: str) -> Case:
    text = {"mlp": "the MLP does not care about the order of the pixels",
            "cnn": "the CNN loses accuracy when the pixels are shuffled"}
    return Case((claim,), f"the claim: {text[claim]}", 0)


check_shuffle_experiment = register(Check(
    name="check_shuffle_experiment", function="models (trained)",
    reference=ShuffleClaim, draw=None, fixed=(_claim_case("mlp"), _claim_case("cnn")),
    result=ScoreResult("the models' parameters, whose accuracies (measured by the grader) show "
                       "the claim"),
    call=lambda models, claim: _record_experiment(models, claim),
    diagnosers=[
        Diagnoser("shuffle_models_mixed_up", lambda c: Band(ShuffledLearned(c), 0.0, 0.6)),
        Diagnoser("shuffle_cnn_no_drop", lambda c: Band(ShuffleClaim(c), -1.0, CNN_DROP)
                  if c == "cnn" else None),
        *(Diagnoser("shuffle_mlp_changed", lambda c, low=low, high=high: Band(
            ShuffleClaim(c), low, high) if c == "mlp" else None)
          for low, high in ((MLP_SAME, 1.0), (-1.0, -MLP_SAME))),
    ],
))
