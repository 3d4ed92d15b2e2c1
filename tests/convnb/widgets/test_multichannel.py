"""The multichannel explorer against the lecture's output volume, explicit loops written here and
PyTorch's conv2d."""

from __future__ import annotations

import html

import numpy as np
import pytest

from convnb.widgets.multichannel import multichannel, numbers

# The output volume of lecture 001 (the CS231n demo): out[0] and out[1], as the slide prints them.
LECTURE_OUT = np.array([
    [[3, 2, 11], [2, 12, 13], [-3, 6, 6]],
    [[-2, -3, 0], [-5, -3, 1], [-1, -2, 3]],
], dtype=float)


def loops(x, w, b, f, i, j):
    """out[f, i, j] and its per-channel sums, stride 2 and padding 1, by explicit loops."""
    C, H, W = x.shape
    sums = []
    for c in range(C):
        total = 0.0
        for u in range(3):
            for v in range(3):
                r, q = 2 * i - 1 + u, 2 * j - 1 + v
                if 0 <= r < H and 0 <= q < W:  # outside is the zero padding
                    total += x[c, r, q] * w[f, c, u, v]
        sums.append(total)
    return sum(sums) + b[f], sums


def test_the_lecture_numbers_give_the_lectures_output_volume():
    e = multichannel()
    x, w, b = numbers(0)
    assert x.shape == (3, 5, 5) and w.shape == (2, 3, 3, 3) and list(b) == [1, 0]
    for step in range(18):
        e.axes[0].control.value = step
        frame = e.current()
        f, (i, j) = step // 9, divmod(step % 9, 3)
        assert (frame.data["f"], frame.data["i"], frame.data["j"]) == (f, i, j)
        assert frame.data["out"] == LECTURE_OUT[f, i, j]
        out, sums = loops(x, w, b, f, i, j)
        assert out == LECTURE_OUT[f, i, j]
        np.testing.assert_array_equal(frame.data["channel_sums"], sums)
        channels = ", ".join(f"channel {c}: {s:g}" for c, s in enumerate(sums))
        assert f"{channels}, bias {b[f]:g} -> out[{f}, {i}, {j}] = {out:g}" in frame.text
        assert e.shown().value == frame.html
        assert html.escape(frame.text) in frame.html and "$" not in frame.html
        # the volume so far: every number up to this one, filter 0 first, row by row
        assert frame.data["filled"].sum() == step + 1 and frame.data["filled"][f, i, j]


def test_the_worked_example_in_the_text():
    e = multichannel()
    e.axes[0].control.value = 5  # out[0, 1, 2]: rows 1..3, cols 3..5 of the input
    text = e.current().text
    assert "window: rows 2..4, cols 4..6 of the padded input" in text
    assert "channel 0: 8, channel 1: 4, channel 2: 0, bias 1 -> out[0, 1, 2] = 13" in text
    assert "(5 + 2*1 - 1*(3-1) - 1) // 2 + 1 = 3" in text


@pytest.mark.parametrize("seed", [0, 1, 7, 4242])
def test_every_product_and_sum_matches_torch(seed):
    torch = pytest.importorskip("torch", reason="PyTorch's conv2d is the oracle")
    e = multichannel(seed)
    x, w, b = numbers(seed)
    assert set(np.unique(x)) <= {0, 1, 2} and set(np.unique(w)) <= {-1, 0, 1}
    expected = torch.nn.functional.conv2d(torch.tensor(x[None]), torch.tensor(w),
                                          torch.tensor(b), stride=2, padding=1)[0].numpy()
    xpad = np.zeros((3, 7, 7))
    xpad[:, 1:6, 1:6] = x
    for step in range(18):
        e.axes[0].control.value = step
        frame = e.current()
        f, i, j = frame.data["f"], frame.data["i"], frame.data["j"]
        assert frame.data["out"] == expected[f, i, j] == loops(x, w, b, f, i, j)[0]
        np.testing.assert_array_equal(frame.data["volume"], expected)
        window = xpad[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
        np.testing.assert_array_equal(frame.data["products"], window * w[f])


def test_the_numbers_box_draws_new_numbers_live():
    e = multichannel()
    e.axes[0].control.value = 10
    e.live["seed"].value = 3
    x, w, b = numbers(3)
    assert not np.array_equal(x, numbers(0)[0])
    frame = e.current()
    assert frame.data["out"] == loops(x, w, b, 1, 0, 1)[0]
    assert e.shown().value == frame.html


def test_every_precomputed_frame_is_what_render_gives():
    e = multichannel(5)
    assert len(e.frames) == 18 and e.axes[0].control.max == 17
    for (step,), frame in e.frames.items():
        assert e.render(step=step, **e.state()).html == frame.html


@pytest.mark.parametrize("seed", [-1, 10000, 2.0, True, "0"])
def test_bad_seed_is_named(seed):
    with pytest.raises(ValueError, match=f"multichannel: seed must be an int from 0 to 9999, "
                                         f"got {seed!r}"):
        multichannel(seed)
