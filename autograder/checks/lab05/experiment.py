"""The pixel-shuffle experiment: ``shuffle_pixels``, and the claims that four trained models
(a CNN and an MLP, each on real and on shuffled pixels) show, measured by the grader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..common import arange_grid, rounded_normal
from ..compare import ArrayResult, ResultError
from ..core import Case, Check, Diagnoser
from ..registry import register
from ..scored import Assessment, Band, ScoreResult
from .given import CNN_SHAPES, FORBIDDEN, MLP_SHAPES, flat_parameters
from .models import (
    NOT_RUN,
    cnn_logits,
    heldout_accuracy,
    mlp_logits,
    parameter_count,
    shuffle_pixels,
)

EXPERIMENT = ("cnn", "cnn_shuffled", "mlp", "mlp_shuffled")
# The pixel-shuffle claims: an MLP trained on shuffled pixels is as good as on real ones (within
# MLP_SAME, both at least MLP_LEARNED); the CNN loses at least CNN_DROP, while its shuffled model
# still learned (at least SHUFFLED_LEARNED: it saw the same permutation as the test digits).
MLP_SAME, MLP_LEARNED, CNN_DROP, SHUFFLED_LEARNED = 0.03, 0.85, 0.01, 0.6


def _shuffle_case(x: np.ndarray, p: np.ndarray) -> Case:
    return Case((x, p), f"x {x.shape}, perm {p.tolist()}", x.size)


def _draw_shuffle(rng: np.random.Generator) -> Case:
    N, C, H, W = (int(n) for n in rng.integers([1, 1, 2, 2], [4, 3, 5, 5]))
    return _shuffle_case(rounded_normal(rng, N, C, H, W), rng.permutation(H * W))


check_shuffle_pixels = register(Check(
    name="check_shuffle_pixels", function="shuffle_pixels(x, perm)", reference=shuffle_pixels,
    forbidden=FORBIDDEN,
    draw=_draw_shuffle,
    fixed=(_shuffle_case(arange_grid(2, 1, 2, 2), np.array([3, 0, 2, 1])),
           _shuffle_case(arange_grid(1, 2, 2, 3), np.array([5, 4, 0, 1, 2, 3]))),
    result=ArrayResult(),
    diagnosers=[Diagnoser("shuffle_inverse", lambda x, p: shuffle_pixels(x, np.argsort(p)))],
))

SHAPES = {"cnn": CNN_SHAPES, "mlp": MLP_SHAPES}
LOGITS = {"cnn": cnn_logits, "mlp": mlp_logits}


def record_experiment(models: Any, claim: str) -> np.ndarray:
    """What the check records of the student's ``models`` (a dict by :data:`EXPERIMENT` key):
    the four models' parameters, joined in that order."""
    if models is None:
        raise ResultError(f"models {NOT_RUN}")
    if not isinstance(models, dict) or set(models) != set(EXPERIMENT):
        raise ResultError(f"pass a dictionary with the keys {list(EXPERIMENT)}")
    parts = []
    for key in EXPERIMENT:
        values, network = flat_parameters(models[key]), key.split("_")[0]
        if values.size != parameter_count(SHAPES[network]):
            raise ResultError(f"models[{key!r}] has {values.size} parameters; the lab's "
                              f"{network} has {parameter_count(SHAPES[network])}")
        parts.append(values)
    return np.concatenate(parts)


def experiment_accuracies(values: np.ndarray) -> dict[str, float] | Assessment:
    """Each model's held-out accuracy (0 for parameters that are not finite), by
    :data:`EXPERIMENT` key, from recorded ``values``; an :class:`Assessment` when they are not
    the four models' parameters."""
    sizes = [parameter_count(SHAPES[key.split("_")[0]]) for key in EXPERIMENT]
    if values.ndim != 1 or values.dtype.kind != "f" or values.size != sum(sizes):
        return Assessment(None, False, f"{values.size} parameters were recorded for the four "
                          f"models; the lab's networks have {sum(sizes)}")
    parts = np.split(values, np.cumsum(sizes)[:-1])
    return {key: heldout_accuracy(LOGITS[key.split("_")[0]], part, key.endswith("shuffled"))
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
        acc = experiment_accuracies(values)
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
        acc = experiment_accuracies(values)
        if isinstance(acc, Assessment):
            return acc
        return Assessment(acc[f"{self.claim}_shuffled"], True)


def _claim_case(claim: str) -> Case:
    text = {"mlp": "the MLP does not care about the order of the pixels",
            "cnn": "the CNN loses accuracy when the pixels are shuffled"}
    return Case((claim,), f"the claim: {text[claim]}", 0)


check_shuffle_experiment = register(Check(
    name="check_shuffle_experiment", function="models (trained)",
    forbidden=FORBIDDEN,
    reference=ShuffleClaim, draw=None, fixed=(_claim_case("mlp"), _claim_case("cnn")),
    result=ScoreResult("the models' parameters, whose accuracies (measured by the grader) show "
                       "the claim"),
    call=record_experiment,
    diagnosers=[
        Diagnoser("shuffle_models_mixed_up", lambda c: Band(ShuffledLearned(c), 0.0, 0.6)),
        Diagnoser("shuffle_cnn_no_drop", lambda c: Band(ShuffleClaim(c), -1.0, CNN_DROP)
                  if c == "cnn" else None),
        *(Diagnoser("shuffle_mlp_changed", lambda c, low=low, high=high: Band(
            ShuffleClaim(c), low, high) if c == "mlp" else None)
          for low, high in ((MLP_SAME, 1.0), (-1.0, -MLP_SAME))),
    ],
))
