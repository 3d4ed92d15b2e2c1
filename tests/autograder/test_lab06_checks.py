"""lab06's checks without nbgrader: the notebook's solution passes every seed, the classic mistakes
lose points and get their hint, the random cases stay valid, and the lectures' numbers hold."""

from __future__ import annotations

import numpy as np
import pytest
from nbgrader_course import assert_check_catches, hidden_calls, lab_notebook, run_solutions

import convnb
from autograder.checks import lab06

NB = lab_notebook("lab06_variants")
SOL = run_solutions(NB)
HIDDEN = hidden_calls(NB)
CHECKS = {name: getattr(lab06, name) for name in lab06.__all__}


def test_every_check_has_a_hidden_test_and_the_points_add_up():
    assert set(HIDDEN) == set(CHECKS)
    assert sum(call.points for call in HIDDEN.values()) == 20
    assert "20 points" in NB.cells[0].source
    assert "07_variants" in NB.cells[0].source


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_solution_passes_the_visible_and_many_random_cases(name):
    fn = SOL[name.removeprefix("check_")]
    for seed in (None, HIDDEN[name].seed, 0, 1, 2, 3, 4, 5, 6, 7):
        ev = CHECKS[name].evaluate(fn, seed)
        assert not ev.failing, (seed, [ev.verdicts[i].problem for i in ev.failing])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_an_unwritten_function_scores_zero(name, capsys):
    def unwritten(*args):
        raise NotImplementedError()

    assert CHECKS[name](unwritten, seed=HIDDEN[name].seed, points=HIDDEN[name].points) == 0
    assert "not written yet" in capsys.readouterr().out


def test_the_lectures_numbers():
    """Dilated 3 x 3 stacks see 3, 7, 15, 31 pixels; upsampling weights repeat pixels."""
    assert [SOL["receptive_field"](stack) for stack in lab06.STACKS] == [3, 7, 15, 31]
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    up = convnb.conv_transpose2d(x, lab06.upsample_weights(2, 3), stride=3)
    np.testing.assert_array_equal(up, x.repeat(3, axis=2).repeat(3, axis=3))
    assert SOL["separable_params"](32, 64, 3) == convnb.depthwise_separable_params(
        32, 64, 3, bias=True) == 32 * 9 + 32 + 32 * 64 + 64


# --- Wrong answers, written the ways students write them ------------------------------------------

def _pad(a, p):
    return np.pad(a, ((0, 0), (0, 0), (p, p), (p, p)))


def _correlate(x, kernels, stride=1):
    """Valid multi-channel correlation with loops: kernels (F, C, KH, KW)."""
    KH, KW = kernels.shape[2:]
    rows, cols = (x.shape[2] - KH) // stride + 1, (x.shape[3] - KW) // stride + 1
    out = np.zeros((x.shape[0], kernels.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = x[:, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
            out[:, :, i, j] = np.tensordot(window, kernels, axes=([1, 2, 3], [1, 2, 3]))
    return out


def _transpose_as_correlation(x, w, stride=1, pad=0, flip=True, spread=True):
    """The transposed convolution as a forward one: zeros between the pixels (or, wrongly, the
    stride of a forward pass), 'full' padding, the kernels' channel axes swapped."""
    KH, KW = w.shape[2:]
    kernels = w.transpose(1, 0, 2, 3)
    kernels = kernels[:, :, ::-1, ::-1] if flip else kernels
    if spread:
        spaced = np.zeros((*x.shape[:2], (x.shape[2] - 1) * stride + 1,
                           (x.shape[3] - 1) * stride + 1))
        spaced[:, :, ::stride, ::stride] = x
        full = _correlate(np.pad(spaced, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1))),
                          kernels)
        return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]
    padded = np.pad(x, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))
    return _correlate(padded[:, :, pad:padded.shape[2] - pad, pad:padded.shape[3] - pad],
                      kernels, stride)


def _stamps(x, w, stride=1, pad=0, step=None):
    """The solution's stamping loops with the stamps' spacing open to mistakes."""
    (N, _, H, W), (_, F, KH, KW) = x.shape, w.shape
    step = stride if step is None else step
    full = np.zeros((N, F, (H - 1) * stride + KH, (W - 1) * stride + KW))
    for i in range(H):
        for j in range(W):
            full[:, :, i * step:i * step + KH, j * step:j * step + KW] += np.tensordot(
                x[:, :, i, j], w, axes=([1], [0]))
    return full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]


