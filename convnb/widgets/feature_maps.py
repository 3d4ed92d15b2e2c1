r"""What a trained LeNet-5 computes on a digit, layer by layer (chapter 09).

The weights ship with the package (``lenet5_digits.npz``, 61,706 float32 numbers, 249 KB): they
are exactly what the course's training command writes with its defaults (seed 0, 15 epochs,
about 3 s on one core), on OpenBLAS's Haswell kernels (:data:`convnb.train.REPRODUCIBLE_BLAS`),
with the NumPy and OpenBLAS of :data:`MADE_WITH`, in a POSIX shell::

    OPENBLAS_CORETYPE=Haswell python -m convnb train --model lenet5 --dataset digits \
        --save convnb/widgets/lenet5_digits.npz

Shipping them rather than training on first use keeps the book's build (which executes every
chapter on every build, each time on a clean machine) from spending that time and depends on
no cache. The test suite retrains them and checks that the command reproduces them bit for bit
on x86-64 machines with AVX2 and FMA and those versions; other kernels, or another OpenBLAS,
may round differently and train another network.
They classify 350 of the 360 held-out digits correctly (97.2%), the held-out 20% being the one
:func:`convnb.train.run` draws with seed 0.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..data import load_digits, train_test_split
from ..nn.models import lenet5
from ..train import lenet_input, standardize
from ._core import Explorer, Frame, choice_axis
from ._draw import figure, png_img

__all__ = ["ACCURACY", "MADE_WITH", "WEIGHTS", "digits_split", "feature_maps", "layer_outputs",
           "load_model"]

WEIGHTS = Path(__file__).with_name("lenet5_digits.npz")
ACCURACY = 350 / 360  # of the shipped weights on the held-out split (97.2%)
MADE_WITH = {"numpy": "2.4.6", "openblas": "0.3.31.188.0"}  # what trained them
TRAIN_COMMAND = ("OPENBLAS_CORETYPE=Haswell python -m convnb train --model lenet5 "
                 "--dataset digits --save convnb/widgets/lenet5_digits.npz")

# What each stage of the Sequential is called in the picture, and which index ends it.
STAGES = (("conv1", 1, "conv1 + ReLU"), ("pool1", 2, "max pool 2x2"),
          ("conv2", 4, "conv2 + ReLU"), ("pool2", 5, "max pool 2x2"),
          ("fc1", 8, "fc1 + ReLU"), ("fc2", 10, "fc2 + ReLU"), ("logits", 11, "fc3: scores"))
# Maps per row when a layer's maps are tiled, and CSS pixels per activation.
TILING = {"conv1": (6, 2), "pool1": (6, 4), "conv2": (8, 5), "pool2": (8, 8)}
UNITS = {"fc1": (6, 20), "fc2": (4, 21)}  # rows x columns of the fully connected units


def load_model(weights: str | Path | None = None) -> Any:
    """LeNet-5 (:func:`convnb.nn.models.lenet5`, 10 classes) with the shipped weights, or those
    saved at ``weights`` by ``python -m convnb train --model lenet5 --dataset digits --save``,
    in eval mode. Building it draws no numbers from the global generator."""
    path = WEIGHTS if weights is None else Path(weights)
    if not path.is_file():
        hint = f"; make it with: {TRAIN_COMMAND}" if weights is None else ""
        raise FileNotFoundError(f"feature_maps: the weights file {path} does not exist{hint}")
    model = lenet5(rng=0)  # a private generator: the random start is overwritten anyway
    try:
        model.load(path)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"feature_maps: {path} does not hold LeNet-5 weights for the digits "
                         f"({err})") from err
    return model.eval()


def digits_split() -> tuple[np.ndarray, np.ndarray]:
    """The held-out 20% of the digits, exactly as ``python -m convnb train`` prepares them
    (:func:`convnb.train.run` with seed 0): upsampled to 28x28 by :func:`lenet_input` and
    standardised with the training part's mean and standard deviation.

    Shapes: -> x_test (360, 1, 28, 28) float32, y_test (360,) int64
    """
    x, y = load_digits()
    x_train, x_test, _, y_test = train_test_split(lenet_input(x), y, 0.2, seed=0)
    _, x_test = standardize(x_train, x_test)
    return x_test, y_test


def layer_outputs(model: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every stage's output of ``model`` for the batch ``x``, and the softmax probabilities.

    Shapes: x (N, 1, 28, 28) -> conv1 (N, 6, 28, 28), pool1 (N, 6, 14, 14),
    conv2 (N, 16, 10, 10), pool2 (N, 16, 5, 5), fc1 (N, 120), fc2 (N, 84), logits and
    probs (N, 10)
    """
    outputs, a, done = {}, x, 0
    for name, last, _ in STAGES:
        for layer in list(model)[done:last + 1]:
            a = layer(a)
        outputs[name], done = a, last + 1
    shifted = np.exp(a - a.max(axis=1, keepdims=True))  # softmax without overflow
    outputs["probs"] = shifted / shifted.sum(axis=1, keepdims=True)
    return outputs


