"""The checks of the loss, of one step of SGD and of the assembled CNN.

``softmax_cross_entropy`` returns ``(loss, dscores)`` and ``train_step`` changes a model and
returns the loss: a case judges one part of the result (:attr:`..cases.Case.part`), the loss or
the gradient, the parameters after some steps or the losses returned. ``build_cnn``'s model is
judged by its parameters, drawn from a generator of a known seed.

Each is judged on its own (:attr:`..core.Check.stand_ins`): ``build_cnn`` is run with the course's
layers standing in for the student's classes, and ``train_step``, which gets the model and the
loss as arguments, with the course's loss standing in should it call ``softmax_cross_entropy``
by name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..common import draw_part, rounded_normal
from ..compare import ArrayResult, ResultError
from ..core import Case, Check, Diagnoser
from ..registry import register
from .given import (
    CNN_SHAPES,
    FORBIDDEN,
    PAD,
    POOL,
    Sequential,
    conv_layer,
    flat_parameters,
    flatten_layer,
    init_uniform,
    linear_layer,
    maxpool_layer,
    relu_layer,
    softmax_cross_entropy,
)

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


def _run_loss(fn: Callable[..., Any], scores: np.ndarray, y: np.ndarray, *, part: str) -> Any:
    value = fn(scores, y)
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ResultError("softmax_cross_entropy returns a pair: return loss, dscores")
    loss, dscores = value
    return _scalar(loss) if part == "loss" else dscores


def _loss_case(scores: np.ndarray, y: np.ndarray, part: str) -> Case:
    return Case((scores, y), f"scores {scores.shape}, y {y.tolist()}: {LOSS_PARTS[part]}",
                scores.size, part)


def _draw_loss(rng: np.random.Generator) -> Case:
    N, K = int(rng.integers(1, 7)), int(rng.integers(2, 8))
    scores = np.round(2 * rng.normal(size=(N, K)), 2)
    y = rng.integers(0, K, size=N)
    return _loss_case(scores, y, draw_part(rng, tuple(LOSS_PARTS)))


def _loss_part(scores: np.ndarray, y: np.ndarray, *, part: str) -> np.ndarray:
    return softmax_cross_entropy(scores, y)[list(LOSS_PARTS).index(part)]


def _loss_wrong(fn):
    """A mistake as ``fn(loss, dscores, scores, y) -> (loss, dscores)``."""
    def wrong(scores, y, *, part):
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
    forbidden=FORBIDDEN,
    reference=_loss_part, draw=_draw_loss,
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


def _run_steps(step: Callable[..., Any], init: dict, xs: list, ys: list, lr: float, *,
               part: str) -> Any:
    """``step`` (a ``train_step``) on a tiny CNN, batch after batch; the ``part``."""
    model = _tiny_cnn(init)
    losses = [step(model, softmax_cross_entropy, x, y, lr) for x, y in zip(xs, ys, strict=True)]
    if part == "params":
        return flat_parameters(model)
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
    return Case((init, xs, ys, lr),
                f"{len(xs)} steps, batches x {xs[0].shape}, {K} classes, lr {lr}: "
                f"{STEP_PARTS[part]}", len(xs) * xs[0].size, part)


def _draw_steps(rng: np.random.Generator, part: str | None = None) -> Case:
    F, K, B, steps = (int(n) for n in rng.integers([1, 2, 1, 2], [4, 5, 5, 4]))
    init = {"w1": init_uniform(rng, (F, 1, 3, 3)), "b1": rounded_normal(rng, F) / 4,
            "w2": init_uniform(rng, (K, F * 4)), "b2": rounded_normal(rng, K) / 4}
    xs = [np.round(rng.random((B, 1, 4, 4)), 2) for _ in range(steps)]
    ys = [rng.integers(0, K, size=B) for _ in range(steps)]
    lr = float(rng.choice([0.1, 0.5, 1.0]))
    return _step_case(init, xs, ys, lr, part or draw_part(rng, ("params", "params", "loss")))


def _step_mistake(**switches):
    """The parameters after the steps of a ``train_step`` with a mistake (``switches``)."""
    step = functools.partial(_train_step, **switches)
    return lambda init, xs, ys, lr: _run_steps(step, init, xs, ys, lr, part="params")


check_train_step = register(Check(
    name="check_train_step", function="train_step(model, loss_fn, x, y, lr)",
    forbidden=FORBIDDEN,
    reference=functools.partial(_run_steps, _train_step), draw=_draw_steps,
    fixed=tuple(_draw_steps(np.random.default_rng(5006 + i), part)
                for i, part in enumerate(("params", "loss", "params"))),
    result=ArrayResult(), n_random=8, call=_run_steps,
    stand_ins={"softmax_cross_entropy": softmax_cross_entropy},
    diagnosers=[Diagnoser("train_forgot_zero_grad", _step_mistake(zero=False), part="params"),
                Diagnoser("train_gradient_ascent", _step_mistake(sign=1.0), part="params"),
                Diagnoser("train_params_unchanged", _step_mistake(update=False), part="params")],
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
    return flat_parameters(model)


def _built(seed: int, **switches: bool) -> np.ndarray:
    return flat_parameters(build_cnn(np.random.default_rng(seed), **switches))


def _build_case(seed: int) -> Case:
    return Case((seed,), f"rng = np.random.default_rng({seed})", seed)


check_build_cnn = register(Check(
    name="check_build_cnn", function="build_cnn(rng)", reference=_built,
    forbidden=FORBIDDEN,
    draw=lambda rng: _build_case(int(rng.integers(0, 10_000))),
    fixed=(_build_case(0), _build_case(1)), result=ArrayResult(), n_random=4, call=_run_build,
    stand_ins={"Conv": conv_layer, "ReLU": relu_layer, "MaxPool": maxpool_layer,
               "Flatten": flatten_layer, "Linear": linear_layer},
    diagnosers=[
        Diagnoser("build_init_order", lambda seed: _built(seed, conv_first=False)),
        Diagnoser("build_random_bias", lambda seed: _built(seed, random_bias=True)),
    ],
))
