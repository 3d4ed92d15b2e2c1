"""The backprop explorer: every number it shows against oracles written here (centred numerical
gradients of a loss built from scipy.signal and explicit loops) and PyTorch's autograd."""

from __future__ import annotations

import html
import itertools
import re

import numpy as np
import pytest
from scipy.signal import correlate2d

ipywidgets = pytest.importorskip("ipywidgets", reason="the explorers need ipywidgets")

from convnb.widgets.backprop import DEFAULT_W, DEFAULT_X, backprop  # noqa: E402

VIEW_NAMES = ["dx", "dw", "switches"]


def forward(x, w, b, dout, padding, pool):
    """The loss sum(top * dout), with top the conv (scipy) and optional 2x2 max pool (loops)."""
    y = correlate2d(np.pad(x, padding), w, mode="valid") + b
    if not pool:
        return float(np.sum(y * dout))
    Hz, Wz = y.shape[0] // 2, y.shape[1] // 2
    z = np.array([[y[2 * a:2 * a + 2, 2 * c:2 * c + 2].max() for c in range(Wz)]
                  for a in range(Hz)])
    return float(np.sum(z * dout))


def numerical(f, a, eps=1e-3):
    """Centred differences of f at a, entry by entry (the loss is piecewise linear)."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        plus, minus = a.copy(), a.copy()
        plus[idx] += eps
        minus[idx] -= eps
        grad[idx] = (f(plus) - f(minus)) / (2 * eps)
    return grad


def oracle(x, w, dout, padding, pool):
    """(dx, dw, db) by numerical differentiation."""
    loss = lambda x_, w_, b_: forward(x_, w_, b_, dout, padding, pool)  # noqa: E731
    return (numerical(lambda a: loss(a, w, 0.0), x), numerical(lambda a: loss(x, a, 0.0), w),
            numerical(lambda a: loss(x, w, a[0]), np.zeros(1))[0])


def switches_by_loops(y):
    """Flat index r * W_out + c of each 2x2 window's maximum in y."""
    Hz, Wz = y.shape[0] // 2, y.shape[1] // 2
    out = np.zeros((Hz, Wz), dtype=int)
    for a, c in itertools.product(range(Hz), range(Wz)):
        r, s = np.unravel_index(np.argmax(y[2 * a:2 * a + 2, 2 * c:2 * c + 2]), (2, 2))
        out[a, c] = (2 * a + r) * y.shape[1] + 2 * c + s
    return out


def select(e, view, step):
    e.axes[0].control.index = e.axes[0].values({}).index(view)
    e.axes[1].control.value = step
    frame = e.current()
    assert e.shown().value == frame.html  # the widget the browser shows is this frame
    assert frame.text and all(html.escape(line) in frame.html for line in frame.text.splitlines())
    assert "$" not in frame.html
    return frame


def shown_numbers(frame, label):
    """The number after ``label = ... = `` at the end of the text line for ``label``."""
    line = next(s for s in frame.text.splitlines() if s.startswith(label))
    return float(re.match(r".* = (-?[\d.]+)", line.split("   (")[0]).group(1))


