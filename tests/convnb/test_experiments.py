"""The lectures' experiments: pixel shuffling hurts a CNN and not an MLP (lecture 004); the
synthetic segmentation data."""

from __future__ import annotations

import numpy as np

from convnb.experiments import bright_squares, gap_cnn, pixel_shuffle_experiment, shuffle_pixels


def test_shuffle_pixels_moves_the_same_pixels_in_every_image():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4).repeat(2, axis=0)
    permutation = np.random.default_rng(0).permutation(12)
    out = shuffle_pixels(x, permutation)
    assert out.shape == x.shape
    np.testing.assert_array_equal(out.reshape(2, 2, 12), x.reshape(2, 2, 12)[:, :, permutation])
    undo = shuffle_pixels(out, np.argsort(permutation))
    np.testing.assert_array_equal(undo, x)


def test_gap_cnn_has_no_layer_over_positions():
    model = gap_cnn(rng=0)
    assert model(np.zeros((2, 1, 8, 8), dtype=np.float32)).shape == (2, 10)
    assert model[-1].in_features == 32  # one number per channel, pooled over every position


def test_pixel_shuffle_hurts_the_cnn_not_the_mlp():
    """Small scale (4 epochs, about 3 s): the direction of lecture 004's effect."""
    acc = pixel_shuffle_experiment(epochs=4, seed=0)
    assert set(acc) == {(m, d) for m in ("mlp", "cnn") for d in ("original", "shuffled")}
    mlp_drop = acc["mlp", "original"] - acc["mlp", "shuffled"]
    cnn_drop = acc["cnn", "original"] - acc["cnn", "shuffled"]
    assert acc["mlp", "original"] > 0.9 and acc["cnn", "original"] > 0.75, acc
    assert abs(mlp_drop) <= 0.03, acc
    assert cnn_drop >= mlp_drop + 0.05, acc


def test_bright_squares_labels_the_bright_pixels():
    x, y = bright_squares(50, size=16, seed=3, noise=0.0)
    assert x.shape == (50, 1, 16, 16) and x.dtype == np.float32
    assert y.shape == (50, 16, 16) and y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0], y)
    sides = np.sqrt(y.sum(axis=(1, 2)))
    assert np.all(sides == np.round(sides)) and sides.min() >= 4 and sides.max() <= 8
    noisy, same = bright_squares(50, size=16, seed=3)
    np.testing.assert_array_equal(same, y)
    assert abs((noisy[:, 0] - y).std() - 0.5) < 0.02
