"""The check of the trained CNN, and what the trained-model checks share: the lab's digits, the
networks rebuilt from recorded parameters, and their accuracy on the held-out digits.

Trained models are checked through their parameters: the requirement rebuilds the network with
convnb and measures its accuracy on the held-out digits itself, in the kernel and again when the
grader rescores, so a score cannot be claimed, only earned (:mod:`..scored`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import convnb

from ..compare import ResultError
from ..core import Case, Check, Diagnoser
from ..registry import register
from ..scored import Assessment, Band, ScoreResult
from .given import CNN_SHAPES, FORBIDDEN, MLP_SHAPES, PAD, PERM_SEED, POOL, flat_parameters

THRESHOLDS = (0.5, 0.8, 0.9, 0.94)


@functools.lru_cache(maxsize=1)
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The lab's data: ``x_train, x_test, y_train, y_test``, float64 digits, 20 % held out."""
    x, y = convnb.data.load_digits(dtype=np.float64)
    parts = convnb.data.train_test_split(x, y, test_fraction=0.2, seed=0)
    for part in parts:
        part.setflags(write=False)
    return parts


def perm() -> np.ndarray:
    """The lab's permutation of the 64 pixels of a digit."""
    return np.random.default_rng(PERM_SEED).permutation(64)


def shuffle_pixels(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The pixels of every image of ``x`` ``(N, C, H, W)`` in the order ``p`` (H*W,)."""
    N, C = x.shape[:2]
    return np.ascontiguousarray(x.reshape(N, C, -1)[:, :, p].reshape(x.shape))


def _split(values: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    sizes = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]
    return [part.reshape(s) for part, s in zip(np.split(values, sizes), shapes, strict=True)]


def parameter_count(shapes: Sequence[tuple[int, ...]]) -> int:
    """How many numbers parameters of ``shapes`` hold."""
    return sum(int(np.prod(s)) for s in shapes)


def cnn_logits(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = _split(values, CNN_SHAPES)
    h = np.maximum(convnb.conv2d(x, w1, b1, padding=PAD), 0)
    return convnb.max_pool2d(h, POOL).reshape(len(x), -1) @ w2.T + b2


def mlp_logits(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2 = _split(values, MLP_SHAPES)
    return np.maximum(x.reshape(len(x), -1) @ w1.T + b1, 0) @ w2.T + b2


def heldout_accuracy(logits: Callable[..., np.ndarray], values: np.ndarray,
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
    if values.ndim != 1 or values.dtype.kind != "f" or values.size != parameter_count(shapes):
        return Assessment(None, False, f"{what} has {values.size} parameters; the lab's network "
                          f"has {parameter_count(shapes)} (shapes {list(shapes)})")
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
        acc = heldout_accuracy(cnn_logits, values)
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
    return flat_parameters(model)


def _threshold_case(threshold: float) -> Case:
    return Case((threshold,), f"the requirement: test accuracy at least {threshold}", 0)


check_cnn_accuracy = register(Check(
    name="check_cnn_accuracy", function="cnn (trained)",
    forbidden=FORBIDDEN,
    reference=AccuracyAtLeast, draw=None, fixed=tuple(map(_threshold_case, THRESHOLDS)),
    result=ScoreResult("the trained CNN's parameters, which classify the held-out digits at "
                       "least as well as required"),
    call=_record_cnn,
    diagnosers=[
        Diagnoser("accuracy_near_chance", lambda t: Band(AccuracyAtLeast(t), 0.0, 0.2)),
        Diagnoser("accuracy_low", lambda t: Band(AccuracyAtLeast(t), 0.2, 1.0)),
    ],
))