def default_dout(padding, pool):
    y = correlate2d(np.pad(DEFAULT_X, padding), DEFAULT_W, mode="valid")
    shape = (y.shape[0] // 2, y.shape[1] // 2) if pool else y.shape
    return np.resize([2, -1, 3, 1, -2, 1, 2, -3, 1], shape).astype(float)


def check_every_step(e, x, w, dout, padding, pool):
    """Each dx / dw step fills the entry the oracle computes, and the text shows its sum."""
    dx, dw, db = oracle(x, w, dout, padding, pool)
    for view, expected in (("dx", dx), ("dw", dw)):
        for step in range(expected.size):
            cell = divmod(step, expected.shape[1])
            frame = select(e, view, step)
            assert frame.data["cell"] == cell
            assert frame.data["sum"] == pytest.approx(expected[cell], abs=1e-6)
            assert sum(a * b for a, b in frame.data["terms"]) == pytest.approx(expected[cell],
                                                                                abs=1e-6)
            assert shown_numbers(frame, f"{view}[{cell[0]}, {cell[1]}]") == pytest.approx(
                expected[cell], rel=1e-5, abs=1e-6)
            np.testing.assert_allclose(frame.data[view], expected, atol=1e-6)
            if view == "dw":  # the dw view also sums db
                assert shown_numbers(frame, "db") == pytest.approx(db, rel=1e-5, abs=1e-6)
                assert frame.data["db"] == pytest.approx(db, abs=1e-6)


def test_default_steps_match_numerical_gradients():
    check_every_step(backprop(), DEFAULT_X, DEFAULT_W, default_dout(1, True), 1, True)


def test_a_worked_step_by_hand():
    """Step 8 of dx: padded delta window [[2, 0, 0], [0, 0, -1], [3, 0, 1]] (the switches of
    windows (0, 0), (0, 1), (1, 0), (1, 1) hold dout 2, -1, 3, 1) times the flipped kernel."""
    frame = select(backprop(), "dx", 7)
    assert frame.data["cell"] == (1, 2)
    np.testing.assert_array_equal(frame.data["window"], [[2, 0, 0], [0, 0, -1], [3, 0, 1]])
    np.testing.assert_array_equal(frame.data["flipped"], [[2, 0, -1], [-1, 1, 0], [0, 2, 1]])
    assert "dx[1, 2] = 2*2 + 0*0 + 0*(-1) + 0*(-1) + 0*1 + (-1)*0 + 3*0 + 0*2 + 1*1 = 5" \
        in frame.text


@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("pool", [True, False])
def test_other_geometries_match_numerical_gradients(padding, pool):
    rng = np.random.default_rng(padding + 10 * pool)
    x = rng.integers(-3, 4, size=(4, 6)).astype(float) + rng.uniform(-0.3, 0.3, (4, 6))
    w = rng.integers(-2, 3, size=(3, 2)).astype(float)
    y_shape = (4 + 2 * padding - 2, 6 + 2 * padding - 1)
    shape = (y_shape[0] // 2, y_shape[1] // 2) if pool else y_shape
    dout = rng.integers(-3, 4, size=shape).astype(float)
    e = backprop(x, w, dout, padding=padding, pool=pool)
    assert [label for label in e.axes[0].control.options] == (
        ["input gradient (dx)", "weight gradient (dw)"] + ["max-pool switches"] * pool)
    assert not e.live  # a given dout fixes the geometry
    check_every_step(e, x, w, dout, padding, pool)


def test_switches_match_loops_and_route_dout():
    e = backprop()
    y = correlate2d(np.pad(DEFAULT_X, 1), DEFAULT_W, mode="valid")
    expected = switches_by_loops(y)
    dout = default_dout(1, True)
    delta = np.zeros_like(y)
    for step in range(expected.size):
        a, c = divmod(step, expected.shape[1])
        frame = select(e, "switches", step)
        r, s = divmod(int(expected[a, c]), y.shape[1])
        assert frame.data["switch"] == (r, s) and frame.data["flat"] == expected[a, c]
        assert f"is y[{r}, {s}]" in frame.text and f"= {expected[a, c]})" in frame.text
        assert f"delta[{r}, {s}] = dout[{a}, {c}] = {dout[a, c]:g}" in frame.text
        assert frame.data["z"][a, c] == y[2 * a:2 * a + 2, 2 * c:2 * c + 2].max()
        delta[r, s] = dout[a, c]
    np.testing.assert_array_equal(frame.data["delta"], delta)
    assert "grey cells of y lie in no window" in frame.text  # 5x5 y: row 4, column 4 unused


def test_steps_past_a_view_end_show_its_result():
    e = backprop()
    assert e.axes[1].control.max == 24 and len(e.frames) == 3 * 25
    frame = select(e, "dw", 9)
    assert frame.data["complete"] == "dw" and "dw is complete after 9 steps" in frame.text
    assert "db = sum of the delta map = 2 + (-1) + 3 + 1 = 5" in frame.text
    frame = select(e, "switches", 24)
    assert "complete after 4 steps" in frame.text


def test_steps_are_numbered_as_the_slider_numbers_them():
    """From 0, as the slider and the other explorers count (the text said step 9 at 8)."""
    e = backprop()
    assert "step 8 of 0..24:" in select(e, "dx", 8).text
    assert "complete after 9 steps (0..8); step 24 shows the result" in select(e, "dw", 24).text


def test_pytorch_autograd_agrees():
    torch = pytest.importorskip("torch", reason="PyTorch is an optional oracle (test extra)")
    F = torch.nn.functional
    for padding in (0, 1, 2):
        e = backprop()
        if padding != 1:
            e.live["padding"].value = padding
        x = torch.tensor(DEFAULT_X[None, None], requires_grad=True)
        w = torch.tensor(DEFAULT_W[None, None], requires_grad=True)
        b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        y = F.conv2d(x, w, b, padding=padding)
        z, idx = F.max_pool2d(y, 2, return_indices=True)
        dout = torch.tensor(default_dout(padding, True)[None, None])
        (z * dout).sum().backward()
        dx, dw = x.grad[0, 0].numpy(), w.grad[0, 0].numpy()
        for step in range(25):
            i, j = divmod(step, 5)
            assert select(e, "dx", step).data["sum"] == pytest.approx(dx[i, j])
        for step in range(9):
            u, v = divmod(step, 3)
            frame = select(e, "dw", step)
            assert frame.data["sum"] == pytest.approx(dw[u, v])
            assert frame.data["db"] == pytest.approx(float(b.grad[0]))
        for step in range(idx.numel()):
            frame = select(e, "switches", step)
            assert frame.data["flat"] == idx.flatten()[step].item()


def test_live_padding_recomputes_every_frame():
    e = backprop()
    assert e.live["padding"].max == 2
    e.live["padding"].value = 0  # y is 3x3: a single pooling window
    check_every_step(e, DEFAULT_X, DEFAULT_W, default_dout(0, True), 0, True)
    assert "complete after 1 steps" in select(e, "switches", 1).text
    e.live["padding"].value = 2  # y is 7x7, the delta map is padded by 0 for dx
    check_every_step(e, DEFAULT_X, DEFAULT_W, default_dout(2, True), 2, True)
    assert "delta map padded by 0" in select(e, "dx", 3).html


def test_inputs_are_not_mutated():
    x, w = DEFAULT_X.copy() + 0.5, DEFAULT_W.copy()
    dout = np.ones((2, 2))
    before = x.copy(), w.copy(), dout.copy()
    e = backprop(x, w, dout)
    for step in range(25):
        select(e, "dx", step)
    for a, b in zip((x, w, dout), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"x": np.ones(5)}, ValueError, r"backprop: x must be a 2-D array with 2 to 8 .* got shape"),
    ({"x": np.ones((9, 9))}, ValueError, r"x must be a 2-D array with 2 to 8"),
    ({"x": [["a"]]}, TypeError, r"backprop: x must be a 2-D array of numbers, got list"),
    ({"w": np.full((2, 2), np.nan)}, ValueError, r"backprop: w must hold finite numbers"),
    ({"w": np.ones((6, 1))}, ValueError, r"w must not be larger than x"),
    ({"padding": 3}, ValueError, r"padding must be an int from 0 to 2 .* got 3"),
    ({"padding": 1.0}, ValueError, r"padding must be an int"),
    ({"pool": "yes"}, TypeError, r"backprop: pool must be True or False, got 'yes'"),
    ({"dout": np.ones((3, 3))}, ValueError,
     r"dout must have the shape of the pooled output z, \(2, 2\), got \(3, 3\)"),
    ({"dout": np.ones((2, 2)), "pool": False}, ValueError, r"conv output y, \(5, 5\)"),
    ({"x": np.ones((3, 3)), "padding": 0}, ValueError, r"conv output is 1x1, too small"),
])
def test_bad_arguments_raise_clearly(kwargs, error, message):
    with pytest.raises(error, match=message):
        backprop(**kwargs)


def test_the_padding_slider_offers_only_paddings_the_pool_fits():
    x = np.arange(9.0).reshape(3, 3) % 4 + np.eye(3) / 10  # no ties in the pooling windows
    e = backprop(x, DEFAULT_W, padding=2)
    assert (e.live["padding"].min, e.live["padding"].max) == (1, 2)  # padding 0 leaves 1x1
    e.live["padding"].value = 1
    check_every_step(e, x, DEFAULT_W, np.resize([2.0, -1, 3, 1], (1, 1)), 1, True)
    assert "max-pool switch" in e.children[4].value
    assert "max-pool switch" not in backprop(pool=False).children[4].value


def test_a_dout_as_large_as_the_conv_output():
    """Without a pool, dout has y's shape, which padding makes larger than x (here 10x10)."""
    rng = np.random.default_rng(5)
    x = rng.integers(-3, 4, size=(8, 8)).astype(float)
    w = rng.integers(-2, 3, size=(3, 3)).astype(float)
    dout = rng.integers(-3, 4, size=(10, 10)).astype(float)
    check_every_step(backprop(x, w, dout, padding=2, pool=False), x, w, dout, 2, False)
