"""The lectures' experiments as functions that return their numbers (the book plots them).

* :func:`pixel_shuffle_experiment` (lecture 004): an MLP ignores the layout of an image, a CNN
  depends on it.
* :func:`bright_squares`: a small synthetic segmentation task, every pixel labelled, for
  :class:`~convnb.nn.models.EncoderDecoder`.
"""

from __future__ import annotations

import numpy as np

from .data import load_digits, train_test_split
from .nn import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, manual_seed
from .nn.init import get_rng
from .nn.models import lenet5, mlp
from .train import blas_threads, fit, lenet_input, standardize
from .types import RngLike

__all__ = ["bright_squares", "gap_cnn", "pixel_shuffle_experiment", "shuffle_pixels"]

CNNS = ("gap", "lenet5")


def gap_cnn(num_classes: int = 10, in_channels: int = 1, rng: RngLike = None) -> Sequential:
    """A small CNN for 8x8 images that ends in global average pooling, no fully connected layer
    over positions (as in Network in Network, Lin et al. 2014, and ResNet)::

        conv 3x3 (16) -> ReLU -> conv 3x3 (32) -> ReLU -> max pool 2x2     # 8x8 -> 4x4
        conv 3x3 (32) -> ReLU -> average over the 4x4 positions -> Linear(32, num_classes)

    Every number it classifies with is a local pattern pooled over the image, so it leans on
    neighbouring pixels belonging together more than LeNet-5 does.

    Shapes: x (N, in_channels, 8, 8) -> logits (N, num_classes)
    """
    rng = get_rng(rng)
    return Sequential(
        Conv2d(in_channels, 16, 3, padding=1, rng=rng), ReLU(),
        Conv2d(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(32, 32, 3, padding=1, rng=rng), ReLU(), AvgPool2d(4),
        Flatten(), Linear(32, num_classes, rng=rng),
    )


def shuffle_pixels(x: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Move pixel ``permutation[k]`` of every image to position ``k`` (row-major), the same
    permutation in every image and channel.

    Shapes: x (N, C, H, W), permutation (H*W,) -> (N, C, H, W)
    """
    N, C, H, W = x.shape
    return x.reshape(N, C, H * W)[:, :, permutation].reshape(N, C, H, W)


def pixel_shuffle_experiment(epochs: int = 10, seed: int = 0, n_train: int | None = None,
                             cnn: str = "gap", progress: bool = False,
                             threads: int | None = 1) -> dict[tuple[str, str], float]:
    """Train an MLP and a CNN on the digits, as they are and with their pixels shuffled.

    One random permutation of the 64 pixel positions (drawn from ``seed``) is applied to every
    image, training and test alike: a shuffled digit no longer looks like a digit, but it holds
    exactly the same numbers. Each model is trained both ways from the same initial weights
    (``manual_seed(seed)``), with :func:`~convnb.train.run`'s recipe (standardised pixels, SGD
    with momentum 0.9 at learning rate 0.03, batches of 16, a cosine schedule) but without its
    random shifts, which presume the very locality under test; on the same stratified 80% (the
    first ``n_train`` of it, if given), and tested on the same 20%.

    What to expect, and why:

    * The MLP's accuracy barely moves. Its first layer computes ``W @ x`` and treats the pixels
      as an unordered list: shuffling the pixels is shuffling the columns of ``W``, so the
      weights that solve the shuffled task are the original solution with its columns shuffled,
      every bit as good, and gradient descent finds one as easily as the other (the initial
      weights are drawn independently per entry, so their columns are no better suited to
      either order). What moves is noise, a point or so.
    * The CNN's accuracy drops. A convolution combines a pixel only with its neighbours, with
      the same weights everywhere (locality and weight sharing): priors that help exactly when
      neighbouring pixels belong together, as strokes do. After the shuffle neighbours are
      unrelated, the local patterns it can detect carry little information, and what it
      learns it learns more slowly and generalises worse.

    ``cnn="gap"`` is :func:`gap_cnn`, which classifies pooled local features only; with
    ``cnn="lenet5"`` (on :func:`~convnb.train.lenet_input`'s 28x28 upsampling of the shuffled
    8x8 digits) the drop is smaller and noisier, from half a point to two points between runs
    that differ only in rounding: LeNet's fully connected 400 -> 120 layer sees every position,
    like an MLP, and absorbs some of the shuffle.

    With ``seed=0`` and 10 epochs (measured 2026-11-28, and the same on 2026-11-29 with
    OpenBLAS's Haswell kernels): MLP 97.2% -> 96.4%, CNN 97.2% -> 94.4%; after 4 epochs the
    CNN's gap is wider, 93.1% -> 78.9%, the MLP's not (96.4% -> 95.6%). LeNet-5 moves with the
    rounding: 96.4% -> 96.1% with the Haswell kernels (2026-11-29), 95.8% -> 95.3% with the
    SkylakeX ones (2026-11-28), 98.1% -> 95.8% on 2026-11-27, before the convolutions summed in
    another order.

    Returns ``{(model, data): test accuracy}`` for model in ("mlp", "cnn") and data in
    ("original", "shuffled").
    """
    if cnn not in CNNS:
        raise ValueError(f"pixel_shuffle_experiment: cnn must be one of {CNNS}, got {cnn!r}")
    x, y = load_digits()
    permutation = np.random.default_rng(seed).permutation(x.shape[2] * x.shape[3])
    variants = {"original": x, "shuffled": shuffle_pixels(x, permutation)}
    builders = {"mlp": lambda: mlp(64, (128,), 10),
                "cnn": (lambda: gap_cnn()) if cnn == "gap" else (lambda: lenet5())}
    results = {}
    for model_name, build in builders.items():
        for data_name, images in variants.items():
            if model_name == "cnn" and cnn == "lenet5":
                images = lenet_input(images)
            x_train, x_test, y_train, y_test = train_test_split(images, y, 0.2, seed=seed)
            x_train, y_train = x_train[:n_train], y_train[:n_train]
            x_train, x_test = standardize(x_train, x_test)
            manual_seed(seed)
            with blas_threads(threads):
                history = fit(build(), (x_train, y_train), (x_test, y_test), epochs=epochs,
                              batch_size=16, lr=0.03, lr_schedule="cosine", seed=seed,
                              progress=progress)
            results[model_name, data_name] = history.test_accuracy[-1]
    return results


def bright_squares(n: int = 256, size: int = 16, seed: int = 0,
                   noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic segmentation: one bright square on Gaussian noise per image, and a mask saying
    which pixels belong to it.

    Each image is noise of standard deviation ``noise`` plus 1 inside one axis-aligned square
    of side ``size // 4`` to ``size // 2``, placed uniformly at random. The label of a pixel is
    1 inside the square and 0 outside: the background is the majority (about 86% of the pixels
    for the defaults), which is the accuracy of a model that always says "background".

    Shapes: -> x (n, 1, size, size) float32, y (n, size, size) int64
    """
    rng = np.random.default_rng(seed)
    y = np.zeros((n, size, size), dtype=np.int64)
    for k in range(n):
        side = int(rng.integers(size // 4, size // 2 + 1))
        top, left = rng.integers(0, size - side + 1, size=2)
        y[k, top:top + side, left:left + side] = 1
    x = y[:, None] + noise * rng.standard_normal((n, 1, size, size))
    return x.astype(np.float32), y