def tile(maps: np.ndarray, per_row: int, gap_value: float) -> np.ndarray:
    """Maps laid out in rows of ``per_row``, one pixel of ``gap_value`` between them.

    Shapes: maps (C, H, W) -> (rows * (H + 1) - 1, per_row * (W + 1) - 1)
    """
    C, H, W = maps.shape
    rows = -(-C // per_row)
    out = np.full((rows * (H + 1) - 1, per_row * (W + 1) - 1), gap_value, dtype=np.float64)
    for k in range(C):
        r, c = divmod(k, per_row)
        out[r * (H + 1):r * (H + 1) + H, c * (W + 1):c * (W + 1) + W] = maps[k]
    return out


def picture(a: np.ndarray, per_row: int, zoom: int, alt: str,
            scale: str = "relu") -> tuple[str, np.ndarray, float, float]:
    """A grey PNG of the maps ``a`` tiled (white gaps), ``zoom`` CSS pixels per value.

    The grey scale runs from ``lo`` (black) to ``hi`` (white): 0 to the largest value
    (``"relu"``), symmetric around 0, which is then mid grey (``"signed"``, for weights), or
    the smallest to the largest value (``"range"``, for the standardised input).

    Shapes: a (C, H, W) -> img tag, the tiled image (what the PNG shows), lo, hi
    """
    top = float(np.abs(a).max()) or 1.0
    lo, hi = {"relu": (0.0, top), "signed": (-top, top),
              "range": (float(a.min()), float(a.max()))}[scale]
    tiled = tile(a, per_row, hi)
    return png_img(tiled, lo, hi, alt, tiled.shape[1] * zoom), tiled, lo, hi


def bars(probs: np.ndarray, pred: int) -> str:
    """An SVG bar chart of the ten class probabilities, the predicted class in orange.

    Shapes: probs (10,)
    """
    width, height, base = 22, 60, 74
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{10 * width}' height='{base + 16}' "
             f"viewBox='0 0 {10 * width} {base + 16}' role='img' aria-label='class probabilities'>"
             "<title>class probabilities</title>"
             f"<line x1='0' y1='{base}' x2='{10 * width}' y2='{base}' stroke='#888'/>"]
    for k, p in enumerate(probs):
        h = max(float(p) * height, 0.5)
        colour = "#e8590c" if k == pred else "#74a9cf"
        parts.append(f"<rect x='{k * width + 3}' y='{base - h:.1f}' width='{width - 6}' "
                     f"height='{h:.1f}' fill='{colour}'/><text x='{k * width + width / 2:g}' "
                     f"y='{base + 12}' font-size='11' text-anchor='middle'>{k}</text>")
    parts.append("</svg>")
    return "".join(parts)


