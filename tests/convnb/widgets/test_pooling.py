"""The pooling explorer: outputs against pooling written as loops here and against PyTorch, the
lecture's 4x4 example, stochastic pooling against its probabilities a / sum(a)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets", reason="the explorers need ipywidgets")
sk_datasets = pytest.importorskip("sklearn.datasets", reason="the digit comes from scikit-learn")

from convnb.widgets import pooling  # noqa: E402

LECTURE = [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]  # max-pooled 2x2/2: 6 8 / 3 4
SOURCES = ["lecture", "digit"]
KINDS = ["max", "average", "l2", "stochastic"]
REDUCE = {"max": np.max, "average": np.mean, "l2": lambda a: math.sqrt(float(np.sum(a * a)))}


@pytest.fixture(scope="module")
def explorer():
    return pooling()


def source_input(source: str, digit_index: int = 0) -> np.ndarray:
    if source == "lecture":
        return np.array(LECTURE, dtype=float)
    canvas = np.zeros((8, 12))
    canvas[:, 1:9] = sk_datasets.load_digits().images[digit_index]
    return canvas


def shifted(x: np.ndarray, shift: int) -> np.ndarray:
    """x rolled right by shift, the columns that came round set to zero."""
    out = np.roll(x, shift, axis=1)
    out[:, :shift] = 0
    return out


def windows(x: np.ndarray, window: int, stride: int):
    """(i, j, rows, cols, values) of every window, row by row."""
    H_out, W_out = (x.shape[0] - window) // stride + 1, (x.shape[1] - window) // stride + 1
    for i, j in itertools.product(range(H_out), range(W_out)):
        rows = range(i * stride, i * stride + window)
        cols = range(j * stride, j * stride + window)
        yield i, j, rows, cols, x[np.ix_(rows, cols)]


def pooled(kind: str, x: np.ndarray, window: int, stride: int) -> np.ndarray:
    H_out, W_out = (x.shape[0] - window) // stride + 1, (x.shape[1] - window) // stride + 1
    out = np.zeros((H_out, W_out))
    for i, j, _, _, a in windows(x, window, stride):
        out[i, j] = REDUCE[kind](a)
    return out


def select(e, source: int, kind: int, shift: int) -> None:
    e.axes[0].control.index = source
    e.axes[1].control.index = kind
    e.axes[2].control.value = shift


def test_the_lectures_example_gives_the_lectures_answer(explorer):
    select(explorer, 0, 0, 0)
    frame = explorer.current()
    np.testing.assert_array_equal(frame.data["out"], [[6, 8], [3, 4]])
    assert "output 2 x 2, H_out = (4 - 2) // 2 + 1 = 2" in frame.text
    assert "output cells changed by the shift: 0 of 4 (0%)" in frame.text
    assert explorer.shown().value == frame.html


@pytest.mark.parametrize(("source", "kind", "shift"),
                         list(itertools.product(range(2), range(3), range(4))))
def test_every_frame_pools_the_shifted_input(explorer, source, kind, shift):
    select(explorer, source, kind, shift)
    frame = explorer.current()
    x0 = source_input(SOURCES[source])
    x = shifted(x0, shift)
    out0, out = pooled(KINDS[kind], x0, 2, 2), pooled(KINDS[kind], x, 2, 2)
    np.testing.assert_array_equal(frame.data["x"], x)
    np.testing.assert_allclose(frame.data["out0"], out0, rtol=1e-12)
    np.testing.assert_allclose(frame.data["out"], out, rtol=1e-12)
    changed = int((np.abs(out - out0) > 1e-9).sum())
    assert f"output cells changed by the shift: {changed} of {out.size} " in frame.text
    assert f"input cells changed by the shift: {int((x != x0).sum())} of {x.size} " in frame.text
    assert explorer.shown().value == frame.html
    assert "$" not in frame.text and frame.text.splitlines()[-1] in frame.html


def test_max_pooling_changes_fewer_cells_than_average_pooling_for_a_one_pixel_shift(explorer):
    counts = {}
    for kind in (0, 1):
        select(explorer, 1, kind, 1)
        counts[KINDS[kind]] = int(explorer.current().data["changed"].sum())
    x0 = source_input("digit")
    expected = {k: int((np.abs(pooled(k, shifted(x0, 1), 2, 2) - pooled(k, x0, 2, 2)) > 1e-9)
                       .sum()) for k in ("max", "average")}
    assert counts == expected and counts["max"] < counts["average"]


def test_a_shift_of_one_stride_moves_the_output_one_column(explorer):
    select(explorer, 1, 2, 2)
    frame = explorer.current()
    np.testing.assert_allclose(frame.data["out"][:, 1:], frame.data["out0"][:, :-1], rtol=1e-12)
    assert ("the shift is 1 stride: after its first 1 column, the shifted output is the "
            "unshifted one moved 1 column right") in frame.text


def test_pytorch_agrees_on_every_kind_with_live_window_and_stride():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional oracle")
    import torch.nn.functional as F

    e = pooling()
    ops = {"max": F.max_pool2d, "average": F.avg_pool2d,
           "l2": lambda t, k, s: F.lp_pool2d(t, 2, k, s)}
    for window, stride in [(3, 1), (2, 1), (3, 2)]:
        e.live["window"].value, e.live["stride"].value = window, stride
        for source, kind, shift in itertools.product(range(2), range(3), (0, 3)):
            select(e, source, kind, shift)
            x = torch.tensor(shifted(source_input(SOURCES[source]), shift))[None, None]
            expected = ops[KINDS[kind]](x, window, stride)[0, 0].numpy()
            np.testing.assert_allclose(e.current().data["out"], expected, rtol=1e-12)
            assert f"window {window}x{window}, stride {stride}" in e.current().text
            assert e.shown().value == e.current().html


@pytest.mark.parametrize(("source", "shift"), list(itertools.product(range(2), range(4))))
def test_stochastic_pooling_outputs_one_input_of_each_window(explorer, source, shift):
    select(explorer, source, 3, shift)
    data = explorer.current().data
    x, W = data["x"], data["x"].shape[1]
    for i, j, rows, cols, a in windows(x, 2, 2):
        k = int(data["indices"][i, j])
        if a.sum() > 0:
            assert k // W in rows and k % W in cols and x[k // W, k % W] > 0
        assert data["out"][i, j] == x[k // W, k % W]


def test_stochastic_frequencies_follow_a_over_sum_a():
    e = pooling()
    x = np.array(LECTURE, dtype=float)
    draws = 1200
    picks = np.array([e.render(source="lecture", kind="stochastic", shift=0, window=2, stride=2,
                               seed=seed).data["indices"] for seed in range(draws)])
    for i, j, rows, cols, a in windows(x, 2, 2):
        for (r, c), value in zip(itertools.product(rows, cols), a.ravel(), strict=True):
            p = value / a.sum()
            freq = float(np.mean(picks[:, i, j] == r * 4 + c))
            assert abs(freq - p) < 4 * math.sqrt(p * (1 - p) / draws) + 1e-9, (i, j, r, c)


def test_the_same_seed_gives_the_same_frames_and_a_new_seed_new_draws():
    a, b = pooling(seed=7), pooling(seed=7)
    assert [f.html for f in a.frames.values()] == [f.html for f in b.frames.values()]
    select(a, 1, 3, 0)
    before = a.current().data["indices"].copy()
    a.live["seed"].value = 8
    assert "seed 8" in a.current().text
    assert not np.array_equal(a.current().data["indices"], before)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"window": 5}, "pooling: window must be an int from 2 to 4, got 5"),
    ({"stride": 0}, "pooling: stride must be an int from 1 to 4, got 0"),
    ({"digit_index": 1797}, "pooling: digit_index must be an int from 0 to 1796"),
    ({"seed": -1}, "pooling: seed must be an int"),
    ({"window": 2.0}, "pooling: window must be an int"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pooling(**kwargs)