def _dilated(x, w, dilation=1, pad=0, tap=None, jump=1, span=None):
    """Dilated convolution with loops: tap spacing, window jump and output size open to
    mistakes."""
    tap = dilation if tap is None else tap
    F, _, KH, KW = w.shape
    xpad = _pad(x, pad)
    span = (lambda k: tap * (k - 1) + 1) if span is None else span
    rows = (xpad.shape[2] - span(KH)) // jump + 1
    cols = (xpad.shape[3] - span(KW)) // jump + 1
    out = np.zeros((x.shape[0], F, rows, cols))
    for i in range(rows):
        for j in range(cols):
            window = xpad[:, :, i * jump:i * jump + tap * (KH - 1) + 1:tap,
                          j * jump:j * jump + tap * (KW - 1) + 1:tap]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out


def _field(layers, grow, jump_first=False, dilation_in_jump=False):
    size, jump = 1, 1
    for k, s, d in layers:
        factor = s * d if dilation_in_jump else s
        if jump_first:
            jump *= factor
        size += grow(k, d) * jump
        if not jump_first:
            jump *= factor
    return size


def _depthwise_mixing(x, w_depth, w_point, pad=0):
    xpad = _pad(x, pad)
    C = x.shape[1]
    depth = _correlate(xpad, np.repeat(w_depth, C, axis=1))  # every kernel over every channel
    return np.einsum("nchw,fc->nfhw", depth, w_point[:, :, 0, 0])


def _depthwise_only(x, w_depth, w_point, pad=0):
    xpad, C = _pad(x, pad), x.shape[1]
    return np.concatenate([_correlate(xpad[:, c:c + 1], w_depth[c:c + 1]) for c in range(C)],
                          axis=1)


MISTAKES = {
    "conv_transpose pads the input": (
        "check_conv_transpose", lambda x, w, stride=1, pad=0: _stamps(_pad(x, pad), w, stride),
        "tconv_pad_added"),
    "conv_transpose pads the output": (
        "check_conv_transpose", lambda x, w, stride=1, pad=0: _pad(_stamps(x, w, stride), pad),
        "tconv_pad_added"),
    "conv_transpose without the flip": (
        "check_conv_transpose",
        lambda x, w, stride=1, pad=0: _transpose_as_correlation(x, w, stride, pad, flip=False),
        "tconv_not_flipped"),
    "conv_transpose with a forward stride": (
        "check_conv_transpose",
        lambda x, w, stride=1, pad=0: _transpose_as_correlation(x, w, stride, pad, spread=False),
        "tconv_forward_stride"),
    "conv_transpose stamps one pixel apart": (
        "check_conv_transpose", lambda x, w, stride=1, pad=0: _stamps(x, w, stride, pad, step=1),
        "tconv_stride_ignored"),
    "upsampling mixes channels": ("check_upsample_weights",
                                  lambda C, factor: np.ones((C, C, factor, factor)),
                                  "upsample_mixes_channels"),
    "dilation as a stride": ("check_dilated_conv",
                             lambda x, w, dilation=1, pad=0: _dilated(x, w, 1, pad, jump=dilation),
                             "dilation_as_stride"),
    "taps dilation + 1 apart": (
        "check_dilated_conv",
        lambda x, w, dilation=1, pad=0: _dilated(x, w, dilation, pad, tap=dilation + 1),
        "dilation_plus_one"),
    "dilated kernel spans d*k": (
        "check_dilated_conv",
        lambda x, w, dilation=1, pad=0: _dilated(x, w, dilation, pad, span=lambda k: dilation * k),
        "dilation_span_dk"),
    "dilation ignored": ("check_dilated_conv",
                         lambda x, w, dilation=1, pad=0: _dilated(x, w, 1, pad),
                         "dilation_ignored"),
    "field grows by d*k - 1": ("check_receptive_field",
                               lambda layers: _field(layers, lambda k, d: d * k - 1), "rf_dk"),
    "field without the jump": (
        "check_receptive_field",
        lambda layers: 1 + sum(d * (k - 1) for k, s, d in layers), "rf_jump_ignored"),
    "jump updated first": (
        "check_receptive_field",
        lambda layers: _field(layers, lambda k, d: d * (k - 1), jump_first=True), "rf_jump_early"),
    "dilation as a stride in the jump": (
        "check_receptive_field",
        lambda layers: _field(layers, lambda k, d: k - 1, dilation_in_jump=True),
        "rf_dilation_as_stride"),
    "field without dilation": ("check_receptive_field",
                               lambda layers: _field(layers, lambda k, d: k - 1),
                               "dilation_ignored"),
    "depthwise step mixes channels": ("check_depthwise_separable", _depthwise_mixing,
                                      "dsep_mixes_channels"),
    "pointwise step forgotten": ("check_depthwise_separable", _depthwise_only,
                                 "sep_no_pointwise"),
    "depthwise kernels flipped": (
        "check_depthwise_separable",
        lambda x, wd, wp, pad=0: SOL["depthwise_separable"](x, wd[:, :, ::-1, ::-1], wp, pad),
        "flipped"),
    "params without biases": ("check_separable_params",
                              lambda ci, co, k: ci * k * k + ci * co, "sep_no_bias"),
    "params without the depthwise biases": (
        "check_separable_params", lambda ci, co, k: ci * k * k + ci * co + co, "sep_one_bias"),
    "params without the pointwise step": (
        "check_separable_params", lambda ci, co, k: ci * k * k + ci, "sep_no_pointwise"),
    "params of a full depthwise step": (
        "check_separable_params", lambda ci, co, k: ci * ci * k * k + ci + ci * co + co,
        "sep_full_depthwise"),
    "macs without the pointwise step": (
        "check_separable_macs", lambda ci, co, k, h, w: ci * k * k * h * w, "sep_no_pointwise"),
    "macs of a full depthwise step": (
        "check_separable_macs", lambda ci, co, k, h, w: (ci * ci * k * k + ci * co) * h * w,
        "sep_full_depthwise"),
    "macs of one position": (
        "check_separable_macs", lambda ci, co, k, h, w: ci * k * k + ci * co, "macs_no_positions"),
}