def feature_maps(weights: str | Path | None = None) -> Explorer:
    """Pick a digit and see what a trained LeNet-5 computes from it, layer by layer.

    For one held-out example of each class 0-9 the student sees: the 28x28 input the network
    reads (the 8x8 digit upsampled and standardised), the six 5x5 filters of the first layer
    (grey is 0, white positive, black negative), the feature maps after each convolution (with
    ReLU) and each 2x2 max pool, the units of the two hidden fully connected layers, and the
    ten class probabilities as bars and as text with the scores and the predicted class. Each
    layer has its own grey scale, from 0 (black) to its largest activation (white).

    Parameters
    ----------
    weights : an ``.npz`` written by ``python -m convnb train --model lenet5 --dataset digits
        --save PATH`` (seed 0, so that the held-out split is the same); default the weights
        that ship with convnb (97.2% on the held-out digits).

    Shapes: input (1, 28, 28); conv1 (6, 28, 28), pool1 (6, 14, 14), conv2 (16, 10, 10),
    pool2 (16, 5, 5), fc1 (120,), fc2 (84,), scores (10,).
    """
    if weights is not None and not isinstance(weights, str | Path):
        raise TypeError(f"feature_maps: weights must be a path to an .npz file or None, got "
                        f"{type(weights).__name__}")
    model = load_model(weights)
    x_test, y_test = digits_split()
    chosen = [int(np.flatnonzero(y_test == d)[0]) for d in range(10)]
    outputs = layer_outputs(model, x_test[chosen])
    filters = model[0].weight.data[:, 0]
    silent = {name: np.flatnonzero(outputs[name].max(axis=(0, 2, 3)) <= 0) + 1
              for name in ("conv1", "conv2")}  # counted from 1, as a student counts the tiles
    dead_for_all = "; ".join(f"{name} maps {', '.join(map(str, maps))}"
                             for name, maps in silent.items() if len(maps))

    def render(digit: int) -> Frame:
        a = {name: out[digit] for name, out in outputs.items()}
        pred = int(np.argmax(a["logits"]))
        data: dict[str, Any] = {"index": chosen[digit], "label": digit, "pred": pred,
                                "input": x_test[chosen[digit], 0], "filters": filters, **a}
        img, data["input_image"], _, _ = picture(data["input"][None], 1, 4,
                                                 f"input: a held-out {digit}", "range")
        panels = [("input 28x28", img)]
        img, data["filters_image"], _, _ = picture(filters, 6, 8, "conv1 filters", "signed")
        panels.append(("conv1 filters, 6 of 5x5", img))
        for name, _, caption in STAGES[:4]:
            per_row, zoom = TILING[name]
            C, H, W = a[name].shape
            img, data[f"{name}_image"], _, _ = picture(
                a[name], per_row, zoom, f"{caption}: {C} maps of {H}x{W}")
            panels.append((f"{caption}: {C} of {H}x{W}", img))
        for name, _, caption in STAGES[4:6]:
            rows, cols = UNITS[name]
            img, data[f"{name}_image"], _, _ = picture(a[name].reshape(1, rows, cols), 1, 8,
                                                       f"{caption}: {a[name].size} units")
            panels.append((f"{caption}: {a[name].size} units", img))
        panels.append(("probabilities", bars(a["probs"], pred)))
        verdict = "right" if pred == digit else "wrong"
        dead = [f"{name} {int(np.sum(a[name].max(axis=(1, 2)) <= 0))} of {len(a[name])}"
                for name in ("conv1", "conv2")]
        lines = [
            f"held-out example #{chosen[digit]} (label {digit}): predicted {pred}, with "
            f"probability {a['probs'][pred]:.3f} ({verdict})",
            "scores: " + ", ".join(f"{k}: {s:.2f}" for k, s in enumerate(a["logits"])),
            "probabilities: " + ", ".join(f"{k}: {p:.2f}" for k, p in enumerate(a["probs"])),
            "grey: black is 0, white the layer's largest value for this digit:",
            "  " + ", ".join(f"{name} {a[name].max():.2f}" for name, _, _ in STAGES[:6]),
            "  input: black its lowest, white its highest value; filters: mid grey 0, white "
            "positive, black negative",
            f"maps that ReLU sets to 0 everywhere for this digit: {', '.join(dead)}",
        ]
        if dead_for_all:
            lines += [f"0 for all ten digits here (counted from 1): {dead_for_all};",
                      "  likely 'dead' ReLU units: a unit that gives 0 for every input passes no "
                      "gradient", "  back to its weights, so training cannot revive it"]
        text = "\n".join(lines)
        return Frame(figure(*panels, text=text), text, data)

    axis = choice_axis("digit", "digit", [(str(d), d) for d in range(10)], buttons=True)
    axis.control.style.button_width = "2.5em"
    return Explorer("LeNet-5 on a digit, layer by layer", render, [axis])