def test_the_wrong_answers_helpers_are_right_where_they_should_be():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(3, 2, 3, 2))
    right = convnb.conv_transpose2d(x, w, stride=2, padding=1)
    np.testing.assert_allclose(_transpose_as_correlation(x, w, 2, 1), right)
    np.testing.assert_allclose(_stamps(x, w, 2, 1), right)
    wf = rng.normal(size=(2, 3, 2, 3))
    np.testing.assert_allclose(_dilated(x, wf, 2, 1), convnb.conv2d(x, wf, padding=1, dilation=2))
    wd, wp = rng.normal(size=(3, 1, 2, 2)), rng.normal(size=(4, 3, 1, 1))
    np.testing.assert_allclose(_correlate(_pad(x, 1), wf), convnb.conv2d(x, wf, padding=1))
    np.testing.assert_allclose(np.einsum("nchw,fc->nfhw", _depthwise_only(x, wd, wp, 1),
                                         wp[:, :, 0, 0]), lab06.depthwise_separable(x, wd, wp, 1))


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_classic_mistakes_lose_points_and_get_their_hint(mistake, capsys):
    name, fn, hint = MISTAKES[mistake]
    assert_check_catches(CHECKS[name], fn, HIDDEN[name], hint, capsys)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_visible_test_catches_the_mistake_too(mistake):
    name, fn, _ = MISTAKES[mistake]
    assert CHECKS[name].evaluate(fn, None).failing


@pytest.mark.parametrize("seed", range(20))
def test_random_cases_are_valid_geometries(seed):
    for case in lab06.check_conv_transpose.cases(seed):
        x, w, stride, pad = case.args
        out = convnb.conv_transpose2d(x, w, stride=stride, padding=pad)
        assert min(out.shape[2:]) >= 2 and w.shape[0] == x.shape[1] and w.shape[2] * w.shape[3] > 1
    for case in lab06.check_dilated_conv.cases(seed):
        x, w, dilation, pad = case.args
        assert min(convnb.conv2d(x, w, padding=pad, dilation=dilation).shape[2:]) >= 2
    for case in lab06.check_depthwise_separable.cases(seed):
        x, w_depth, w_point, pad = case.args
        assert w_depth.shape[:2] == (x.shape[1], 1) and w_point.shape[1:] == (x.shape[1], 1, 1)
    for case in lab06.check_receptive_field.cases(seed):
        assert all(k >= 1 and s >= 1 and d >= 1 for k, s, d in case.args[0])
